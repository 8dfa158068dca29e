//! The scheduled sweep: previews whose PR closed (without an event reaching us) and previews
//! whose time-to-live ran out are removed; live ones are kept.

use std::time::Duration;

use fakes::github::PullState;

use crate::support::flow::{REPOSITORY, World, pull_request, push, web_deployment};

/// Opens PR `number` from a new branch off develop that changes web, and deploys its preview.
fn preview_for_pull(world: &World, number: u64, branch: &str) -> String {
    world.repo.checkout("develop").checkout_new(branch);
    world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment(&format!("ghcr.io/me/web:{number}.0.0")),
        branch,
    );
    let pull = world.open_pull(number, branch, "develop");
    let run = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run.outputs["preview-namespace"].clone()
}

#[test]
fn the_sweep_removes_previews_of_closed_prs_and_keeps_open_ones() {
    let world = World::new();
    let closed = preview_for_pull(&world, 21, "feat/closed");
    let open = preview_for_pull(&world, 22, "feat/open");
    assert_eq!(world.namespaces(&world.testing, "preview-"), sorted(&[&closed, &open]));
    // The PR is closed on GitHub, but the workflow for `closed` never ran (e.g. it failed).
    world.github.update_pull(REPOSITORY, 21, |p| p.state = PullState::Closed);

    let sweep = world.run("schedule", None, &[]);
    assert_eq!(sweep.code, 0, "stdout:\n{}\nstderr:\n{}", sweep.stdout, sweep.stderr);
    assert_eq!(world.namespaces(&world.testing, "preview-"), std::slice::from_ref(&open));
    assert!(world.objects_in(&world.testing, &closed).is_empty());
    assert!(world.objects_in(&world.testing, &open).contains(&"Deployment/web".to_owned()));
    assert!(sweep.stdout.contains("PR #21 is closed"), "{}", sweep.stdout);
    // Its GitHub deployment is marked inactive; the live preview's stays successful.
    let state_of = |namespace: &str| {
        let environment = namespace.replacen("preview-", "preview/", 1);
        let deployments = world.github.deployments(REPOSITORY);
        let deployment = deployments.iter().find(|d| d.environment == environment).unwrap();
        deployment.statuses.last().unwrap().state.clone()
    };
    assert_eq!(state_of(&closed), "inactive");
    assert_eq!(state_of(&open), "success");

    // A second sweep finds nothing more to do.
    let again = world.run("schedule", None, &[]);
    assert_eq!(again.code, 0, "stdout:\n{}\nstderr:\n{}", again.stdout, again.stderr);
    assert_eq!(world.namespaces(&world.testing, "preview-"), [open]);
    world.github.assert_no_violations();
}

#[test]
fn the_sweep_removes_expired_previews_and_keeps_fresh_ones() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/short-lived");
    let base = world.repo.head();
    let short = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:1.1.0"),
        "short",
    );
    let run =
        world.run("push", Some(push("feat/short-lived", &base, &short)), &[("preview-ttl", "1s")]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let expiring = run.outputs["preview-namespace"].clone();

    world.repo.checkout("develop").checkout_new("feat/long-lived");
    let long = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:1.2.0"),
        "long",
    );
    let run = world.run("push", Some(push("feat/long-lived", &base, &long)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let fresh = run.outputs["preview-namespace"].clone();
    assert_eq!(world.namespaces(&world.testing, "preview-"), sorted(&[&expiring, &fresh]));

    // Expiry has a one-second resolution: past it, the short-lived preview is due.
    std::thread::sleep(Duration::from_millis(1100));
    let sweep = world.run("schedule", None, &[]);
    assert_eq!(sweep.code, 0, "stdout:\n{}\nstderr:\n{}", sweep.stdout, sweep.stderr);
    assert_eq!(world.namespaces(&world.testing, "preview-"), std::slice::from_ref(&fresh));
    assert!(world.objects_in(&world.testing, &expiring).is_empty());
    assert!(world.objects_in(&world.testing, &fresh).contains(&"Deployment/web".to_owned()));
}

fn sorted(names: &[&String]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).clone()).collect();
    names.sort();
    names
}
