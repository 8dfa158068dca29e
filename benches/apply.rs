//! Apply benchmark (not a test): 500 objects to fake-kube with 5 ms latency injected on every
//! request, by gitops-env's cluster stage and by `kubectl apply --server-side`, on the same
//! server in the same run. Prints requests per object and wall time for each, first apply and
//! steady state (a fresh connection, discovery included, as a CLI run makes it; and a re-apply
//! over an open connection, as the action's next unit makes it), and the speed ratio. Every
//! unchanged run is checked to report every object unchanged: the counts come from the cluster.
//!
//! Run with `bench/apply.sh` (a release build), or `cargo bench -p gitops-env --bench apply`.
//! Objects: OBJECTS env var (500); LATENCY_MS (5); CONCURRENCY; REPEAT (3).

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::Command;
use std::time::{Duration, Instant};

use fakes::kube::FakeKube;
use gitops_env::cluster::{
    Cluster, DeployOptions, KubeconfigSource, RetryPolicy, Scope, Target, from_json,
};
use serde_json::{Value as Json, json};

const LATENCY: Duration = Duration::from_millis(5);

fn latency() -> Duration {
    std::env::var("LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(LATENCY, Duration::from_millis)
}

/// `count` objects in `namespace` (the namespace itself first): ConfigMaps, Services and
/// Deployments in turn.
fn objects(namespace: &str, count: usize) -> Vec<Json> {
    let mut out =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})];
    for i in 1..count {
        let name = format!("obj-{i:04}");
        out.push(match i % 3 {
            0 => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": {"index": i.to_string()}}),
            1 => json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace}, "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}),
            _ => json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}
            }),
        });
    }
    out
}

#[derive(Debug)]
struct Run {
    wall: Duration,
    requests: usize,
    patches: usize,
}

fn measure(fake: &FakeKube, action: impl FnOnce()) -> Run {
    fake.clear_requests();
    let started = Instant::now();
    action();
    let wall = started.elapsed();
    let requests = fake.requests();
    Run {
        wall,
        requests: requests.len(),
        patches: requests.iter().filter(|r| r.method == "PATCH").count(),
    }
}

/// The run with the median wall time.
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by_key(|r| r.wall);
    runs.swap_remove(runs.len() / 2)
}

fn report(label: &str, run: &Run, count: usize) {
    println!(
        "{label:<34} {:>8.0} ms {:>6} requests {:>6.2} per object ({} PATCH)",
        run.wall.as_secs_f64() * 1000.0,
        run.requests,
        run.requests as f64 / count as f64,
        run.patches
    );
}

fn kubectl() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("kubectl")).find(|c| c.is_file())
}

fn main() {
    let count: usize = std::env::var("OBJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let fake = FakeKube::start();
    fake.set_latency(latency());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let target =
        Target { kubeconfig: KubeconfigSource::Inline(fake.kubeconfig_yaml()), context: None };
    let concurrency = std::env::var("CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DeployOptions::default().concurrency);
    let options = DeployOptions { wait_timeout: None, concurrency, ..DeployOptions::default() };
    let repeat: usize =
        std::env::var("REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    println!(
        "{count} objects, {} ms latency per request, gitops-env concurrency {concurrency}, median of {repeat} runs\n",
        latency().as_millis()
    );

    let mut engine_first = Vec::new();
    let mut engine_steady = Vec::new();
    let mut engine_reapply = Vec::new();
    for run in 0..repeat {
        let engine_objects: Vec<_> =
            objects(&format!("bench-engine-{run}"), count).iter().map(from_json).collect();
        let scope = Scope { environment: "bench".into(), unit: format!("bench-{run}") };
        let deploy = |cluster: &Cluster| {
            let outcome = runtime
                .block_on(cluster.deploy(&engine_objects, &scope, &options))
                .expect("deploy");
            assert!(outcome.is_success(), "{outcome:?}");
            outcome.counts()
        };
        // A fresh connection each time, so discovery is counted as in a real run.
        let connect = || {
            runtime.block_on(Cluster::connect(&target, RetryPolicy::default())).expect("connect")
        };
        engine_first.push(measure(&fake, || {
            let counts = deploy(&connect());
            assert_eq!(counts.created, count, "{counts:?}");
        }));
        engine_steady.push(measure(&fake, || {
            let counts = deploy(&connect());
            assert_eq!(counts.unchanged, count, "{counts:?}");
        }));
        let cluster = connect();
        runtime.block_on(cluster.discovery(false)).expect("discovery");
        engine_reapply.push(measure(&fake, || {
            let counts = deploy(&cluster);
            assert!(counts.is_no_change() && counts.unchanged == count, "{counts:?}");
        }));
    }
    let engine_first = median(engine_first);
    let engine_steady = median(engine_steady);
    let engine_reapply = median(engine_reapply);
    report("gitops-env deploy (create)", &engine_first, count);
    report("gitops-env deploy (unchanged)", &engine_steady, count);
    report("gitops-env re-apply (no change)", &engine_reapply, count);

    let Some(kubectl) = kubectl() else {
        println!("\nkubectl not found on PATH: no comparison");
        return;
    };
    let dir = std::env::temp_dir().join(format!("gitops-env-bench-{}", fake.addr().port()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("kubeconfig"), fake.kubeconfig_yaml()).expect("kubeconfig");
    let mut kubectl_first = Vec::new();
    let mut kubectl_steady = Vec::new();
    for run in 0..repeat {
        let manifest: Vec<String> = objects(&format!("bench-kubectl-{run}"), count)
            .iter()
            .map(|o| serde_json::to_string(o).expect("json"))
            .collect();
        let file = dir.join(format!("objects-{run}.yaml"));
        std::fs::write(&file, manifest.join("\n---\n")).expect("manifest");
        let apply = || {
            let output = Command::new(&kubectl)
                .arg("--kubeconfig")
                .arg(dir.join("kubeconfig"))
                .arg("--cache-dir")
                .arg(dir.join(format!("cache-{run}")))
                .args(["apply", "--server-side", "-f"])
                .arg(&file)
                .env("HOME", &dir)
                .output()
                .expect("run kubectl");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        };
        kubectl_first.push(measure(&fake, apply));
        kubectl_steady.push(measure(&fake, apply));
    }
    let kubectl_first = median(kubectl_first);
    let kubectl_steady = median(kubectl_steady);
    report("kubectl apply --server-side (create)", &kubectl_first, count);
    report("kubectl apply --server-side (unchanged)", &kubectl_steady, count);
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\nspeed-up: {:.1}x (create), {:.1}x (unchanged); requests: {:.1}x fewer",
        kubectl_first.wall.as_secs_f64() / engine_first.wall.as_secs_f64(),
        kubectl_steady.wall.as_secs_f64() / engine_steady.wall.as_secs_f64(),
        kubectl_first.requests as f64 / engine_first.requests as f64
    );
}
