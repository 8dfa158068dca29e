//! A stateful fake Kubernetes API server, faithful enough that `kubectl` and kube-rs clients
//! behave against it as against a real cluster (see `tests/kubectl_fidelity.rs`).
//!
//! Start it with [`FakeKube::start`] (tests, on `127.0.0.1:0`) or the `fake-kube` binary. It
//! serves discovery (legacy and aggregated) from real recorded documents plus established CRDs;
//! GET/LIST/WATCH with selectors; CREATE and UPDATE from JSON or protobuf bodies (kubectl's typed
//! clients send protobuf); server-side apply with field managers, conflicts and dry runs; JSON,
//! merge and strategic merge patches; DELETE with propagation, finalizers and namespace
//! termination; and controllers that move workloads to ready (or not, see [`Behaviour`]) and
//! record events. Tests inspect its end state and inject faults per route ([`Fault`]).
//!
//! Layout: `catalog` (which kinds exist), `schema` (the built-in kinds' fields, as data),
//! `protobuf` (request bodies), `state` (objects and verb semantics), `field_manager`
//! (managed fields, server-side apply), `patch`, `selectors`, `controllers` (status over time),
//! `http` (routing, faults, watches). Not covered: authentication, protobuf responses (answers
//! are JSON, which every client accepts), tables, pagination (`limit` is ignored: everything
//! comes in one page), pods and ReplicaSets as objects (workload status is simulated
//! directly), admission, defaulting beyond what rollout status and kubectl read, and schema
//! validation.

mod catalog;
mod controllers;
mod field_manager;
mod http;
mod patch;
mod protobuf;
mod schema;
mod selectors;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use tokio::sync::{oneshot, watch};

pub use controllers::BEHAVIOUR_ANNOTATION;

use http::Shared;
use state::{State, WriteOptions};

/// How a workload's status evolves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Becomes ready / complete one controller tick after each new generation.
    #[default]
    Ready,
    /// Stays unready (Jobs stay active), with a Warning `BackOff` event.
    NeverReady,
    /// Deployments: `ProgressDeadlineExceeded`; Jobs: `Failed`; others stay unready.
    Fail,
}

/// What an injected fault does to a matching request.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Answers with this status (a `Status` body) and optionally `Retry-After`; a 429 with
    /// `Retry-After` answers as priority-and-fairness throttling does (plain text + header).
    Status { code: u16, retry_after: Option<u64> },
    /// Waits, then serves normally.
    Delay(Duration),
    /// Closes the connection without answering.
    DropConnection,
    /// Reads the request and never answers (the connection stays open until the client gives
    /// up): a server that accepts and hangs.
    Hang,
}

/// A fault for requests whose method and path match; the first matching fault wins.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    pub method: Option<String>,
    pub path_contains: String,
    pub action: FaultAction,
    /// How many more requests it hits; `None` means forever.
    pub remaining: Option<u32>,
}

impl Fault {
    pub fn new(action: FaultAction) -> Fault {
        Fault { method: None, path_contains: String::new(), action, remaining: None }
    }

    pub fn status(code: u16) -> Fault {
        Fault::new(FaultAction::Status { code, retry_after: None })
    }

    pub fn too_many_requests(retry_after_seconds: u64) -> Fault {
        Fault::new(FaultAction::Status { code: 429, retry_after: Some(retry_after_seconds) })
    }

    pub fn drop_connection() -> Fault {
        Fault::new(FaultAction::DropConnection)
    }

    pub fn delay(duration: Duration) -> Fault {
        Fault::new(FaultAction::Delay(duration))
    }

    /// Accepts the request and never answers.
    pub fn hang() -> Fault {
        Fault::new(FaultAction::Hang)
    }

    /// Only requests with this HTTP method (`GET`, `PATCH`, ...).
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_owned());
        self
    }

    /// Only requests whose path contains this text.
    pub fn path_contains(mut self, text: &str) -> Fault {
        self.path_contains = text.to_owned();
        self
    }

    /// Only the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Fault {
        self.remaining = Some(n);
        self
    }
}

