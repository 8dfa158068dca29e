//! The sticky comment body and the job summary, each within its size limit.
//!
//! GitHub rejects comment bodies over 65,536 characters and job summaries over 1 MiB. We count
//! UTF-8 bytes, which is never fewer than the characters or UTF-16 units GitHub may count, so a
//! body within our count is within GitHub's. When the whole report does not fit, it degrades step
//! by step — every object's diff cut to the same largest size that fits, then object names only,
//! then the summary alone — and says what was cut and where the full diff is.
//!
//! The comment opens with a hidden marker (see [`comment_marker`]) that the `github` module uses
//! to find the comment again; this module only writes it.

use super::sections::{DiffMode, largest_object_diff, sections};
use super::summary::summary;
use super::{Report, prefix_within};

/// GitHub's limit on an issue comment body.
pub const COMMENT_LIMIT: usize = 65_536;
/// GitHub's limit on one step's job summary.
pub const JOB_SUMMARY_LIMIT: usize = 1024 * 1024;

/// Smallest per-object diff worth showing; below it, names alone are more useful.
const MIN_OBJECT_DIFF: usize = 400;
/// Longest kind accepted in the marker.
const KIND_MAX: usize = 40;
/// Longest run URL linked in a note.
const RUN_URL_MAX: usize = 1000;

/// How much of the report a body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Full,
    TruncatedObjects,
    NamesOnly,
    SummaryOnly,
}

/// A body and how far it had to degrade to fit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub level: Level,
}

/// The hidden first line of the sticky comment of `kind`: `<!-- gitops-env:diff:<kind> -->`.
/// Only `[a-z0-9-]` of `kind` is kept (lower-cased), so nothing can end the HTML comment early.
pub fn comment_marker(kind: &str) -> String {
    let kind: String = kind
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .take(KIND_MAX)
        .collect();
    format!("<!-- gitops-env:diff:{kind} -->")
}

/// The sticky comment body: marker first, within [`COMMENT_LIMIT`].
pub fn comment_body(report: &Report) -> Rendered {
    let target = Target {
        prefix: format!("{}\n", comment_marker(&report.kind)),
        limit: COMMENT_LIMIT,
        is_comment: true,
        report,
    };
    target.render()
}

/// The job summary markdown (for `GITHUB_STEP_SUMMARY`): the full diff, within
/// [`JOB_SUMMARY_LIMIT`].
pub fn job_summary(report: &Report) -> Rendered {
    job_summary_within(report, JOB_SUMMARY_LIMIT)
}

/// The job summary within `limit` bytes: for when the summary file already holds earlier steps'
/// text, so that what is left is filled by degrading cleanly rather than by a blind cut that
/// could leave a fence open.
pub fn job_summary_within(report: &Report, limit: usize) -> Rendered {
    Target { prefix: String::new(), limit, is_comment: false, report }.render()
}

/// Where a body goes: what opens it and how large it may be.
struct Target<'a> {
    prefix: String,
    limit: usize,
    /// A PR comment (else a job summary): decides the wording of notes.
    is_comment: bool,
    report: &'a Report,
}

