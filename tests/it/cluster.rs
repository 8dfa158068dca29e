//! The cluster stage against the fake API server: apply, prune, ownership, conflicts, retries,
//! readiness, dry run, teardown and sweep, asserted on the server's end state.

use std::time::{Duration, Instant};

use fakes::kube::{Behaviour, FakeKube, Fault};
use gitops_env::cluster::inventory::{self, MANAGED_BY_LABEL};
use gitops_env::cluster::{
    Change, Cluster, ClusterError, Counts, DeployOptions, KeepReason, KubeconfigSource, Ownership,
    PreviewSelector, RetryPolicy, Scope, Target, Timeouts, from_json, to_json,
};
use gitops_env::preview::{
    ANNOTATION_CREATED_AT, ANNOTATION_EXPIRES_AT, ANNOTATION_PULL_REQUEST, ANNOTATION_TTL,
    LABEL_PREVIEW, MANAGER,
};
use gitops_env::timestamp::Timestamp;
use kustomize::value::Value;
use serde_json::{Value as Json, json};

fn target(fake: &FakeKube) -> Target {
    Target { kubeconfig: KubeconfigSource::Inline(fake.kubeconfig_yaml()), context: None }
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        max_elapsed: Duration::from_secs(10),
    }
}

async fn connect(fake: &FakeKube) -> Cluster {
    Cluster::connect(&target(fake), fast_retry()).await.expect("connect to fake-kube")
}

fn options() -> DeployOptions {
    DeployOptions {
        wait_timeout: Some(Duration::from_secs(10)),
        retry: fast_retry(),
        ..DeployOptions::default()
    }
}

fn values(objects: &[Json]) -> Vec<Value> {
    objects.iter().map(from_json).collect()
}

fn scope(environment: &str, unit: &str) -> Scope {
    Scope { environment: environment.into(), unit: unit.into() }
}

fn namespace(name: &str) -> Json {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(ns: &str, name: &str, mode: &str) -> Json {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"mode": mode}})
}

fn deployment(ns: &str, name: &str, image: &str) -> Json {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}}
        }
    })
}

fn service(ns: &str, name: &str) -> Json {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})
}

fn web_app(image: &str, with_b: bool) -> Vec<Json> {
    let mut objects = vec![
        namespace("web"),
        deployment("web", "web", image),
        service("web", "web"),
        configmap("web", "a", "fast"),
    ];
    if with_b {
        objects.push(configmap("web", "b", "slow"));
    }
    objects
}

fn patches(fake: &FakeKube) -> usize {
    fake.requests().iter().filter(|r| r.method == "PATCH").count()
}

#[tokio::test]
async fn apply_change_and_reapply_prunes_exactly_what_left() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/web");

    let first =
        cluster.deploy(&values(&web_app("nginx:1.27", true)), &unit, &options()).await.unwrap();
    assert!(first.is_success(), "{first:?}");
    assert_eq!(first.applied.len(), 5);
    assert_eq!(first.applied[0].object.kind, "Namespace", "namespaces go first");
    let b = fake.get("v1", "ConfigMap", "web", "b").expect("b applied");
    assert_eq!(b["metadata"]["labels"][MANAGED_BY_LABEL], "gitops-env");
    assert_eq!(b["metadata"]["managedFields"][0]["manager"], "gitops-env");

    let second =
        cluster.deploy(&values(&web_app("nginx:1.28", false)), &unit, &options()).await.unwrap();
    assert!(second.is_success(), "{second:?}");
    let pruned: Vec<String> = second.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["ConfigMap web/b"]);
    assert!(fake.get("v1", "ConfigMap", "web", "b").is_none());
    assert!(fake.get("v1", "ConfigMap", "web", "a").is_some());
    let web = fake.get("apps/v1", "Deployment", "web", "web").unwrap();
    assert_eq!(web["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(web["metadata"]["generation"], 2);

    // Steady state: one PATCH per object, one read per kind and namespace (here each kind has
    // one object: a GET each), one inventory read, nothing else.
    fake.clear_requests();
    let steady = DeployOptions { wait_timeout: None, ..options() };
    let third =
        cluster.deploy(&values(&web_app("nginx:1.28", false)), &unit, &steady).await.unwrap();
    assert!(third.is_success(), "{third:?}");
    let requests = fake.requests();
    assert_eq!(patches(&fake), 4, "{requests:?}");
    assert_eq!(requests.len(), 9, "{requests:?}");
}

#[tokio::test]
async fn foreign_objects_are_never_deleted_whatever_the_inventory_says() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/web");
    let outcome =
        cluster.deploy(&values(&web_app("nginx:1.27", true)), &unit, &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");

    // Someone replaces `b` with their own object of the same name.
    fake.remove("v1", "ConfigMap", "web", "b").unwrap();
    fake.apply_as("someone-else", configmap("web", "b", "theirs")).unwrap();
    // And the inventory is tampered with to list an object we never created.
    fake.apply_as("intruder", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "precious", "namespace": "kube-system"}, "data": {}}))
        .unwrap();
    let name = inventory::inventory_name(&unit);
    let mut record = fake.get("v1", "ConfigMap", inventory::INVENTORY_NAMESPACE, &name).unwrap();
    let mut listed: Vec<Json> =
        serde_json::from_str(record["data"]["objects.json"].as_str().unwrap()).unwrap();
    listed.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "namespace": "kube-system", "name": "precious"}));
    record["data"]["objects.json"] = json!(serde_json::to_string(&listed).unwrap());
    let record = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": inventory::INVENTORY_NAMESPACE}, "data": record["data"]});
    fake.force_apply_as("intruder", record).unwrap();

    let outcome =
        cluster.deploy(&values(&web_app("nginx:1.27", false)), &unit, &options()).await.unwrap();
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert!(outcome.pruned.is_empty(), "{:?}", outcome.pruned);
    let skipped: Vec<String> = outcome.prune_skipped.iter().map(|(o, _)| o.to_string()).collect();
    assert_eq!(skipped, ["ConfigMap kube-system/precious", "ConfigMap web/b"]);
    assert_eq!(fake.get("v1", "ConfigMap", "web", "b").unwrap()["data"]["mode"], "theirs");
    assert!(fake.get("v1", "ConfigMap", "kube-system", "precious").is_some());
}

