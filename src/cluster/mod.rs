//! The cluster stage: puts rendered objects into a Kubernetes cluster and takes them out again.
//! It is the only module that talks to the Kubernetes API.
//!
//! Start at [`Cluster::connect`] (kubeconfig content or path, plus context), then
//! [`Cluster::deploy`] (server-side apply in phases, inventory, prune, wait),
//! [`Cluster::dry_run`] (server-side dry run paired with the live objects; [`live_diff_sides`]
//! hands them to `diff::diff_unit`), [`Cluster::teardown`] / [`Cluster::teardown_environment`] /
//! [`Cluster::sweep`] (previews and environments).
//!
//! Layout: `client` (connection, discovery, retries), `apply` (ordering and server-side apply),
//! `inventory` (ownership labels and the record of what each environment × unit applied),
//! `prune`, `wait` (readiness as `kubectl rollout status` judges it), `teardown` (and sweep).
//!
//! Safety rules that hold everywhere:
//! - the field manager is [`inventory::FIELD_MANAGER`];
//! - ownership before action: before anything of a unit is applied, every object it renders is
//!   read back; one that exists without our ownership labels is never adopted silently (the
//!   deploy fails naming it and its field managers, unless [`DeployOptions::adopt`]), one that
//!   carries our labels for another environment is never taken over, whatever the options; one
//!   of another unit of the same environment may be (objects move between units). The dry run
//!   reports the same verdict per object ([`LivePair::ownership`]) without failing;
//! - an object is only ever deleted when the live object carries our ownership labels for the
//!   same environment (and unit, when pruning), whatever an inventory says;
//! - a namespace is only deleted (pruned, or torn down with its environment) when everything in
//!   it is ours — this unit's when pruning, this environment's when tearing down — apart from
//!   what Kubernetes itself puts in every namespace (`prune::CLUSTER_MADE`) and what
//!   controllers derive from our objects; otherwise our objects go, the namespace stays, and the
//!   outcome says why ([`KeepReason::HoldsForeign`]);
//! - crash safety: the inventory records the union of old and new objects *before* anything is
//!   applied and is confirmed after; an unconfirmed (or missing) inventory makes the next run
//!   also look our objects up by label, so a run killed at any point converges on the next;
//! - nothing is pruned when an apply failed;
//! - every request is bounded in time ([`Timeouts`], [`RetryPolicy::max_elapsed`]), and so is
//!   every wait loop, even when each request hangs;
//! - Secrets' content never appears in errors (only object names and field paths do).

pub mod apply;
pub mod client;
pub mod inventory;
pub mod prune;
pub mod teardown;
pub mod wait;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use kustomize::value::{Map, Value};
use serde_json::Value as Json;

pub use client::{Cluster, RetryPolicy, Timeouts};
pub use inventory::Ownership;
pub use teardown::{PreviewSelector, SweepOutcome, TeardownOutcome};
pub use wait::NotReady;

/// Where the kubeconfig comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// The kubeconfig's content (an action input). Never printed.
    Inline(String),
    /// A kubeconfig file.
    File(PathBuf),
    /// `$KUBECONFIG`, `~/.kube/config` or the in-cluster service account, as kubectl finds it.
    Default,
}

impl fmt::Debug for KubeconfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The content holds credentials.
            KubeconfigSource::Inline(_) => f.write_str("Inline(<redacted>)"),
            KubeconfigSource::File(path) => f.debug_tuple("File").field(path).finish(),
            KubeconfigSource::Default => f.write_str("Default"),
        }
    }
}

/// Which cluster to talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub kubeconfig: KubeconfigSource,
    /// The kubeconfig context; its current context when `None`.
    pub context: Option<String>,
}

/// The owner of a set of applied objects: one unit in one environment. Previews are
/// environments named after their namespace (e.g. `preview-pr-42`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    pub environment: String,
    /// The unit's repository path, e.g. `apps/web`.
    pub unit: String,
}

/// How `deploy` behaves.
#[derive(Clone, Debug)]
pub struct DeployOptions {
    /// Take over fields other field managers own (the `force-conflicts` input).
    pub force_conflicts: bool,
    /// Wait for workloads to become ready, at most this long; `None` skips waiting.
    pub wait_timeout: Option<Duration>,
    /// Requests in flight at once within a phase.
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Delete objects that left the render (owned ones only).
    pub prune: bool,
    /// How long to wait for new CRDs to be established.
    pub crd_timeout: Duration,
    /// Take over existing objects that gitops-env did not create (they get our labels, and are
    /// pruned when they later leave the render). Objects of another environment are never
    /// taken over, adopt or not.
    pub adopt: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            force_conflicts: false,
            wait_timeout: Some(Duration::from_secs(300)),
            concurrency: 16,
            retry: RetryPolicy::default(),
            prune: true,
            crd_timeout: Duration::from_secs(60),
            adopt: false,
        }
    }
}

