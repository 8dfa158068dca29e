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
        let output = Command::new(&self.binary)
            .arg("--kubeconfig")
            .arg(self.dir.join("kubeconfig"))
            .arg("--cache-dir")
            .arg(self.dir.join("cache"))
            .args(args)
            .env("HOME", &self.dir)
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