#[tokio::test]
async fn conflicts_name_the_other_manager_and_force_takes_over() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    fake.apply_as("ops", namespace("web")).unwrap();
    fake.apply_as("kubectl-edit", configmap("web", "a", "slow")).unwrap();
    let unit = scope("testing", "apps/web");
    let objects = values(&[configmap("web", "a", "fast")]);
    // Someone else's object: taken over only when adopting, and then with its conflicts.
    let adopt = DeployOptions { adopt: true, ..options() };

    let outcome = cluster.deploy(&objects, &unit, &adopt).await.unwrap();
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    match &outcome.failed[0].error {
        ClusterError::Conflict { managers, fields, .. } => {
            assert_eq!(managers, &["kubectl-edit"]);
            assert_eq!(fields, &[".data.mode"]);
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert!(outcome.failed[0].error.to_string().contains("force-conflicts"));
    assert_eq!(fake.get("v1", "ConfigMap", "web", "a").unwrap()["data"]["mode"], "slow");

    let forced = DeployOptions { force_conflicts: true, ..adopt };
    let outcome = cluster.deploy(&objects, &unit, &forced).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(fake.get("v1", "ConfigMap", "web", "a").unwrap()["data"]["mode"], "fast");
}

#[tokio::test]
async fn transient_failures_are_retried_and_nothing_is_lost() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let mut objects = vec![namespace("many")];
    objects.extend((0..20).map(|i| configmap("many", &format!("c{i}"), "x")));
    fake.inject(
        Fault::too_many_requests(1).method("PATCH").path_contains("/configmaps/c3").times(1),
    );
    fake.inject(Fault::status(503).method("PATCH").times(3));
    fake.inject(Fault::status(500).method("PATCH").path_contains("/configmaps/c7").times(2));
    fake.inject(Fault::drop_connection().method("PATCH").path_contains("/configmaps/c1").times(2));
    fake.inject(Fault::drop_connection().method("GET").times(1));
    let started = Instant::now();
    let outcome =
        cluster.deploy(&values(&objects), &scope("testing", "many"), &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.applied.len(), 21);
    assert_eq!(fake.list("v1", "ConfigMap", Some("many")).len(), 20);
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");

    // A fault that never clears: bounded attempts, then a clear failure; nothing partial hidden.
    fake.inject(Fault::status(503).method("PATCH").path_contains("/configmaps/c5"));
    let outcome =
        cluster.deploy(&values(&objects), &scope("testing", "many"), &options()).await.unwrap();
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    let message = outcome.failed[0].error.to_string();
    assert!(message.starts_with("ConfigMap many/c5: apply failed after 6 attempts"), "{message}");
    assert!(outcome.pruned.is_empty());
}

#[tokio::test]
async fn rollout_timeout_reports_conditions_and_events() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    fake.set_behaviour("Deployment", "web", "web", Behaviour::NeverReady);
    fake.set_behaviour("Deployment", "web", "broken", Behaviour::Fail);
    let objects = values(&[
        namespace("web"),
        deployment("web", "web", "nginx:404"),
        deployment("web", "broken", "nginx:1"),
    ]);
    let short = DeployOptions { wait_timeout: Some(Duration::from_secs(1)), ..options() };
    let outcome = cluster.deploy(&objects, &scope("testing", "apps/web"), &short).await.unwrap();
    assert!(!outcome.is_success());
    assert_eq!(outcome.not_ready.len(), 2, "{outcome:?}");
    let broken = outcome.not_ready.iter().find(|n| n.object.name == "broken").unwrap();
    assert!(broken.failed);
    assert_eq!(broken.reason, "deployment \"broken\" exceeded its progress deadline");
    let web = outcome.not_ready.iter().find(|n| n.object.name == "web").unwrap();
    assert!(!web.failed);
    assert!(
        web.reason.starts_with("timed out after 1s: 0 of 2 updated replicas are available"),
        "{}",
        web.reason
    );
    assert!(
        web.conditions
            .iter()
            .any(|c| c.starts_with("Available=False (MinimumReplicasUnavailable)")),
        "{:?}",
        web.conditions
    );
    assert_eq!(web.events, ["Warning BackOff: Back-off pulling image \"nginx:404\""]);
    assert!(web.to_string().contains("event Warning BackOff"), "{web}");
}

#[tokio::test]
async fn unknown_kinds_fail_before_anything_is_applied() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let objects = values(&[
        namespace("web"),
        json!({"apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g", "namespace": "web"}}),
    ]);
    let error =
        cluster.deploy(&objects, &scope("testing", "apps/web"), &options()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the cluster serves no such kind (and no CustomResourceDefinition in the render defines it): example.com/v1/Gizmo"
    );
    assert_eq!(patches(&fake), 0);
    let invalid = values(&[json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})]);
    let error =
        cluster.deploy(&invalid, &scope("testing", "apps/web"), &options()).await.unwrap_err();
    assert_eq!(error.to_string(), "object #1 (ConfigMap <no name>): metadata.name is missing");
    let twice = values(&[configmap("web", "a", "1"), configmap("web", "a", "2")]);
    let error =
        cluster.deploy(&twice, &scope("testing", "apps/web"), &options()).await.unwrap_err();
    assert_eq!(error.to_string(), "ConfigMap web/a: appears more than once in the render");
    assert_eq!(patches(&fake), 0);
}

#[tokio::test]
async fn crds_are_established_before_their_custom_resources() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {"type": "object"}}}]}
    });
    let widget = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "web"}, "spec": {"size": 3}});
    let objects = values(&[widget, namespace("web"), crd]);
    let outcome =
        cluster.deploy(&objects, &scope("testing", "infra/widgets"), &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.applied.last().unwrap().object.kind, "Widget");
    assert_eq!(fake.get("example.com/v1", "Widget", "web", "w").unwrap()["spec"]["size"], 3);
}

#[tokio::test]
async fn dry_run_pairs_live_and_would_be_objects_without_changing_anything() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/web");
    let first = [namespace("web"), configmap("web", "a", "fast"), configmap("web", "gone", "x")];
    let outcome = cluster.deploy(&values(&first), &unit, &options()).await.unwrap();
    assert!(outcome.is_success());
    let version =
        fake.get("v1", "ConfigMap", "web", "a").unwrap()["metadata"]["resourceVersion"].clone();

    let changed = values(&[
        namespace("web"),
        configmap("web", "a", "slow"),
        namespace("fresh"),
        configmap("fresh", "new", "x"),
    ]);
    let pairs = cluster.dry_run(&changed, &unit, &options()).await.unwrap();
    assert_eq!(pairs.len(), 5);
    let gone = pairs.last().unwrap();
    assert_eq!(
        (gone.object.name.as_str(), gone.would_be.is_none()),
        ("gone", true),
        "would be pruned"
    );
    let (live_side, head_side) = gitops_env::cluster::live_diff_sides(&pairs);
    let diff = gitops_env::diff::diff_unit("apps/web", "testing", &live_side, &head_side);
    let counts =
        (diff.counts.added, diff.counts.changed, diff.counts.removed, diff.counts.unchanged);
    assert_eq!(counts, (2, 1, 1, 1), "{:#?}", diff.objects);
    let a = pairs.iter().find(|p| p.object.name == "a").unwrap();
    let live = gitops_env::cluster::to_json(a.live.as_ref().unwrap());
    let would_be = gitops_env::cluster::to_json(a.would_be.as_ref().unwrap());
    assert_eq!(live["data"]["mode"], "fast");
    assert_eq!(would_be["data"]["mode"], "slow");
    for stripped in ["managedFields", "resourceVersion", "uid", "creationTimestamp"] {
        assert!(
            live["metadata"].get(stripped).is_none()
                && would_be["metadata"].get(stripped).is_none(),
            "{stripped}"
        );
    }
    let new = pairs.iter().find(|p| p.object.name == "new").unwrap();
    assert!(new.live.is_none());
    assert_eq!(gitops_env::cluster::to_json(new.would_be.as_ref().unwrap())["data"]["mode"], "x");
    assert_eq!(
        fake.get("v1", "ConfigMap", "web", "a").unwrap()["metadata"]["resourceVersion"],
        version
    );
    assert!(fake.get("v1", "Namespace", "", "fresh").is_none());
}

