//! Image overrides: a workflow that has just built and pushed an image passes it in the
//! `images` input (kustomize's form), and the preview runs it.

use crate::support::flow::{World, push, web_deployment};

#[test]
fn the_images_input_sets_the_image_a_preview_runs() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/build");
    let before = world.repo.head();
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:2.0.0"),
        "web 2",
    );
    let built = format!("ghcr.io/me/web=ghcr.io/me/web:sha-{}", &after[..12]);
    let run = world.run("push", Some(push("feat/build", &before, &after)), &[("images", &built)]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let namespace = &run.outputs["preview-namespace"];
    let web = world.testing.get("apps/v1", "Deployment", namespace, "web").unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("ghcr.io/me/web:sha-{}", &after[..12])
    );
}

#[test]
fn a_code_only_change_with_a_freshly_built_image_redeploys_the_app_that_runs_it() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/code-only");
    let before = world.repo.head();
    // The change touches the app's source, not its manifests.
    let after = world.change("src/web/main.go", "package main\n", "new handler");
    let built = format!("ghcr.io/me/web=ghcr.io/me/web:sha-{}", &after[..12]);
    let run =
        world.run("push", Some(push("feat/code-only", &before, &after)), &[("images", &built)]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let namespace = &run.outputs["preview-namespace"];
    let web = world.testing.get("apps/v1", "Deployment", namespace, "web").unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("ghcr.io/me/web:sha-{}", &after[..12])
    );
    // The app that does not run the image stays out of the preview.
    assert!(world.testing.get("apps/v1", "Deployment", namespace, "api").is_none());
    assert!(run.outputs["affected-units"].contains("apps/overlays/testing/web"));
}

#[test]
fn a_new_build_alone_shows_its_image_change_in_the_comment() {
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/rebuild");
    let before = world.repo.head();
    let first = world.change("src/web/main.go", "package main\n", "handler");
    let built = |sha: &str| format!("ghcr.io/me/web=ghcr.io/me/web:sha-{}", &sha[..12]);
    let run = world.run(
        "push",
        Some(push("feat/rebuild", &before, &first)),
        &[("images", &built(&first))],
    );
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    // Another code-only commit, built again: only the image differs from what runs.
    let second = world.change("src/web/main.go", "package main\n// v2\n", "handler v2");
    let run = world.run(
        "push",
        Some(push("feat/rebuild", &first, &second)),
        &[("images", &built(&second))],
    );
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let old = format!("-      - image: ghcr.io/me/web:sha-{}", &first[..12]);
    let new = format!("+      - image: ghcr.io/me/web:sha-{}", &second[..12]);
    assert!(run.summary.contains(&old) && run.summary.contains(&new), "{}", run.summary);
    assert!(!run.summary.contains("no changes"), "{}", run.summary);
}
