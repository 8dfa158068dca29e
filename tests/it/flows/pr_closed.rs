//! Abandoned work: a PR closed without merging, or its branch deleted, leaves no preview behind;
//! and tearing down what is not there is a success that changes nothing.

use fakes::github::PullState;

use crate::support::flow::{REPOSITORY, World, delete_branch, pull_request, push, web_deployment};

#[test]
fn a_pr_closed_without_merging_loses_its_preview_until_reopened() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/abandoned");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:9.9.9"), "try");
    let pull = world.open_pull(5, "feat/abandoned", "develop");
    let opened = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(opened.code, 0, "stdout:\n{}\nstderr:\n{}", opened.stdout, opened.stderr);
    let previews = world.namespaces(&world.testing, "preview-");
    assert_eq!(previews.len(), 1);

    world.github.update_pull(REPOSITORY, 5, |p| p.state = PullState::Closed);
    let pull = world.github_pull(5);
    let closed = world.run("pull_request", Some(pull_request("closed", &pull, false, None)), &[]);
    assert_eq!(closed.code, 0, "stdout:\n{}\nstderr:\n{}", closed.stdout, closed.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.objects_in(&world.testing, &previews[0]).is_empty());
    // Nothing was deployed to testing on the way: the PR was not merged.
    assert!(world.objects_in(&world.testing, "web").is_empty());
    let deployments = world.github.deployments(REPOSITORY);
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].statuses.last().unwrap().state, "inactive");

    // Closing it again (a re-run of the workflow) is a success that changes nothing.
    let again = world.run("pull_request", Some(pull_request("closed", &pull, false, None)), &[]);
    assert_eq!(again.code, 0, "stdout:\n{}\nstderr:\n{}", again.stdout, again.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert_eq!(world.github.deployments(REPOSITORY).len(), 1);

    // Reopened: the preview comes back, in the same namespace.
    world.github.update_pull(REPOSITORY, 5, |p| p.state = PullState::Open);
    let pull = world.github_pull(5);
    let reopened =
        world.run("pull_request", Some(pull_request("reopened", &pull, false, None)), &[]);
    assert_eq!(reopened.code, 0, "stdout:\n{}\nstderr:\n{}", reopened.stdout, reopened.stderr);
    assert_eq!(world.namespaces(&world.testing, "preview-"), previews);
    assert!(world.objects_in(&world.testing, &previews[0]).contains(&"Deployment/web".to_owned()));
    assert_eq!(world.github.comments(REPOSITORY, 5).len(), 1);
    world.github.assert_no_violations();
}

#[test]
fn deleting_the_branch_tears_its_preview_down_and_is_idempotent() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/spike");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:0.1.0"),
        "spike",
    );
    let pushed = world.run("push", Some(push("feat/spike", &before, &after)), &[]);
    assert_eq!(pushed.code, 0, "stdout:\n{}\nstderr:\n{}", pushed.stdout, pushed.stderr);
    assert_eq!(world.namespaces(&world.testing, "preview-").len(), 1);

    // Another branch's preview must survive the deletion.
    world.repo.checkout("develop").checkout_new("feat/keep");
    let keep = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:0.2.0"),
        "keep",
    );
    let kept = world.run("push", Some(push("feat/keep", &before, &keep)), &[]);
    assert_eq!(kept.code, 0, "stdout:\n{}\nstderr:\n{}", kept.stdout, kept.stderr);
    let both = world.namespaces(&world.testing, "preview-");
    assert_eq!(both.len(), 2, "{both:?}");

    world.repo.checkout("develop");
    world.repo.git(&["branch", "-D", "feat/spike"]);
    let deleted = world.run("delete", Some(delete_branch("feat/spike")), &[]);
    assert_eq!(deleted.code, 0, "stdout:\n{}\nstderr:\n{}", deleted.stdout, deleted.stderr);
    let left = world.namespaces(&world.testing, "preview-");
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with("preview-feat-keep-"), "{left:?}");
    let kept_objects = world.objects_in(&world.testing, &left[0]);
    assert!(kept_objects.contains(&"Deployment/web".to_owned()), "{kept_objects:?}");
    let spike = world
        .github
        .deployments(REPOSITORY)
        .into_iter()
        .find(|d| d.environment.starts_with("preview/feat-spike-"))
        .expect("the spike's deployment");
    assert_eq!(spike.statuses.last().unwrap().state, "inactive");

    // The same delete again: nothing there, nothing to do, success.
    let again = world.run("delete", Some(delete_branch("feat/spike")), &[]);
    assert_eq!(again.code, 0, "stdout:\n{}\nstderr:\n{}", again.stdout, again.stderr);
    assert_eq!(world.namespaces(&world.testing, "preview-"), left);
    assert_eq!(world.objects_in(&world.testing, &left[0]), kept_objects);
    world.github.assert_no_violations();
}
