//! Errors never quote secret material: unique random tokens are seeded into malformed
//! generator inputs (env files, literals) and malformed YAML (Secret manifests, patches), and
//! must appear in neither the error's Display nor its Debug. The errors still name the file
//! and, where there is one, the line (`BuildError::line`).

use kustomize::{BuildError, BuildOptions, MemoryFs, build};

/// A token no test input holds by chance: the time, the process and a counter, hashed.
fn token(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x =
        nanos ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // splitmix64
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("s3cr3t{:016x}", x ^ (x >> 31))
}

fn failure(files: &[(&str, String)]) -> BuildError {
    let mut fs = MemoryFs::new();
    for (path, text) in files {
        fs.insert(*path, text.as_str());
    }
    build(&fs, "app", &BuildOptions::default()).expect_err("the input is malformed")
}

fn assert_quiet(case: &str, secret: &str, err: &BuildError) {
    let shown = err.to_string();
    let debug = format!("{err:?}");
    assert!(!shown.contains(secret), "{case}: Display quotes the secret: {shown}");
    assert!(!debug.contains(secret), "{case}: Debug quotes the secret: {debug}");
}

#[test]
fn generator_errors_name_file_line_and_key_never_the_value() {
    for (n, generator) in ["secretGenerator", "configMapGenerator"].into_iter().enumerate() {
        let n = n as u64 * 10;
        let env_cases = [
            ("colon instead of '='", format!("OK=1\nDB_PASSWORD:{}\n", token(n))),
            ("space in the name", format!("DB PASSWORD={}\n", token(n + 1))),
            ("value alone", format!("# comment\n\n{} more\n", token(n + 2))),
        ];
        for (case, env) in env_cases {
            let secret = env
                .lines()
                .find_map(|l| l.split(['=', ':', ' ']).find(|w| w.starts_with("s3cr3t")))
                .unwrap()
                .to_owned();
            let kustomization = format!("{generator}:\n- name: db\n  envs:\n  - db.env\n");
            let err =
                failure(&[("app/kustomization.yaml", kustomization), ("app/db.env", env.clone())]);
            assert_quiet(case, &secret, &err);
            assert!(matches!(err, BuildError::GeneratorInput { .. }), "{case}: {err:?}");
            assert_eq!(err.file(), "app/db.env", "{case}");
            let line = env.lines().position(|l| l.contains(&secret)).unwrap() as u32 + 1;
            assert_eq!(err.line(), Some(line), "{case}: {err}");
        }
        let literal_cases = [
            ("literal without '='", token(n + 3)),
            ("invalid key in a literal", format!("pass:{}=x", token(n + 4))),
        ];
        for (case, literal) in literal_cases {
            let secret =
                literal.split([':', '=']).find(|w| w.starts_with("s3cr3t")).unwrap().to_owned();
            let kustomization = format!("{generator}:\n- name: db\n  literals:\n  - {literal}\n");
            let err = failure(&[("app/kustomization.yaml", kustomization)]);
            assert_quiet(case, &secret, &err);
            assert_eq!(err.file(), "app/kustomization.yaml", "{case}");
            assert!(err.to_string().contains("literal 1"), "{case}: {err}");
        }
    }
}

#[test]
fn yaml_errors_point_at_file_line_and_column_without_quoting_the_text() {
    let secret_manifest = |data: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n{data}")
    };
    let cases = [
        ("syntax error", secret_manifest(&format!("  password: {}: x\n", token(20))), 6),
        ("unterminated quote", secret_manifest(&format!("  password: \"{}\n", token(21))), 7),
        ("tag mismatch", secret_manifest(&format!("  password: !!int {}\n", token(22))), 6),
        ("duplicate key", secret_manifest(&format!("  {0}: a\n  {0}: b\n", token(23))), 7),
        ("bad indentation", secret_manifest(&format!("  a: 1\n   {}: 2\n", token(24))), 7),
        ("non-string key", secret_manifest(&format!("  ? [{}]\n  : x\n", token(25))), 6),
    ];
    for (case, manifest, line) in cases {
        let secret = manifest
            .split([' ', '"', '[', ']', ':', '\n'])
            .find(|w| w.starts_with("s3cr3t"))
            .unwrap()
            .to_owned();
        let err = failure(&[
            ("app/kustomization.yaml", "resources:\n- secret.yaml\n".to_owned()),
            ("app/secret.yaml", manifest),
        ]);
        assert_quiet(case, &secret, &err);
        assert_eq!(err.file(), "app/secret.yaml", "{case}");
        assert_eq!(err.line(), Some(line), "{case}: {err}");
    }
}

#[test]
fn patch_errors_do_not_quote_the_patch() {
    let secret = token(30);
    let kustomization = format!(
        "resources:\n- cm.yaml\npatchesJson6902:\n- target: {{version: v1, kind: ConfigMap, name: c}}\n  patch: |\n    - op: add\n      path: /data/x\n      value: {secret}\n    - bad\n"
    );
    let err = failure(&[
        ("app/kustomization.yaml", kustomization),
        ("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n".to_owned()),
    ]);
    assert_quiet("inline JSON patch", &secret, &err);
    let secret = token(31);
    let kustomization = format!(
        "resources:\n- cm.yaml\npatches:\n- target: {{kind: ConfigMap}}\n  patch: |\n    - op: nope\n      value: {secret}\n"
    );
    let err = failure(&[
        ("app/kustomization.yaml", kustomization),
        ("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n".to_owned()),
    ]);
    assert_quiet("inline patch", &secret, &err);
}