/// A fault written as the `fake-kube --fault` flag takes it:
/// `[METHOD ]PATH_PART=ACTION[,times=N]`, where ACTION is `status:CODE[:RETRY_AFTER_SECONDS]`,
/// `delay:DURATION` (`250ms`, `2s`, `1m`), `reset` (close the connection) or `hang` (never
/// answer); METHOD `*` or none matches every method, an empty PATH_PART every path.
/// Examples: `PATCH /configmaps/=status:503,times=2`, `=delay:500ms`, `GET /api/v1=hang`.
impl std::str::FromStr for Fault {
    type Err = String;

    fn from_str(spec: &str) -> Result<Fault, String> {
        let (target, action) =
            spec.split_once('=').ok_or_else(|| format!("fault {spec:?} has no =ACTION"))?;
        let (action, times) = match action.split_once(",times=") {
            Some((a, n)) => {
                let n = n
                    .parse::<u32>()
                    .map_err(|_| format!("fault {spec:?}: times={n} is not a count"))?;
                (a, Some(n))
            }
            None => (action, None),
        };
        let mut parts = action.split(':');
        let kind = parts.next().unwrap_or_default();
        let arguments: Vec<&str> = parts.collect();
        let bad = || {
            format!(
                "fault {spec:?}: unknown action {action:?} (status:CODE[:RETRY_AFTER], delay:DURATION, reset, hang)"
            )
        };
        let action = match (kind, arguments.as_slice()) {
            ("status", [code]) | ("status", [code, _]) => {
                let code =
                    code.parse::<u16>().ok().filter(|c| (100..600).contains(c)).ok_or_else(bad)?;
                let retry_after = match arguments.get(1) {
                    Some(seconds) => Some(seconds.parse::<u64>().map_err(|_| bad())?),
                    None => None,
                };
                FaultAction::Status { code, retry_after }
            }
            ("delay", [duration]) => FaultAction::Delay(parse_duration(duration).ok_or_else(bad)?),
            ("reset", []) => FaultAction::DropConnection,
            ("hang", []) => FaultAction::Hang,
            _ => return Err(bad()),
        };
        let (method, path) = match target.split_once(' ') {
            Some((method, path)) => (Some(method), path),
            None if target.starts_with('/') || target.is_empty() => (None, target),
            None => (Some(target), ""),
        };
        let mut fault = Fault::new(action).path_contains(path.trim());
        if let Some(method) = method.filter(|m| *m != "*") {
            fault = fault.method(&method.to_ascii_uppercase());
        }
        if let Some(n) = times {
            fault = fault.times(n);
        }
        Ok(fault)
    }
}

/// `250ms`, `2s`, `1.5s`, `1m`: durations as the `fake-kube` flags take them.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

/// One request the server received (before faults were applied).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: String,
}

/// A running fake API server; stops when dropped.
#[derive(Debug)]
pub struct FakeKube {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeKube {
    /// Starts on `127.0.0.1` with a free port and a 20 ms controller tick.
    pub fn start() -> FakeKube {
        FakeKube::start_on("127.0.0.1:0", Duration::from_millis(20))
            .expect("binding 127.0.0.1:0 for fake-kube")
    }

    /// Starts on `listen` (e.g. `127.0.0.1:6443`), running controllers every `tick`.
    pub fn start_on(listen: &str, tick: Duration) -> std::io::Result<FakeKube> {
        let listener = std::net::TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (changes, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: std::sync::Mutex::new(State::with_system_namespaces()),
            changes,
            tick,
        });
        let (shutdown, shutdown_rx) = oneshot::channel();
        let server_shared = shared.clone();
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let thread = std::thread::Builder::new().name(format!("fake-kube-{}", addr.port())).spawn(
            move || {
                runtime.block_on(async move {
                    if let Ok(listener) = tokio::net::TcpListener::from_std(listener) {
                        http::serve(listener, server_shared, shutdown_rx).await
                    }
                });
                runtime.shutdown_background();
            },
        )?;
        Ok(FakeKube { addr, shared, shutdown: Some(shutdown), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig whose current context `fake` points at this server.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\npreferences: {{}}\n",
            self.url()
        )
    }

