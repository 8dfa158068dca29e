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

/// Each `tests/yaml-cases/CASE/input.yaml` was built alone by `kubectl kustomize` (see
/// `regenerate.sh`): where kustomize printed `expected.yaml`, parse + emit must print the same
/// bytes; where it failed (`expected-error.txt`), parsing must fail too.
#[test]
fn recorded_kustomize_cases_are_reproduced() {
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml-cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&cases_dir)
        .expect("yaml-cases directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "expected the recorded cases, found {}", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let input = std::fs::read_to_string(case.join("input.yaml")).expect("input.yaml");
        let parsed = parse_documents(&input, &format!("{name}/input.yaml"));
        // A case with `known-deviation.txt` records a difference we accept (the file says
        // why); it must still differ, so that fixing it forces the note to go.
        if let Ok(reason) = std::fs::read_to_string(case.join("known-deviation.txt")) {
            let expected = std::fs::read_to_string(case.join("expected.yaml")).unwrap_or_default();
            let ours = parsed.as_ref().map(|docs| emit_documents(docs));
            if ours.as_deref() == Ok(expected.as_str()) {
                failures.push(format!("{name}: now matches kustomize; delete known-deviation.txt"));
            } else {
                eprintln!("known deviation {name}: {}", reason.trim());
            }
            continue;
        }
        match (std::fs::read_to_string(case.join("expected.yaml")), parsed) {
            (Ok(expected), Ok(docs)) => {
                let emitted = emit_documents(&docs);
                if emitted != expected {
                    failures.push(format!(
                        "{name}:\n{}",
                        testsupport::unified_diff(&expected, &emitted)
                    ));
                }
            }
            (Ok(_), Err(err)) => {
                failures.push(format!("{name}: kustomize succeeds, we fail: {err}"))
            }
            (Err(_), Ok(_)) => {
                let kustomize_error = std::fs::read_to_string(case.join("expected-error.txt"))
                    .expect("a case has expected.yaml or expected-error.txt");
                failures.push(format!(
                    "{name}: kustomize fails ({}), we parse it",
                    kustomize_error.trim()
                ));
            }
            (Err(_), Err(err)) => {
                // The message must name the input; positions where the error has one.
                let message = err.to_string();
                if !message.contains(&format!("{name}/input.yaml")) {
                    failures.push(format!("{name}: error does not name the input: {message}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// Every YAML input file in the shared corpora (real repositories, conformance inputs) parses or
/// fails with an ordinary error; none may reach the parsing engine's internal panics.
#[test]
fn shared_yaml_inputs_never_reach_an_engine_panic() {
    let Some(shared) = testsupport::shared_dir("parsing every shared YAML input") else {
        return;
    };
    let mut files = Vec::new();
    files_named_with_extension(&shared.join("corpus/realworld"), &mut files);
    files_named_with_extension(&shared.join("conformance/kustomize"), &mut files);
    assert!(files.len() > 1000, "found only {} YAML inputs", files.len());
    let mut parsed = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        match parse_documents(&text, &file.display().to_string()) {
            Ok(_) => parsed += 1,
            Err(err) => assert!(!err.to_string().contains("cannot handle"), "{err}"),
        }
    }
    eprintln!("{parsed}/{} shared YAML inputs parse", files.len());
}

fn files_named_with_extension(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            files_named_with_extension(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
            found.push(path);
        }
    }
}

/// Malformed YAML gives a typed error naming the input and the line, never a panic.
#[test]
fn malformed_yaml_is_an_error_with_its_position() {
    let cases: &[(&str, u64)] = &[
        ("a: 1\nb: [1, 2\nc: 3\n", 3),
        ("a: 1\n  b: 2\n", 2),
        ("a:\n\tb: 1\n", 2),
        ("a: 'unterminated\n", 2),
        ("a: \"bad \\q escape\"\n", 1),
        ("- a\nb: c\n", 2),
        ("a: *missing\n", 1),
        ("a: &x 1\nb: !!int x\n", 2),
        ("a: 1\na: 2\n", 2),
        ("{a: 1\n", 2),
        ("key: value: other\n", 1),
        ("%YAML 2.0\n---\na: 1\n", 1),
        ("a: 1\n---\n]\n", 3),
    ];
    for (text, line) in cases {
        match parse_documents(text, "bad.yaml") {
            Ok(docs) => panic!("{text:?} parsed as {docs:?}"),
            Err(err) => {
                assert_eq!(err.line(), Some(*line), "{text:?}: {err}");
                assert!(err.to_string().starts_with("bad.yaml: "), "{text:?}: {err}");
            }
        }
    }
}

/// Every truncation and many one-character corruptions of real inputs parse or fail cleanly.
#[test]
fn truncated_and_corrupted_inputs_never_panic() {
    let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/yaml-cases");
    let mut engine_panics = 0;
    let mut parses = 0;
    for case in ["anchors-and-merge", "multiline", "tags", "collections"] {
        let text = std::fs::read_to_string(cases_dir.join(case).join("input.yaml"))
            .expect("recorded input");
        let boundaries: Vec<usize> =
            (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        let mut inputs: Vec<String> =
            boundaries.iter().map(|&end| text[..end].to_owned()).collect();
        for (n, &at) in boundaries.iter().enumerate().filter(|(n, _)| n % 5 == 0) {
            let Some(next) = text[at..].chars().next() else { continue };
            let replacement =
                ['[', '"', '\'', ':', '\t', '&', '*', '!', '{', '-', '|', '#'][n % 12];
            let mut corrupted = text.clone();
            corrupted.replace_range(at..at + next.len_utf8(), &replacement.to_string());
            inputs.push(corrupted);
        }
        for input in inputs {
            parses += 1;
            if let Err(err) = parse_documents(&input, "fuzz.yaml") {
                if err.to_string().contains("the parser cannot handle") {
                    engine_panics += 1;
                }
                assert!(err.to_string().starts_with("fuzz.yaml: "), "{err}");
            }
        }
    }
    eprintln!("{parses} corrupted inputs parsed");
    assert_eq!(engine_panics, 0, "inputs reached libyaml-safer's internal panics");
}

/// Throughput of parse + emit over the real-world corpus's kustomize outputs. A measurement,
/// not a check: run it with
/// `cargo test -p kustomize --test yaml -- --ignored --nocapture yaml_throughput`.
#[test]
#[ignore = "a benchmark: prints timings, asserts nothing about speed"]
fn yaml_throughput() {
    let Some(shared) = testsupport::shared_dir("YAML throughput") else {
        return;
    };
    let mut files = Vec::new();
    files_named(&shared.join("corpus/realworld"), "build.yaml", &mut files);
    let texts: Vec<String> =
        files.iter().map(|f| std::fs::read_to_string(f).expect("read")).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    for round in 0..3 {
        let start = std::time::Instant::now();
        let mut parsed = Vec::with_capacity(texts.len());
        for text in &texts {
            parsed.push(parse_documents(text, "bench.yaml").expect("parses"));
        }
        let parse_time = start.elapsed();
        let start = std::time::Instant::now();
        let mut emitted = 0;
        for docs in &parsed {
            emitted += emit_documents(docs).len();
        }
        let emit_time = start.elapsed();
        let mb = bytes as f64 / 1e6;
        eprintln!(
            "round {round}: {} files, {mb:.1} MB: parse {:.0} ms ({:.1} MB/s), emit {:.0} ms ({:.1} MB/s), total {:.0} ms ({:.1} MB/s)",
            texts.len(),
            parse_time.as_secs_f64() * 1e3,
            mb / parse_time.as_secs_f64(),
            emit_time.as_secs_f64() * 1e3,
            mb / emit_time.as_secs_f64(),
            (parse_time + emit_time).as_secs_f64() * 1e3,
            mb / (parse_time + emit_time).as_secs_f64(),
        );
        assert_eq!(emitted, bytes);
    }
}