/// A preview namespace as `gitops_env::preview` labels and annotates it.
fn preview_namespace(name: &str, slug: &str, pr: u64, created_at: &str, ttl_hours: u64) -> Json {
    let expires_at =
        Timestamp::parse(created_at).unwrap().plus(Duration::from_secs(ttl_hours * 3600));
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": name,
        "labels": {MANAGED_BY_LABEL: MANAGER, LABEL_PREVIEW: slug},
        "annotations": {
            ANNOTATION_CREATED_AT: created_at,
            ANNOTATION_TTL: format!("{ttl_hours}h"),
            ANNOTATION_EXPIRES_AT: expires_at.to_string(),
            ANNOTATION_PULL_REQUEST: pr.to_string(),
        },
    }})
}

async fn deploy_preview(
    cluster: &Cluster,
    name: &str,
    slug: &str,
    pr: u64,
    created_at: &str,
    ttl_hours: u64,
) {
    let units = [
        (
            "apps/web",
            vec![
                preview_namespace(name, slug, pr, created_at, ttl_hours),
                deployment(name, "web", "nginx:1"),
                service(name, "web"),
            ],
        ),
        ("apps/api", vec![configmap(name, "api", "x")]),
    ];
    for (unit, objects) in units {
        let outcome =
            cluster.deploy(&values(&objects), &scope(name, unit), &options()).await.unwrap();
        assert!(outcome.is_success(), "{outcome:?}");
    }
}

