//! The diff and report stages end to end: rendered objects in, comment body and job summary out,
//! pinned by golden files; the size budget at each degradation step; and no Secret value of the
//! real-world corpus in any output.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use gitops_env::diff::{UnitDiff, diff_unit};
use gitops_env::report::{
    COMMENT_LIMIT, JOB_SUMMARY_LIMIT, Level, Rendered, Report, UnitError, UnitReport, UnitStatus,
    comment_body, comment_marker, job_summary,
};
use kustomize::Value;
use kustomize::yaml::parse_documents;

fn objects(yaml: &str) -> Vec<Value> {
    parse_documents(yaml, "test fixture").expect("fixture parses")
}

fn golden(name: &str) -> PathBuf {
    testsupport::workspace_root().join("tests/golden/report").join(name)
}

fn unit(environment: &str, unit: &str, status: UnitStatus, diff: Option<UnitDiff>) -> UnitReport {
    UnitReport {
        environment: environment.into(),
        unit: unit.into(),
        status,
        preview_urls: vec![],
        error: None,
        diff,
        diff_source: None,
        warnings: vec![],
    }
}

fn report(kind: &str, title: &str, units: Vec<UnitReport>) -> Report {
    Report {
        kind: kind.into(),
        title: title.into(),
        head_sha: Some("3f2a9c1d7e5b4a6f8c0d1e2f3a4b5c6d7e8f9a0b".into()),
        run_url: Some("https://github.com/acme/shop/actions/runs/42".into()),
        units,
        resolved: Default::default(),
    }
}

/// Checks what every body must satisfy, whatever its content.
fn assert_well_formed(rendered: &Rendered, limit: usize, marker: Option<&str>) {
    let body = &rendered.body;
    assert!(body.len() <= limit, "{} bytes exceed {limit}", body.len());
    match marker {
        Some(marker) => assert!(body.starts_with(&format!("{marker}\n")), "marker not first"),
        None => assert!(!body.starts_with("<!--")),
    }
    assert_eq!(body.matches("<details>").count(), body.matches("</details>").count());
    // Every fence opened is closed by the same fence.
    let mut open: Option<String> = None;
    for line in body.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &open {
            None if ticks >= 3 => open = Some("`".repeat(ticks)),
            Some(fence) if line == fence => open = None,
            _ => {}
        }
    }
    assert_eq!(open, None, "a fence is left open");
}

const DEPLOYMENT_BASE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop-feat-login
spec:
  replicas: 1
  template:
    spec:
      containers:
      - image: ghcr.io/acme/web:1.4.0
        name: web
        env:
        - name: LOG_LEVEL
          value: info
";

#[test]
fn small_change_with_preview_urls() {
    let base = objects(DEPLOYMENT_BASE);
    let head_text = DEPLOYMENT_BASE.replace("web:1.4.0", "web:1.5.0").to_owned()
        + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop-feat-login\nspec:\n  ports:\n  - port: 80\n";
    let head = objects(&head_text);
    let env = "preview/feat-login";
    let mut web = unit(env, "apps/web/overlays/preview", UnitStatus::Applied, None);
    web.diff = Some(diff_unit(&web.unit, env, &base, &head));
    web.preview_urls = vec!["https://web-feat-login.preview.acme.dev".into()];
    let mut api = unit(env, "apps/api/overlays/preview", UnitStatus::Unchanged, None);
    api.diff = Some(diff_unit(&api.unit, env, &base, &base));
    let report = report("preview", "Preview environment `preview/feat-login`", vec![web, api]);

    let comment = comment_body(&report);
    assert_eq!(comment.level, Level::Full);
    assert_well_formed(&comment, COMMENT_LIMIT, Some(&comment_marker("preview")));
    testsupport::assert_golden(&golden("small-change.comment.md"), &comment.body);
    let summary = job_summary(&report);
    assert_well_formed(&summary, JOB_SUMMARY_LIMIT, None);
    testsupport::assert_golden(&golden("small-change.summary.md"), &summary.body);
    assert_eq!(
        gitops_env::report::preview_urls(&report),
        vec!["https://web-feat-login.preview.acme.dev".to_owned()]
    );
}