/// Identifies an object: apiVersion, kind, namespace (empty when cluster-scoped), name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// The API group (`""` for core).
    pub fn group(&self) -> &str {
        self.api_version.split_once('/').map(|(g, _)| g).unwrap_or("")
    }

    /// Identity across API versions: (group, kind, namespace, name).
    pub fn identity(&self) -> (String, String, String, String) {
        (self.group().to_owned(), self.kind.clone(), self.namespace.clone(), self.name.clone())
    }

    pub fn from_json(object: &Json) -> Option<ObjectRef> {
        Some(ObjectRef {
            api_version: object["apiVersion"].as_str()?.to_owned(),
            kind: object["kind"].as_str()?.to_owned(),
            namespace: object["metadata"]["namespace"].as_str().unwrap_or_default().to_owned(),
            name: object["metadata"]["name"].as_str()?.to_owned(),
        })
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// An object that could not be applied (or pruned).
#[derive(Debug)]
pub struct Failure {
    pub object: ObjectRef,
    pub error: ClusterError,
}

/// What the cluster did with one applied object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// It did not exist.
    Created,
    /// It existed and the apply changed it (its `resourceVersion` moved).
    Configured,
    /// It existed and the apply changed nothing.
    Unchanged,
}

/// One applied object: what the cluster did, and the object before and after, both stripped of
/// server noise ([`apply::strip_server_fields`]) so that a diff of the two shows exactly what
/// changed in the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub object: ObjectRef,
    pub change: Change,
    /// Whose it was before (e.g. [`Ownership::Foreign`] when it was adopted).
    pub ownership: Ownership,
    /// `None` when created.
    pub before: Option<Value>,
    /// As the server answered the apply.
    pub after: Value,
}

/// Per-unit counts of what the cluster did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub configured: usize,
    pub unchanged: usize,
    pub pruned: usize,
}

impl Counts {
    /// Whether the cluster changed at all.
    pub fn is_no_change(&self) -> bool {
        self.created == 0 && self.configured == 0 && self.pruned == 0
    }
}

/// Why an object that was to be deleted was kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeepReason {
    /// The live object does not carry gitops-env's ownership labels for this scope.
    NotOurs,
    /// It was replaced (a new uid) while being deleted.
    Replaced,
    /// A namespace that still holds objects gitops-env did not create for this scope (the first
    /// few, and how many there are).
    HoldsForeign { objects: Vec<ObjectRef>, total: usize },
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::NotOurs => f.write_str(
                "it does not carry gitops-env's ownership labels for this scope; left in place",
            ),
            KeepReason::Replaced => {
                f.write_str("it was replaced while being deleted; left in place")
            }
            KeepReason::HoldsForeign { objects, total } => {
                let names: Vec<String> = objects.iter().map(ToString::to_string).collect();
                let more = total.saturating_sub(objects.len());
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                write!(
                    f,
                    "it still holds objects gitops-env did not create ({}{more}); left in place",
                    names.join(", ")
                )
            }
        }
    }
}

/// What a deploy did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Applied objects, in apply order.
    pub applied: Vec<Applied>,
    /// Objects that left the render and were deleted.
    pub pruned: Vec<ObjectRef>,
    /// Objects that left the render but were kept, with the reason.
    pub prune_skipped: Vec<(ObjectRef, KeepReason)>,
    pub not_ready: Vec<NotReady>,
    pub failed: Vec<Failure>,
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.not_ready.is_empty()
    }

    /// The applied objects, in apply order.
    pub fn applied_objects(&self) -> impl Iterator<Item = &ObjectRef> {
        self.applied.iter().map(|a| &a.object)
    }

    pub fn counts(&self) -> Counts {
        let count = |change| self.applied.iter().filter(|a| a.change == change).count();
        Counts {
            created: count(Change::Created),
            configured: count(Change::Configured),
            unchanged: count(Change::Unchanged),
            pruned: self.pruned.len(),
        }
    }
}