fn remaining_names(fake: &FakeKube) -> Vec<String> {
    let mut names: Vec<String> = fake
        .all_objects()
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o["kind"].as_str().unwrap_or(""),
                o["metadata"]["namespace"].as_str().unwrap_or(""),
                o["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn preview_teardown_leaves_nothing_behind_and_is_idempotent() {
    let fake = FakeKube::start();
    let before = remaining_names(&fake);
    let cluster = connect(&fake).await;
    deploy_preview(&cluster, "preview-pr-7", "pr-7", 7, "2026-01-01T00:00:00Z", 72).await;
    assert!(fake.get("apps/v1", "Deployment", "preview-pr-7", "web").is_some());

    let outcome = cluster
        .teardown(&PreviewSelector::PullRequest(7), None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.environments, ["preview-pr-7"]);
    let mut after = before.clone();
    after.push("Namespace /gitops-env-system".into());
    after.sort();
    assert_eq!(remaining_names(&fake), after);

    let again = cluster
        .teardown(&PreviewSelector::PullRequest(7), None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        again.is_success() && again.deleted.is_empty() && again.environments.is_empty(),
        "{again:?}"
    );
    let by_slug = cluster
        .teardown(&PreviewSelector::Slug("pr-7".into()), None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(by_slug.is_success() && by_slug.deleted.is_empty());
}

#[tokio::test]
async fn sweep_removes_only_expired_previews() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    deploy_preview(&cluster, "preview-old", "old", 1, "2026-01-01T00:00:00Z", 1).await;
    deploy_preview(&cluster, "preview-new", "new", 2, "2026-01-01T00:00:00Z", 72).await;
    // Labelled like a preview but not ours: never touched.
    let mut foreign = preview_namespace("preview-foreign", "foreign", 3, "2020-01-01T00:00:00Z", 1);
    foreign["metadata"]["labels"][MANAGED_BY_LABEL] = json!("someone-else");
    fake.apply_as("someone", foreign).unwrap();

    let now = Timestamp::parse("2026-01-02T00:00:00Z").unwrap();
    let outcome = cluster.sweep(now, None, Duration::from_secs(10)).await.unwrap();
    assert_eq!(outcome.removed, ["preview-old"]);
    assert_eq!(outcome.kept, [("preview-new".to_owned(), "not expired".to_owned())]);
    assert!(outcome.teardown.is_success(), "{:?}", outcome.teardown);
    assert!(fake.get("v1", "Namespace", "", "preview-old").is_none());
    assert!(fake.get("v1", "ConfigMap", "preview-old", "api").is_none());
    assert!(fake.get("apps/v1", "Deployment", "preview-new", "web").is_some());
    assert!(fake.get("v1", "Namespace", "", "preview-foreign").is_some());

    let later = Timestamp::parse("2026-01-01T02:00:00Z").unwrap();
    let all = cluster
        .sweep(later, Some(Duration::from_secs(3600)), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(all.removed, ["preview-new"]);
    assert!(fake.get("v1", "Namespace", "", "preview-foreign").is_some());
}

fn run_cli(args: &[&str]) -> (u8, String, String) {
    let args: Vec<std::ffi::OsString> =
        std::iter::once("gitops-env").chain(args.iter().copied()).map(Into::into).collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = gitops_env::run(args, &[], &mut stdout, &mut stderr);
    let code = if code == std::process::ExitCode::SUCCESS {
        0
    } else if code == std::process::ExitCode::FAILURE {
        1
    } else {
        2
    };
    (
        code,
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn cli_teardown_and_sweep() {
    let fake = FakeKube::start();
    let dir = std::env::temp_dir().join(format!("gitops-env-cli-cluster-{}", fake.addr().port()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig_yaml()).unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let cluster = connect(&fake).await;
        deploy_preview(&cluster, "preview-pr-7", "pr-7", 7, "2026-01-01T00:00:00Z", 72).await;
        deploy_preview(&cluster, "preview-old", "old", 8, "2020-01-01T00:00:00Z", 1).await;
    });

    let (code, stdout, stderr) = run_cli(&["teardown", "--pr", "7", "--kubeconfig", kubeconfig]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("preview preview-pr-7 (everything): torn down\n"), "{stdout}");
    assert!(stderr.contains("deleted Namespace preview-pr-7\n"), "{stderr}");
    assert!(stderr.contains("deleted Deployment preview-pr-7/web\n"), "{stderr}");
    assert!(fake.get("v1", "Namespace", "", "preview-pr-7").is_none());
    let (code, stdout, _) = run_cli(&["teardown", "--preview", "pr-7", "--kubeconfig", kubeconfig]);
    assert_eq!((code, stdout.as_str()), (0, "no preview matches; nothing to tear down\n"));

    let (code, stdout, stderr) = run_cli(&["sweep", "--kubeconfig", kubeconfig]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("preview preview-old (everything): torn down\n"), "{stdout}");
    assert!(!stdout.contains("preview-pr-"), "{stdout}");
    assert!(fake.get("v1", "Namespace", "", "preview-old").is_none());

    let (code, _, stderr) = run_cli(&["teardown", "--kubeconfig", kubeconfig]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run_cli(&["sweep", "--ttl", "soon", "--kubeconfig", kubeconfig]);
    assert_eq!(code, 2);
    assert!(stderr.contains("`soon` is not a duration"), "{stderr}");
    let missing = dir.join("missing");
    let (code, _, stderr) = run_cli(&["sweep", "--kubeconfig", missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains(&format!("kubeconfig {}:", missing.display())), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_deploy_renders_then_applies_and_dry_runs() {
    let fake = FakeKube::start();
    let repo = std::env::temp_dir().join(format!("gitops-env-cli-deploy-{}", fake.addr().port()));
    let unit = repo.join("apps/web/overlays/testing");
    std::fs::create_dir_all(&unit).unwrap();
    let write_unit = |mode: &str| {
        std::fs::write(
            unit.join("kustomization.yaml"),
            "namespace: web\nresources:\n- namespace.yaml\n- settings.yaml\n",
        )
        .unwrap();
        std::fs::write(
            unit.join("namespace.yaml"),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
        )
        .unwrap();
        std::fs::write(
            unit.join("settings.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: {mode}\n"),
        )
        .unwrap();
    };
    write_unit("fast");
    let kubeconfig = repo.join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig_yaml()).unwrap();
    let (repo_arg, kubeconfig_arg) = (repo.to_str().unwrap(), kubeconfig.to_str().unwrap());
    let deploy = |extra: &[&str]| {
        let mut args = vec![
            "deploy",
            "--repo",
            repo_arg,
            "--env",
            "testing",
            "--unit",
            "apps/web/overlays/testing",
        ];
        args.extend_from_slice(&["--kubeconfig", kubeconfig_arg]);
        args.extend_from_slice(extra);
        run_cli(&args)
    };

    let (code, stdout, stderr) = deploy(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "testing apps/web/overlays/testing: applied (2 added, 0 changed, 0 removed)\n"
    );
    assert_eq!(fake.get("v1", "ConfigMap", "web", "settings").unwrap()["data"]["mode"], "fast");

    write_unit("slow");
    let (code, stdout, stderr) = deploy(&["--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "testing apps/web/overlays/testing: will apply (0 added, 1 changed, 0 removed)\nnote: dry run: nothing was persisted\n"
    );
    assert_eq!(fake.get("v1", "ConfigMap", "web", "settings").unwrap()["data"]["mode"], "fast");

    // Without --unit, the environment's units are discovered.
    let discovered =
        ["deploy", "--repo", repo_arg, "--env", "testing", "--kubeconfig", kubeconfig_arg];
    let (code, stdout, stderr) = run_cli(&discovered);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("testing apps/web/overlays/testing: applied"), "{stdout}");
    assert_eq!(fake.get("v1", "ConfigMap", "web", "settings").unwrap()["data"]["mode"], "slow");
    let staging =
        ["deploy", "--repo", repo_arg, "--env", "staging", "--kubeconfig", kubeconfig_arg];
    let (code, _, stderr) = run_cli(&staging);
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: --env staging: not an environment of the settings (testing, production)\n"
    );

    fake.clear_requests();
    let (code, _, stderr) = run_cli(&[
        "deploy",
        "--repo",
        repo_arg,
        "--env",
        "testing",
        "--unit",
        "apps/missing",
        "--kubeconfig",
        kubeconfig_arg,
    ]);
    assert_eq!(code, 2);
    assert_eq!(stderr, "error: --unit apps/missing: no kustomization in that folder\n");
    assert!(fake.requests().is_empty(), "a bad unit touches nothing");

    // A unit that fails to render blocks the deploy: nothing is sent to the cluster.
    std::fs::write(unit.join("kustomization.yaml"), "resources: [missing.yaml]\n").unwrap();
    let (code, _, stderr) = deploy(&[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("\nerror: testing apps/web/overlays/testing: apps/web/overlays/testing/kustomization.yaml"),
        "{stderr}"
    );
    assert!(fake.requests().is_empty(), "a render failure touches nothing");
    let _ = std::fs::remove_dir_all(&repo);
}

#[tokio::test]
async fn a_namespace_holding_foreign_objects_is_not_pruned() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/web");
    let outcome = cluster
        .deploy(&values(&[namespace("web"), configmap("web", "a", "x")]), &unit, &options())
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    fake.apply_as("someone", configmap("web", "theirs", "keep me")).unwrap();

    let outcome = cluster.deploy(&values(&[namespace("other")]), &unit, &options()).await.unwrap();
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["ConfigMap web/a"]);
    assert_eq!(outcome.prune_skipped.len(), 1);
    assert_eq!(
        outcome.prune_skipped[0].1.to_string(),
        "it still holds objects gitops-env did not create (ConfigMap web/theirs); left in place"
    );
    assert!(fake.get("v1", "ConfigMap", "web", "theirs").is_some());
    assert!(fake.get("v1", "Namespace", "", "web").is_some());

    // Once the foreign object is gone, the next deploy prunes the namespace it still records.
    fake.remove("v1", "ConfigMap", "web", "theirs");
    let outcome = cluster.deploy(&values(&[namespace("other")]), &unit, &options()).await.unwrap();
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["Namespace web"], "{outcome:?}");
}

#[tokio::test]
async fn kubeconfig_context_selects_the_cluster() {
    let fake = FakeKube::start();
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: elsewhere\nclusters:\n- name: fake\n  cluster:\n    server: {}\n- name: closed\n  cluster:\n    server: http://127.0.0.1:1\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: u, namespace: team}}\n- name: elsewhere\n  context: {{cluster: closed, user: u}}\nusers:\n- name: u\n  user: {{token: secret-token}}\n",
        fake.url()
    );
    let target = Target {
        kubeconfig: KubeconfigSource::Inline(kubeconfig.clone()),
        context: Some("fake".into()),
    };
    let cluster = Cluster::connect(&target, fast_retry()).await.unwrap();
    assert_eq!(cluster.default_namespace(), "team");
    let objects = values(&[
        namespace("team"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "no-namespace"}}),
    ]);
    let outcome =
        cluster.deploy(&objects, &scope("testing", "apps/team"), &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(
        fake.get("v1", "ConfigMap", "team", "no-namespace").is_some(),
        "the context's namespace is the default"
    );

    let missing = Target {
        kubeconfig: KubeconfigSource::Inline(kubeconfig.clone()),
        context: Some("nope".into()),
    };
    let error = Cluster::connect(&missing, fast_retry()).await.unwrap_err().to_string();
    assert!(error.contains("nope"), "{error}");
    assert!(!error.contains("secret-token"), "{error}");

    // The current context points at a closed port: a bounded, clear failure.
    let closed = Target { kubeconfig: KubeconfigSource::Inline(kubeconfig), context: None };
    let cluster = Cluster::connect(&closed, fast_retry()).await.unwrap();
    let error = cluster
        .deploy(&objects, &scope("testing", "apps/team"), &options())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("discovery: discover failed after 6 attempts"), "{error}");
}

#[tokio::test]
async fn a_crd_installed_by_one_unit_serves_the_next_unit() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "certificates.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "certificates", "kind": "Certificate"},
                 "versions": [{"name": "v1", "served": true, "storage": true}]}
    });
    let infra = cluster
        .deploy(&values(&[crd]), &scope("production", "infrastructure/crds"), &options())
        .await
        .unwrap();
    assert!(infra.is_success(), "{infra:?}");
    let certificate = json!({"apiVersion": "example.com/v1", "kind": "Certificate", "metadata": {"name": "web", "namespace": "web"}});
    let apps = cluster
        .deploy(
            &values(&[namespace("web"), certificate]),
            &scope("production", "apps/web"),
            &options(),
        )
        .await
        .unwrap();
    assert!(apps.is_success(), "{apps:?}");
    assert!(fake.get("example.com/v1", "Certificate", "web", "web").is_some());
}

/// A served, established CRD for a kind the example uses but the fake does not know.
fn crd(group: &str, version: &str, kind: &str, plural: &str) -> Json {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced", "names": {"plural": plural, "kind": kind},
                 "versions": [{"name": version, "served": true, "storage": true}]}
    })
}

