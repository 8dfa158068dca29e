//! Test-only helpers shared by every crate's tests: finding the shared conformance corpora and
//! comparing output with golden files.
//!
//! It must never become a dependency of the shipped binary (only `[dev-dependencies]`), and it
//! must stay light: the renderer's tests depend on it and must build without the heavy crates.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

/// The `shared/` folder that sits beside every checkout in development and CI (conformance
/// cases, real-world corpus, fixtures), or `None` when it is absent — as in a user's fresh clone.
///
/// `GITOPS_ENV_SHARED` overrides the location. When the folder is missing, the caller's test
/// should skip: this prints why. Under `CI=true` a missing folder is a failure instead, so CI can
/// never pass by skipping the conformance yardstick.
pub fn shared_dir(what: &str) -> Option<PathBuf> {
    let candidate = match std::env::var_os("GITOPS_ENV_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared"),
    };
    if candidate.is_dir() {
        return Some(candidate.canonicalize().unwrap_or(candidate));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the shared corpora are missing at {} (needed for {what})",
            candidate.display()
        );
    }
    eprintln!(
        "skipping {what}: the shared corpora are not at {} (set GITOPS_ENV_SHARED to run it)",
        candidate.display()
    );
    None
}

/// An external program a test needs that a fresh machine lacks (`.ci/run` installs it): the
/// path in the environment variable `env`, else `default` (relative to the workspace root) when
/// it exists there. When it is absent the caller's test should skip: this prints why; under
/// `CI=true` it is a failure instead.
pub fn tool(env: &str, default: &str, what: &str) -> Option<PathBuf> {
    let candidate = match std::env::var_os(env) {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(default),
    };
    if candidate.is_file() {
        return Some(candidate);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {} is missing (set {env}; needed for {what})", candidate.display());
    }
    eprintln!("skipping {what}: {} is missing (set {env} to run it)", candidate.display());
    None
}

/// The pinned helm v3 that `.ci/run` installs (`GITOPS_ENV_HELM`, else
/// `target/ci-cache/helm-v3.17.2/helm`), or `None` (skip) outside CI.
pub fn helm(what: &str) -> Option<PathBuf> {
    tool("GITOPS_ENV_HELM", HELM_DEFAULT_PATH, what)
}

/// Where `.ci/run` installs helm, relative to the workspace root.
pub const HELM_DEFAULT_PATH: &str = "target/ci-cache/helm-v3.17.2/helm";

/// A known-deviations list (`key<TAB>reason` per line, `#` comments): key → reason. A missing
/// file is an empty list.
pub fn read_known_deviations(path: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once('\t') {
            Some((key, reason)) => (key.to_owned(), reason.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect()
}

/// The workspace root: the directory holding the top-level `Cargo.toml`.
pub fn workspace_root() -> PathBuf {
    // This crate lives at <root>/crates/testsupport.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Compares `actual` with the golden file at `path`; with `UPDATE_GOLDEN=1` rewrites it instead.
///
/// On mismatch, panics with a unified diff so the difference is readable in the test output.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create golden directory");
        }
        std::fs::write(path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|err| {
        panic!("golden file {} unreadable ({err}); run with UPDATE_GOLDEN=1", path.display())
    });
    if expected != actual {
        panic!(
            "output differs from golden file {} (run with UPDATE_GOLDEN=1 to accept):\n{}",
            path.display(),
            unified_diff(&expected, actual)
        );
    }
}

/// A unified diff of two texts, for readable assertion messages.
pub fn unified_diff(expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diff_names_both_sides_and_shows_changed_lines() {
        let diff = unified_diff("a\nb\n", "a\nc\n");
        assert!(diff.contains("--- expected"));
        assert!(diff.contains("-b"));
        assert!(diff.contains("+c"));
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates/kustomize").is_dir());
    }
}
