//! `gitops-env plan`, in-process: on the bundled example (no base: every unit is new) and on a
//! real git history (only what a change reaches).

use std::ffi::OsString;

use crate::support::git_repo::TestRepo as GitRepo;

fn run(args: &[&str]) -> (u8, String, String) {
    let mut argv: Vec<OsString> = vec!["gitops-env".into()];
    argv.extend(args.iter().map(OsString::from));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = gitops_env::run(argv, &[], &mut out, &mut err);
    let code = if code == std::process::ExitCode::SUCCESS {
        0
    } else if code == std::process::ExitCode::from(2) {
        2
    } else {
        1
    };
    (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

#[test]
fn plan_lists_the_example_units_per_environment_and_the_comment() {
    let Some(helm) = testsupport::helm("planning the example's Helm chart") else { return };
    let example = testsupport::workspace_root().join("examples/homelab");
    let (code, out, err) = run(&[
        "plan",
        "--repo",
        example.to_str().unwrap(),
        "--enable-helm",
        "--helm-command",
        helm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for unit in [
        "apps/overlays/testing/notes",
        "apps/overlays/testing/web",
        "apps/overlays/production/postgres",
        "infrastructure/overlays/production",
    ] {
        assert!(out.contains(unit), "{unit} missing from:\n{out}");
    }
    assert!(out.contains("<!-- gitops-env:diff:plan -->"));
    // The example's Secret values never reach the comment.
    for secret in ["example-only-not-a-real-password", "not-a-real-password-example-only"] {
        assert!(!out.contains(secret), "secret value {secret} leaked");
    }
}

#[test]
fn the_quick_start_without_helm_names_the_chart_unit_and_still_plans_the_rest() {
    // The README's quick start on a machine without helm: the example's one Helm unit fails,
    // naming the kustomization, the chart and what to do; every other unit is still rendered
    // and diffed (blocked, as the action would block them); the exit code is 1.
    let example = testsupport::workspace_root().join("examples/homelab");
    let missing = std::env::temp_dir().join("gitops-env-test-no-helm-here/helm");
    for args in [
        vec!["plan", "--repo", example.to_str().unwrap()],
        vec![
            "plan",
            "--repo",
            example.to_str().unwrap(),
            "--enable-helm",
            "--helm-command",
            missing.to_str().unwrap(),
        ],
    ] {
        let (code, out, _) = run(&args);
        assert_eq!(code, 1, "{out}");
        let chart = "apps/base/notes/kustomization.yaml: helmCharts[0] 'notes':";
        assert!(out.contains("apps/overlays/testing/notes  "), "{out}");
        assert!(out.contains(chart), "{out}");
        let hint = if args.len() == 3 { "use --enable-helm" } else { "install helm v3" };
        assert!(out.contains(hint), "{out}");
        assert!(
            out.contains("| `testing` | `apps/overlays/testing/web` | ⛔ blocked | +3 ~0 -0 |")
        );
    }
}

#[test]
fn plan_of_a_feature_branch_previews_apps_and_diffs_infrastructure() {
    let Some(helm) = testsupport::helm("planning the example's Helm chart") else { return };
    let example = testsupport::workspace_root().join("examples/homelab");
    let (code, out, _) = run(&[
        "plan",
        "--repo",
        example.to_str().unwrap(),
        "--branch",
        "feat/new-theme",
        "--enable-helm",
        "--helm-command",
        helm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("preview of feat/new-theme  apps/overlays/testing/notes"), "{out}");
    assert!(out.contains("preview of feat/new-theme  apps/overlays/testing/web"), "{out}");
    assert!(
        out.contains("infrastructure/overlays/testing     diff-only")
            || out.contains("infrastructure/overlays/testing  diff-only"),
        "{out}"
    );
}

#[test]
fn plan_with_a_base_plans_only_what_the_change_reaches_and_writes_json() {
    let repo = GitRepo::new();
    repo.write("apps/base/web/kustomization.yaml", "resources: [cm.yaml]\n")
        .write(
            "apps/base/web/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  color: blue\n",
        )
        .write("apps/base/api/kustomization.yaml", "resources: [cm.yaml]\n")
        .write("apps/base/api/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api\n")
        .write("apps/overlays/testing/web/kustomization.yaml", "resources: [../../../base/web]\n")
        .write("apps/overlays/testing/api/kustomization.yaml", "resources: [../../../base/api]\n");
    let base = repo.commit("start");
    repo.write(
        "apps/base/web/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  color: green\n",
    );
    repo.commit("green");
    let json = repo.path().join("plan.json");
    let (code, out, err) = run(&[
        "plan",
        "--repo",
        repo.path().to_str().unwrap(),
        "--base",
        &base,
        "--branch",
        "develop",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("apps/overlays/testing/web"), "{out}");
    assert!(!out.contains("apps/overlays/testing/api"), "{out}");
    assert!(out.contains("-  color: blue") && out.contains("+  color: green"), "{out}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(plan["steps"].as_array().unwrap().len(), 1);
    assert_eq!(plan["steps"][0]["unit"], "apps/overlays/testing/web");
}

#[test]
fn plan_reports_bad_configuration_as_bad_input() {
    let repo = GitRepo::new();
    repo.write(".github/gitops-env.yaml", "previews: {}\n");
    let (code, _, err) = run(&["plan", "--repo", repo.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains(".github/gitops-env.yaml") && err.contains("previews"), "{err}");
}

#[test]
fn diff_prints_the_comment_for_a_change_between_two_revisions() {
    let repo = GitRepo::new();
    repo.write("apps/base/web/kustomization.yaml", "resources: [secret.yaml]\n")
        .write(
            "apps/base/web/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web\nstringData:\n  password: hunter2-old\n",
        )
        .write("apps/overlays/production/web/kustomization.yaml", "resources: [../../../base/web]\n");
    let base = repo.commit("start");
    repo.write(
        "apps/base/web/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: web\nstringData:\n  password: hunter2-new\n",
    );
    repo.commit("rotate");
    let (code, out, err) = run(&["diff", "--repo", repo.path().to_str().unwrap(), "--base", &base]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("<!-- gitops-env:diff:diff -->"), "{out}");
    assert!(out.contains("apps/overlays/production/web"), "{out}");
    assert!(!out.contains("hunter2"), "a Secret value leaked:\n{out}");
}