impl Target<'_> {
    fn render(&self) -> Rendered {
        let total = self.object_diffs().count();
        // Counts in notes never exceed the total, so notes with the total are the longest.
        let longest_note = [Level::TruncatedObjects, Level::NamesOnly, Level::SummaryOnly]
            .iter()
            .map(|&level| self.note(level, total).len())
            .max()
            .unwrap_or(0);
        // The footer is short and bounded; it goes whenever the summary has room beside it.
        let footer = super::resolved::section(&self.report.resolved);
        let footer = if footer.len() + longest_note + self.prefix.len() + 512 <= self.limit {
            footer
        } else {
            String::new()
        };
        // Three bytes for the blank-line separators `assemble` may add.
        let summary_budget =
            self.limit.saturating_sub(self.prefix.len() + longest_note + footer.len() + 3);
        let summary = summary(self.report, summary_budget);
        let assemble = |level: Level, cut: usize, sections: &str| {
            let note = self.note(level, cut);
            let mut body = String::with_capacity(
                self.prefix.len() + summary.len() + note.len() + sections.len() + footer.len() + 3,
            );
            body.push_str(&self.prefix);
            body.push_str(&summary);
            // One blank line between blocks, whatever the block before ended with.
            for block in [note.as_str(), sections, footer.as_str()] {
                if !block.is_empty() {
                    if !body.ends_with("\n\n") {
                        body.push('\n');
                    }
                    body.push_str(block);
                }
            }
            body
        };
        let fits = |body: &String| body.len() <= self.limit;
        let cut_note = self.cut_note();

        let full = assemble(Level::Full, 0, &sections(self.report, DiffMode::Full, &cut_note));
        if fits(&full) {
            return Rendered { body: full, level: Level::Full };
        }
        let capped = |cap: usize| {
            assemble(
                Level::TruncatedObjects,
                self.object_diffs().filter(|&len| len > cap).count(),
                &sections(self.report, DiffMode::Capped(cap), &cut_note),
            )
        };
        let smallest = capped(MIN_OBJECT_DIFF);
        if fits(&smallest) {
            // The body grows with the cap: find the largest cap that fits.
            let (mut low, mut high) = (MIN_OBJECT_DIFF, largest_object_diff(self.report));
            let mut best = smallest;
            while low < high {
                let mid = low + (high - low).div_ceil(2);
                let body = capped(mid);
                if fits(&body) {
                    low = mid;
                    best = body;
                } else {
                    high = mid - 1;
                }
            }
            return Rendered { body: best, level: Level::TruncatedObjects };
        }
        let names = assemble(
            Level::NamesOnly,
            total,
            &sections(self.report, DiffMode::NamesOnly, &cut_note),
        );
        if fits(&names) {
            return Rendered { body: names, level: Level::NamesOnly };
        }
        let body = assemble(Level::SummaryOnly, total, "");
        // The summary was built within its budget, so this holds; cutting is the last resort that
        // keeps GitHub from rejecting the body should it ever not.
        let body = if fits(&body) { body } else { prefix_within(&body, self.limit).to_owned() };
        Rendered { body, level: Level::SummaryOnly }
    }

    /// Where the full diff can be read, as the end of a sentence.
    fn elsewhere(&self) -> String {
        if self.is_comment {
            match self.report.run_url.as_deref().filter(|u| u.len() <= RUN_URL_MAX) {
                Some(url) => format!(
                    "in the [job summary](<{}>) of this run",
                    url.replace(['<', '>', '\n'], "")
                ),
                None => "in the job summary of this run".to_owned(),
            }
        } else {
            "by running `gitops-env diff` locally".to_owned()
        }
    }

    /// Ends the line under a cut object diff; short, as it repeats under every cut object (the
    /// note above the sections carries the link).
    fn cut_note(&self) -> String {
        if self.is_comment {
            "are cut (see the job summary).".to_owned()
        } else {
            "are cut to fit the job summary.".to_owned()
        }
    }

    /// The sizes of every object diff of the report.
    fn object_diffs(&self) -> impl Iterator<Item = usize> + '_ {
        self.report
            .units
            .iter()
            .filter_map(|u| u.diff.as_ref())
            .flat_map(|d| d.objects.iter().map(|o| o.text.len()))
    }

    /// The note above the sections saying what was cut (empty at `Full`); `cut` is how many
    /// object diffs were cut or left out.
    fn note(&self, level: Level, cut: usize) -> String {
        let what = match level {
            Level::Full => return String::new(),
            Level::TruncatedObjects => format!("the diffs of {cut} object(s) below are cut short"),
            Level::NamesOnly => format!("the {cut} changed object(s) are listed by name only"),
            Level::SummaryOnly => {
                format!("only the summary is shown ({cut} object diff(s) left out)")
            }
        };
        let limit = if self.is_comment {
            "GitHub limits a comment to 65,536 characters".to_owned()
        } else if self.limit == JOB_SUMMARY_LIMIT {
            "A job summary holds at most 1 MiB".to_owned()
        } else {
            format!("This job summary has room for {} bytes", self.limit)
        };
        let rest = if self.is_comment {
            format!("The full diff is {}.", self.elsewhere())
        } else {
            format!("The full diff can be produced {}.", self.elsewhere())
        };
        format!("> [!NOTE]\n> {limit}, so {what}. {rest}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_keeps_only_safe_characters() {
        assert_eq!(comment_marker("preview"), "<!-- gitops-env:diff:preview -->");
        assert_eq!(comment_marker("Prod --> <b>"), "<!-- gitops-env:diff:prod--b -->");
    }

    #[test]
    fn empty_report_says_so_and_carries_the_marker() {
        let report = Report {
            kind: "testing".into(),
            title: "Testing".into(),
            head_sha: None,
            run_url: None,
            units: vec![],
            resolved: Default::default(),
        };
        let rendered = comment_body(&report);
        assert_eq!(rendered.level, Level::Full);
        assert!(rendered.body.starts_with("<!-- gitops-env:diff:testing -->\n### Testing\n"));
        assert!(rendered.body.contains("Nothing to report"));
        assert!(!job_summary(&report).body.contains("<!--"));
    }

    #[test]
    fn no_room_gives_an_empty_body_rather_than_an_overflow() {
        let report = Report {
            kind: "testing".into(),
            title: "Testing".into(),
            head_sha: None,
            run_url: None,
            units: vec![],
            resolved: Default::default(),
        };
        for limit in [0, 5, 40, 200] {
            assert!(job_summary_within(&report, limit).body.len() <= limit);
        }
    }
}
