//! Conformance: every case of the shared kustomize corpus (kustomize's own krusty tests, with
//! the real tool's output) is built and compared byte-for-byte, or by outcome for cases where
//! the real tool fails.
//!
//! Cases we do not pass yet are listed in `conformance-known-failures.txt` (`case<TAB>reason`).
//! The test fails when an unlisted case fails and when a listed case passes, so the list can
//! only shrink. `UPDATE_KNOWN_FAILURES=1` rewrites the list (keeping existing reasons);
//! `CONFORMANCE_SHOW=<case>` prints that case's diff or error.

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kustomize::{BuildOptions, DiskFs, build_yaml};

const KNOWN_FAILURES: &str = "tests/conformance-known-failures.txt";

#[derive(Debug)]
enum Outcome {
    Pass,
    /// Why it failed (one line).
    Fail(String),
}

fn run_case(case_dir: &Path) -> (Outcome, String) {
    let build_dir = std::fs::read_to_string(case_dir.join("build-dir.txt")).unwrap_or_default();
    let build_dir = build_dir.trim();
    let expected_error = case_dir.join("expected-error.txt").exists();
    let fs = match DiskFs::new(case_dir.join("input")) {
        Ok(fs) => fs,
        Err(err) => return (Outcome::Fail(format!("input unreadable: {err}")), String::new()),
    };
    let dir = if build_dir == "." { "" } else { build_dir };
    let result = build_yaml(&fs, dir, &BuildOptions::default());
    match (result, expected_error) {
        (Err(_), true) => (Outcome::Pass, String::new()),
        (Ok(_), true) => (Outcome::Fail("builds, but kustomize fails".into()), String::new()),
        (Err(err), false) => {
            let text = err.to_string();
            let first_line = text.lines().next().unwrap_or("").to_owned();
            (Outcome::Fail(format!("error: {first_line}")), text)
        }
        (Ok(actual), false) => {
            let expected =
                std::fs::read_to_string(case_dir.join("expected.yaml")).unwrap_or_default();
            if actual == expected {
                (Outcome::Pass, String::new())
            } else {
                (
                    Outcome::Fail("output differs".into()),
                    testsupport::unified_diff(&expected, &actual),
                )
            }
        }
    }
}

#[test]
fn kustomize_conformance_cases() {
    let Some(shared) = testsupport::shared_dir("kustomize conformance") else { return };
    let root = shared.join("conformance/kustomize");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("conformance directory")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("input").is_dir())
        .collect();
    cases.sort();

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    let chunk = cases.len().div_ceil(threads).max(1);
    let results: Vec<(String, Outcome, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|case| {
                            let name =
                                case.file_name().unwrap_or_default().to_string_lossy().into_owned();
                            let (outcome, detail) = run_case(case);
                            (name, outcome, detail)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("case thread")).collect()
    });

    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let known_path = manifest.join(KNOWN_FAILURES);
    let known = testsupport::read_known_deviations(&known_path);
    let show = std::env::var("CONFORMANCE_SHOW").ok();
    let mut passed = 0;
    let mut unexpected_failures = Vec::new();
    let mut unexpected_passes = Vec::new();
    let mut failures = BTreeMap::new();
    for (name, outcome, detail) in &results {
        if show.as_deref() == Some(name.as_str()) {
            println!("=== {name}: {outcome:?}\n{detail}");
        }
        match outcome {
            Outcome::Pass => {
                passed += 1;
                if known.contains_key(name) {
                    unexpected_passes.push(name.clone());
                }
            }
            Outcome::Fail(reason) => {
                let reason = known.get(name).cloned().unwrap_or_else(|| reason.clone());
                failures.insert(name.clone(), reason.clone());
                if !known.contains_key(name) {
                    unexpected_failures.push(format!("{name}\t{reason}"));
                }
            }
        }
    }
    println!("kustomize conformance: {passed} of {} cases pass", results.len());
    if std::env::var("UPDATE_KNOWN_FAILURES").is_ok_and(|v| v == "1") {
        let mut text = String::from(
            "# Conformance cases that do not pass yet: case<TAB>reason. This list may only shrink.\n",
        );
        for (name, reason) in &failures {
            text.push_str(&format!("{name}\t{}\n", reason.replace(['\t', '\n'], " ")));
        }
        std::fs::write(&known_path, text).expect("write known failures");
        return;
    }
    assert!(
        unexpected_failures.is_empty() && unexpected_passes.is_empty(),
        "conformance drifted.\nnew failures (fix them, or list them with a reason):\n{}\n\
         listed cases that now pass (remove them from {KNOWN_FAILURES}):\n{}",
        unexpected_failures.join("\n"),
        unexpected_passes.join("\n")
    );
}