#[test]
fn failures_come_first_with_their_error() {
    let base = objects(DEPLOYMENT_BASE);
    let head = objects(&DEPLOYMENT_BASE.replace("replicas: 1", "replicas: 3"));
    let mut ok = unit("production", "apps/web/overlays/production", UnitStatus::Applied, None);
    ok.diff = Some(diff_unit(&ok.unit, "production", &base, &head));
    let mut failed = unit("production", "apps/api/overlays/production", UnitStatus::Failed, None);
    failed.error = Some(UnitError {
        message:
            "accumulating resources: evalsymlink failure on 'deployment.yaml' : no such file\n\
                  a line with ``` backticks"
                .into(),
        file: Some("apps/api/overlays/production/kustomization.yaml".into()),
        line: Some(4),
    });
    let report = report("production", "Production", vec![ok, failed]);
    let comment = comment_body(&report);
    assert_well_formed(&comment, COMMENT_LIMIT, Some(&comment_marker("production")));
    let body = &comment.body;
    assert!(body.find("apps/api").unwrap() < body.find("apps/web").unwrap(), "failure first");
    testsupport::assert_golden(&golden("failures.comment.md"), body);
    let annotations = gitops_env::report::annotations(&report);
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0].location.line, Some(4));
}

#[test]
fn secret_change_shows_keys_never_values() {
    let secret = |data: &str| {
        objects(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n  annotations:\n    \
             kubectl.kubernetes.io/last-applied-configuration: '{{\"data\":{{{data}}}}}'\ntype: Opaque\n\
             data:\n{}\nstringData:\n  tls.key: |\n    -----BEGIN PRIVATE KEY-----\n    MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n    -----END PRIVATE KEY-----\n",
            data.split(',')
                .map(|kv| format!("  {}", kv.replace('"', "").replacen(':', ": ", 1)))
                .collect::<Vec<_>>()
                .join("\n")
        ))
    };
    let base =
        secret("\"user\":\"YWRtaW4=\",\"password\":\"aHVudGVyMjI=\",\"old\":\"b2xkdmFsdWU=\"");
    let head =
        secret("\"user\":\"YWRtaW4=\",\"password\":\"c3dvcmRmaXNo\",\"token\":\"dG9rZW4xMjM=\"");
    let mut db = unit("testing", "apps/db/overlays/testing", UnitStatus::Applied, None);
    db.diff = Some(diff_unit(&db.unit, "testing", &base, &head));
    let report = report("testing", "Testing", vec![db]);
    let comment = comment_body(&report);
    let summary = job_summary(&report);
    for body in [&comment.body, &summary.body] {
        for value in [
            "YWRtaW4",
            "admin",
            "aHVudGVy",
            "hunter",
            "c3dvcmRmaXNo",
            "swordfish",
            "dG9rZW4",
            "b2xk",
            "MIIEv",
        ] {
            assert!(!body.contains(value), "secret value {value} leaked");
        }
    }
    assert!(comment.body.contains("-  password: <redacted> (changed, old)"));
    assert!(comment.body.contains("+  token: <redacted>"));
    testsupport::assert_golden(&golden("secret-change.comment.md"), &comment.body);
}

#[test]
fn generator_rename_is_explained() {
    let config = |hash: &str, level: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-env-{hash}\n  namespace: shop\ndata:\n  LOG_LEVEL: {level}\n"
        )
    };
    let deploy = |hash: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        envFrom:\n        - configMapRef:\n            name: web-env-{hash}\n"
        )
    };
    let base = objects(&format!("{}---\n{}", config("9m7f2b8c4d", "info"), deploy("9m7f2b8c4d")));
    let head = objects(&format!("{}---\n{}", config("h2k4t6g8b5", "debug"), deploy("h2k4t6g8b5")));
    let mut web = unit("testing", "apps/web/overlays/testing", UnitStatus::Applied, None);
    web.diff = Some(diff_unit(&web.unit, "testing", &base, &head));
    let counts = web.diff.as_ref().unwrap().counts;
    assert_eq!((counts.added, counts.changed, counts.removed), (0, 2, 0));
    let report = report("testing", "Testing", vec![web]);
    let comment = comment_body(&report);
    assert!(
        comment.body.contains(
            "**renamed** `ConfigMap/shop/web-env-h2k4t6g8b5` (from `web-env-9m7f2b8c4d`)"
        )
    );
    testsupport::assert_golden(&golden("rename.comment.md"), &comment.body);
}

