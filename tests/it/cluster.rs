//! The cluster stage against the fake API server: apply, prune, ownership, conflicts, retries,
//! readiness, dry run, teardown and sweep, asserted on the server's end state.

use std::time::{Duration, Instant};

use fakes::kube::{Behaviour, FakeKube, Fault};
use gitops_env::cluster::inventory::{self, MANAGED_BY_LABEL};
use gitops_env::cluster::{
    Cluster, ClusterError, DeployOptions, KubeconfigSource, PreviewSelector, RetryPolicy, Scope,
    Target, from_json,
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
    assert_eq!(first.applied[0].kind, "Namespace", "namespaces go first");
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

    // Steady state: one PATCH per object, one inventory read, nothing else.
    fake.clear_requests();
    let steady = DeployOptions { wait_timeout: None, ..options() };
    let third =
        cluster.deploy(&values(&web_app("nginx:1.28", false)), &unit, &steady).await.unwrap();
    assert!(third.is_success(), "{third:?}");
    let requests = fake.requests();
    assert_eq!(patches(&fake), 4, "{requests:?}");
    assert_eq!(requests.len(), 5, "{requests:?}");
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

    let outcome = cluster.deploy(&objects, &unit, &options()).await.unwrap();
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

    let forced = DeployOptions { force_conflicts: true, ..options() };
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
    assert_eq!(outcome.applied.last().unwrap().kind, "Widget");
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
        outcome.prune_skipped[0].1,
        "Namespace web still holds objects gitops-env did not create (ConfigMap web/theirs); left in place"
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
