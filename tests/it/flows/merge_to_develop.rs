//! Integrate: a feature PR merged into `develop` tears its preview down (the PR-closed run) and
//! the push of the merge deploys the changed units to the shared testing environment — one
//! testing deploy per merge — with GitHub deployment statuses to match.

use fakes::github::PullState;

use crate::support::flow::{REPOSITORY, World, pull_request, push, web_deployment};

/// The last status's state of each deployment of `environment` (prefix), oldest first.
fn latest_states(world: &World, environment: &str) -> Vec<String> {
    world
        .github
        .deployments(REPOSITORY)
        .iter()
        .filter(|d| d.environment.starts_with(environment))
        .map(|d| d.statuses.last().map(|s| s.state.clone()).unwrap_or_default())
        .collect()
}

#[test]
fn a_merged_pr_tears_its_preview_down_and_the_push_deploys_testing_once() {
    let world = World::new();
    world.bootstrap("testing");
    world.repo.checkout("develop").checkout_new("feat/x");
    world.change("apps/base/web/deployment.yaml", &web_deployment("ghcr.io/me/web:2.0.0"), "web 2");
    world.change(
        "apps/base/api/kustomization.yaml",
        "resources: [deployment.yaml]\nconfigMapGenerator:\n- name: api-config\n  literals: [LOG_LEVEL=warn]\n",
        "quieter api",
    );
    let pull = world.open_pull(3, "feat/x", "develop");
    let opened = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(opened.code, 0, "stdout:\n{}\nstderr:\n{}", opened.stdout, opened.stderr);
    let previews = world.namespaces(&world.testing, "preview-");
    assert_eq!(previews.len(), 1, "{previews:?}");
    assert_eq!(latest_states(&world, "preview/"), ["success"]);

    // GitHub merges the PR with a merge commit on develop.
    world.repo.checkout("develop");
    let develop_before = world.repo.head();
    let merge = world.repo.merge("feat/x");
    world.github.update_pull(REPOSITORY, 3, |p| {
        p.state = PullState::Closed;
        p.merged = true;
    });
    let pull = world.github_pull(3);
    let merged =
        world.run("pull_request", Some(pull_request("closed", &pull, true, Some(&merge))), &[]);
    assert_eq!(merged.code, 0, "stdout:\n{}\nstderr:\n{}", merged.stdout, merged.stderr);
    // The closed run tears the preview down and leaves testing to the push.
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    assert!(world.objects_in(&world.testing, &previews[0]).is_empty());
    let web = world.testing.get("apps/v1", "Deployment", "web", "web").expect("bootstrapped");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:1.0.0");
    assert!(merged.stdout.contains("deployed by the push"), "{}", merged.stdout);

    let pushed = world.run("push", Some(push("develop", &develop_before, &merge)), &[]);
    assert_eq!(pushed.code, 0, "stdout:\n{}\nstderr:\n{}", pushed.stdout, pushed.stderr);
    // Testing runs the merged change.
    let web = world.testing.get("apps/v1", "Deployment", "web", "web").expect("web deployed");
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "ghcr.io/me/web:2.0.0");
    let api = world.objects_in(&world.testing, "api");
    assert!(api.contains(&"Deployment/api".to_owned()), "{api:?}");
    assert!(api.iter().any(|o| o.starts_with("ConfigMap/api-config-")), "{api:?}");
    // Nothing reached production.
    assert!(world.objects_in(&world.production, "web").is_empty());

    // One testing deployment at the merge commit, and it succeeded; the preview's is inactive.
    let testing: Vec<_> = world
        .github
        .deployments(REPOSITORY)
        .into_iter()
        .filter(|d| d.environment == "testing" && d.sha != develop_before)
        .collect();
    assert_eq!(testing.len(), 1, "{testing:?}");
    assert_eq!(testing[0].sha, merge);
    assert!(!testing[0].transient_environment && !testing[0].production_environment);
    assert_eq!(testing[0].statuses.last().unwrap().state, "success");
    assert_eq!(latest_states(&world, "preview/"), ["inactive"]);
    assert!(pushed.outputs["environment"].contains("testing"), "{:?}", pushed.outputs);
    // The PR keeps its one comment, now telling that its preview is gone.
    let comments = world.github.comments(REPOSITORY, 3);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].body.contains("torn down"), "{}", comments[0].body);
    world.github.assert_no_violations();
}

#[test]
fn infrastructure_changed_on_a_feature_branch_is_a_diff_until_merged_into_develop() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/monitoring");
    world.change(
        "infrastructure/base/monitoring.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: monitoring\n",
        "monitoring namespace",
    );
    world.change(
        "infrastructure/base/kustomization.yaml",
        "resources: [namespaces.yaml, monitoring.yaml]\n",
        "list it",
    );
    let pull = world.open_pull(4, "feat/monitoring", "develop");
    let opened = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(opened.code, 0, "stdout:\n{}\nstderr:\n{}", opened.stdout, opened.stderr);
    // Cluster-wide objects cannot live in a preview: shown, not applied.
    assert!(world.namespaces(&world.testing, "monitoring").is_empty());
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    let comments = world.github.comments(REPOSITORY, 4);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("monitoring"), "{}", comments[0].body);

    world.repo.checkout("develop");
    let develop_before = world.repo.head();
    let merge = world.repo.merge("feat/monitoring");
    world.github.update_pull(REPOSITORY, 4, |p| {
        p.state = PullState::Closed;
        p.merged = true;
    });
    let pull = world.github_pull(4);
    let merged =
        world.run("pull_request", Some(pull_request("closed", &pull, true, Some(&merge))), &[]);
    assert_eq!(merged.code, 0, "stdout:\n{}\nstderr:\n{}", merged.stdout, merged.stderr);
    let pushed = world.run("push", Some(push("develop", &develop_before, &merge)), &[]);
    assert_eq!(pushed.code, 0, "stdout:\n{}\nstderr:\n{}", pushed.stdout, pushed.stderr);
    assert_eq!(world.namespaces(&world.testing, "monitoring"), ["monitoring"]);
    assert!(world.namespaces(&world.production, "monitoring").is_empty());
}

#[test]
fn a_new_app_in_a_namespace_that_infrastructure_adds_in_the_same_push_deploys() {
    let world = World::new();
    world.bootstrap("testing");
    world.repo.checkout("develop");
    let before = world.repo.head();
    world.repo.write(
        "infrastructure/base/namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: api\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: cache\n",
    );
    world.repo.write("apps/base/cache/kustomization.yaml", "resources: [deployment.yaml]\n");
    world.repo.write(
        "apps/base/cache/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cache\nspec:\n  selector:\n    matchLabels:\n      app: cache\n  template:\n    metadata:\n      labels:\n        app: cache\n    spec:\n      containers:\n      - name: cache\n        image: valkey/valkey:8\n",
    );
    world.repo.write(
        "apps/overlays/testing/cache/kustomization.yaml",
        "namespace: cache\nresources: [../../../base/cache]\n",
    );
    let after = world.repo.commit("a cache, in its own namespace");
    let run = world.run("push", Some(push("develop", &before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(world.namespaces(&world.testing, "cache"), ["cache"]);
    assert!(world.objects_in(&world.testing, "cache").contains(&"Deployment/cache".to_owned()));
}
