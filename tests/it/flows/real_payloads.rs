//! The feature flow driven by GitHub's own webhook payloads (`../shared/fixtures/github/
//! webhooks/`, every field GitHub sends), adapted to the world's repository, branches and
//! commits — so the action is proven on the full shapes, not only on the trimmed ones the other
//! flows build.

use serde_json::{Value as Json, json};

use crate::support::flow::{REPOSITORY, World, web_deployment};

/// A fixture payload with every repository in it pointed at the world's repository.
fn fixture(shared: &std::path::Path, event: &str, file: &str) -> Json {
    let path = shared.join("fixtures/github/webhooks").join(event).join(file);
    let mut payload: Json = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    retarget(&mut payload);
    payload
}

/// Rewrites every repository object (anything with a `full_name`) to the world's repository.
fn retarget(value: &mut Json) {
    match value {
        Json::Object(map) => {
            if map.contains_key("full_name") && map.contains_key("owner") {
                map.insert("full_name".into(), json!(REPOSITORY));
                map.insert("name".into(), json!("homelab"));
                map.insert("fork".into(), json!(false));
                map.insert("default_branch".into(), json!("main"));
            }
            map.values_mut().for_each(retarget);
        }
        Json::Array(items) => items.iter_mut().for_each(retarget),
        _ => {}
    }
}

#[test]
fn githubs_own_payloads_drive_a_preview_from_push_to_deletion() {
    let Some(shared) = testsupport::shared_dir("webhook payload fixtures") else { return };
    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/real");
    let after = world.change(
        "apps/base/web/deployment.yaml",
        &web_deployment("ghcr.io/me/web:4.0.0"),
        "web 4",
    );

    // The branch's first push (a new branch: all-zero `before`).
    let mut pushed = fixture(&shared, "push", "with-new-branch.json");
    pushed["ref"] = json!("refs/heads/feat/real");
    pushed["after"] = json!(after);
    pushed["head_commit"]["id"] = json!(after);
    let run = world.run("push", Some(pushed), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let namespace = run.outputs["preview-namespace"].clone();
    assert!(namespace.starts_with("preview-feat-real-"), "{namespace}");
    assert!(world.objects_in(&world.testing, &namespace).contains(&"Deployment/web".to_owned()));

    // The PR is opened.
    let pull = world.open_pull(60, "feat/real", "develop");
    let mut opened = fixture(&shared, "pull_request", "opened.json");
    opened["number"] = json!(60);
    let pr = &mut opened["pull_request"];
    pr["number"] = json!(60);
    pr["head"]["ref"] = json!(pull.head_ref);
    pr["head"]["sha"] = json!(pull.head_sha);
    pr["base"]["ref"] = json!(pull.base_ref);
    pr["base"]["sha"] = json!(pull.base_sha);
    let run = world.run("pull_request", Some(opened), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["preview-namespace"], namespace);
    let comments = world.github.comments(REPOSITORY, 60);
    assert_eq!(comments.len(), 1);
    assert!(comments[0].body.contains("https://web-feat-real-"), "{}", comments[0].body);

    // The branch is deleted.
    let mut deleted = fixture(&shared, "delete", "branch.derived.json");
    deleted["ref"] = json!("feat/real");
    let run = world.run("delete", Some(deleted), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(world.namespaces(&world.testing, "preview-").is_empty());
    world.github.assert_no_violations();
}