    fn resource(state: &State, api_version: &str, kind: &str) -> Option<catalog::ResourceType> {
        state.catalog.by_kind(api_version, kind).cloned()
    }

    /// The stored object, as served at `api_version`.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Json> {
        let state = self.shared.lock();
        let rt = Self::resource(&state, api_version, kind)?;
        state.get(&rt, namespace, name).ok()
    }

    /// All stored objects of a kind (in one namespace, or everywhere).
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Json> {
        let state = self.shared.lock();
        let Some(rt) = Self::resource(&state, api_version, kind) else { return Vec::new() };
        state.list(&rt, namespace, &Default::default(), &Default::default())
    }

    /// Every stored object, for "nothing left behind" assertions (the system namespaces
    /// `default`, `kube-node-lease`, `kube-public` and `kube-system` exist from the start).
    pub fn all_objects(&self) -> Vec<Json> {
        self.shared.lock().objects.values().cloned().collect()
    }

    /// Server-side applies `object` as field manager `manager`, like another client would
    /// (namespaced objects name their namespace in `metadata.namespace`).
    pub fn apply_as(&self, manager: &str, object: Json) -> Result<Json, String> {
        self.apply_with(manager, object, false)
    }

    /// Like [`FakeKube::apply_as`], taking over conflicting fields (`--force-conflicts`).
    pub fn force_apply_as(&self, manager: &str, object: Json) -> Result<Json, String> {
        self.apply_with(manager, object, true)
    }

    fn apply_with(&self, manager: &str, object: Json, force: bool) -> Result<Json, String> {
        let mut state = self.shared.lock();
        let api_version = object["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let rt = Self::resource(&state, &api_version, &kind)
            .ok_or_else(|| format!("unknown kind {api_version}/{kind}"))?;
        let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let options =
            WriteOptions { manager: Some(manager.to_owned()), force, ..WriteOptions::default() };
        let result = state
            .apply(&rt, &namespace, &name, object, &options)
            .map(|(o, _)| o)
            .map_err(|e| e.message);
        let rv = state.resource_version;
        drop(state);
        self.shared.notify(rv);
        result
    }

    /// Removes an object at once (no finalizers, no propagation), as if someone else deleted it.
    pub fn remove(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Option<Json> {
        let mut state = self.shared.lock();
        let rt = Self::resource(&state, api_version, kind)?;
        let removed = state.remove(&State::key(&rt, namespace, name));
        let rv = state.resource_version;
        drop(state);
        self.shared.notify(rv);
        removed
    }

    /// Chooses how a workload's status evolves (overrides the behaviour annotation).
    pub fn set_behaviour(&self, kind: &str, namespace: &str, name: &str, behaviour: Behaviour) {
        self.shared
            .lock()
            .behaviours
            .insert((kind.to_owned(), namespace.to_owned(), name.to_owned()), behaviour);
    }

    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Polls `condition` on the server's objects until it holds or `timeout` passes.
    pub fn wait_until(&self, timeout: Duration, condition: impl Fn(&FakeKube) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_their_flag_form() {
        let fault: Fault = "PATCH /configmaps/=status:503,times=2".parse().unwrap();
        assert_eq!(
            fault,
            Fault::status(503).method("PATCH").path_contains("/configmaps/").times(2)
        );
        let fault: Fault = "=delay:250ms".parse().unwrap();
        assert_eq!(fault, Fault::delay(Duration::from_millis(250)));
        let fault: Fault = "* /api=status:429:7".parse().unwrap();
        assert_eq!(fault, Fault::too_many_requests(7).path_contains("/api"));
        assert_eq!(
            "get /x=hang".parse::<Fault>().unwrap(),
            Fault::hang().method("GET").path_contains("/x")
        );
        assert_eq!(
            "/x=reset".parse::<Fault>().unwrap(),
            Fault::drop_connection().path_contains("/x")
        );
        for bad in ["GET /x", "/x=explode", "/x=status:99", "/x=delay:soon", "/x=hang,times=many"] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("5"), None);
    }
}