/// A live object and what a server-side apply would make of it, both stripped of server noise.
#[derive(Clone, Debug, PartialEq)]
pub struct LivePair {
    pub object: ObjectRef,
    /// `None` when the object does not exist yet.
    pub live: Option<Value>,
    /// `None` when a deploy would prune it.
    pub would_be: Option<Value>,
    /// Whose the live object is: a deploy fails on it unless [`Ownership::permits`] it
    /// ("would adopt" with `adopt`, refused otherwise; never over another environment's).
    pub ownership: Ownership,
    /// Fields other managers own that the apply would take: a deploy fails on them unless it
    /// forces conflicts (`would_be` is then what forcing would make of the object).
    pub conflict: Option<FieldConflict>,
}

/// Fields of an object that other field managers own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldConflict {
    pub managers: Vec<String>,
    pub fields: Vec<String>,
}

/// The two sides of a live diff for `crate::diff::diff_unit`: live objects as the base,
/// would-be objects as the head (absent sides are left out, so they show as added / removed).
pub fn live_diff_sides(pairs: &[LivePair]) -> (Vec<Value>, Vec<Value>) {
    let live = pairs.iter().filter_map(|p| p.live.clone()).collect();
    let would_be = pairs.iter().filter_map(|p| p.would_be.clone()).collect();
    (live, would_be)
}

/// Errors of the cluster stage. Messages name the object and never include object content.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("kubeconfig {source_name}: {message}")]
    Kubeconfig { source_name: String, message: String },
    #[error("cluster discovery failed: {message}")]
    Discovery { message: String },
    #[error(
        "the cluster serves no such kind (and no CustomResourceDefinition in the render defines it): {}",
        .kinds.join(", ")
    )]
    UnknownKinds { kinds: Vec<String> },
    #[error("{object}: {message}")]
    InvalidObject { object: String, message: String },
    #[error(
        "{object}: apply conflicts with field manager {}: {}; set force-conflicts to take these fields over",
        .managers.join(", "),
        .fields.join(", ")
    )]
    Conflict { object: ObjectRef, managers: Vec<String>, fields: Vec<String> },
    #[error("{object}: {verb} failed: HTTP {code} {reason}: {message}")]
    Api { object: String, verb: &'static str, code: u16, reason: String, message: String },
    #[error("{object}: {verb} failed after {attempts} attempts over {elapsed:?}: {message}")]
    GaveUp { object: String, verb: &'static str, attempts: u32, elapsed: Duration, message: String },
    #[error("CustomResourceDefinition {name} was not established within {timeout:?}")]
    CrdNotEstablished { name: String, timeout: Duration },
    #[error("inventory {name}: {message}")]
    Inventory { name: String, message: String },
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout { what: String, timeout: Duration },
    /// Objects the deploy may not apply over; nothing of the unit was applied.
    #[error("{}", refusal_message(.refusals))]
    NotOurs { refusals: Vec<Refusal> },
}

/// An existing object a deploy refused to take over, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub object: ObjectRef,
    pub ownership: Ownership,
}

fn refusal_message(refusals: &[Refusal]) -> String {
    let described: Vec<String> = refusals
        .iter()
        .map(|r| match &r.ownership {
            Ownership::OtherEnvironment { .. } => format!(
                "{} exists, {}, and a deploy never takes over another environment's objects",
                r.object, r.ownership
            ),
            _ => format!("{} exists, {}", r.object, r.ownership),
        })
        .collect();
    let adoptable = refusals.iter().any(|r| matches!(r.ownership, Ownership::Foreign { .. }));
    let hint = if adoptable {
        "; nothing was applied: delete or rename them, or let the environment adopt existing objects (`adopt: true`)"
    } else {
        "; nothing was applied"
    };
    format!("{}{hint}", described.join("; "))
}

/// The JSON form of a rendered value (what the API takes).
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.clone()),
        Value::Seq(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// The rendered-value form of JSON from the API (for the diff stage).
pub fn from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Seq(items.iter().map(from_json).collect()),
        Json::Object(map) => {
            Value::Map(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect::<Map>())
        }
    }
}

/// Connects and deploys `objects` as `scope` (see [`Cluster::deploy`]).
pub async fn deploy(
    objects: &[Value],
    target: &Target,
    scope: &Scope,
    options: &DeployOptions,
) -> Result<Outcome, ClusterError> {
    Cluster::connect(target, options.retry.clone()).await?.deploy(objects, scope, options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_types() {
        let json = serde_json::json!({"a": [1, 2.5, "x", true, null], "b": {"c": -3}});
        assert_eq!(to_json(&from_json(&json)), json);
    }

    #[test]
    fn inline_kubeconfig_is_never_printed() {
        let source = KubeconfigSource::Inline("token: secret".into());
        assert_eq!(format!("{source:?}"), "Inline(<redacted>)");
    }
}
