//! The bundled example (`examples/homelab`) deploys into empty clusters — its infrastructure
//! brings the CRDs and namespaces its apps need, and is applied first — from the CLI's
//! `deploy` and from the action on the pushes of the three-branch flow. Nothing is created for
//! it by the test.

use std::path::{Path, PathBuf};

use fakes::kube::FakeKube;

use crate::support::flow::{World, push};

fn homelab() -> PathBuf {
    testsupport::workspace_root().join("examples/homelab")
}

/// What every environment of the example must hold after a deploy into an empty cluster.
fn assert_example_runs(kube: &FakeKube, environment: &str) {
    for (api_version, kind, namespace, name) in [
        ("apps/v1", "Deployment", "web", "web"),
        ("apps/v1", "Deployment", "recipes", "recipes"),
        // Inflated from the example's own Helm chart.
        ("apps/v1", "Deployment", "notes", "notes"),
        ("apps/v1", "StatefulSet", "database", "postgres"),
        ("gateway.networking.k8s.io/v1", "HTTPRoute", "whoami", "whoami"),
        ("traefik.io/v1alpha1", "IngressRoute", "uptime", "uptime"),
        ("gateway.networking.k8s.io/v1", "Gateway", "gateway", "homelab"),
        ("cert-manager.io/v1", "ClusterIssuer", "", "letsencrypt"),
    ] {
        let object = kube.get(api_version, kind, namespace, name);
        let object = object
            .unwrap_or_else(|| panic!("{environment}: {kind} {namespace}/{name} was not deployed"));
        assert_eq!(
            object["metadata"]["labels"]["gitops-env.io/environment"], environment,
            "{kind} {name}"
        );
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("create folder");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

#[test]
fn the_deploy_command_installs_the_example_into_empty_clusters() {
    let Some(helm) = testsupport::helm("deploying the example's Helm chart") else { return };
    for environment in ["testing", "production"] {
        let kube = FakeKube::start();
        let dir = tempfile::tempdir().expect("temporary folder");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kube.kubeconfig_yaml()).expect("kubeconfig");
        let repo = homelab();
        let args: Vec<std::ffi::OsString> = [
            "gitops-env",
            "deploy",
            "--repo",
            repo.to_str().unwrap(),
            "--env",
            environment,
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--wait",
            "20s",
            "--enable-helm",
            "--helm-command",
            helm.to_str().unwrap(),
        ]
        .iter()
        .map(Into::into)
        .collect();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = gitops_env::run(args, &[], &mut stdout, &mut stderr);
        let (stdout, stderr) = (String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
        assert_eq!(code, std::process::ExitCode::SUCCESS, "{stdout}\n{stderr}");
        assert_example_runs(&kube, environment);
        // Infrastructure first: its CRDs and namespaces were there before any app.
        let applied_infrastructure = stderr.find("apply: infrastructure/overlays").unwrap();
        let applied_app = stderr.find("apply: apps/overlays").unwrap();
        assert!(applied_infrastructure < applied_app, "{stderr}");
    }
}

#[test]
fn the_action_deploys_the_example_on_the_pushes_to_develop_and_main() {
    // The action inflates helmCharts by default, with the helm the World hands it.
    if testsupport::helm("the action deploying the example's Helm chart").is_none() {
        return;
    }
    let world = World::empty();
    world.repo.checkout("develop");
    let before = world.repo.head();
    copy_tree(&homelab(), world.repo.path());
    let after = world.repo.commit("the homelab");
    let run = world.run("push", Some(push("develop", &before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_example_runs(&world.testing, "testing");
    assert!(world.production.all_objects().iter().all(|o| o["kind"] != "Deployment"));

    world.repo.checkout("main");
    let before = world.repo.head();
    let after = world.repo.merge("develop");
    let run = world.run("push", Some(push("main", &before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_example_runs(&world.production, "production");
}
