//! Release: a PR from `develop` into `main` shows the production diff and deploys nothing; the
//! push of the merge to `main` deploys production, only the units the release changes.

use crate::support::flow::{REPOSITORY, World, pull_request, push, web_deployment};

#[test]
fn a_release_pr_shows_the_production_diff_and_the_push_to_main_deploys_it() {
    let world = World::new();
    world.bootstrap("production");
    world.repo.checkout("develop");
    world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:3.1.0"),
        "web 3.1",
    );
    let pull = world.open_pull(12, "develop", "main");
    let opened = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(opened.code, 0, "stdout:\n{}\nstderr:\n{}", opened.stdout, opened.stderr);

    let comments = world.github.comments(REPOSITORY, 12);
    assert_eq!(comments.len(), 1, "{comments:?}");
    let body = &comments[0].body;
    assert!(body.contains("apps/overlays/production/web"), "{body}");
    assert!(body.contains("ghcr.io/me/web:3.1.0"), "{body}");
    assert!(!body.contains("apps/overlays/production/api"), "{body}");
    // A diff, not a deploy: production runs what it ran, no preview, no new deployment.
    let image = |world: &World| {
        world.production.get("apps/v1", "Deployment", "web", "web").expect("bootstrapped")["spec"]
            ["template"]["spec"]["containers"][0]["image"]
            .clone()
    };
    assert_eq!(image(&world), "ghcr.io/me/web:1.0.0");
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    let bootstrapped = world.github.deployments(REPOSITORY).len();
    assert_eq!(bootstrapped, 1, "only the bootstrap's");

    // The release is merged: main gets a merge commit and its push.
    world.repo.checkout("main");
    let before = world.repo.head();
    let after = world.repo.merge("develop");
    let pushed = world.run("push", Some(push("main", &before, &after)), &[]);
    assert_eq!(pushed.code, 0, "stdout:\n{}\nstderr:\n{}", pushed.stdout, pushed.stderr);

    let web = world.production.get("apps/v1", "Deployment", "web", "web").expect("web deployed");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:3.1.0");
    assert_eq!(web["spec"]["replicas"], 2, "the production overlay's replicas");
    // Only the affected unit: api did not change, infrastructure did not change.
    assert_eq!(pushed.outputs["affected-units"], r#"["apps/overlays/production/web"]"#);
    assert!(world.objects_in(&world.testing, "web").is_empty(), "testing touched by a release");

    let deployments: Vec<_> =
        world.github.deployments(REPOSITORY).into_iter().filter(|d| d.sha == after).collect();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].environment, "production");
    assert!(deployments[0].production_environment && !deployments[0].transient_environment);
    assert_eq!(deployments[0].sha, after);
    assert_eq!(deployments[0].statuses.last().unwrap().state, "success");
    world.github.assert_no_violations();
}

#[test]
fn a_push_to_main_that_changes_no_unit_deploys_nothing() {
    let world = World::new();
    world.bootstrap("production");
    world.repo.checkout("main");
    let before = world.repo.head();
    let after = world.change("README.md", "# homelab\n", "docs");
    let run = world.run("push", Some(push("main", &before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["affected-units"], "[]");
    assert!(world.github.deployments(REPOSITORY).iter().all(|d| d.sha != after));
}

#[test]
fn a_live_object_edited_by_hand_shows_in_the_release_prs_diff_with_who_owns_it() {
    let world = World::new();
    world.bootstrap("production");
    // Someone scales production's web by hand, as `kubectl edit`/`patch` would.
    let dir = tempfile::tempdir().expect("temporary folder");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, world.production.kubeconfig_yaml()).expect("kubeconfig");
    let patched = std::process::Command::new("kubectl")
        .args(["--kubeconfig", kubeconfig.to_str().unwrap(), "-n", "web", "patch"])
        .args(["deployment", "web", "--type", "merge", "-p", r#"{"spec":{"replicas":5}}"#])
        .output()
        .expect("kubectl runs");
    assert!(patched.status.success(), "{}", String::from_utf8_lossy(&patched.stderr));

    world.repo.checkout("develop");
    world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:3.1.0"),
        "web 3.1",
    );
    let pull = world.open_pull(13, "develop", "main");
    let opened = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(opened.code, 0, "stdout:\n{}\nstderr:\n{}", opened.stdout, opened.stderr);
    let body = &world.github.comments(REPOSITORY, 13)[0].body;
    // The live diff: the hand-made 5 goes back to the overlay's 2, beside the new image.
    assert!(body.contains("Live diff"), "{body}");
    assert!(body.contains("-  replicas: 5") && body.contains("+  replicas: 2"), "{body}");
    assert!(body.contains("+      - image: ghcr.io/me/web:3.1.0"), "{body}");
    // And who owns the field, since the apply would fail on it.
    assert!(body.contains("kubectl"), "the other field manager is named: {body}");
    assert!(body.contains("force-conflicts"), "{body}");
    let web = world.production.get("apps/v1", "Deployment", "web", "web").unwrap();
    assert_eq!(web["spec"]["replicas"], 5, "a diff changes nothing");
}
