//! Fidelity of the fake API server, judged by a real client: `kubectl` against `FakeKube` must
//! see what it sees on a real cluster (messages, exit codes, objects). Skips, saying so, when
//! kubectl is not installed.

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fakes::kube::{Behaviour, FakeKube};
use serde_json::json;

fn kubectl_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
}

struct Kubectl {
    binary: PathBuf,
    dir: PathBuf,
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    fn new(fake: &FakeKube) -> Option<Kubectl> {
        let Some(binary) = kubectl_path() else {
            eprintln!("kubectl not found on PATH: skipping the kubectl fidelity test");
            return None;
        };
        let dir = std::env::temp_dir().join(format!(
            "fake-kube-fidelity-{}-{}",
            std::process::id(),
            fake.addr().port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("kubeconfig"), fake.kubeconfig_yaml()).expect("write kubeconfig");
        Some(Kubectl { binary, dir })
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write manifest");
        path
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_env(args, &[])
    }

    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let output = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(self.dir.join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.join("cache"))
            .args(args)
            .env("HOME", &self.dir)
            .envs(env.iter().copied())
            .output()
            .expect("run kubectl");
        Output {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Drop for Kubectl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const APP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: app
        image: nginx:1.27
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
data:
  mode: fast
"#;

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

#[test]
fn kubectl_apply_get_wait_rollout_delete() {
    let fake = FakeKube::start();
    let Some(kubectl) = Kubectl::new(&fake) else { return };
    let manifest = kubectl.write("app.yaml", APP);

    let applied = kubectl.run(&["apply", "--server-side", "-f", path_str(&manifest)]);
    assert!(applied.ok, "{}", applied.stderr);
    assert_eq!(
        applied.stdout,
        "namespace/demo serverside-applied\ndeployment.apps/web serverside-applied\nconfigmap/settings serverside-applied\n"
    );
    let again = kubectl.run(&["apply", "--server-side", "-f", path_str(&manifest)]);
    assert!(again.ok, "{}", again.stderr);

    let got = kubectl.run(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "demo",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(got.ok, "{}", got.stderr);
    for expected in [
        "mode: fast",
        "manager: kubectl",
        "operation: Apply",
        "f:mode: {}",
        "resourceVersion:",
        "uid:",
    ] {
        assert!(got.stdout.contains(expected), "missing {expected:?} in\n{}", got.stdout);
    }

    let waited = kubectl.run(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "-n",
        "demo",
        "--timeout=20s",
    ]);
    assert!(waited.ok, "{}", waited.stderr);
    assert_eq!(waited.stdout, "deployment.apps/web condition met\n");
    let rollout =
        kubectl.run(&["rollout", "status", "deployment/web", "-n", "demo", "--timeout=20s"]);
    assert!(rollout.ok, "{}", rollout.stderr);
    assert_eq!(rollout.stdout, "deployment \"web\" successfully rolled out\n");

    // Another manager changing a field kubectl owns is a conflict naming kubectl.
    fake.apply_as("other", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other-owned", "namespace": "demo"}, "data": {"mode": "slow"}}))
        .expect("seed");
    let conflicting = kubectl.write(
        "conflict.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other-owned\n  namespace: demo\ndata:\n  mode: fast\n",
    );
    let conflict = kubectl.run(&["apply", "--server-side", "-f", path_str(&conflicting)]);
    assert!(!conflict.ok);
    assert!(
        conflict
            .stderr
            .contains("Apply failed with 1 conflict: conflict with \"other\" using v1: .data.mode"),
        "{}",
        conflict.stderr
    );
    let forced =
        kubectl.run(&["apply", "--server-side", "--force-conflicts", "-f", path_str(&conflicting)]);
    assert!(forced.ok, "{}", forced.stderr);
    assert_eq!(fake.get("v1", "ConfigMap", "demo", "other-owned").unwrap()["data"]["mode"], "fast");

    let deleted = kubectl.run(&["delete", "namespace", "demo", "--timeout=20s"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert_eq!(deleted.stdout, "namespace \"demo\" deleted\n");
    let gone = kubectl.run(&["get", "namespace", "demo"]);
    assert!(!gone.ok);
    assert!(gone.stderr.contains("namespaces \"demo\" not found"), "{}", gone.stderr);
    assert!(fake.all_objects().iter().all(|o| o["metadata"]["namespace"] != "demo"));
}

#[test]
fn kubectl_rollout_status_reports_a_failed_deployment() {
    let fake = FakeKube::start();
    let Some(kubectl) = Kubectl::new(&fake) else { return };
    fake.set_behaviour("Deployment", "demo", "web", Behaviour::Fail);
    let manifest = kubectl.write("app.yaml", APP);
    assert!(kubectl.run(&["apply", "--server-side", "-f", path_str(&manifest)]).ok);
    assert!(fake.wait_until(Duration::from_secs(5), |f| {
        f.get("apps/v1", "Deployment", "demo", "web")
            .is_some_and(|d| d["status"]["conditions"][1]["reason"] == "ProgressDeadlineExceeded")
    }));
    let rollout =
        kubectl.run(&["rollout", "status", "deployment/web", "-n", "demo", "--timeout=10s"]);
    assert!(!rollout.ok);
    assert!(
        rollout.stderr.contains("deployment \"web\" exceeded its progress deadline"),
        "{}",
        rollout.stderr
    );
    let timed_out = kubectl.run(&[
        "wait",
        "--for=condition=Available",
        "deployment/web",
        "-n",
        "demo",
        "--timeout=1s",
    ]);
    assert!(!timed_out.ok);
    assert!(
        timed_out.stderr.contains("timed out waiting for the condition"),
        "{}",
        timed_out.stderr
    );
}

const WORKLOADS: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: demo
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: postgres:16
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  namespace: demo
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: agent:1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  namespace: demo
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: m
        image: migrate:1
"#;

#[test]
fn kubectl_rollout_of_statefulsets_daemonsets_and_jobs() {
    let fake = FakeKube::start();
    let Some(kubectl) = Kubectl::new(&fake) else { return };
    let manifest = kubectl.write("workloads.yaml", WORKLOADS);
    let applied = kubectl.run(&["apply", "--server-side", "-f", path_str(&manifest)]);
    assert!(applied.ok, "{}", applied.stderr);
    // The API server defaults `rollingUpdate.partition: 0`, so kubectl reports a partitioned roll out.
    let sts = kubectl.run(&["rollout", "status", "statefulset/db", "-n", "demo", "--timeout=20s"]);
    assert!(sts.ok, "{}", sts.stderr);
    assert_eq!(sts.stdout, "partitioned roll out complete: 2 new pods have been updated...\n");
    let ds = kubectl.run(&["rollout", "status", "daemonset/agent", "-n", "demo", "--timeout=20s"]);
    assert!(ds.ok, "{}", ds.stderr);
    assert_eq!(ds.stdout, "daemon set \"agent\" successfully rolled out\n");
    let job = kubectl.run(&[
        "wait",
        "--for=condition=complete",
        "job/migrate",
        "-n",
        "demo",
        "--timeout=20s",
    ]);
    assert!(job.ok, "{}", job.stderr);
    assert_eq!(job.stdout, "job.batch/migrate condition met\n");
    let deleted = kubectl.run(&["delete", "-f", path_str(&manifest), "--timeout=20s"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert!(
        fake.all_objects()
            .iter()
            .all(|o| o["metadata"]["namespace"] != "demo" && o["metadata"]["name"] != "demo")
    );
}

/// Runs kubectl and insists it succeeded with exactly `stdout`.
fn expect(kubectl: &Kubectl, args: &[&str], stdout: &str) {
    let out = kubectl.run(args);
    assert!(out.ok, "kubectl {args:?} failed: {}", out.stderr);
    assert_eq!(out.stdout, stdout, "kubectl {args:?}");
}

#[test]
fn kubectl_create_sends_protobuf_and_the_objects_arrive_whole() {
    let fake = FakeKube::start();
    let Some(kubectl) = Kubectl::new(&fake) else { return };
    expect(&kubectl, &["create", "namespace", "x"], "namespace/x created\n");
    let ns = fake.get("v1", "Namespace", "", "x").expect("namespace stored");
    assert_eq!(ns["status"]["phase"], "Active");
    assert!(fake.requests().iter().any(|r| r.method == "POST" && r.path == "/api/v1/namespaces"));
    expect(
        &kubectl,
        &["create", "configmap", "cfg", "-n", "x", "--from-literal=a=1", "--from-literal=b=two"],
        "configmap/cfg created\n",
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", "x", "cfg").unwrap()["data"],
        json!({"a": "1", "b": "two"})
    );
    expect(
        &kubectl,
        &["create", "secret", "generic", "s", "-n", "x", "--from-literal=password=hunter2"],
        "secret/s created\n",
    );
    let secret = fake.get("v1", "Secret", "x", "s").unwrap();
    assert_eq!(
        (secret["type"].as_str(), secret["data"]["password"].as_str()),
        (Some("Opaque"), Some("aHVudGVyMg=="))
    );
    expect(
        &kubectl,
        &[
            "create",
            "deployment",
            "web",
            "-n",
            "x",
            "--image=nginx:1",
            "--replicas=0",
            "--port=8080",
        ],
        "deployment.apps/web created\n",
    );
    let deployment = fake.get("apps/v1", "Deployment", "x", "web").unwrap();
    assert_eq!(deployment["spec"]["replicas"], 0, "a pointer's zero survives protobuf");
    assert_eq!(deployment["spec"]["selector"], json!({"matchLabels": {"app": "web"}}));
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        (container["name"].as_str(), container["image"].as_str()),
        (Some("nginx"), Some("nginx:1"))
    );
    assert_eq!(container["ports"], json!([{"containerPort": 8080}]));
    assert_eq!(container["resources"], json!({}), "Go writes empty structs");
    expect(
        &kubectl,
        &["create", "service", "clusterip", "web", "-n", "x", "--tcp=80:8080"],
        "service/web created\n",
    );
    let service = fake.get("v1", "Service", "x", "web").unwrap();
    assert_eq!(service["spec"]["ports"][0]["targetPort"], 8080, "an IntOrString");
    expect(
        &kubectl,
        &["create", "job", "once", "-n", "x", "--image=busybox", "--", "echo", "hi"],
        "job.batch/once created\n",
    );
    let job = fake.get("batch/v1", "Job", "x", "once").unwrap();
    assert_eq!(job["spec"]["template"]["spec"]["containers"][0]["command"], json!(["echo", "hi"]));
    expect(
        &kubectl,
        &["create", "serviceaccount", "bot", "-n", "x"],
        "serviceaccount/bot created\n",
    );
    expect(
        &kubectl,
        &["create", "role", "reader", "-n", "x", "--verb=get,list", "--resource=configmaps"],
        "role.rbac.authorization.k8s.io/reader created\n",
    );
    let role = fake.get("rbac.authorization.k8s.io/v1", "Role", "x", "reader").unwrap();
    assert_eq!(role["rules"][0]["verbs"], json!(["get", "list"]));
    let again = kubectl.run(&["create", "namespace", "x"]);
    assert!(!again.ok);
    assert!(again.stderr.contains("namespaces \"x\" already exists"), "{}", again.stderr);
}

#[test]
fn kubectl_patch_edit_label_and_annotate_change_what_they_name() {
    let fake = FakeKube::start();
    let Some(kubectl) = Kubectl::new(&fake) else { return };
    let manifest = kubectl.write("app.yaml", APP);
    assert!(kubectl.run(&["apply", "--server-side", "-f", path_str(&manifest)]).ok);
    let deployment = || fake.get("apps/v1", "Deployment", "demo", "web").unwrap();
    let containers = || deployment()["spec"]["template"]["spec"]["containers"].clone();

    // Strategic merge (kubectl's default): containers merge by name.
    expect(
        &kubectl,
        &[
            "patch",
            "deployment",
            "web",
            "-n",
            "demo",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"envoy:1"}]}}}}"#,
        ],
        "deployment.apps/web patched\n",
    );
    assert_eq!(
        containers(),
        json!([{"name": "app", "image": "nginx:1.27"}, {"name": "sidecar", "image": "envoy:1"}])
    );
    assert_eq!(deployment()["metadata"]["generation"], 2);
    expect(
        &kubectl,
        &[
            "patch",
            "deployment",
            "web",
            "-n",
            "demo",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}"#,
        ],
        "deployment.apps/web patched\n",
    );
    assert_eq!(containers(), json!([{"name": "app", "image": "nginx:1.27"}]));
    // JSON merge patch: lists are replaced, null removes.
    expect(
        &kubectl,
        &[
            "patch",
            "configmap",
            "settings",
            "-n",
            "demo",
            "--type=merge",
            "-p",
            r#"{"data":{"mode":null,"size":"large"}}"#,
        ],
        "configmap/settings patched\n",
    );
    assert_eq!(
        fake.get("v1", "ConfigMap", "demo", "settings").unwrap()["data"],
        json!({"size": "large"})
    );
    // JSON patch.
    expect(
        &kubectl,
        &[
            "patch",
            "deployment",
            "web",
            "-n",
            "demo",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/extra","value":"yes"}]"#,
        ],
        "deployment.apps/web patched\n",
    );
    assert_eq!(deployment()["spec"]["replicas"], 3);
    assert_eq!(deployment()["metadata"]["labels"]["extra"], "yes");
    let failed = kubectl.run(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert!(!failed.ok);
    assert!(
        failed.stderr.contains(
            "The request is invalid: the server rejected our request due to an error in our request"
        ),
        "{}",
        failed.stderr
    );
    let unchanged = kubectl.run(&[
        "patch",
        "deployment",
        "web",
        "-n",
        "demo",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    assert!(unchanged.ok, "{}", unchanged.stderr);
    assert_eq!(unchanged.stdout, "deployment.apps/web patched (no change)\n");

    // Scale goes through the scale subresource.
    expect(
        &kubectl,
        &["scale", "deployment", "web", "-n", "demo", "--replicas=5"],
        "deployment.apps/web scaled\n",
    );
    assert_eq!(deployment()["spec"]["replicas"], 5);
    let precondition = kubectl.run(&[
        "scale",
        "deployment",
        "web",
        "-n",
        "demo",
        "--replicas=1",
        "--current-replicas=2",
    ]);
    assert!(!precondition.ok);
    assert!(
        precondition.stderr.contains("Expected replicas to be 2, was 5"),
        "{}",
        precondition.stderr
    );
    expect(
        &kubectl,
        &["scale", "deployment", "web", "-n", "demo", "--replicas=3"],
        "deployment.apps/web scaled\n",
    );

    // Label and annotate, set and removed.
    expect(
        &kubectl,
        &["label", "configmap", "settings", "-n", "demo", "tier=back"],
        "configmap/settings labeled\n",
    );
    expect(
        &kubectl,
        &["annotate", "configmap", "settings", "-n", "demo", "note=hello world"],
        "configmap/settings annotated\n",
    );
    let settings = fake.get("v1", "ConfigMap", "demo", "settings").unwrap();
    assert_eq!(settings["metadata"]["labels"]["tier"], "back");
    assert_eq!(settings["metadata"]["annotations"]["note"], "hello world");
    let clash = kubectl.run(&["label", "configmap", "settings", "-n", "demo", "tier=front"]);
    assert!(!clash.ok);
    assert!(
        clash.stderr.contains("'tier' already has a value (back), and --overwrite is false"),
        "{}",
        clash.stderr
    );
    expect(
        &kubectl,
        &["label", "configmap", "settings", "-n", "demo", "tier=front", "--overwrite"],
        "configmap/settings labeled\n",
    );
    let managed = kubectl.run(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "demo",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(managed.stdout.contains("manager: kubectl-label"), "{}", managed.stdout);
    assert!(managed.stdout.contains("manager: kubectl-annotate"), "{}", managed.stdout);
    expect(
        &kubectl,
        &["label", "configmap", "settings", "-n", "demo", "tier-"],
        "configmap/settings unlabeled\n",
    );
    expect(
        &kubectl,
        &["annotate", "configmap", "settings", "-n", "demo", "note-"],
        "configmap/settings annotated\n",
    );
    let settings = fake.get("v1", "ConfigMap", "demo", "settings").unwrap();
    assert!(
        settings["metadata"].get("labels").is_none_or(|l| l.get("tier").is_none()),
        "{settings}"
    );
    assert!(
        settings["metadata"].get("annotations").is_none_or(|a| a.get("note").is_none()),
        "{settings}"
    );

    // Edit, with an editor that rewrites the image and adds an environment variable.
    let editor = kubectl.write(
        "editor.sh",
        "#!/bin/sh\nsed -i -e 's/nginx:1.27/nginx:1.28/' -e 's/^\\(\\s*\\)- image: nginx:1.28/\\1- env:\\n\\1  - name: MODE\\n\\1    value: edited\\n\\1  image: nginx:1.28/' \"$1\"\n",
    );
    let editor_command = format!("sh {}", path_str(&editor));
    let edited = kubectl.run_with_env(
        &["edit", "deployment", "web", "-n", "demo"],
        &[("KUBE_EDITOR", &editor_command)],
    );
    assert!(edited.ok, "{}", edited.stderr);
    assert_eq!(edited.stdout, "deployment.apps/web edited\n");
    let container = &containers()[0];
    assert_eq!(container["image"], "nginx:1.28");
    assert_eq!(container["env"], json!([{"name": "MODE", "value": "edited"}]));
    assert_eq!(deployment()["spec"]["replicas"], 3, "the edit kept what it did not touch");
    let managed = kubectl.run(&[
        "get",
        "deployment",
        "web",
        "-n",
        "demo",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(managed.stdout.contains("manager: kubectl-edit"), "{}", managed.stdout);
    assert!(managed.stdout.contains("subresource: scale"), "{}", managed.stdout);
    // An editor that changes nothing: kubectl says so and sends nothing.
    let noop = kubectl
        .run_with_env(&["edit", "configmap", "settings", "-n", "demo"], &[("KUBE_EDITOR", "true")]);
    assert!(noop.ok, "{}", noop.stderr);
    assert_eq!(noop.stderr, "Edit cancelled, no changes made.\n");
}

fn owner_and_dependent(fake: &FakeKube, owner: &str) -> String {
    let created = fake
        .apply_as("test", json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": owner, "namespace": "demo"}}))
        .unwrap();
    let uid = created["metadata"]["uid"].as_str().unwrap().to_owned();
    fake.apply_as(
        "test",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": format!("{owner}-child"), "namespace": "demo",
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid, "blockOwnerDeletion": true}]
        }}),
    )
    .unwrap();
    uid
}

#[test]
fn kubectl_delete_cascades_as_asked() {
    let fake = FakeKube::start();
    let Some(kubectl) = Kubectl::new(&fake) else { return };
    expect(&kubectl, &["create", "namespace", "demo"], "namespace/demo created\n");
    let child = |owner: &str| fake.get("v1", "ConfigMap", "demo", &format!("{owner}-child"));
    for (owner, cascade) in [("bg", "background"), ("fg", "foreground"), ("or", "orphan")] {
        owner_and_dependent(&fake, owner);
        expect(
            &kubectl,
            &[
                "delete",
                "configmap",
                owner,
                "-n",
                "demo",
                &format!("--cascade={cascade}"),
                "--timeout=20s",
            ],
            &format!("configmap \"{owner}\" deleted\n"),
        );
        assert!(
            fake.get("v1", "ConfigMap", "demo", owner).is_none(),
            "{cascade}: the owner is gone"
        );
    }
    assert!(child("fg").is_none(), "foreground: the dependent went before the owner");
    assert!(
        fake.wait_until(Duration::from_secs(5), |_| child("bg").is_none()),
        "background: collected"
    );
    let orphan = child("or").expect("orphan: the dependent stays");
    assert!(
        orphan["metadata"]
            .get("ownerReferences")
            .is_none_or(|r| r.as_array().is_some_and(Vec::is_empty)),
        "{orphan}"
    );
    let bogus =
        kubectl.run(&["delete", "configmap", "or-child", "-n", "demo", "--cascade=sideways"]);
    assert!(!bogus.ok);
}
