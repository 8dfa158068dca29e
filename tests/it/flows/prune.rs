//! What leaves the render leaves the cluster: an object dropped from a unit and a unit removed
//! from the repository are pruned from testing by the next push to `develop` — and only what
//! gitops-env applied is ever deleted.

use serde_json::json;

use crate::support::flow::{World, push};

/// Pushes the current develop head (after `before`) and expects success.
fn push_develop(world: &World, before: &str) {
    let after = world.repo.head();
    let run = world.run("push", Some(push("develop", before, &after)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
}

#[test]
fn objects_and_units_that_leave_the_render_are_pruned_and_nothing_else() {
    let world = World::new();
    world.bootstrap("testing");
    // Something in the app's namespace that someone else made: never ours to delete.
    world
        .testing
        .apply_as(
            "kubectl",
            json!({ "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": { "name": "hand-made", "namespace": "web" }, "data": { "a": "b" } }),
        )
        .unwrap();
    world.repo.checkout("develop");
    // First deploy of both apps (a change to each).
    let start = world.repo.head();
    world.change(
        "apps/overlays/testing/web/kustomization.yaml",
        "namespace: web\nresources: [../../../base/web]\nreplicas:\n- name: web\n  count: 2\n",
        "two webs",
    );
    world.change(
        "apps/overlays/testing/api/kustomization.yaml",
        "namespace: api\nresources: [../../../base/api]\nreplicas:\n- name: api\n  count: 2\n",
        "two apis",
    );
    push_develop(&world, &start);
    assert!(world.objects_in(&world.testing, "web").contains(&"Ingress/web".to_owned()));
    assert!(world.objects_in(&world.testing, "api").contains(&"Deployment/api".to_owned()));

    // The ingress leaves web's render; the api app leaves the testing environment.
    let before = world.repo.head();
    world
        .repo
        .write("apps/base/web/kustomization.yaml", "resources: [deployment.yaml, service.yaml]\n");
    world.repo.remove("apps/overlays/testing/api/kustomization.yaml");
    world.repo.commit("no ingress, no api in testing");
    push_develop(&world, &before);

    assert_eq!(
        world.objects_in(&world.testing, "web"),
        ["ConfigMap/hand-made", "Deployment/web", "Service/web"]
    );
    assert!(world.objects_in(&world.testing, "api").is_empty());
    // The namespaces are not the apps' to delete.
    assert_eq!(world.namespaces(&world.testing, "api"), ["api"]);
}