/// A mapping from literal entries.
fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A unit with `count` changed Deployments, each with `lines` changed lines of `width` bytes.
/// Built as values, not parsed, so that large cases stay fast.
fn large_unit(
    environment: &str,
    name: &str,
    count: usize,
    lines: usize,
    width: usize,
) -> UnitReport {
    let deployments = |version: &str| -> Vec<Value> {
        (0..count)
            .map(|i| {
                let args = (0..lines)
                    .map(|l| Value::String(format!("--flag-{l:04}={version}{}", "x".repeat(width))))
                    .collect();
                let container = map(vec![("name", "app".into()), ("args", Value::Seq(args))]);
                let pod = map(vec![("containers", Value::Seq(vec![container]))]);
                map(vec![
                    ("apiVersion", "apps/v1".into()),
                    ("kind", "Deployment".into()),
                    (
                        "metadata",
                        map(vec![
                            ("name", format!("svc-{i:04}").into()),
                            ("namespace", "big".into()),
                        ]),
                    ),
                    ("spec", map(vec![("template", map(vec![("spec", pod)]))])),
                ])
            })
            .collect()
    };
    let mut report = unit(environment, name, UnitStatus::DiffOnly, None);
    report.diff = Some(diff_unit(name, environment, &deployments("old"), &deployments("new")));
    report
}

#[test]
fn each_degradation_step_fits_and_says_what_was_cut() {
    let marker = comment_marker("production");
    let cases = [
        // (objects, changed lines per object, expected level)
        (10, 20, Level::Full),
        (40, 40, Level::TruncatedObjects),
        (400, 10, Level::NamesOnly),
        (2400, 1, Level::SummaryOnly),
    ];
    for (count, lines, expected) in cases {
        let units = if expected == Level::SummaryOnly {
            // Many units with many objects each: even the names overflow.
            (0..40)
                .map(|u| large_unit("production", &format!("apps/u{u:02}"), count / 40, lines, 10))
                .collect()
        } else {
            vec![large_unit("production", "apps/big", count, lines, 10)]
        };
        let report = report("production", "Production", units);
        let comment = comment_body(&report);
        assert_eq!(comment.level, expected, "{count} objects × {lines} lines");
        assert_well_formed(&comment, COMMENT_LIMIT, Some(&marker));
        if expected != Level::Full {
            assert!(comment.body.contains("GitHub limits a comment to 65,536 characters"));
            assert!(
                comment
                    .body
                    .contains("job summary](<https://github.com/acme/shop/actions/runs/42>)")
            );
        }
        match expected {
            Level::TruncatedObjects => {
                assert!(comment.body.contains("more line(s) of this object's diff are cut"));
                assert!(
                    comment.body.len() > COMMENT_LIMIT - 2000,
                    "the cut uses the room there is"
                );
            }
            Level::NamesOnly => {
                assert!(comment.body.contains("- **changed** `Deployment/big/svc-0399`"));
                assert!(comment.body.contains("the 400 changed object(s) are listed by name only"));
            }
            Level::SummaryOnly => {
                assert!(!comment.body.contains("<details>"));
                assert!(comment.body.contains("(2400 object diff(s) left out)"));
            }
            Level::Full => {}
        }
        let summary = job_summary(&report);
        assert_well_formed(&summary, JOB_SUMMARY_LIMIT, None);
        assert_eq!(summary.level, Level::Full, "the job summary holds the full diff");
    }
}