#[tokio::test]
async fn the_example_previewed_deployed_and_torn_down_leaves_nothing_behind() {
    use gitops_env::config::Config;
    use gitops_env::preview::{Preview, PreviewRequest, PreviewSettings};

    let fake = FakeKube::start();
    // What the cluster's infrastructure would have installed (Gateway API, Traefik).
    fake.apply_as("helm", crd("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"))
        .unwrap();
    fake.apply_as("helm", crd("traefik.io", "v1alpha1", "IngressRoute", "ingressroutes")).unwrap();
    assert!(fake.wait_until(Duration::from_secs(5), |f| {
        f.list("apiextensions.k8s.io/v1", "CustomResourceDefinition", None).iter().all(|c| {
            c["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|x| x["type"] == "Established"))
        })
    }));
    let before = remaining_names(&fake);

    let homelab = testsupport::workspace_root().join("examples/homelab");
    let config_text = std::fs::read_to_string(homelab.join(".github/gitops-env.yaml")).unwrap();
    let config_value =
        kustomize::yaml::parse_document(&config_text, ".github/gitops-env.yaml").unwrap();
    let mut config = Config::default();
    config.merge_file(&config_value, ".github/gitops-env.yaml").unwrap();
    let request = PreviewRequest {
        repository: "me/homelab".into(),
        pull_request: Some(42),
        named_by_pull_request: true,
        branch: "feat/new-theme".into(),
        sha: "89abcdef0123456789abcdef0123456789abcdef".into(),
        created_at: Timestamp(1_795_629_600),
    };
    let preview = Preview::new(request, PreviewSettings::from_config(&config, Vec::new())).unwrap();

    let fs = kustomize::DiskFs::new(&homelab).unwrap();
    let build = kustomize::BuildOptions {
        load_restrictor: kustomize::LoadRestrictor::RootOnly,
        ..Default::default()
    };
    let mut units = Vec::new();
    for app in ["postgres", "recipes", "uptime", "web", "whoami"] {
        let path = format!("apps/overlays/testing/{app}");
        let rendered =
            kustomize::build(&fs, &path, &build).unwrap_or_else(|e| panic!("{path}: {e}"));
        units.push((path, preview.transform(app, rendered).unwrap()));
    }
    let environment = preview.namespace().to_owned();
    let cluster = connect(&fake).await;
    let namespace_object =
        preview.namespace_object(&units.iter().map(|(_, u)| u.clone()).collect::<Vec<_>>());
    let outcome = cluster
        .deploy(&[namespace_object], &scope(&environment, "namespace"), &options())
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    let mut applied = 0;
    for (path, unit) in &units {
        let outcome =
            cluster.deploy(&unit.objects, &scope(&environment, path), &options()).await.unwrap();
        assert!(outcome.is_success(), "{path}: {outcome:?}");
        applied += outcome.applied.len();
    }
    assert!(applied >= 15, "{applied}");
    assert!(fake.list("apps/v1", "Deployment", Some("preview-pr-42")).len() >= 3);

    // Another repository's PR 42 is not ours to tear down.
    let other = cluster
        .teardown(&PreviewSelector::PullRequest(42), Some("someone/else"), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(other.environments.is_empty());
    let outcome = cluster
        .teardown(&PreviewSelector::PullRequest(42), Some("me/homelab"), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.environments, ["preview-pr-42"]);
    let mut expected = before;
    expected.push("Namespace /gitops-env-system".into());
    expected.sort();
    assert_eq!(remaining_names(&fake), expected);
}

#[tokio::test]
async fn removing_one_unit_of_a_shared_namespace_keeps_the_others() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    // As the action deploys previews: every unit carries the preview's namespace.
    let web = scope("preview-pr-9", "apps/overlays/testing/web");
    let api = scope("preview-pr-9", "apps/overlays/testing/api");
    let shared = namespace("preview-pr-9");
    for (unit, name) in [(&api, "api"), (&web, "web")] {
        let objects = values(&[shared.clone(), configmap("preview-pr-9", name, "x")]);
        let outcome = cluster.deploy(&objects, unit, &options()).await.unwrap();
        assert!(outcome.is_success(), "{outcome:?}");
    }
    // `web` applied the namespace last; removing it must not take `api` along.
    let outcome = cluster.deploy(&[], &web, &options()).await.unwrap();
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["ConfigMap preview-pr-9/web"]);
    assert!(fake.get("v1", "Namespace", "", "preview-pr-9").is_some());
    assert!(fake.get("v1", "ConfigMap", "preview-pr-9", "api").is_some());

    // Removing `api` too: its objects go; the namespace (last labelled by `web`) stays on
    // `web`'s record, which the next removal of `web` prunes. Empty inventories are deleted.
    let outcome = cluster.deploy(&[], &api, &options()).await.unwrap();
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["ConfigMap preview-pr-9/api"], "{outcome:?}");
    let record = |unit: &Scope| {
        let name = inventory::inventory_name(unit);
        fake.get("v1", "ConfigMap", inventory::INVENTORY_NAMESPACE, &name)
    };
    assert!(record(&api).is_none(), "empty inventory removed");
    let outcome = cluster.deploy(&[], &web, &options()).await.unwrap();
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["Namespace preview-pr-9"], "{outcome:?}");
    assert!(record(&web).is_none());
    assert!(fake.wait_until(Duration::from_secs(5), |f| {
        f.get("v1", "Namespace", "", "preview-pr-9").is_none()
    }));
}

fn applied_changes(outcome: &gitops_env::cluster::Outcome) -> Vec<(String, Change)> {
    outcome.applied.iter().map(|a| (a.object.to_string(), a.change)).collect()
}

#[tokio::test]
async fn counts_and_before_after_come_from_the_cluster() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/many");
    let mut objects = vec![namespace("many")];
    objects.extend((0..20).map(|i| configmap("many", &format!("c{i:02}"), "x")));
    let steady = DeployOptions { wait_timeout: None, ..options() };

    let first = cluster.deploy(&values(&objects), &unit, &steady).await.unwrap();
    assert!(first.is_success(), "{first:?}");
    assert_eq!(
        first.counts(),
        Counts { created: 21, configured: 0, unchanged: 0, pruned: 0 },
        "{:?}",
        applied_changes(&first)
    );
    assert!(first.applied.iter().all(|a| a.before.is_none() && a.ownership == Ownership::Absent));
    let after = to_json(&first.applied[1].after);
    assert_eq!(after["data"]["mode"], "x");
    assert!(after["metadata"].get("resourceVersion").is_none(), "stripped of server noise");
    assert_eq!(after["metadata"]["labels"][MANAGED_BY_LABEL], "gitops-env");

    // Nothing changed: every object unchanged, one LIST for the twenty ConfigMaps, no write of
    // the inventory; about one request per object.
    fake.clear_requests();
    let again = cluster.deploy(&values(&objects), &unit, &steady).await.unwrap();
    assert_eq!(again.counts(), Counts { created: 0, configured: 0, unchanged: 21, pruned: 0 });
    assert!(again.counts().is_no_change());
    for applied in &again.applied {
        assert_eq!(applied.before.as_ref(), Some(&applied.after), "{}", applied.object);
        assert_eq!(applied.ownership, Ownership::Ours);
    }
    let requests = fake.requests();
    let lists: Vec<_> =
        requests.iter().filter(|r| r.method == "GET" && r.path.ends_with("/configmaps")).collect();
    assert_eq!(lists.len(), 1, "{requests:?}");
    assert!(!requests.iter().any(|r| r.method == "PATCH" && r.path.contains("/inventory-")));
    assert_eq!(requests.len(), 21 + 1 + 1 + 1, "PATCHes, LIST, namespace GET, inventory GET");

    // One change, one removal.
    objects[3] = configmap("many", "c02", "y");
    objects.pop();
    let changed = cluster.deploy(&values(&objects), &unit, &steady).await.unwrap();
    assert_eq!(changed.counts(), Counts { created: 0, configured: 1, unchanged: 19, pruned: 1 });
    let c02 = changed.applied.iter().find(|a| a.change == Change::Configured).unwrap();
    assert_eq!(c02.object.name, "c02");
    assert_eq!(to_json(c02.before.as_ref().unwrap())["data"]["mode"], "x");
    assert_eq!(to_json(&c02.after)["data"]["mode"], "y");
    let (before, after) = (to_json(c02.before.as_ref().unwrap()), to_json(&c02.after));
    assert_eq!(before["apiVersion"], "v1", "list items get their type back");
    assert_eq!(before["kind"], after["kind"]);
}

