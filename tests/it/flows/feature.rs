//! Feature branches: a push deploys the changed apps into the branch's preview; a PR gets one
//! sticky comment, updated in place, with the preview URL and the diff.

use crate::support::flow::{World, ZERO, pull_request, push, web_deployment};

#[test]
fn push_to_a_feature_branch_deploys_the_changed_app_into_its_preview() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/new-theme");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.0"),
        "web 2.0",
    );
    let run = world.run("push", Some(push("feat/new-theme", &before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    let previews = world.namespaces(&world.testing, "preview-");
    assert_eq!(previews.len(), 1, "{previews:?}");
    let namespace = &previews[0];
    assert!(namespace.starts_with("preview-feat-new-theme-"), "{namespace}");
    let objects = world.objects_in(&world.testing, namespace);
    assert!(objects.contains(&"Deployment/web".to_owned()), "{objects:?}");
    assert!(objects.contains(&"Ingress/web".to_owned()), "{objects:?}");
    assert!(!objects.iter().any(|o| o.contains("api")), "unchanged app deployed: {objects:?}");
    // Nothing reached production, and the shared testing namespaces were not touched.
    assert!(world.production.all_objects().iter().all(|o| o["kind"] == "Namespace"
        || o["metadata"]["namespace"] == "kube-system"
        || o["metadata"]["namespace"] == "default"
        || o["kind"] != "Deployment"));
    assert!(world.objects_in(&world.testing, "web").is_empty());

    let urls = &run.outputs["preview-urls"];
    assert!(urls.contains("https://web-feat-new-theme-"), "{urls}");
    assert_eq!(&run.outputs["preview-namespace"], namespace);
    assert!(run.summary.contains("apps/overlays/testing/web"), "{}", run.summary);
    let image = world.testing.get("apps/v1", "Deployment", namespace, "web").unwrap()["spec"]["template"]["spec"]["containers"][0]["image"].clone();
    assert_eq!(image, "ghcr.io/me/web:2.0.0");
}

#[test]
fn a_new_branch_with_a_zero_before_compares_with_develop() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/api-debug");
    let after = world.change(
        "apps/overlays/testing/api/kustomization.yaml",
        "namespace: api\nresources: [../../../base/api]\nconfigMapGenerator:\n- name: api-config\n  behavior: merge\n  literals: [LOG_LEVEL=debug]\n",
        "debug logs",
    );
    let run = world.run("push", Some(push("feat/api-debug", ZERO, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let previews = world.namespaces(&world.testing, "preview-");
    assert_eq!(previews.len(), 1);
    let objects = world.objects_in(&world.testing, &previews[0]);
    assert!(objects.iter().any(|o| o.starts_with("ConfigMap/api-config-")), "{objects:?}");
    assert!(!objects.contains(&"Deployment/web".to_owned()), "{objects:?}");
}

#[test]
fn a_pr_gets_one_sticky_comment_updated_on_every_push() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/new-theme");
    world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.0"),
        "web 2.0",
    );
    let pull = world.open_pull(7, "feat/new-theme", "develop");
    let first = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(first.code, 0, "stdout:\n{}\nstderr:\n{}", first.stdout, first.stderr);
    let comments = world.github.comments(crate::support::flow::REPOSITORY, 7);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.starts_with("<!-- gitops-env:"), "{}", comments[0].body);
    assert!(comments[0].body.contains("https://web-feat-new-theme-"), "{}", comments[0].body);
    assert!(
        comments[0].body.contains("+      - image: ghcr.io/me/web:2.0.0"),
        "{}",
        comments[0].body
    );
    // A new preview: everything is added into its namespace, at its preview host.
    let first_body = &comments[0].body;
    assert!(first_body.contains("+  namespace: preview-feat-new-theme-"), "{first_body}");
    assert!(first_body.contains("+  - host: web-feat-new-theme-"), "{first_body}");
    assert!(!first_body.contains("host: web.homelab.example"), "{first_body}");

    // A second push to the PR: the same comment is updated.
    world.change("apps/base/web/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app.kubernetes.io/name: web\n  ports:\n  - port: 8080\n", "port 8080");
    world
        .github
        .update_pull(crate::support::flow::REPOSITORY, 7, |p| p.head_sha = world.repo.head());
    let pull = world.github_pull(7);
    let second =
        world.run("pull_request", Some(pull_request("synchronize", &pull, false, None)), &[]);
    assert_eq!(second.code, 0, "stdout:\n{}\nstderr:\n{}", second.stdout, second.stderr);
    let comments = world.github.comments(crate::support::flow::REPOSITORY, 7);
    assert_eq!(comments.len(), 1, "a second comment was added");
    let body = &comments[0].body;
    assert!(body.contains("-  - port: 80") && body.contains("+  - port: 8080"), "{body}");
    // The diff is of what the cluster did: the live preview before against after, in the
    // preview's own namespace (not the testing overlay's `web`).
    assert!(body.contains("_Applied:"), "{body}");
    assert!(body.contains("`Service/preview-feat-new-theme-"), "{body}");
    assert!(!body.contains("Service/web/web"), "{body}");
    // The deployment for the preview succeeded, with its URL.
    let deployments = world.github.deployments(crate::support::flow::REPOSITORY);
    assert!(
        deployments.iter().any(
            |d| d.environment.starts_with("preview/feat-new-theme-") && d.transient_environment
        )
    );
    world.github.assert_no_violations();
}
