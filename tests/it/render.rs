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

/// `kubectl kustomize` with `args` before the directory, or `None` (skip) without kubectl
/// outside CI.
fn kubectl_kustomize(args: &[&str], dir: &Path) -> Option<Result<String, String>> {
    let output =
        match std::process::Command::new("kubectl").arg("kustomize").args(args).arg(dir).output() {
            Ok(output) => output,
            Err(_) if std::env::var("CI").as_deref() != Ok("true") => {
                eprintln!("skipping the kubectl reference: kubectl is not installed");
                return None;
            }
            Err(err) => panic!("kubectl is required under CI=true: {err}"),
        };
    Some(if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}

#[test]
fn render_enable_helm_matches_kubectl_kustomize_enable_helm() {
    let Some(helm) = testsupport::helm("render --enable-helm against kubectl") else { return };
    let helm = helm.to_str().unwrap().to_owned();
    // A chart that prints what the capability flags set, beside the example's own chart.
    let root = scratch("helm");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    write(
        &root.join("caps/charts/caps/Chart.yaml"),
        "apiVersion: v2\nname: caps\nversion: 1.0.0\n",
    );
    write(&root.join("caps/charts/caps/values.yaml"), "{}\n");
    write(
        &root.join("caps/charts/caps/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  \
         widget: {{ .Capabilities.APIVersions.Has \"example.com/v1\" | quote }}\n",
    );
    write(&root.join("caps/kustomization.yaml"), "helmCharts:\n- name: caps\n");
    let example = testsupport::workspace_root().join("examples/homelab/apps/overlays");
    let flags = ["--helm-kube-version", "v1.29.3", "--helm-api-versions", "example.com/v1"];
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (example.join("testing/notes"), vec!["--enable-helm", "--helm-command", &helm]),
        (example.join("production/notes"), vec!["--enable-helm", "--helm-command", &helm]),
        (root.join("caps"), [&["--enable-helm", "--helm-command", &helm][..], &flags].concat()),
        (root.join("caps"), vec!["--enable-helm", "--helm-command", &helm]),
        // Without --enable-helm both refuse the chart.
        (root.join("caps"), vec![]),
    ];
    for (dir, args) in cases {
        let Some(expected) = kubectl_kustomize(&args, &dir) else { return };
        let mut ours = vec!["render"];
        ours.extend(&args);
        ours.push(dir.to_str().unwrap());
        let (code, stdout, stderr) = run(&ours);
        match expected {
            Ok(yaml) => {
                assert_eq!(code, ExitCode::SUCCESS, "{dir:?} {args:?}: {stderr}");
                assert_eq!(stdout, yaml, "{dir:?} {args:?}");
            }
            Err(_) => {
                assert_eq!(code, ExitCode::FAILURE, "{dir:?} {args:?}: kubectl failed, we did not");
                assert!(stderr.contains("helmCharts[0] 'caps'"), "{stderr}");
            }
        }
    }
}
