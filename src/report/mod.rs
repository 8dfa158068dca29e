//! The report stage: what users read about a run — the sticky PR comment body, the job summary
//! and the data for workflow annotations.
//!
//! Input is plain data ([`Report`]) that the action fills from the plan, the diff stage and the
//! cluster outcome; output is markdown text and [`Annotation`] records. Pure: it posts nothing
//! and writes no file (the `github` and `actions` modules do), and it only ever sees diffs that
//! the diff stage has already redacted.
//!
//! - [`comment`]: the hidden marker, the size budget and its degradation steps.
//! - [`summary`]: the per-environment, per-unit table and failures that always fit.
//! - [`sections`]: one collapsible section per unit with per-object diffs.
//! - [`resolved`]: the footer naming what renders resolved at render time.

pub mod comment;
pub mod resolved;
pub mod sections;
pub mod summary;

pub use comment::{
    COMMENT_LIMIT, JOB_SUMMARY_LIMIT, Level, Rendered, comment_body, comment_marker, job_summary,
    job_summary_within,
};

use crate::diff::{Counts, UnitDiff};
use crate::runner::commands::Location;

/// Everything one run reports for one (PR, kind).
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// What the comment is about (`preview`, `testing`, `production`); one sticky comment exists
    /// per kind, found by [`comment_marker`]. Anything outside `[a-z0-9-]` is dropped.
    pub kind: String,
    /// The heading, e.g. `Preview environment preview/feat-login`.
    pub title: String,
    /// The commit the run rendered (shown abbreviated).
    pub head_sha: Option<String>,
    /// The workflow run, whose job summary holds the full diff.
    pub run_url: Option<String>,
    /// One entry per environment and unit, in plan order.
    pub units: Vec<UnitReport>,
    /// Unpinned chart versions and branch refs the renders resolved (the footer).
    pub resolved: crate::render::Resolved,
}

/// The outcome of one unit in one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitReport {
    pub environment: String,
    pub unit: String,
    pub status: UnitStatus,
    pub preview_urls: Vec<String>,
    /// Set when `status` is `Failed`.
    pub error: Option<UnitError>,
    /// The redacted diff; absent when rendering failed.
    pub diff: Option<UnitDiff>,
    /// What the diff compares, and why that.
    pub diff_source: Option<DiffSource>,
    /// What a reviewer must know before merging (e.g. fields another manager owns).
    pub warnings: Vec<String>,
}

/// What a unit's diff compares: readers must know whether it is what the cluster holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffSource {
    /// The live objects against what a server-side apply would make of them (dry run): drift
    /// and objects a deploy would prune show.
    Live,
    /// What the cluster did: the live objects before the apply against its answer.
    Applied,
    /// The unit's render at the diff base against its render at head, both transformed for the
    /// target; `why` says why the cluster was not asked.
    Renders { why: String },
}

impl DiffSource {
    /// A short phrase for headings and tables.
    pub fn label(&self) -> &'static str {
        match self {
            DiffSource::Live => "live diff",
            DiffSource::Applied => "applied",
            DiffSource::Renders { .. } => "render diff",
        }
    }
}

impl UnitReport {
    /// The +/~/- counts, when a diff exists.
    pub fn counts(&self) -> Option<Counts> {
        self.diff.as_ref().map(|d| d.counts)
    }
}

/// What happened to a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitStatus {
    Applied,
    DiffOnly,
    TornDown,
    Failed,
    Unchanged,
    /// Not run because another unit failed to render (nothing of the run was applied).
    Blocked,
    /// Planned but not run (the `plan` command, a dry run, or a run stopped before it).
    WillApply,
    /// Planned teardown not run.
    WillTearDown,
}

impl UnitStatus {
    /// The status in words, for terminals and logs.
    pub fn word(self) -> &'static str {
        match self {
            UnitStatus::Applied => "applied",
            UnitStatus::DiffOnly => "diff only",
            UnitStatus::TornDown => "torn down",
            UnitStatus::Failed => "failed",
            UnitStatus::Unchanged => "unchanged",
            UnitStatus::Blocked => "blocked",
            UnitStatus::WillApply => "will apply",
            UnitStatus::WillTearDown => "will tear down",
        }
    }

    /// The label shown in tables and section headings.
    pub fn label(self) -> &'static str {
        match self {
            UnitStatus::Applied => "✅ applied",
            UnitStatus::DiffOnly => "📝 diff only",
            UnitStatus::TornDown => "🧹 torn down",
            UnitStatus::Failed => "❌ failed",
            UnitStatus::Unchanged => "➖ unchanged",
            UnitStatus::Blocked => "⛔ blocked",
            UnitStatus::WillApply => "🔜 will apply",
            UnitStatus::WillTearDown => "🔜 will tear down",
        }
    }
}

