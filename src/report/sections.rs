//! The per-unit sections below the summary: one collapsible `<details>` per unit that has
//! changes, holding each changed object's diff in a fenced `diff` block — whole, cut to a size, or
//! reduced to the object's name, as the budget in `comment` decides.
//!
//! It renders only the already-redacted diff text; it must never reach back to objects.

use std::fmt::Write as _;

use super::{
    DiffSource, Report, UnitReport, code_span, display_order, fence_for, html_escape, prefix_within,
};
use crate::diff::{Change, Explanation, ObjectDiff};

/// How much of each object's diff to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffMode {
    Full,
    /// At most this many bytes of each object's diff, cut at a line boundary.
    Capped(usize),
    NamesOnly,
}

/// The sections of every unit with changes. `cut_note` ends the line that says how much of an
/// object's diff was cut (where the rest can be found).
pub fn sections(report: &Report, mode: DiffMode, cut_note: &str) -> String {
    let mut out = String::new();
    for unit in display_order(report) {
        let Some(diff) = unit.diff.as_ref().filter(|d| !d.objects.is_empty()) else { continue };
        let _ = write!(out, "<details>\n<summary>{}</summary>\n\n", section_title(unit));
        if let Some(source) = &unit.diff_source {
            let _ = writeln!(out, "{}\n", source_note(source));
        }
        for warning in &unit.warnings {
            let _ = writeln!(out, "> ⚠️ {}\n", html_escape(warning));
        }
        if mode == DiffMode::NamesOnly {
            diff.objects.iter().for_each(|o| out.push_str(&name_line(o)));
            out.push('\n');
        } else {
            for object in &diff.objects {
                object_block(&mut out, object, mode, cut_note);
            }
        }
        out.push_str("</details>\n\n");
    }
    out
}

/// The largest diff text of any object (the cap beyond which `Capped` equals `Full`).
pub fn largest_object_diff(report: &Report) -> usize {
    report
        .units
        .iter()
        .filter_map(|u| u.diff.as_ref())
        .flat_map(|d| d.objects.iter().map(|o| o.text.len()))
        .max()
        .unwrap_or(0)
}

fn section_title(unit: &UnitReport) -> String {
    let counts = unit.counts().unwrap_or_default();
    html_escape(&format!(
        "{} · {} — {} · +{} ~{} -{}",
        unit.environment,
        unit.unit,
        unit.status.label(),
        counts.added,
        counts.changed,
        counts.removed
    ))
}

/// What the diff below compares, in words.
fn source_note(source: &DiffSource) -> String {
    match source {
        DiffSource::Live => {
            "_Live diff: the objects in the cluster against what a server-side dry run of this \
             change makes of them._"
                .to_owned()
        }
        DiffSource::Applied => {
            "_Applied: the objects in the cluster before this run against what the cluster \
             answered to the apply._"
                .to_owned()
        }
        DiffSource::Renders { why } => format!(
            "_Render diff: this unit rendered at the diff base against at head, as it would be \
             applied ({})._",
            html_escape(why)
        ),
    }
}

fn change_word(change: &Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Removed => "removed",
        Change::Changed => "changed",
        Change::Renamed { .. } => "renamed",
    }
}

/// `- **changed** `Kind/ns/name``, with the rename source when there is one.
fn name_line(object: &ObjectDiff) -> String {
    let mut line =
        format!("- **{}** {}", change_word(&object.change), code_span(&object.key.to_string()));
    if let Change::Renamed { from } = &object.change {
        let _ = write!(line, " (from {})", code_span(&from.name));
    }
    line.push('\n');
    line
}

/// Why the change looks the way it does, in one sentence.
fn explanation_line(object: &ObjectDiff) -> Option<String> {
    match object.explanation.as_ref()? {
        Explanation::GeneratedHashSuffix => Some(
            "kustomize names generated ConfigMaps and Secrets after a hash of their content, so \
             this content change also renamed the object."
                .to_owned(),
        ),
        Explanation::OnlyRenamedReferences { renamed } => {
            let names: Vec<String> = renamed.iter().map(|n| code_span(n)).collect();
            Some(format!(
                "Only references to renamed generated objects changed ({}).",
                names.join(", ")
            ))
        }
    }
}

fn object_block(out: &mut String, object: &ObjectDiff, mode: DiffMode, cut_note: &str) {
    out.push_str(&name_line(object));
    if let Some(why) = explanation_line(object) {
        let _ = writeln!(out, "\n  _{why}_");
    }
    let (shown, cut_lines) = match mode {
        DiffMode::Capped(cap) => cut_at_line(&object.text, cap),
        DiffMode::Full | DiffMode::NamesOnly => (object.text.as_str(), 0),
    };
    out.push('\n');
    if !shown.is_empty() {
        let fence = fence_for(shown);
        let _ = write!(out, "{fence}diff\n{shown}");
        if !shown.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "{fence}");
    }
    if cut_lines > 0 {
        let _ = writeln!(out, "_… {cut_lines} more line(s) of this object's diff {cut_note}_");
    }
    out.push('\n');
}

/// The longest run of whole lines of `text` within `cap` bytes (a single overlong first line is
/// cut at a character boundary), and how many lines were left out.
fn cut_at_line(text: &str, cap: usize) -> (&str, usize) {
    if text.len() <= cap {
        return (text, 0);
    }
    let within = prefix_within(text, cap);
    let shown = match within.rfind('\n') {
        Some(end) => &within[..=end],
        None => within,
    };
    let total = text.lines().count();
    let kept = shown.lines().count();
    // A cut mid-line still leaves that line partly unshown: count it as cut.
    let partial = usize::from(!shown.is_empty() && !shown.ends_with('\n'));
    (shown, total - kept + partial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_keep_whole_lines_and_count_the_rest() {
        assert_eq!(cut_at_line("a\nb\nc\n", 10), ("a\nb\nc\n", 0));
        assert_eq!(cut_at_line("a\nb\nc\n", 4), ("a\nb\n", 1));
        assert_eq!(cut_at_line("abcdef\n", 3), ("abc", 1));
    }
}
