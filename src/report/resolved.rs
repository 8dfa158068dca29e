//! "Resolved at render time": what the run's renders decided when they ran instead of taking
//! it from the repository — the version a chart of no pinned `version` resolved to, the commit
//! a remote base at a branch (or without a ref) resolved to. Readers need it to know what was
//! rendered (a later run may resolve differently) and to pin it.
//!
//! A short footer for the comment and the job summary (bounded: long lists are cut with a
//! count), and plain lines for terminals. Pure.

use super::{code_span, prefix_within};
use crate::git::remote_cache::RefKind;
use crate::render::Resolved;

/// The most entries shown; the rest are counted.
const ENTRIES_MAX: usize = 20;
/// Longest URL shown.
const URL_MAX: usize = 300;

const HEADING: &str = "#### Resolved at render time\n\n";
const INTRO: &str = "Not pinned in the repository, so a later run may render something else:\n\n";

/// The footer (empty when nothing was resolved at render time).
pub fn section(resolved: &Resolved) -> String {
    let entries = entries(resolved, code_span);
    if entries.is_empty() {
        return String::new();
    }
    let mut out = format!("{HEADING}{INTRO}");
    for entry in entries.iter().take(ENTRIES_MAX) {
        out.push_str(&format!("- {entry}\n"));
    }
    if entries.len() > ENTRIES_MAX {
        out.push_str(&format!("- … and {} more\n", entries.len() - ENTRIES_MAX));
    }
    out
}

/// One line per entry, for terminals.
pub fn lines(resolved: &Resolved) -> Vec<String> {
    entries(resolved, |text| text.to_owned())
        .into_iter()
        .map(|entry| format!("resolved at render time: {entry}"))
        .collect()
}

fn entries(resolved: &Resolved, code: fn(&str) -> String) -> Vec<String> {
    let url = |text: &str| code(prefix_within(text, URL_MAX));
    let charts = resolved.charts.iter().map(|chart| {
        format!(
            "chart {} from {} (no version pinned): version {}",
            code(&chart.name),
            url(&chart.repo),
            code(if chart.version.is_empty() { "(unknown)" } else { &chart.version })
        )
    });
    let remotes = resolved.remotes.iter().map(|remote| {
        let at = match remote.kind {
            RefKind::Head => "without a ref (its HEAD)".to_owned(),
            _ => format!("at branch {}", code(&remote.git_ref)),
        };
        format!(
            "remote {} {at}: commit {}",
            url(&remote.url),
            code(prefix_within(remote.commit.as_str(), 12))
        )
    });
    charts.chain(remotes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::CommitId;
    use crate::git::remote_cache::ResolvedRemote;

    fn resolved() -> Resolved {
        Resolved {
            charts: vec![kustomize::PulledChart {
                repo: "https://charts.example".into(),
                name: "podinfo".into(),
                requested_version: String::new(),
                version: "6.5.0".into(),
                from_cache: false,
            }],
            remotes: vec![ResolvedRemote {
                url: "https://github.com/org/base".into(),
                git_ref: "main".into(),
                commit: CommitId::parse("0123456789abcdef0123456789abcdef01234567").unwrap(),
                kind: RefKind::Branch,
            }],
        }
    }

    #[test]
    fn the_footer_names_each_chart_version_and_branch_commit() {
        assert_eq!(
            section(&resolved()),
            "#### Resolved at render time\n\nNot pinned in the repository, so a later run may \
             render something else:\n\n- chart `podinfo` from `https://charts.example` (no \
             version pinned): version `6.5.0`\n- remote `https://github.com/org/base` at branch \
             `main`: commit `0123456789ab`\n"
        );
        assert_eq!(
            lines(&resolved())[1],
            "resolved at render time: remote https://github.com/org/base at branch main: commit \
             0123456789ab"
        );
        assert_eq!(section(&Resolved::default()), "");
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let mut many = resolved();
        many.remotes = (0..25).map(|_| many.remotes[0].clone()).collect();
        let text = section(&many);
        assert_eq!(text.matches("\n- remote").count(), ENTRIES_MAX - 1);
        assert!(text.ends_with("- … and 6 more\n"), "{text}");
    }
}
