//! The YAML layer against the real tool: kustomize's own outputs must survive parse + emit
//! unchanged, recorded input → output pairs (made with `kubectl kustomize`) must be reproduced,
//! and malformed input must give errors with positions, never panics.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use kustomize::yaml::{emit_documents, parse_documents};

/// Every file under `dir` (recursively) whose name is `name`.
fn files_named(dir: &Path, name: &str, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_named(&path, name, found);
        } else if path.file_name().is_some_and(|n| n == name) {
            found.push(path);
        }
    }
}

/// kustomize output files from the shared corpora: conformance `expected.yaml` and real-world
/// `expected/**/build.yaml`.
fn kustomize_outputs(shared: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let conformance = shared.join("conformance/kustomize");
    if let Ok(cases) = std::fs::read_dir(&conformance) {
        let mut cases: Vec<_> = cases.flatten().map(|e| e.path().join("expected.yaml")).collect();
        cases.sort();
        files.extend(cases.into_iter().filter(|p| p.is_file()));
    }
    let realworld = shared.join("corpus/realworld");
    if let Ok(repos) = std::fs::read_dir(&realworld) {
        let mut repos: Vec<_> = repos.flatten().map(|e| e.path().join("expected")).collect();
        repos.sort();
        for repo in repos {
            files_named(&repo, "build.yaml", &mut files);
        }
    }
    files
}

#[test]
fn kustomize_outputs_survive_parse_and_emit_byte_for_byte() {
    let Some(shared) = testsupport::shared_dir("YAML round trip over kustomize outputs") else {
        return;
    };
    let files = kustomize_outputs(&shared);
    assert!(files.len() > 900, "expected the shared corpora, found {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read output file");
        let name = file.strip_prefix(&shared).unwrap_or(file).display().to_string();
        match parse_documents(&text, &name) {
            Ok(docs) => {
                let emitted = emit_documents(&docs);
                if emitted != text {
                    failures
                        .push(format!("{name}:\n{}", testsupport::unified_diff(&text, &emitted)));
                }
            }
            Err(err) => failures.push(format!("{name}: {err}")),
        }
    }
    eprintln!(
        "YAML round trip: {}/{} kustomize outputs byte-identical",
        files.len() - failures.len(),
        files.len()
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
