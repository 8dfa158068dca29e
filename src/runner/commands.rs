//! Workflow commands (`::error::`, `::add-mask::`, `::group::`) and the runner's files
//! (`GITHUB_OUTPUT`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`).
//!
//! Escaping follows the runner's rules: message data escapes `%`, `\r`, `\n`; property values
//! additionally escape `:` and `,`. Multi-line values go through files with a random heredoc
//! delimiter that cannot occur in the value, never through a single command line.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

/// Where a message points in the repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub title: Option<String>,
}

/// The severity of an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Notice,
}

impl Severity {
    fn command(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
        }
    }
}

/// Escapes the data part of a workflow command.
pub fn escape_data(value: &str) -> String {
    value.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// An annotation line such as `::error file=a.yaml,line=3,title=..::message`.
pub fn annotation(severity: Severity, location: &Location, message: &str) -> String {
    let mut properties = Vec::new();
    if let Some(file) = &location.file {
        properties.push(format!("file={}", escape_property(file)));
    }
    if let Some(line) = location.line {
        properties.push(format!("line={line}"));
    }
    if let Some(title) = &location.title {
        properties.push(format!("title={}", escape_property(title)));
    }
    let mut line = format!("::{}", severity.command());
    if !properties.is_empty() {
        let _ = write!(line, " {}", properties.join(","));
    }
    let _ = write!(line, "::{}", escape_data(message));
    line
}

/// Writes `::add-mask::` for every line of a secret so the runner hides it in all later output.
pub fn mask(out: &mut dyn Write, secret: &str) -> io::Result<()> {
    for line in secret.lines().map(str::trim).filter(|line| !line.is_empty()) {
        writeln!(out, "::add-mask::{}", escape_data(line))?;
    }
    Ok(())
}

/// Starts a collapsible group in the log.
pub fn group_start(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out, "::group::{}", escape_data(title))
}

/// Ends the current group.
pub fn group_end(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "::endgroup::")
}

/// A `name<<DELIM` heredoc entry for `GITHUB_OUTPUT`/`GITHUB_ENV`, with a delimiter that does not
/// occur in the value (so a value can never inject further entries).
pub fn file_entry(name: &str, value: &str, random: impl FnMut() -> u64) -> Result<String, String> {
    if name.is_empty() || name.contains(['\n', '\r', '=']) || name.contains("<<") {
        return Err(format!("invalid output or variable name {name:?}"));
    }
    let delimiter = heredoc_delimiter(value, random);
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

fn heredoc_delimiter(value: &str, mut random: impl FnMut() -> u64) -> String {
    loop {
        let candidate = format!("ghadelimiter_{:016x}{:016x}", random(), random());
        if !value.contains(&candidate) {
            return candidate;
        }
    }
}

/// Appends entries to one of the runner's files (`GITHUB_OUTPUT`, `GITHUB_ENV`).
pub fn append_entries(path: &Path, entries: &[(&str, &str)]) -> io::Result<()> {
    let mut text = String::new();
    for (name, value) in entries {
        let entry = file_entry(name, value, random_u64)
            .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))?;
        text.push_str(&entry);
    }
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// The job summary holds at most 1 MiB; beyond that the runner rejects it.
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// Appends markdown to the job summary file, truncated with a note to fit the runner's limit.
pub fn append_step_summary(path: &Path, markdown: &str) -> io::Result<()> {
    let existing = std::fs::metadata(path).map(|m| m.len() as usize).unwrap_or(0);
    let room = STEP_SUMMARY_LIMIT.saturating_sub(existing);
    let text = truncate_with_note(markdown, room);
    let mut file = std::fs::OpenOptions::new().append(true).create(true).open(path)?;
    file.write_all(text.as_bytes())
}

/// Cuts `text` to at most `limit` bytes on a line boundary, ending with a note when cut.
pub fn truncate_with_note(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    const NOTE: &str =
        "\n\n> **Truncated**: the rest did not fit GitHub's 1 MiB job-summary limit.\n";
    let budget = limit.saturating_sub(NOTE.len());
    let mut cut = budget.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind('\n').map_or(cut, |newline| newline + 1);
    format!("{}{NOTE}", &text[..cut])
}

/// A random number from the operating system's hasher seed; enough to make heredoc delimiters
/// unguessable without a dependency on a random-number crate.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_escapes_message_and_properties() {
        let location = Location {
            file: Some("apps/a,b:c.yaml".into()),
            line: Some(7),
            title: Some("render failed".into()),
        };
        let line = annotation(Severity::Error, &location, "50% done\nnext line\r");
        assert_eq!(
            line,
            "::error file=apps/a%2Cb%3Ac.yaml,line=7,title=render failed::50%25 done%0Anext line%0D"
        );
    }

    #[test]
    fn annotation_without_location_has_no_properties() {
        assert_eq!(annotation(Severity::Warning, &Location::default(), "hi"), "::warning::hi");
    }

    #[test]
    fn mask_writes_one_command_per_non_empty_line() {
        let mut out = Vec::new();
        mask(&mut out, "line-one\n\n  line-two  \n").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "::add-mask::line-one\n::add-mask::line-two\n");
    }

    #[test]
    fn file_entry_picks_a_delimiter_absent_from_the_value() {
        let mut values = [1u64, 2, 3, 4].into_iter();
        let collision = format!("ghadelimiter_{:016x}{:016x}", 1, 2);
        let entry = file_entry("plan", &collision, || values.next().unwrap()).unwrap();
        let delimiter = format!("ghadelimiter_{:016x}{:016x}", 3, 4);
        assert_eq!(entry, format!("plan<<{delimiter}\n{collision}\n{delimiter}\n"));
    }

    #[test]
    fn file_entry_rejects_names_that_could_inject_entries() {
        assert!(file_entry("a\nb", "v", || 0).is_err());
        assert!(file_entry("a<<EOF", "v", || 0).is_err());
        assert!(file_entry("", "v", || 0).is_err());
    }

    #[test]
    fn outputs_are_appended_as_heredocs() {
        let dir = std::env::temp_dir().join(format!("gitops-env-out-{}", random_u64()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("output");
        append_entries(&path, &[("a", "1"), ("b", "two\nlines")]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("a<<ghadelimiter_"));
        assert!(text.contains("\ntwo\nlines\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn truncation_keeps_whole_lines_and_says_so() {
        let text = "line\n".repeat(1000);
        let cut = truncate_with_note(&text, 200);
        assert!(cut.len() <= 200);
        assert!(cut.contains("Truncated"));
        assert!(cut.starts_with("line\nline\n"));
        assert_eq!(truncate_with_note("short", 200), "short");
    }
}
