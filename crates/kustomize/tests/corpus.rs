//! Real-world parity: every kustomization of the shared corpus of public GitOps repositories is
//! built and compared with what kustomize v5.5.0 produced for it — byte-for-byte where kustomize
//! built it, by outcome where kustomize refused it (`build-error.txt`).
//!
//! Directories we do not match yet are listed in `corpus-known-deviations.txt`
//! (`repo/dir<TAB>reason`). The test fails when an unlisted directory deviates and when a listed
//! one matches, so the list can only shrink. `UPDATE_KNOWN_DEVIATIONS=1` rewrites the list
//! (keeping existing reasons); `CORPUS_SHOW=<repo/dir>` prints that directory's diff or error.

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kustomize::{BuildOptions, DiskFs, build_yaml};

const KNOWN_DEVIATIONS: &str = "tests/corpus-known-deviations.txt";

/// One directory of the corpus.
#[derive(Debug, Clone)]
struct Case {
    repo: String,
    dir: String,
    expect_error: bool,
}

impl Case {
    fn key(&self) -> String {
        format!("{}/{}", self.repo, self.dir)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Same bytes, or both refused.
    Identical,
    /// Both built, outputs differ.
    Differs,
    /// One built, the other refused.
    Mismatch(String),
}

fn run_case(root: &Path, case: &Case) -> (Verdict, String) {
    let repo = root.join(&case.repo);
    let fs = match DiskFs::new(repo.join("tree")) {
        Ok(fs) => fs,
        Err(err) => {
            return (Verdict::Mismatch(format!("tree unreadable: {err}")), String::new());
        }
    };
    let result = build_yaml(&fs, &case.dir, &BuildOptions::default());
    let expected_dir = repo.join("expected").join(&case.dir);
    match (result, case.expect_error) {
        (Err(_), true) => (Verdict::Identical, String::new()),
        (Ok(_), true) => {
            let error =
                std::fs::read_to_string(expected_dir.join("build-error.txt")).unwrap_or_default();
            let first = error.lines().next().unwrap_or("").to_owned();
            (Verdict::Mismatch("builds, but kustomize fails".into()), first)
        }
        (Err(err), false) => {
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("").to_owned();
            (Verdict::Mismatch(format!("error: {first}")), text)
        }
        (Ok(actual), false) => {
            let expected =
                std::fs::read_to_string(expected_dir.join("build.yaml")).unwrap_or_default();
            if actual == expected {
                (Verdict::Identical, String::new())
            } else {
                (Verdict::Differs, testsupport::unified_diff(&expected, &actual))
            }
        }
    }
}

fn read_index(root: &Path) -> Vec<Case> {
    let index = std::fs::read_to_string(root.join("INDEX.tsv")).expect("corpus INDEX.tsv");
    index
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (repo, dir, outcome) = (fields.next()?, fields.next()?, fields.next()?);
            Some(Case {
                repo: repo.to_owned(),
                dir: dir.to_owned(),
                expect_error: outcome == "error",
            })
        })
        .collect()
}

#[test]
fn real_world_corpus_matches_kustomize() {
    let Some(shared) = testsupport::shared_dir("real-world corpus") else { return };
    let root: PathBuf = shared.join("corpus/realworld");
    let cases = read_index(&root);
    assert!(!cases.is_empty(), "the corpus index lists no directories");

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    let chunk = cases.len().div_ceil(threads).max(1);
    let results: Vec<(Case, Verdict, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let root = &root;
                scope.spawn(move || {
                    part.iter()
                        .map(|case| {
                            let (outcome, detail) = run_case(root, case);
                            (case.clone(), outcome, detail)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("corpus thread")).collect()
    });

    let total = results.len();
    let builds = results.iter().filter(|(case, _, _)| !case.expect_error).count();
    let same_outcome =
        results.iter().filter(|(_, outcome, _)| !matches!(outcome, Verdict::Mismatch(_))).count();
    let identical_builds = results
        .iter()
        .filter(|(case, outcome, _)| !case.expect_error && *outcome == Verdict::Identical)
        .count();
    let percent = |part: usize, whole: usize| 100.0 * part as f64 / whole.max(1) as f64;
    println!(
        "real-world corpus: {total} directories; outcome parity {same_outcome}/{total} ({:.1} %); \
         byte-identical builds {identical_builds}/{builds} ({:.1} %)",
        percent(same_outcome, total),
        percent(identical_builds, builds)
    );

    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let known_path = manifest.join(KNOWN_DEVIATIONS);
    let known = testsupport::read_known_deviations(&known_path);
    let show = std::env::var("CORPUS_SHOW").ok();
    let mut deviations = BTreeMap::new();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for (case, outcome, detail) in &results {
        let key = case.key();
        if show.as_deref() == Some(key.as_str()) {
            println!("=== {key}: {outcome:?}\n{detail}");
        }
        let reason = match outcome {
            Verdict::Identical => {
                if known.contains_key(&key) {
                    fixed.push(key);
                }
                continue;
            }
            Verdict::Differs => "output differs".to_owned(),
            Verdict::Mismatch(reason) => reason.clone(),
        };
        let reason = known.get(&key).cloned().unwrap_or(reason);
        if !known.contains_key(&key) {
            unexpected.push(format!("{key}\t{reason}"));
        }
        deviations.insert(key, reason);
    }
    if std::env::var("UPDATE_KNOWN_DEVIATIONS").is_ok_and(|v| v == "1") {
        let mut text = String::from(
            "# Real-world corpus directories whose build differs from kustomize v5.5.0: repo/dir<TAB>reason.\n\
             # This list may only shrink.\n",
        );
        for (key, reason) in &deviations {
            text.push_str(&format!("{key}\t{}\n", reason.replace(['\t', '\n'], " ")));
        }
        std::fs::write(&known_path, text).expect("write known deviations");
        return;
    }
    assert!(
        unexpected.is_empty() && fixed.is_empty(),
        "corpus drifted.\nnew deviations (fix them, or list them with a reason):\n{}\n\
         listed directories that now match (remove them from {KNOWN_DEVIATIONS}):\n{}",
        unexpected.join("\n"),
        fixed.join("\n")
    );
}
