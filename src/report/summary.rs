//! The summary at the top of every comment and job summary: a heading, one table row per
//! environment and unit (status, +/~/- counts, preview URLs), then each failure with its error.
//!
//! It always fits the budget it is given: error texts are shortened first, then rows are cut from
//! the end (failures come first, so they are the last to go) with a line saying how many are not
//! shown. It never shows diff text.

use std::fmt::Write as _;

use super::{Report, UnitReport, UnitStatus, code_span, display_order, fence_for, prefix_within};
use crate::diff::redact::redact_text;

/// Longest title shown; a longer one is cut.
const TITLE_MAX: usize = 300;
/// Longest preview URL linked; longer ones are shown as text only.
const URL_MAX: usize = 500;
/// How much of each error message is shown, tried in order until the summary fits.
const ERROR_CAPS: &[usize] = &[4000, 1000, 200];

/// The summary of `report` in at most `budget` bytes.
pub fn summary(report: &Report, budget: usize) -> String {
    let units = display_order(report);
    let head = heading(report);
    let rows: Vec<String> = units.iter().map(|u| row(u)).collect();
    let failed = units.iter().take_while(|u| u.status == UnitStatus::Failed).count();
    let mut best = String::new();
    for &cap in ERROR_CAPS {
        let failures: Vec<String> = units[..failed].iter().map(|u| failure(u, cap)).collect();
        let (text, complete) = assemble(&head, &rows, &failures, budget);
        best = text;
        if complete {
            break;
        }
    }
    best
}

/// The heading: title, then commit.
fn heading(report: &Report) -> String {
    let title = report.title.replace(['\n', '\r'], " ");
    let mut out = format!("### {}\n\n", prefix_within(&title, TITLE_MAX));
    if let Some(sha) = &report.head_sha {
        let _ = writeln!(out, "Rendered at commit {}.\n", code_span(prefix_within(sha, 12)));
    }
    out
}

const TABLE_HEADER: &str =
    "| Environment | Unit | Status | Changes | Preview |\n| --- | --- | --- | --- | --- |\n";
const FAILURES_HEADER: &str = "\n#### Failures\n\n";

/// Joins the heading, as many rows as fit (with their failures) and a "more" line; `true` when
/// nothing had to be left out.
fn assemble(head: &str, rows: &[String], failures: &[String], budget: usize) -> (String, bool) {
    if rows.is_empty() {
        let text = format!("{head}Nothing to report: no unit is affected.\n");
        return (prefix_within(&text, budget).to_owned(), true);
    }
    let size = |shown: usize| {
        let failures_shown = shown.min(failures.len());
        head.len()
            + TABLE_HEADER.len()
            + rows[..shown].iter().map(String::len).sum::<usize>()
            + if failures_shown > 0 { FAILURES_HEADER.len() } else { 0 }
            + failures[..failures_shown].iter().map(String::len).sum::<usize>()
            + if shown < rows.len() { more_line(rows.len() - shown).len() } else { 0 }
    };
    let mut shown = rows.len();
    while shown > 0 && size(shown) > budget {
        shown -= 1;
    }
    let mut out = String::with_capacity(size(shown));
    out.push_str(head);
    out.push_str(TABLE_HEADER);
    rows[..shown].iter().for_each(|r| out.push_str(r));
    if shown < rows.len() {
        out.push_str(&more_line(rows.len() - shown));
    }
    let failures_shown = shown.min(failures.len());
    if failures_shown > 0 {
        out.push_str(FAILURES_HEADER);
        failures[..failures_shown].iter().for_each(|f| out.push_str(f));
    }
    // Only a pathological heading can overflow with no rows; cut it rather than break the budget.
    let out = if out.len() > budget { prefix_within(&out, budget).to_owned() } else { out };
    (out, shown == rows.len())
}

fn more_line(hidden: usize) -> String {
    format!("\n… and {hidden} more unit(s), not shown to stay within the size limit.\n")
}

