//! When things go wrong: a unit that does not render blocks the whole run (nothing applied,
//! nothing pruned, the comment says why); a rollout that never becomes ready fails with its
//! conditions and events; a PR closed before or while its preview deploys leaves nothing behind.

use std::time::Duration;

use fakes::github::PullState;
use fakes::kube::Behaviour;

use crate::support::flow::{REPOSITORY, World, pull_request, push, web_deployment};

#[test]
fn a_render_error_on_head_applies_and_prunes_nothing_and_says_why() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/broken");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:2.0.0"), "web 2");
    let pull = world.open_pull(41, "feat/broken", "develop");
    let first = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(first.code, 0, "stdout:\n{}\nstderr:\n{}", first.stdout, first.stderr);
    let namespace = first.outputs["preview-namespace"].clone();
    let deployed = world.objects_in(&world.testing, &namespace);
    assert!(deployed.contains(&"Deployment/web".to_owned()), "{deployed:?}");

    // Next push: web's overlay lists a file that does not exist, api changes fine.
    world.change(
        "apps/overlays/testing/web/kustomization.yaml",
        "namespace: web\nresources: [../../../base/web, missing.yaml]\n",
        "broken",
    );
    world.change(
        "apps/base/api/kustomization.yaml",
        "resources: [deployment.yaml]\nconfigMapGenerator:\n- name: api-config\n  literals: [LOG_LEVEL=warn]\n",
        "api too",
    );
    world.github.update_pull(REPOSITORY, 41, |p| p.head_sha = world.repo.head());
    let pull = world.github_pull(41);
    let broken =
        world.run("pull_request", Some(pull_request("synchronize", &pull, false, None)), &[]);
    assert_eq!(broken.code, 1, "stdout:\n{}\nstderr:\n{}", broken.stdout, broken.stderr);

    // Nothing applied (api stayed out), nothing pruned (web is still there, unchanged).
    assert_eq!(world.objects_in(&world.testing, &namespace), deployed);
    let web = world.testing.get("apps/v1", "Deployment", &namespace, "web").unwrap();
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:2.0.0");
    assert!(world.objects_in(&world.testing, "web").is_empty());
    assert!(world.objects_in(&world.testing, "api").is_empty());

    let error = broken.stdout.lines().find(|l| l.starts_with("::error")).unwrap_or_else(|| {
        panic!("no error annotation:\n{}", broken.stdout);
    });
    assert!(error.contains("missing.yaml"), "{error}");
    let comments = world.github.comments(REPOSITORY, 41);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("missing.yaml"), "{}", comments[0].body);
    assert!(comments[0].body.contains("apps/overlays/testing/web"), "{}", comments[0].body);
    world.github.assert_no_violations();
}

#[test]
fn a_rollout_that_never_becomes_ready_fails_with_its_conditions_and_events() {
    let world = World::new();
    world.bootstrap("testing");
    world.testing.set_behaviour("Deployment", "web", "web", Behaviour::NeverReady);
    world.repo.checkout("develop");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.0"),
        "web 2",
    );
    let run = world.run("push", Some(push("develop", &before, &after)), &[("wait-timeout", "1s")]);
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    // Applied, but reported as not ready, with why.
    assert!(world.testing.get("apps/v1", "Deployment", "web", "web").is_some());
    let error: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::error")).collect();
    assert!(!error.is_empty(), "no error annotation:\n{}", run.stdout);
    for text in [&run.summary, &error.join("\n")] {
        assert!(text.contains("Deployment web/web not ready"), "{text}");
        assert!(text.contains("condition Available=False"), "{text}");
        assert!(text.contains("event Warning BackOff"), "the event is shown: {text}");
    }
    let deployments: Vec<_> =
        world.github.deployments(REPOSITORY).into_iter().filter(|d| d.sha == after).collect();
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].environment, "testing");
    assert_eq!(deployments[0].statuses.last().unwrap().state, "failure");
}