/// Why a unit failed, and where when known (a render error in a repository file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitError {
    pub message: String,
    /// Repository-relative path.
    pub file: Option<String>,
    /// 1-based.
    pub line: Option<u32>,
}

impl UnitError {
    /// A unit's render failure, with the file and line the renderer named.
    pub fn from_render(failure: &crate::render::RenderFailure) -> UnitError {
        UnitError {
            message: failure.to_string(),
            file: Some(failure.file().to_owned()),
            line: failure.line(),
        }
    }

    /// An error with no file to point at (the cluster, GitHub).
    pub fn message(message: impl Into<String>) -> UnitError {
        UnitError { message: message.into(), file: None, line: None }
    }
}

/// One error annotation; `actions::commands::annotation(Severity::Error, &a.location,
/// &a.message)` formats and escapes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub location: Location,
    pub message: String,
}

/// Error annotations for every failed unit, pointing at the offending file when known.
pub fn annotations(report: &Report) -> Vec<Annotation> {
    report
        .units
        .iter()
        .filter(|u| u.status == UnitStatus::Failed)
        .map(|u| {
            let error = u.error.as_ref();
            Annotation {
                location: Location {
                    file: error.and_then(|e| e.file.clone()),
                    line: error.and_then(|e| e.line),
                    title: Some(format!("gitops-env: {} failed in {}", u.unit, u.environment)),
                },
                message: error
                    .map(|e| crate::diff::redact::redact_text(&e.message))
                    .unwrap_or_else(|| "failed without an error message".to_owned()),
            }
        })
        .collect()
}

/// Every preview URL of the report, first-seen order, without repeats: the `preview-urls` output;
/// the first is a deployment's `environment_url`.
pub fn preview_urls(report: &Report) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for url in report.units.iter().flat_map(|u| &u.preview_urls) {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    urls
}

/// Units in display order: failures first, then the rest in plan order.
pub(crate) fn display_order(report: &Report) -> Vec<&UnitReport> {
    let failed = report.units.iter().filter(|u| u.status == UnitStatus::Failed);
    let others = report.units.iter().filter(|u| u.status != UnitStatus::Failed);
    failed.chain(others).collect()
}

/// The longest prefix of `s` that is at most `max_bytes` long and ends on a character boundary.
pub(crate) fn prefix_within(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A code fence that `content` cannot close: one backtick longer than its longest run (at least
/// three), as CommonMark requires.
pub(crate) fn fence_for(content: &str) -> String {
    "`".repeat((longest_backtick_run(content) + 1).max(3))
}

/// The longest run of backticks in `s` (bytes, not chars: this runs over whole diffs).
fn longest_backtick_run(s: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for byte in s.bytes() {
        run = if byte == b'`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// `content` as an inline code span that its own backticks cannot end; also safe in table cells.
pub(crate) fn code_span(content: &str) -> String {
    let content = content.replace('|', "\\|").replace(['\n', '\r'], " ");
    let ticks = "`".repeat(longest_backtick_run(&content) + 1);
    if content.starts_with('`') || content.ends_with('`') {
        format!("{ticks} {content} {ticks}")
    } else {
        format!("{ticks}{content}{ticks}")
    }
}

/// Text made safe inside HTML (`<summary>`).
pub(crate) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_their_content() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ``` b"), "````");
        assert_eq!(fence_for("``````"), "```````");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span("a|b"), "`a\\|b`");
    }

    #[test]
    fn prefix_never_splits_a_character() {
        assert_eq!(prefix_within("héllo", 2), "h");
        assert_eq!(prefix_within("héllo", 3), "hé");
        assert_eq!(prefix_within("hi", 10), "hi");
    }

    #[test]
    fn annotations_point_at_the_failing_file() {
        let report = Report {
            kind: "preview".into(),
            title: "t".into(),
            head_sha: None,
            run_url: None,
            units: vec![UnitReport {
                environment: "testing".into(),
                unit: "apps/web".into(),
                status: UnitStatus::Failed,
                preview_urls: vec![],
                error: Some(UnitError {
                    message: "bad patch".into(),
                    file: Some("apps/web/kustomization.yaml".into()),
                    line: Some(7),
                }),
                diff: None,
                diff_source: None,
                warnings: vec![],
            }],
            resolved: Default::default(),
        };
        assert!(preview_urls(&report).is_empty());
        assert_eq!(
            annotations(&report),
            vec![Annotation {
                location: Location {
                    file: Some("apps/web/kustomization.yaml".into()),
                    line: Some(7),
                    title: Some("gitops-env: apps/web failed in testing".into()),
                },
                message: "bad patch".into(),
            }]
        );
    }
}