/// One table row.
fn row(unit: &UnitReport) -> String {
    let changes = match unit.counts() {
        Some(c) if !c.is_empty() => format!("+{} ~{} -{}", c.added, c.changed, c.removed),
        Some(_) => "no changes".to_owned(),
        None => "—".to_owned(),
    };
    let previews: Vec<String> = unit.preview_urls.iter().map(|url| preview_link(url)).collect();
    format!(
        "| {} | {} | {} | {} | {} |\n",
        code_span(&unit.environment),
        code_span(&unit.unit),
        unit.status.label(),
        changes,
        previews.join("<br>")
    )
}

/// A markdown link to a preview URL, its text without the scheme.
fn preview_link(url: &str) -> String {
    let text = url.split_once("://").map_or(url, |(_, rest)| rest);
    if url.len() > URL_MAX || !(url.starts_with("https://") || url.starts_with("http://")) {
        return code_span(prefix_within(url, URL_MAX));
    }
    // Percent-encode what would end the link or the table cell.
    let target: String = url
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '<' => "%3C".to_owned(),
            '>' => "%3E".to_owned(),
            '|' => "%7C".to_owned(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect();
    let text = text.replace('|', "\\|").replace(['[', ']'], "");
    format!("[{text}](<{target}>)")
}

/// One failure: where, then the error (redacted, cut to `cap` bytes) in a fenced block.
fn failure(unit: &UnitReport, cap: usize) -> String {
    let mut out = format!("**{} · {}**", code_span(&unit.environment), code_span(&unit.unit));
    let Some(error) = &unit.error else {
        out.push_str(": failed without an error message.\n\n");
        return out;
    };
    if let Some(file) = &error.file {
        let place = match error.line {
            Some(line) => format!("{file}:{line}"),
            None => file.clone(),
        };
        let _ = write!(out, " in {}", code_span(&place));
    }
    let message = redact_text(&error.message);
    let mut shown = prefix_within(message.trim_end(), cap).to_owned();
    if shown.len() < message.trim_end().len() {
        shown.push_str("\n… (error cut short)");
    }
    let fence = fence_for(&shown);
    let _ = write!(out, "\n\n{fence}text\n{shown}\n{fence}\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::super::UnitError;
    use super::*;

    fn unit(name: &str, status: UnitStatus) -> UnitReport {
        UnitReport {
            environment: "testing".into(),
            unit: name.into(),
            status,
            preview_urls: vec![],
            error: (status == UnitStatus::Failed).then(|| UnitError {
                message: "x".repeat(5000),
                file: None,
                line: None,
            }),
            diff: None,
            diff_source: None,
            warnings: vec![],
        }
    }

    fn report(units: Vec<UnitReport>) -> Report {
        Report {
            kind: "testing".into(),
            title: "Testing".into(),
            head_sha: Some("0123456789abcdef".into()),
            run_url: None,
            units,
            resolved: Default::default(),
        }
    }

    #[test]
    fn failures_come_first_and_errors_shrink_before_rows_go() {
        let r =
            report(vec![unit("apps/a", UnitStatus::Applied), unit("apps/b", UnitStatus::Failed)]);
        let full = summary(&r, 100_000);
        assert!(full.find("apps/b").unwrap() < full.find("apps/a").unwrap());
        assert!(
            full.contains(&"x".repeat(4000)) && full.contains("Rendered at commit `0123456789ab`.")
        );
        let small = summary(&r, 1500);
        assert!(
            small.len() <= 1500 && small.contains("apps/a") && small.contains("error cut short")
        );
    }

    #[test]
    fn rows_are_cut_from_the_end_with_a_count() {
        let units = (0..100).map(|i| unit(&format!("apps/u{i:03}"), UnitStatus::Applied)).collect();
        let text = summary(&report(units), 2000);
        assert!(text.len() <= 2000);
        assert!(text.contains("apps/u000") && !text.contains("apps/u099"));
        assert!(text.contains("more unit(s), not shown"));
    }

    #[test]
    fn preview_links_cannot_break_the_table() {
        assert_eq!(
            preview_link("https://web.example.com/a|b c"),
            "[web.example.com/a\\|b c](<https://web.example.com/a%7Cb%20c>)"
        );
        assert_eq!(preview_link("javascript:alert(1)"), "`javascript:alert(1)`");
    }
}