#[test]
fn a_pr_already_closed_when_its_synchronize_run_starts_gets_no_preview() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/late");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:2.0.0"), "web 2");
    let pull = world.open_pull(43, "feat/late", "develop");
    // The event says open; by the time the run starts, GitHub says closed.
    world.github.update_pull(REPOSITORY, 43, |p| p.state = PullState::Closed);
    let run = world.run("pull_request", Some(pull_request("synchronize", &pull, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.testing.all_objects().iter().all(|o| o["kind"] != "Deployment"));
    assert!(
        world
            .github
            .deployments(REPOSITORY)
            .iter()
            .all(|d| d.statuses.last().is_none_or(|s| s.state == "inactive"))
    );
}

#[test]
fn a_pr_closed_while_its_preview_deploys_leaves_nothing_behind() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/race");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:2.0.0"), "web 2");
    let pull = world.open_pull(44, "feat/race", "develop");
    // Slow the cluster down so the deploy is still running when the PR closes.
    world.testing.set_latency(Duration::from_millis(40));
    let run = std::thread::scope(|scope| {
        let (testing, github) = (&world.testing, &world.github);
        scope.spawn(move || {
            let started = testing.wait_until(Duration::from_secs(5), |kube| {
                kube.list("v1", "Namespace", None)
                    .iter()
                    .any(|ns| ns["metadata"]["name"].as_str().unwrap_or("").starts_with("preview-"))
            });
            assert!(started, "the preview never started deploying");
            github.update_pull(REPOSITORY, 44, |p| p.state = PullState::Closed);
        });
        world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[])
    });
    world.testing.set_latency(Duration::ZERO);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty(), "{}", run.stdout);
    assert!(world.testing.all_objects().iter().all(|o| o["kind"] != "Deployment"));
    assert!(run.stdout.contains("closed while its preview was deployed"), "{}", run.stdout);
    let deployments = world.github.deployments(REPOSITORY);
    assert!(deployments.iter().all(|d| d.statuses.last().is_some_and(|s| s.state == "inactive")));
}

#[test]
fn an_event_for_a_commit_the_pr_already_moved_past_deploys_nothing() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/fast");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:2.0.0"), "web 2");
    let stale = world.open_pull(45, "feat/fast", "develop");
    // Another push landed before this run started: GitHub already reports the newer head.
    let newer = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.1"),
        "fix",
    );
    world.github.update_pull(REPOSITORY, 45, |p| p.head_sha = newer.clone());
    let current = world.github_pull(45);
    let first =
        world.run("pull_request", Some(pull_request("synchronize", &current, false, None)), &[]);
    assert_eq!(first.code, 0, "stdout:\n{}\nstderr:\n{}", first.stdout, first.stderr);
    let namespace = first.outputs["preview-namespace"].clone();
    let comment = world.github.comments(REPOSITORY, 45);
    // The older commit's run comes last (its runner was slower).
    let run =
        world.run("pull_request", Some(pull_request("synchronize", &stale, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("superseded"), "{}", run.stdout);
    assert!(run.stdout.contains(&newer), "{}", run.stdout);
    // The newer commit stays deployed, and the comment still describes it.
    let web = world.testing.get("apps/v1", "Deployment", &namespace, "web").unwrap();
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:2.0.1");
    assert_eq!(world.github.comments(REPOSITORY, 45), comment);
    assert_eq!(world.github.deployments(REPOSITORY).len(), 1);
}

#[test]
fn a_preview_that_never_becomes_ready_fails_and_its_comment_says_why() {
    let world = World::new();
    // A fork PR with the opt-in label: its preview namespace is known before it exists.
    world.repo.checkout("develop").checkout_new("patch-2");
    world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("docker.io/them/web:1"),
        "theirs",
    );
    world.open_pull(46, "patch-2", "develop");
    world.github.update_pull(REPOSITORY, 46, |p| {
        p.head_repo = Some("them/homelab".into());
        p.labels = vec!["deploy-preview".into()];
    });
    world.testing.set_behaviour("Deployment", "preview-pr-46", "web", Behaviour::NeverReady);
    let pull = world.github_pull(46);
    let run = world.run(
        "pull_request",
        Some(pull_request("opened", &pull, false, None)),
        &[("wait-timeout", "1s")],
    );
    assert_eq!(run.code, 1, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let comments = world.github.comments(REPOSITORY, 46);
    assert_eq!(comments.len(), 1);
    let body = &comments[0].body;
    assert!(body.contains("Deployment preview-pr-46/web not ready"), "{body}");
    assert!(body.contains("condition Available=False"), "{body}");
    assert!(body.contains("event Warning BackOff"), "the event is in the comment: {body}");
    let deployments = world.github.deployments(REPOSITORY);
    assert_eq!(deployments.len(), 1, "{deployments:?}");
    assert_eq!(deployments[0].environment, "preview/pr-46");
    assert_eq!(deployments[0].statuses.last().unwrap().state, "failure");
}

#[test]
fn bad_input_exits_2_naming_it_and_touches_nothing() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/x");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.0"),
        "web 2",
    );
    let event = push("feat/x", &before, &after);
    let run = world.run("push", Some(event.clone()), &[("wait-timeout", "soon")]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.lines().any(|l| l.starts_with("::error") && l.contains("wait-timeout")));

    // A payload that is not the event's shape.
    let run = world.run("push", Some(serde_json::json!({ "ref": 42 })), &[]);
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("push"), "{}", run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.github.deployments(REPOSITORY).is_empty());
}