#[tokio::test]
async fn an_existing_object_is_never_adopted_without_opt_in() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    // Made by hand with `kubectl apply`, before the overlay defined the same name.
    fake.apply_as("ops", namespace("web")).unwrap();
    fake.apply_as("kubectl-client-side-apply", configmap("web", "settings", "by hand")).unwrap();
    let unit = scope("testing", "apps/web");
    let objects = values(&[configmap("web", "a", "x"), configmap("web", "settings", "ours")]);
    fake.clear_requests();

    let error = cluster.deploy(&objects, &unit, &options()).await.unwrap_err();
    let ClusterError::NotOurs { refusals } = &error else { panic!("expected NotOurs: {error}") };
    let refused: Vec<String> = refusals.iter().map(|r| r.object.to_string()).collect();
    assert_eq!(refused, ["ConfigMap web/settings"]);
    assert_eq!(
        refusals[0].ownership,
        Ownership::Foreign { managers: vec!["kubectl-client-side-apply".into()] }
    );
    let message = error.to_string();
    assert!(message.starts_with("ConfigMap web/settings exists, not created by gitops-env (field managers: kubectl-client-side-apply)"), "{message}");
    assert!(message.contains("`adopt: true`"), "{message}");
    assert_eq!(patches(&fake), 0, "nothing of the unit is applied: {:?}", fake.requests());
    assert!(fake.get("v1", "ConfigMap", "web", "a").is_none());
    let settings = fake.get("v1", "ConfigMap", "web", "settings").unwrap();
    assert_eq!(settings["data"]["mode"], "by hand");
    assert!(settings["metadata"]["labels"].get(MANAGED_BY_LABEL).is_none());

    // The dry run says the same without failing.
    let pairs = cluster.dry_run(&objects, &unit, &options()).await.unwrap();
    let verdicts: Vec<(String, bool)> =
        pairs.iter().map(|p| (p.object.name.clone(), p.ownership.permits(false))).collect();
    assert_eq!(verdicts, [("a".to_owned(), true), ("settings".to_owned(), false)]);
    assert!(pairs[1].ownership.permits(true), "would adopt");
    let conflict = pairs[1].conflict.as_ref().expect("kubectl owns data.mode");
    assert_eq!(conflict.managers, ["kubectl-client-side-apply"]);
    assert_eq!(to_json(pairs[1].would_be.as_ref().unwrap())["data"]["mode"], "ours");

    // Opted in (adopting, and taking kubectl's field): adopted, reported as such; from then on
    // it is ours (pruned when it leaves).
    let adopt = DeployOptions { adopt: true, force_conflicts: true, ..options() };
    let outcome = cluster.deploy(&objects, &unit, &adopt).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    let adopted = outcome.applied.iter().find(|a| a.object.name == "settings").unwrap();
    assert_eq!(adopted.change, Change::Configured);
    assert!(matches!(adopted.ownership, Ownership::Foreign { .. }));
    let outcome =
        cluster.deploy(&values(&[configmap("web", "a", "x")]), &unit, &options()).await.unwrap();
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["ConfigMap web/settings"]);
}

#[tokio::test]
async fn another_unit_of_the_environment_may_take_an_object_over() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let (web, shared) = (scope("testing", "apps/web"), scope("testing", "apps/shared"));
    let objects = values(&[namespace("web"), configmap("web", "settings", "x")]);
    assert!(cluster.deploy(&objects, &web, &options()).await.unwrap().is_success());

    let moved = values(&[configmap("web", "settings", "y")]);
    let outcome = cluster.deploy(&moved, &shared, &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(
        outcome.applied[0].ownership,
        Ownership::OtherUnit { unit: inventory::label_value("apps/web") }
    );
    // The unit it left no longer owns it: its next deploy keeps it.
    let outcome = cluster.deploy(&values(&[namespace("web")]), &web, &options()).await.unwrap();
    assert!(outcome.pruned.is_empty(), "{outcome:?}");
    assert_eq!(outcome.prune_skipped.len(), 1);
    assert_eq!(outcome.prune_skipped[0].1, KeepReason::NotOurs);
    assert_eq!(fake.get("v1", "ConfigMap", "web", "settings").unwrap()["data"]["mode"], "y");
}

