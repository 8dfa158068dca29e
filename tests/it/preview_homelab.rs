//! The preview transforms on the bundled example's real manifests, with its own config file.

use std::path::Path;
use std::time::Duration;

use gitops_env::config::Config;
use gitops_env::preview::{LABEL_PREVIEW, Preview, PreviewRequest, PreviewSettings};
use gitops_env::timestamp::Timestamp;
use kustomize::Value;

fn homelab() -> std::path::PathBuf {
    testsupport::workspace_root().join("examples/homelab")
}

fn homelab_config() -> Config {
    let path = homelab().join(".github/gitops-env.yaml");
    let text = std::fs::read_to_string(&path).expect("read the example's config file");
    let value = kustomize::yaml::parse_document(&text, ".github/gitops-env.yaml").expect("parse");
    let mut config = Config::default();
    config.merge_file(&value, ".github/gitops-env.yaml").unwrap_or_else(|e| panic!("{e}"));
    config
}

/// The Kubernetes objects among an app's base files (generator inputs have no `kind`).
fn base_objects(app: &str) -> Vec<Value> {
    let dir = homelab().join("apps/base").join(app);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read app folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml")
        })
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read manifest");
        let name = file.strip_prefix(homelab()).unwrap_or(Path::new("?")).display().to_string();
        let documents = kustomize::yaml::parse_documents(&text, &name).expect("parse manifest");
        objects.extend(documents.into_iter().filter(|d| d.get_path(&["kind"]).is_some()));
    }
    objects
}

fn preview(config: &Config) -> Preview {
    let request = PreviewRequest {
        repository: "me/homelab".into(),
        pull_request: Some(42),
        named_by_pull_request: true,
        branch: "feat/new-theme".into(),
        sha: "89abcdef0123456789abcdef0123456789abcdef".into(),
        created_at: Timestamp(1_795_629_600),
    };
    Preview::new(request, PreviewSettings::from_config(config, Vec::new())).expect("valid preview")
}

#[test]
fn the_example_config_file_is_valid_and_says_what_its_comments_say() {
    let config = homelab_config();
    assert_eq!(
        config.preview.host_template.as_deref(),
        Some("{app}-{slug}.preview.homelab.example")
    );
    assert_eq!(config.preview.namespace_template, "preview-{slug}");
    assert_eq!(config.preview.ttl, Duration::from_secs(72 * 3600));
    assert!(config.is_preview_branch("fix/typo") && config.is_preview_branch("feat/x"));
    assert_eq!(config.environment_for_branch("main").map(|e| e.name.as_str()), Some("production"));
}

#[test]
fn every_example_app_previews_with_urls_for_its_routes() {
    let config = homelab_config();
    let preview = preview(&config);
    assert_eq!(preview.namespace(), "preview-pr-42");
    let mut urls_by_app = Vec::new();
    for app in ["postgres", "recipes", "uptime", "web", "whoami"] {
        let objects = base_objects(app);
        assert!(!objects.is_empty(), "{app} has manifests");
        let unit = preview.transform(app, objects).unwrap_or_else(|e| panic!("{app}: {e}"));
        for object in &unit.objects {
            assert_eq!(
                object.get_path(&["metadata", "namespace"]).and_then(Value::as_str),
                Some("preview-pr-42")
            );
            assert_eq!(
                object.get_path(&["metadata", "labels", LABEL_PREVIEW]).and_then(Value::as_str),
                Some("pr-42")
            );
        }
        assert!(unit.left_out.is_empty(), "{app}: {:?}", unit.left_out);
        urls_by_app.push((app, unit.urls.into_iter().map(|u| u.url).collect::<Vec<_>>()));
    }
    assert_eq!(
        urls_by_app,
        [
            ("postgres", vec![]),
            ("recipes", vec!["https://recipes-pr-42.preview.homelab.example/".to_owned()]),
            // Two Host() matchers, one {app}: the same preview host, listed once.
            ("uptime", vec!["https://uptime-pr-42.preview.homelab.example/".to_owned()]),
            ("web", vec!["https://web-pr-42.preview.homelab.example/".to_owned()]),
            ("whoami", vec!["https://whoami-pr-42.preview.homelab.example/".to_owned()]),
        ]
    );
}
