//! `dry-run: true`: the cluster validates everything server-side and persists nothing; what
//! would change is reported as the live diff.

use crate::support::flow::{REPOSITORY, World, pull_request, push, web_deployment};

#[test]
fn a_dry_run_of_a_push_to_develop_persists_nothing_and_reports_the_live_diff() {
    let world = World::new();
    world.bootstrap("testing");
    world.repo.checkout("develop");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:5.0.0"),
        "web 5",
    );
    let run = world.run("push", Some(push("develop", &before, &after)), &[("dry-run", "true")]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let web = world.testing.get("apps/v1", "Deployment", "web", "web").expect("bootstrapped");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:1.0.0");
    assert!(world.github.deployments(REPOSITORY).iter().all(|d| d.sha != after));
    assert!(run.summary.contains("ghcr.io/me/web:5.0.0"), "{}", run.summary);
    assert!(run.summary.contains("Live diff"), "the diff is the cluster's: {}", run.summary);
}

#[test]
fn a_dry_run_of_a_new_preview_persists_nothing() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/dry");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:5.0.0"), "web 5");
    let pull = world.open_pull(70, "feat/dry", "develop");
    let run = world.run(
        "pull_request",
        Some(pull_request("opened", &pull, false, None)),
        &[("dry-run", "true")],
    );
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.testing.all_objects().iter().all(|o| o["kind"] != "Deployment"));
    assert!(world.github.deployments(REPOSITORY).is_empty());
    let comments = world.github.comments(REPOSITORY, 70);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("ghcr.io/me/web:5.0.0"), "{}", comments[0].body);
}