#[tokio::test]
async fn a_preview_named_like_an_existing_namespace_never_takes_it_over() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    // Testing's namespace `web`, with its own pod-security labels, and an object in it.
    let mut web = namespace("web");
    web["metadata"]["labels"] = json!({"pod-security.kubernetes.io/enforce": "restricted"});
    let testing = scope("testing", "infrastructure/namespaces");
    let outcome = cluster
        .deploy(&values(&[web, configmap("web", "app", "x")]), &testing, &options())
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    // And a namespace made by hand.
    fake.apply_as("ops", namespace("legacy")).unwrap();
    let before = fake.get("v1", "Namespace", "", "web").unwrap();

    // `preview-namespace-template: {slug}` and a branch named `web` (or `legacy`).
    for (name, adopt) in [("web", false), ("web", true), ("legacy", false)] {
        let preview = scope(name, "apps/overlays/testing/web");
        let objects = values(&[
            preview_namespace(name, name, 1, "2026-01-01T00:00:00Z", 72),
            configmap(name, "preview-only", "x"),
        ]);
        let options = DeployOptions { adopt, ..options() };
        let error = cluster.deploy(&objects, &preview, &options).await.unwrap_err();
        let ClusterError::NotOurs { refusals } = &error else { panic!("{error}") };
        assert_eq!(refusals[0].object.to_string(), format!("Namespace {name}"));
        if name == "web" {
            assert_eq!(
                refusals[0].ownership,
                Ownership::OtherEnvironment { environment: "testing".into() }
            );
            assert!(
                error.to_string().contains("owned by gitops-env environment testing"),
                "{error}"
            );
        }
        assert!(fake.get("v1", "ConfigMap", name, "preview-only").is_none());
        let pairs = cluster.dry_run(&objects, &preview, &options).await.unwrap();
        assert!(!pairs[0].ownership.permits(adopt), "{:?}", pairs[0].ownership);
    }
    let after = fake.get("v1", "Namespace", "", "web").unwrap();
    assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"], "not relabelled");
    assert_eq!(after["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");

    // Tearing the previews down deletes nothing of either.
    for name in ["web", "legacy"] {
        let outcome = cluster.teardown_environment(name, Duration::from_secs(5)).await.unwrap();
        assert!(outcome.is_success() && outcome.deleted.is_empty(), "{outcome:?}");
    }
    let by_slug = cluster
        .teardown(&PreviewSelector::Slug("web".into()), None, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(by_slug.environments.is_empty(), "{by_slug:?}");
    assert!(fake.get("v1", "Namespace", "", "web").is_some());
    assert!(fake.get("v1", "Namespace", "", "legacy").is_some());
    assert!(fake.get("v1", "ConfigMap", "web", "app").is_some());
}

#[tokio::test]
async fn teardown_keeps_a_namespace_holding_what_is_not_ours() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let ns = "preview-pr-5";
    deploy_preview(&cluster, ns, "pr-5", 5, "2026-01-01T00:00:00Z", 72).await;
    // What Kubernetes puts in every namespace (and beside every Service) does not count.
    let kube_made = [
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt", "namespace": ns}, "data": {"ca.crt": "x"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}),
        json!({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": ns}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": ns}, "involvedObject": {"kind": "Service", "name": "web"}, "reason": "x"}),
    ];
    for object in kube_made {
        fake.apply_as("kube-controller-manager", object).unwrap();
    }
    fake.apply_as("kubectl", configmap(ns, "hand-made", "mine")).unwrap();

    let outcome = cluster
        .teardown(&PreviewSelector::PullRequest(5), None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    let mut deleted: Vec<String> = outcome.deleted.iter().map(|o| o.to_string()).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        [
            format!("ConfigMap {ns}/api"),
            format!("Deployment {ns}/web"),
            format!("Service {ns}/web")
        ]
    );
    assert_eq!(outcome.skipped.len(), 1, "{outcome:?}");
    let (kept, reason) = &outcome.skipped[0];
    assert_eq!(kept.to_string(), format!("Namespace {ns}"));
    let KeepReason::HoldsForeign { objects, total } = reason else { panic!("{reason:?}") };
    assert_eq!(*total, 1, "{objects:?}");
    assert_eq!(objects[0].to_string(), format!("ConfigMap {ns}/hand-made"));
    assert_eq!(fake.get("v1", "ConfigMap", ns, "hand-made").unwrap()["data"]["mode"], "mine");
    assert!(fake.get("v1", "Namespace", "", ns).is_some());

    // Once the hand-made object is gone, the next teardown takes the namespace.
    fake.remove("v1", "ConfigMap", ns, "hand-made").unwrap();
    let outcome = cluster
        .teardown(&PreviewSelector::PullRequest(5), None, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(outcome.is_success() && outcome.skipped.is_empty(), "{outcome:?}");
    assert_eq!(
        outcome.deleted,
        [gitops_env::cluster::ObjectRef {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: ns.into(),
        }]
    );
    assert!(
        fake.wait_until(Duration::from_secs(5), |f| f.get("v1", "Namespace", "", ns).is_none())
    );
}

#[tokio::test]
async fn objects_a_crashed_run_applied_without_a_record_are_found_by_label() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/web");
    // As a run killed between apply and inventory left them (an older gitops-env did that).
    fake.apply_as("ops", namespace("web")).unwrap();
    for name in ["orphan", "kept"] {
        let mut object = configmap("web", name, "x");
        inventory::label_object(&mut object, &unit);
        fake.apply_as(inventory::FIELD_MANAGER, object).unwrap();
    }
    // Another unit's object with our labels is not this unit's to prune.
    let mut other = configmap("web", "other-unit", "x");
    inventory::label_object(&mut other, &scope("testing", "apps/api"));
    fake.apply_as(inventory::FIELD_MANAGER, other).unwrap();

    let outcome =
        cluster.deploy(&values(&[configmap("web", "kept", "y")]), &unit, &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    let pruned: Vec<String> = outcome.pruned.iter().map(|o| o.to_string()).collect();
    assert_eq!(pruned, ["ConfigMap web/orphan"]);
    assert!(fake.get("v1", "ConfigMap", "web", "other-unit").is_some());
    assert!(fake.get("v1", "Namespace", "", "web").is_some());

    // The record is confirmed now: the next deploy needs no lookup by label.
    fake.clear_requests();
    let outcome =
        cluster.deploy(&values(&[configmap("web", "kept", "y")]), &unit, &options()).await.unwrap();
    assert!(outcome.is_success(), "{outcome:?}");
    assert!(
        !fake.requests().iter().any(|r| r.query.contains("labelSelector")),
        "{:?}",
        fake.requests()
    );
}

#[tokio::test]
async fn intent_is_recorded_before_anything_is_applied() {
    let fake = FakeKube::start();
    let cluster = connect(&fake).await;
    let unit = scope("testing", "apps/web");
    let first = values(&[namespace("web"), configmap("web", "a", "x")]);
    assert!(cluster.deploy(&first, &unit, &options()).await.unwrap().is_success());

    // `b` is new; its apply fails for good. The intent (a and b) was written before any apply.
    fake.inject(Fault::status(400).method("PATCH").path_contains("/configmaps/b"));
    fake.clear_requests();
    let second =
        values(&[namespace("web"), configmap("web", "a", "x"), configmap("web", "b", "y")]);
    let outcome = cluster.deploy(&second, &unit, &options()).await.unwrap();
    assert_eq!(outcome.failed.len(), 1, "{outcome:?}");
    let patched: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    let inventory_name = inventory::inventory_name(&unit);
    assert_eq!(patched.first(), Some(&inventory_name), "{patched:?}");
    let record =
        fake.get("v1", "ConfigMap", inventory::INVENTORY_NAMESPACE, &inventory_name).unwrap();
    let listed = record["data"]["objects.json"].as_str().unwrap();
    assert!(listed.contains("\"b\""), "a failed apply may still have reached the server: {listed}");
    assert_eq!(record["data"]["state"], "confirmed");
}

