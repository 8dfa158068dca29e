//! Fork PRs: their code is not trusted, so they get the diff as a comment and nothing is
//! deployed — until a maintainer adds the opt-in label, which deploys `preview-pr-<n>`.

use serde_json::json;

use crate::support::flow::{REPOSITORY, World, pull_request, web_deployment};

/// A PR from a fork's `patch-1` into develop, changing web; returns it as GitHub holds it.
fn fork_pull(world: &World, number: u64) -> fakes::github::Pull {
    // The fork's commit is in our clone as the PR's head ref would be (refs/pull/N/head).
    world.repo.checkout("develop").checkout_new("patch-1");
    world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("docker.io/them/web:evil"),
        "their change",
    );
    world.open_pull(number, "patch-1", "develop");
    world.github.update_pull(REPOSITORY, number, |p| p.head_repo = Some("them/homelab".into()));
    world.github_pull(number)
}

#[test]
fn a_fork_pr_gets_the_diff_and_no_deploy() {
    let world = World::new();
    let pull = fork_pull(&world, 31);
    let run = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    let comments = world.github.comments(REPOSITORY, 31);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].body.contains("docker.io/them/web:evil"), "{}", comments[0].body);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.objects_in(&world.testing, "web").is_empty());
    assert!(world.github.deployments(REPOSITORY).is_empty());
    assert_eq!(run.outputs["preview-namespace"], "");
    assert!(run.stdout.contains("deploy-preview"), "the way to opt in is said: {}", run.stdout);
    world.github.assert_no_violations();
}

#[test]
fn the_opt_in_label_deploys_a_fork_pr_into_its_pr_named_preview() {
    let world = World::new();
    let pull = fork_pull(&world, 32);
    let opened = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(opened.code, 0, "stdout:\n{}\nstderr:\n{}", opened.stdout, opened.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());

    world.github.update_pull(REPOSITORY, 32, |p| p.labels = vec!["deploy-preview".into()]);
    let pull = world.github_pull(32);
    let mut labeled = pull_request("labeled", &pull, false, None);
    labeled["label"] = json!({ "name": "deploy-preview" });
    let run = world.run("pull_request", Some(labeled), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    assert_eq!(world.namespaces(&world.testing, "preview-"), ["preview-pr-32"]);
    let objects = world.objects_in(&world.testing, "preview-pr-32");
    assert!(objects.contains(&"Deployment/web".to_owned()), "{objects:?}");
    assert_eq!(run.outputs["preview-namespace"], "preview-pr-32");
    // Still one comment, now with the preview's URL.
    let comments = world.github.comments(REPOSITORY, 32);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].body.contains("https://web-pr-32."), "{}", comments[0].body);
    let deployments = world.github.deployments(REPOSITORY);
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].environment, "preview/pr-32");
    world.github.assert_no_violations();
}

/// Deploys fork PR `number` with the opt-in label already set when it is opened.
fn deployed_fork_pull(world: &World, number: u64) -> fakes::github::Pull {
    fork_pull(world, number);
    world.github.update_pull(REPOSITORY, number, |p| p.labels = vec!["deploy-preview".into()]);
    let pull = world.github_pull(number);
    let run = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let namespace = format!("preview-pr-{number}");
    assert_eq!(world.namespaces(&world.testing, "preview-"), [namespace]);
    pull
}

#[test]
fn removing_the_opt_in_label_tears_the_fork_preview_down() {
    let world = World::new();
    deployed_fork_pull(&world, 33);
    world.github.update_pull(REPOSITORY, 33, |p| p.labels.clear());
    let pull = world.github_pull(33);
    let mut unlabeled = pull_request("unlabeled", &pull, false, None);
    unlabeled["label"] = json!({ "name": "deploy-preview" });
    let run = world.run("pull_request", Some(unlabeled), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.objects_in(&world.testing, "preview-pr-33").is_empty());
    let deployments = world.github.deployments(REPOSITORY);
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].statuses.last().unwrap().state, "inactive");
}

#[test]
fn closing_a_deployed_fork_pr_tears_its_preview_down() {
    let world = World::new();
    deployed_fork_pull(&world, 34);
    world.github.update_pull(REPOSITORY, 34, |p| p.state = fakes::github::PullState::Closed);
    let pull = world.github_pull(34);
    let run = world.run("pull_request", Some(pull_request("closed", &pull, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.objects_in(&world.testing, "preview-pr-34").is_empty());
    world.github.assert_no_violations();
}

#[test]
fn the_sweep_removes_the_preview_of_a_closed_fork_pr() {
    let world = World::new();
    deployed_fork_pull(&world, 35);
    world.github.update_pull(REPOSITORY, 35, |p| p.state = fakes::github::PullState::Closed);
    let sweep = world.run("schedule", None, &[]);
    assert_eq!(sweep.code, 0, "stdout:\n{}\nstderr:\n{}", sweep.stdout, sweep.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty(), "{}", sweep.stdout);
    assert!(world.objects_in(&world.testing, "preview-pr-35").is_empty());
}