#[test]
fn job_summary_beyond_one_mebibyte_is_cut_with_a_note() {
    let report =
        report("testing", "Testing", vec![large_unit("testing", "apps/huge", 40, 60, 400)]);
    let summary = job_summary(&report);
    assert_well_formed(&summary, JOB_SUMMARY_LIMIT, None);
    assert_eq!(summary.level, Level::TruncatedObjects);
    assert!(
        summary.body.contains("A job summary holds at most 1 MiB, so the diffs of 40 object(s)")
    );
    assert!(summary.body.contains("are cut to fit the job summary"));
    // A summary file that already holds earlier steps' text leaves less room.
    let smaller = gitops_env::report::job_summary_within(&report, 100_000);
    assert_well_formed(&smaller, 100_000, None);
    assert!(smaller.body.contains("This job summary has room for 100000 bytes"));
    assert_eq!(smaller.level, Level::TruncatedObjects);
}

// ---------------------------------------------------------------------------------------------
// The real-world corpus: no Secret value in any output.

fn build_outputs(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            build_outputs(&path, found);
        } else if path.file_name().is_some_and(|n| n == "build.yaml") {
            found.push(path);
        }
    }
}

/// Every value of `data`/`stringData` longer than three characters, in every form it could leak
/// in: as written, base64-decoded (data) and base64-encoded (stringData).
fn secret_values(secret: &Value) -> Vec<String> {
    let mut values = Vec::new();
    for field in ["data", "stringData"] {
        let Some(map) = secret.get_path(&[field]).and_then(Value::as_map) else { continue };
        for value in map.values() {
            let Some(text) = value.as_str() else { continue };
            values.push(text.to_owned());
            if field == "data" {
                if let Some(decoded) =
                    BASE64.decode(text.trim()).ok().and_then(|b| String::from_utf8(b).ok())
                {
                    values.push(decoded);
                }
            } else {
                values.push(BASE64.encode(text));
            }
        }
    }
    values.retain(|v| v.trim().len() > 3);
    values
}

/// The secret with every value replaced by `with(old value)` (still strings, so it stays valid).
fn with_values(secret: &Value, with: impl Fn(&str) -> String) -> Value {
    let mut out = secret.clone();
    for field in ["data", "stringData"] {
        if let Some(map) = out.get_path_mut(&[field]).and_then(Value::as_map_mut) {
            for value in map.values_mut() {
                if let Value::String(s) = value {
                    *s = with(s);
                }
            }
        }
    }
    out
}

/// Every output the diff and report paths make for `secret` added, removed, and changed into
/// `changed`: each object's diff text, the comment body and the job summary.
fn outputs_for(source: &str, secret: &Value, changed: &Value) -> Vec<String> {
    let one = std::slice::from_ref;
    let diffs = [
        diff_unit(source, "testing", &[], one(secret)),
        diff_unit(source, "testing", one(secret), &[]),
        diff_unit(source, "testing", one(secret), one(changed)),
    ];
    let mut outputs: Vec<String> =
        diffs.iter().flat_map(|d| d.objects.iter().map(|o| o.text.clone())).collect();
    let units =
        diffs.into_iter().map(|d| unit("testing", source, UnitStatus::Applied, Some(d))).collect();
    let report = report("testing", "Testing", units);
    outputs.push(comment_body(&report).body);
    outputs.push(job_summary(&report).body);
    outputs
}

