//! `gitops-env render`: one directory to stdout, many to an output directory, errors as files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gitops-env-render-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn run(args: &[&str]) -> (ExitCode, String, String) {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut argv = vec!["gitops-env".into()];
    argv.extend(args.iter().map(|a| a.into()));
    let code = gitops_env::run(argv, &[], &mut stdout, &mut stderr);
    (code, String::from_utf8(stdout).unwrap(), String::from_utf8(stderr).unwrap())
}

fn repo(name: &str) -> PathBuf {
    let root = scratch(name);
    std::fs::create_dir_all(root.join(".git")).unwrap();
    write(&root.join("base/kustomization.yaml"), "resources:\n- cm.yaml\n");
    write(
        &root.join("base/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: \"1\"\n",
    );
    write(&root.join("prod/kustomization.yaml"), "namePrefix: prod-\nresources:\n- ../base\n");
    write(&root.join("broken/kustomization.yaml"), "resources:\n- missing.yaml\n");
    root
}

#[test]
fn render_prints_one_build_to_stdout() {
    let root = repo("stdout");
    let (code, stdout, stderr) = run(&["render", root.join("prod").to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS, "{stderr}");
    assert_eq!(
        stdout,
        "apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n  name: prod-settings\n"
    );
}

#[test]
fn render_reports_a_failed_build_on_stderr() {
    let root = repo("stderr");
    let (code, stdout, stderr) = run(&["render", root.join("broken").to_str().unwrap()]);
    assert_eq!(code, ExitCode::FAILURE);
    assert!(stdout.is_empty());
    assert!(stderr.contains("broken/kustomization.yaml"), "{stderr}");
}

#[test]
fn render_out_dir_writes_every_build_and_every_error() {
    let root = repo("outdir");
    let out = root.join("out");
    let prod = root.join("prod");
    let broken = root.join("broken");
    let (code, _, stderr) = run(&[
        "render",
        "--out-dir",
        out.to_str().unwrap(),
        "--load-restrictor",
        "none",
        prod.to_str().unwrap(),
        broken.to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::FAILURE, "{stderr}");
    let under_out = |dir: &Path| out.join(dir.strip_prefix("/").unwrap());
    let built = std::fs::read_to_string(under_out(&prod).join("build.yaml")).unwrap();
    assert!(built.contains("name: prod-settings"));
    let error = std::fs::read_to_string(under_out(&broken).join("build-error.txt")).unwrap();
    assert!(error.contains("missing.yaml"), "{error}");
}
