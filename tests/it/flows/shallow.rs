//! A checkout too shallow to hold the diff base, with no remote to deepen from: GitHub's
//! compare listing stands in for git; without it the run stops and names `fetch-depth`.

use fakes::github::{ChangedFile, Comparison};

use crate::support::flow::{REPOSITORY, World, push, web_deployment};
use crate::support::git_repo::TestRepo;

/// A feature branch change, and a depth-1 clone of it without a remote.
fn shallow_feature(world: &World) -> (TestRepo, String, String) {
    world.repo.checkout("develop").checkout_new("feat/shallow");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:3.0.0"),
        "web 3",
    );
    let clone = TestRepo::clone_from(&world.repo.url(), &["--depth=1", "--branch=feat/shallow"]);
    clone.git(&["remote", "remove", "origin"]);
    world.use_workspace(clone.path());
    (clone, before, after)
}

#[test]
fn a_shallow_clone_is_detected_through_the_github_compare_listing() {
    let world = World::new();
    let (_clone, before, after) = shallow_feature(&world);
    world.github.add_comparison(
        REPOSITORY,
        &before,
        &after,
        Comparison {
            status: "ahead".into(),
            ahead_by: 1,
            behind_by: 0,
            merge_base_sha: before.clone(),
            commits: vec![after.clone()],
            files: vec![ChangedFile {
                filename: "apps/base/web/deployment.yaml".into(),
                status: "modified".into(),
                previous_filename: None,
                additions: 1,
                deletions: 1,
            }],
        },
    );
    let run = world.run("push", Some(push("feat/shallow", &before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let namespace = &run.outputs["preview-namespace"];
    let web = world.testing.get("apps/v1", "Deployment", namespace, "web").expect("web deployed");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:3.0.0");
    assert!(world.testing.get("apps/v1", "Deployment", namespace, "api").is_none());
    world.github.assert_no_violations();
}

#[test]
fn without_history_or_a_listing_the_run_stops_and_names_fetch_depth() {
    let world = World::new();
    let (_clone, before, after) = shallow_feature(&world);
    let run = world.run("push", Some(push("feat/shallow", &before, &after)), &[]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("fetch-depth"), "{}", run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    world.github.take_violations();
}