#[test]
fn no_corpus_secret_value_appears_in_any_output() {
    let Some(shared) = testsupport::shared_dir("the real-world Secret redaction test") else {
        return;
    };
    let corpus = shared.join("corpus/realworld");
    let mut files = Vec::new();
    for repo in std::fs::read_dir(&corpus).expect("corpus readable").flatten() {
        build_outputs(&repo.path().join("expected"), &mut files);
    }
    let mut secrets = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("build.yaml readable");
        let source = file.strip_prefix(&corpus).unwrap_or(file).display().to_string();
        let documents = parse_documents(&text, &source).unwrap_or_else(|e| panic!("{source}: {e}"));
        secrets.extend(
            documents
                .into_iter()
                .filter(|d| d.get_path(&["kind"]).and_then(Value::as_str) == Some("Secret"))
                .map(|d| (source.clone(), d)),
        );
    }
    assert!(secrets.len() >= 20, "expected the corpus to hold Secrets, found {}", secrets.len());

    let (mut checked, mut public) = (0, 0);
    for (source, secret) in &secrets {
        let changed = with_values(secret, |v| format!("{v}Zm9v"));
        let outputs = outputs_for(source, secret, &changed);
        // The same paths with every value blanked: a value found there too (a password "admin"
        // in a Secret named "sso-admin-credential") is part of the public text, not a leak.
        let blank = with_values(secret, |_| String::new());
        let blank_outputs = outputs_for(source, &blank, &with_values(&blank, |_| "x".into()));
        let mut values = secret_values(secret);
        values.extend(secret_values(&changed));
        for value in &values {
            if blank_outputs.iter().any(|o| o.contains(value.as_str())) {
                public += 1;
                continue;
            }
            checked += 1;
            for output in &outputs {
                // The message names the file, never the value.
                assert!(!output.contains(value.as_str()), "a Secret value from {source} leaked");
            }
        }
        // Stronger: values influence the output only through whether they changed.
        assert_eq!(outputs, blank_outputs, "output of {source} depends on a Secret value");
    }
    assert!(checked > 100 && public < checked / 10, "checked {checked}, public {public}");
}

#[test]
fn no_corpus_sops_value_or_pem_body_appears() {
    let Some(shared) = testsupport::shared_dir("the real-world SOPS/PEM redaction test") else {
        return;
    };
    let corpus = shared.join("corpus/realworld");
    let mut files = Vec::new();
    for repo in std::fs::read_dir(&corpus).expect("corpus readable").flatten() {
        build_outputs(&repo.path().join("expected"), &mut files);
    }
    let mut checked = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("build.yaml readable");
        if !text.contains("ENC[") && !text.contains("-----BEGIN ") {
            continue;
        }
        checked += 1;
        let source = file.strip_prefix(&corpus).unwrap_or(file).display().to_string();
        let documents = parse_documents(&text, &source).unwrap_or_else(|e| panic!("{source}: {e}"));
        // Every object added, then every object changed in one place: the hidden parts must stay
        // hidden in the diff's context lines too.
        let changed: Vec<Value> = documents
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if let Some(metadata) = d.get_path_mut(&["metadata"]).and_then(Value::as_map_mut) {
                    metadata.insert("generation".into(), Value::Int(2));
                }
                d
            })
            .collect();
        let units = vec![
            unit(
                "testing",
                &source,
                UnitStatus::Applied,
                Some(diff_unit(&source, "testing", &[], &documents)),
            ),
            unit(
                "testing",
                &source,
                UnitStatus::Applied,
                Some(diff_unit(&source, "testing", &documents, &changed)),
            ),
        ];
        let report = report("testing", "Testing", units);
        for output in [comment_body(&report).body, job_summary(&report).body] {
            assert!(!output.contains("ENC[AES256"), "a SOPS value from {source} appears");
            assert!(!output.contains("-----END "), "a PEM block from {source} appears");
        }
    }
    assert!(checked >= 10, "expected SOPS/PEM files in the corpus, found {checked}");
}

#[test]
fn thousands_of_units_still_give_a_whole_summary_within_the_limit() {
    let units = (0..3000)
        .map(|i| {
            let mut u = unit(
                "production",
                &format!("apps/service-{i:04}/overlays/production"),
                UnitStatus::Failed,
                None,
            );
            u.error = Some(UnitError {
                message: format!("error {i}: {}", "e".repeat(300)),
                file: None,
                line: None,
            });
            u
        })
        .collect();
    let comment = comment_body(&report("production", "Production", units));
    assert_well_formed(&comment, COMMENT_LIMIT, Some(&comment_marker("production")));
    assert_eq!(comment.level, Level::Full, "nothing to cut but the summary's own rows");
    assert!(comment.body.contains("more unit(s), not shown to stay within the size limit"));
    assert!(comment.body.len() > COMMENT_LIMIT - 1000);
}