#[tokio::test]
async fn a_server_that_never_answers_fails_the_deploy_within_its_timeouts() {
    let fake = FakeKube::start();
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        read: Duration::from_secs(1),
        request: Duration::from_secs(2),
    };
    let retry = RetryPolicy { max_elapsed: Duration::from_secs(4), ..fast_retry() };
    let cluster = Cluster::connect_with(&target(&fake), retry.clone(), timeouts).await.unwrap();
    let unit = scope("testing", "apps/web");
    let objects = values(&[namespace("web"), deployment("web", "web", "nginx:1")]);
    let wait = DeployOptions { wait_timeout: Some(Duration::from_secs(20)), retry, ..options() };

    // Accepts every request and never answers.
    fake.inject(Fault::hang());
    let started = Instant::now();
    let error = cluster.deploy(&objects, &unit, &wait).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, ClusterError::GaveUp { .. }), "{error}");
    assert!(error.to_string().contains("no answer within"), "{error}");
    assert!(elapsed < Duration::from_secs(15), "bounded by the timeouts, not hung: {elapsed:?}");

    // Answers the apply, then hangs while we wait for readiness: the wait still ends on time.
    fake.clear_faults();
    let cluster = Cluster::connect_with(&target(&fake), fast_retry(), timeouts).await.unwrap();
    let objects = values(&[
        namespace("web"),
        deployment("web", "web", "nginx:1"),
        deployment("web", "api", "nginx:1"),
    ]);
    // Two Deployments are read with one LIST (`/deployments`); the wait GETs each by name.
    fake.inject(Fault::hang().method("GET").path_contains("/deployments/"));
    let short = DeployOptions { wait_timeout: Some(Duration::from_secs(2)), ..options() };
    let started = Instant::now();
    let outcome = cluster.deploy(&objects, &unit, &short).await.unwrap();
    let elapsed = started.elapsed();
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(outcome.not_ready.len(), 2, "{outcome:?}");
    assert_eq!(
        outcome.not_ready[0].reason,
        "timed out after 2s: the API server did not answer in time"
    );
    assert!(elapsed < Duration::from_secs(10), "the wait is bounded: {elapsed:?}");
}

/// Writes a unit whose ConfigMaps are `configmaps` (name, mode), with or without a Deployment.
fn write_crash_unit(unit: &std::path::Path, configmaps: &[(&str, &str)], with_deployment: bool) {
    let _ = std::fs::remove_dir_all(unit);
    std::fs::create_dir_all(unit).unwrap();
    let mut resources = vec!["namespace.yaml".to_owned()];
    std::fs::write(
        unit.join("namespace.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n",
    )
    .unwrap();
    for (name, mode) in configmaps {
        let file = format!("{name}.yaml");
        std::fs::write(
            unit.join(&file),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  mode: \"{mode}\"\n"),
        )
        .unwrap();
        resources.push(file);
    }
    if with_deployment {
        let deployment = serde_json::to_string(&deployment("web", "web", "nginx:1")).unwrap();
        std::fs::write(unit.join("deployment.yaml"), deployment).unwrap();
        resources.push("deployment.yaml".into());
    }
    std::fs::write(
        unit.join("kustomization.yaml"),
        format!(
            "namespace: web\nresources:\n{}",
            resources.iter().map(|r| format!("- {r}\n")).collect::<String>()
        ),
    )
    .unwrap();
}

/// A request that marks a phase boundary of a deploy: the `nth` one matching.
struct Boundary {
    phase: &'static str,
    method: &'static str,
    matches: fn(&str) -> bool,
    nth: usize,
}

fn inventory_path(path: &str) -> bool {
    path.contains("/namespaces/gitops-env-system/configmaps/inventory-")
}

#[test]
fn a_deploy_killed_at_any_phase_converges_and_leaves_no_orphan() {
    let binary = env!("CARGO_BIN_EXE_gitops-env");
    let boundaries = [
        Boundary { phase: "connect", method: "GET", matches: |_| true, nth: 1 },
        Boundary { phase: "read the inventory", method: "GET", matches: inventory_path, nth: 1 },
        Boundary {
            phase: "read the live objects",
            method: "GET",
            matches: |p| p.ends_with("/namespaces/web/configmaps"),
            nth: 1,
        },
        Boundary { phase: "record the intent", method: "PATCH", matches: inventory_path, nth: 1 },
        Boundary {
            phase: "apply the namespace",
            method: "PATCH",
            matches: |p| p == "/api/v1/namespaces/web",
            nth: 1,
        },
        Boundary {
            phase: "apply the new object",
            method: "PATCH",
            matches: |p| p.ends_with("/configmaps/c"),
            nth: 1,
        },
        Boundary {
            phase: "prune",
            method: "DELETE",
            matches: |p| p.ends_with("/configmaps/b"),
            nth: 1,
        },
        Boundary {
            phase: "confirm the inventory",
            method: "PATCH",
            matches: inventory_path,
            nth: 2,
        },
        Boundary {
            phase: "wait for readiness",
            method: "GET",
            matches: |p| p.ends_with("/deployments/web"),
            nth: 2,
        },
    ];
    let testing = scope("testing", "apps/web/overlays/testing");
    for boundary in &boundaries {
        let fake = FakeKube::start();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, fake.kubeconfig_yaml()).unwrap();
        let unit = dir.path().join("apps/web/overlays/testing");
        let deploy = || {
            let mut command = std::process::Command::new(binary);
            command
                .arg("deploy")
                .arg("--repo")
                .arg(dir.path())
                .args(["--env", "testing", "--unit", "apps/web/overlays/testing", "--wait", "30s"])
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command
        };
        let complete = |what: &str| {
            let output = deploy().output().unwrap();
            assert!(
                output.status.success(),
                "{}: {what}: {}",
                boundary.phase,
                String::from_utf8_lossy(&output.stderr)
            );
        };
        write_crash_unit(&unit, &[("a", "1"), ("b", "1")], true);
        complete("first deploy");

        // The deploy that is killed: `a` changes, `b` leaves, `c` is new.
        write_crash_unit(&unit, &[("a", "2"), ("c", "2")], true);
        fake.clear_requests();
        // Slow requests, so the kill lands while the boundary's request is in flight.
        fake.set_latency(Duration::from_millis(100));
        let mut child = deploy().spawn().unwrap();
        let started = Instant::now();
        let seen = loop {
            let count = fake
                .requests()
                .iter()
                .filter(|r| r.method == boundary.method && (boundary.matches)(&r.path))
                .count();
            if count >= boundary.nth {
                break true;
            }
            if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(60) {
                break false;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(seen, "{}: the deploy never reached it ({status})", boundary.phase);
        fake.set_latency(Duration::ZERO);

        // The next run, with `c` and the Deployment gone from the render too, converges.
        write_crash_unit(&unit, &[("a", "3")], false);
        complete("the run after the kill");
        let ours: Vec<String> = fake
            .all_objects()
            .iter()
            .filter(|o| inventory::owned_by_environment(o, "testing"))
            .filter(|o| !inventory::is_inventory(o))
            .filter(|o| o["metadata"]["deletionTimestamp"].is_null())
            .map(|o| {
                format!(
                    "{} {}",
                    o["kind"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                )
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(ours, ["ConfigMap a", "Namespace web"], "{}: orphans left", boundary.phase);
        assert_eq!(fake.get("v1", "ConfigMap", "web", "a").unwrap()["data"]["mode"], "3");
        for gone in ["b", "c"] {
            assert!(
                fake.get("v1", "ConfigMap", "web", gone)
                    .is_none_or(|o| o["metadata"]["deletionTimestamp"].is_string()),
                "{}: {gone} left behind",
                boundary.phase
            );
        }
        let name = inventory::inventory_name(&testing);
        let record = fake.get("v1", "ConfigMap", inventory::INVENTORY_NAMESPACE, &name).unwrap();
        let record = inventory::read_inventory(&record).unwrap();
        assert!(record.is_confirmed(), "{}", boundary.phase);
        let recorded: Vec<String> = record.objects.iter().map(|o| o.to_string()).collect();
        assert_eq!(recorded, ["ConfigMap web/a", "Namespace web"], "{}", boundary.phase);
    }
}
