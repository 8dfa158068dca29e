//! The same event twice (a re-run of the workflow, or a duplicate delivery) gives the same end
//! state: the same objects with the same content, one comment. A re-run is still a deploy, so
//! it records its own GitHub deployment — one per run, never more.

use fakes::kube::FakeKube;
use serde_json::Value as Json;

use crate::support::flow::{REPOSITORY, World, pull_request, push, web_deployment};

/// Every object of `kube` but events, with what defines it (labels, annotations, spec, data),
/// leaving out what the server changes on its own (resource versions, status, timestamps).
fn snapshot(kube: &FakeKube) -> Vec<(String, Json)> {
    let mut objects: Vec<(String, Json)> = kube
        .all_objects()
        .into_iter()
        .filter(|o| o["kind"] != "Event" && o["metadata"]["deletionTimestamp"].is_null())
        .map(|o| {
            let key = format!(
                "{}/{}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            );
            let defining = serde_json::json!({
                "labels": o["metadata"]["labels"],
                "annotations": o["metadata"]["annotations"],
                "generation": o["metadata"]["generation"],
                "spec": o["spec"],
                "data": o["data"],
            });
            (key, defining)
        })
        .collect();
    objects.sort_by(|a, b| a.0.cmp(&b.0));
    objects
}

#[test]
fn the_same_pr_event_twice_leaves_the_same_preview_and_one_comment() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/twice");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:2.0.0"), "web 2");
    let pull = world.open_pull(51, "feat/twice", "develop");
    let event = pull_request("opened", &pull, false, None);
    let first = world.run("pull_request", Some(event.clone()), &[]);
    assert_eq!(first.code, 0, "stdout:\n{}\nstderr:\n{}", first.stdout, first.stderr);
    let after_first = snapshot(&world.testing);
    let comment_first = world.github.comments(REPOSITORY, 51);

    let second = world.run("pull_request", Some(event), &[]);
    assert_eq!(second.code, 0, "stdout:\n{}\nstderr:\n{}", second.stdout, second.stderr);
    assert_eq!(snapshot(&world.testing), after_first);
    assert_eq!(world.namespaces(&world.testing, "preview-").len(), 1);
    let comments = world.github.comments(REPOSITORY, 51);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].id, comment_first[0].id);
    assert_eq!(first.outputs["preview-urls"], second.outputs["preview-urls"]);
    assert_eq!(first.outputs["preview-namespace"], second.outputs["preview-namespace"]);

    // One deployment per commit and environment: the second run reports on the first's.
    let deployments = world.github.deployments(REPOSITORY);
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    let states: Vec<&str> = deployments[0].statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "success", "in_progress", "success"]);
    world.github.assert_no_violations();
}

#[test]
fn the_same_push_to_develop_twice_leaves_testing_unchanged() {
    let world = World::new();
    world.bootstrap("testing");
    world.repo.checkout("develop");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.0"),
        "web 2",
    );
    let event = push("develop", &before, &after);
    let first = world.run("push", Some(event.clone()), &[]);
    assert_eq!(first.code, 0, "stdout:\n{}\nstderr:\n{}", first.stdout, first.stderr);
    let after_first = snapshot(&world.testing);
    assert!(after_first.iter().any(|(key, _)| key == "Deployment/web/web"), "{after_first:?}");

    let second = world.run("push", Some(event), &[]);
    assert_eq!(second.code, 0, "stdout:\n{}\nstderr:\n{}", second.stdout, second.stderr);
    // Same objects, same content, and the no-op apply did not start a new rollout.
    assert_eq!(snapshot(&world.testing), after_first);
    assert_eq!(first.outputs["affected-units"], second.outputs["affected-units"]);
    // Counts come from the cluster: the first run changed web, the second changed nothing.
    assert!(first.summary.contains("✅ applied"), "{}", first.summary);
    assert!(second.summary.contains("➖ unchanged"), "{}", second.summary);
    assert!(second.summary.contains("no changes"), "{}", second.summary);
    let deployments: Vec<_> =
        world.github.deployments(REPOSITORY).into_iter().filter(|d| d.sha == after).collect();
    assert_eq!(deployments.len(), 1, "one deployment per commit: {deployments:?}");
    assert!(deployments.iter().all(|d| d.environment == "testing" && d.sha == after));
    assert_eq!(deployments[0].statuses.last().unwrap().state, "success");
}
