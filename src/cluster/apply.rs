//! Deploying a render: validation and ownership labels, kind resolution (every kind must be
//! served or defined by a CRD in the same render: otherwise nothing is applied), a read of the
//! live objects (which decides ownership — nothing of a unit is applied while one of its objects
//! is not ours to take — and, with the server's answers, what the cluster did: created,
//! configured or unchanged), the inventory's intent, server-side apply in phases — Namespaces
//! and CRDs first (then wait for the CRDs to be established), other cluster-scoped objects, then
//! namespaced ones — with bounded concurrency inside a phase, then prune, the inventory's
//! confirmation and wait. Also the server-side dry run that feeds the live diff.
//!
//! In the steady state a deploy costs one PATCH per object and one read per (kind, namespace)
//! among them (a GET for a lone object, else a LIST), plus discovery once per connection, one
//! read of the inventory and, when the object set changed, two writes of it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams};
use kustomize::value::Value;
use serde_json::{Value as Json, json};

use super::client::{Cluster, RetryError, Served, api_error, resolve_in};
use super::inventory::{self, FIELD_MANAGER, InventoryState, Ownership};
use super::wait::{is_waitable, wait_ready};
use super::{
    Applied, Change, ClusterError, DeployOptions, Failure, FieldConflict, LivePair, ObjectRef,
    Outcome, Refusal, Scope, from_json, to_json,
};

/// Apply order: what later objects depend on goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Namespaces and CustomResourceDefinitions.
    Foundations,
    ClusterScoped,
    Namespaced,
}

pub fn is_crd(object: &ObjectRef) -> bool {
    object.group() == "apiextensions.k8s.io" && object.kind == "CustomResourceDefinition"
}

fn is_namespace(object: &ObjectRef) -> bool {
    object.group().is_empty() && object.kind == "Namespace"
}

pub fn phase_of(object: &ObjectRef, namespaced: bool) -> Phase {
    if is_crd(object) || is_namespace(object) {
        Phase::Foundations
    } else if namespaced {
        Phase::Namespaced
    } else {
        Phase::ClusterScoped
    }
}

/// An object ready to apply.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub object: ObjectRef,
    pub json: Json,
    /// `None` while its kind awaits a CRD from the same render.
    pub served: Option<Served>,
}

/// The kinds (`group/Kind`) the CRDs in a render define.
fn kinds_defined_by(objects: &[Json]) -> BTreeSet<(String, String)> {
    objects
        .iter()
        .filter(|o| {
            o["kind"] == "CustomResourceDefinition"
                && o["apiVersion"].as_str().is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
        })
        .filter_map(|o| {
            Some((
                o["spec"]["group"].as_str()?.to_owned(),
                o["spec"]["names"]["kind"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Checks, labels and resolves every object; fails without side effects on the first problem.
pub async fn prepare(
    cluster: &Cluster,
    objects: &[Value],
    scope: Option<&Scope>,
) -> Result<Vec<Prepared>, ClusterError> {
    let mut jsons = Vec::with_capacity(objects.len());
    for (index, value) in objects.iter().enumerate() {
        let mut json = to_json(value);
        let described = || {
            format!(
                "object #{} ({} {})",
                index + 1,
                json["kind"].as_str().unwrap_or("<no kind>"),
                json["metadata"]["name"].as_str().unwrap_or("<no name>")
            )
        };
        for (field, present) in [
            ("apiVersion", json["apiVersion"].as_str().is_some_and(|s| !s.is_empty())),
            ("kind", json["kind"].as_str().is_some_and(|s| !s.is_empty())),
            ("metadata.name", json["metadata"]["name"].as_str().is_some_and(|s| !s.is_empty())),
        ] {
            if !present {
                return Err(ClusterError::InvalidObject {
                    object: described(),
                    message: format!("{field} is missing"),
                });
            }
        }
        if let Some(scope) = scope {
            inventory::label_object(&mut json, scope);
        }
        jsons.push(json);
    }
    let from_crds = kinds_defined_by(&jsons);
    let mut discovery = cluster.discovery(false).await?;
    // A kind missing from a cached discovery may have been installed since (another unit's
    // CRD, another client): look again once before calling it unknown.
    let missing = |discovery: &kube::Discovery| {
        jsons.iter().any(|json| {
            let api_version = json["apiVersion"].as_str().unwrap_or_default();
            let kind = json["kind"].as_str().unwrap_or_default();
            let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("");
            resolve_in(discovery, api_version, kind).is_none()
                && !from_crds.contains(&(group.to_owned(), kind.to_owned()))
        })
    };
    if missing(&discovery) {
        discovery = cluster.discovery(true).await?;
    }
    let mut unknown = BTreeSet::new();
    let mut prepared = Vec::with_capacity(jsons.len());
    for mut json in jsons {
        let api_version = json["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = json["kind"].as_str().unwrap_or_default().to_owned();
        let served = resolve_in(&discovery, &api_version, &kind);
        let group = api_version.split_once('/').map(|(g, _)| g).unwrap_or("").to_owned();
        if served.is_none() && !from_crds.contains(&(group, kind.clone())) {
            unknown.insert(format!("{api_version}/{kind}"));
        }
        match &served {
            Some(s)
                if s.namespaced
                    && json["metadata"]["namespace"].as_str().is_none_or(str::is_empty) =>
            {
                json["metadata"]["namespace"] = json!(cluster.default_namespace());
            }
            Some(s) if s.namespaced => {}
            Some(_) => {
                if let Some(metadata) = json["metadata"].as_object_mut() {
                    metadata.remove("namespace");
                }
            }
            None => {}
        }
        let object = ObjectRef::from_json(&json).expect("checked above");
        prepared.push(Prepared { object, json, served });
    }
    if !unknown.is_empty() {
        return Err(ClusterError::UnknownKinds { kinds: unknown.into_iter().collect() });
    }
    // The same object twice would be applied twice, the last one silently winning.
    let mut seen = BTreeSet::new();
    for item in &prepared {
        if !seen.insert(item.object.identity()) {
            return Err(ClusterError::InvalidObject {
                object: item.object.to_string(),
                message: "appears more than once in the render".into(),
            });
        }
    }
    Ok(prepared)
}

/// The managers named by a 409 apply conflict (`conflict with "kubectl" using v1`).
fn conflict_error(object: &ObjectRef, status: &kube::core::Status) -> Option<ClusterError> {
    let details = status.details.as_ref()?;
    let causes: Vec<_> =
        details.causes.iter().filter(|c| c.reason == "FieldManagerConflict").collect();
    if causes.is_empty() {
        return None;
    }
    let mut managers: Vec<String> =
        causes.iter().filter_map(|c| c.message.split('"').nth(1).map(str::to_owned)).collect();
    managers.sort();
    managers.dedup();
    let fields = causes.iter().map(|c| c.field.clone()).collect();
    Some(ClusterError::Conflict { object: object.clone(), managers, fields })
}

/// One server-side apply; returns the object the server answered with.
pub async fn apply_one(
    cluster: &Cluster,
    item: &Prepared,
    force: bool,
    dry_run: bool,
) -> Result<DynamicObject, ClusterError> {
    let described = item.object.to_string();
    let Some(served) = &item.served else {
        return Err(ClusterError::UnknownKinds {
            kinds: vec![format!("{}/{}", item.object.api_version, item.object.kind)],
        });
    };
    let api = cluster.api(served, &item.object.namespace);
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = force;
    params.dry_run = dry_run;
    let patch = Patch::Apply(&item.json);
    let result = cluster
        .retried(&described, "apply", || api.patch(&item.object.name, &params, &patch))
        .await;
    match result {
        Ok(applied) => Ok(applied),
        Err(RetryError::Permanent(kube::Error::Api(status))) if status.code == 409 => {
            Err(conflict_error(&item.object, &status)
                .unwrap_or_else(|| api_error(&described, "apply", &kube::Error::Api(status))))
        }
        Err(error) => Err(error.into_cluster_error(&described, "apply")),
    }
}

/// Waits for CRDs to be established, then refreshes discovery and resolves the kinds they define.
async fn establish_crds(
    cluster: &Cluster,
    prepared: &mut [Prepared],
    crds: &[(ObjectRef, Served)],
    timeout: Duration,
) -> Result<(), ClusterError> {
    if crds.is_empty() {
        return Ok(());
    }
    let not_ready = wait_ready(cluster, crds, timeout, Duration::from_millis(100)).await?;
    if let Some(first) = not_ready.first() {
        return Err(ClusterError::CrdNotEstablished { name: first.object.name.clone(), timeout });
    }
    if prepared.iter().any(|p| p.served.is_none()) {
        let discovery = cluster.discovery(true).await?;
        for item in prepared.iter_mut().filter(|p| p.served.is_none()) {
            item.served = resolve_in(&discovery, &item.object.api_version, &item.object.kind);
            if let Some(served) = &item.served {
                if served.namespaced && item.object.namespace.is_empty() {
                    item.object.namespace = cluster.default_namespace().to_owned();
                    item.json["metadata"]["namespace"] = json!(item.object.namespace);
                } else if !served.namespaced && !item.object.namespace.is_empty() {
                    item.object.namespace.clear();
                    if let Some(metadata) = item.json["metadata"].as_object_mut() {
                        metadata.remove("namespace");
                    }
                }
            }
        }
    }
    Ok(())
}

/// A live object as JSON with its type filled in (list items come without it).
fn typed_json(object: &DynamicObject, served: &Served) -> Json {
    let mut json = serde_json::to_value(object).unwrap_or(Json::Null);
    if json["apiVersion"].as_str().is_none_or(str::is_empty) {
        json["apiVersion"] = json!(served.resource.api_version);
    }
    if json["kind"].as_str().is_none_or(str::is_empty) {
        json["kind"] = json!(served.resource.kind);
    }
    json
}

/// Reads the live objects of one (kind, namespace) group: a GET for a lone object, a LIST of the
/// kind in the namespace otherwise (GETs where listing is forbidden).
async fn read_group(
    cluster: &Cluster,
    prepared: &[Prepared],
    indices: Vec<usize>,
) -> Result<Vec<(usize, Option<Json>)>, ClusterError> {
    let first = &prepared[indices[0]];
    let Some(served) = &first.served else {
        return Ok(indices.into_iter().map(|i| (i, None)).collect());
    };
    let api = cluster.api(served, &first.object.namespace);
    if indices.len() > 1 {
        let what = if served.namespaced {
            format!("{} in {}", served.resource.plural, first.object.namespace)
        } else {
            served.resource.plural.clone()
        };
        let params = ListParams::default();
        match cluster.retried(&what, "list", || api.list(&params)).await {
            Ok(list) => {
                let mut by_name: HashMap<String, DynamicObject> = list
                    .items
                    .into_iter()
                    .filter_map(|o| Some((o.metadata.name.clone()?, o)))
                    .collect();
                return Ok(indices
                    .into_iter()
                    .map(|i| {
                        let live = by_name.remove(&prepared[i].object.name);
                        (i, live.map(|o| typed_json(&o, served)))
                    })
                    .collect());
            }
            Err(error) if error.code() == Some(403) => {}
            Err(error) => return Err(error.into_cluster_error(&what, "list")),
        }
    }
    let mut read = Vec::with_capacity(indices.len());
    for i in indices {
        let object = &prepared[i].object;
        let described = object.to_string();
        let live = cluster
            .retried(&described, "get", || api.get_opt(&object.name))
            .await
            .map_err(|e| e.into_cluster_error(&described, "get"))?;
        read.push((i, live.map(|o| typed_json(&o, served))));
    }
    Ok(read)
}

/// The live object for each prepared one (`None`: absent, or its kind is not served yet), read
/// with one request per (kind, namespace) among them.
pub async fn observe(
    cluster: &Cluster,
    prepared: &[Prepared],
    concurrency: usize,
) -> Result<Vec<Option<Json>>, ClusterError> {
    let mut groups: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (index, item) in prepared.iter().enumerate() {
        let key = match &item.served {
            Some(served) => (
                served.resource.api_version.clone(),
                served.resource.plural.clone(),
                item.object.namespace.clone(),
            ),
            // Defined by a CRD of this render: it cannot exist yet.
            None => (String::new(), String::new(), String::new()),
        };
        groups.entry(key).or_default().push(index);
    }
    let reads = futures::stream::iter(
        groups.into_values().map(|indices| read_group(cluster, prepared, indices)),
    )
    .buffer_unordered(concurrency.max(1))
    .collect::<Vec<_>>()
    .await;
    let mut live = vec![None; prepared.len()];
    for read in reads {
        for (index, object) in read? {
            live[index] = object;
        }
    }
    Ok(live)
}

fn resource_version(object: &Json) -> Option<&str> {
    object["metadata"]["resourceVersion"].as_str()
}

/// What the apply did, from the live object before and the server's answer: a server-side
/// apply that changes nothing leaves `resourceVersion` where it was.
pub fn change_of(before: Option<&Json>, after: &Json) -> Change {
    match before {
        None => Change::Created,
        Some(before) if resource_version(before) == resource_version(after) => Change::Unchanged,
        Some(_) => Change::Configured,
    }
}

/// The objects that exist and that `scope` may not apply over.
fn refusals(prepared: &[Prepared], ownerships: &[Ownership], adopt: bool) -> Vec<Refusal> {
    prepared
        .iter()
        .zip(ownerships)
        .filter(|(_, ownership)| !ownership.permits(adopt))
        .map(|(item, ownership)| Refusal {
            object: item.object.clone(),
            ownership: ownership.clone(),
        })
        .collect()
}

fn inventory_failure(scope: &Scope, error: ClusterError) -> Failure {
    Failure {
        object: ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: inventory::INVENTORY_NAMESPACE.into(),
            name: inventory::inventory_name(scope),
        },
        error,
    }
}

impl Cluster {
    /// Applies `objects` as `scope`: reads what is live (one request per kind and namespace),
    /// refuses objects that are not ours to take ([`ClusterError::NotOurs`]), records the
    /// intent in the inventory, applies in phases (see the module documentation), prunes,
    /// confirms the inventory, waits. Returns `Err` only when nothing was applied (bad input,
    /// unknown kinds, objects not ours, unreachable cluster); per-object results, failures,
    /// prune results and unready workloads are in the [`Outcome`].
    pub async fn deploy(
        &self,
        objects: &[Value],
        scope: &Scope,
        options: &DeployOptions,
    ) -> Result<Outcome, ClusterError> {
        let mut prepared = prepare(self, objects, Some(scope)).await?;
        let phase = |p: &Prepared| match &p.served {
            Some(s) => phase_of(&p.object, s.namespaced),
            // Custom resources whose CRD is in this render: namespaced or not, after the CRDs.
            None => Phase::Namespaced,
        };
        prepared.sort_by_key(|p| (phase(p), is_crd(&p.object)));
        let record = super::prune::read_inventory(self, scope).await?;
        let live = observe(self, &prepared, options.concurrency).await?;
        let ownerships: Vec<Ownership> =
            live.iter().map(|l| inventory::ownership(l.as_ref(), scope)).collect();
        let refusals = refusals(&prepared, &ownerships, options.adopt);
        if !refusals.is_empty() {
            return Err(ClusterError::NotOurs { refusals });
        }

        // Intent first: whatever this run may apply is on record before it is applied.
        let previous = super::prune::recorded_or_labelled(self, scope, &record).await?;
        let current: BTreeSet<ObjectRef> = prepared.iter().map(|p| p.object.clone()).collect();
        let intent: BTreeSet<ObjectRef> = previous.union(&current).cloned().collect();
        if !intent.is_subset(&record.objects) {
            super::prune::write_inventory(self, scope, &intent, InventoryState::Pending).await?;
        }

        let mut outcome = Outcome::default();
        let mut crds: Vec<(ObjectRef, Served)> = Vec::new();
        for current_phase in [Phase::Foundations, Phase::ClusterScoped, Phase::Namespaced] {
            if current_phase == Phase::ClusterScoped
                && let Err(error) =
                    establish_crds(self, &mut prepared, &crds, options.crd_timeout).await
            {
                outcome.failed.push(Failure { object: crds[0].0.clone(), error });
                break;
            }
            // Custom resources of cluster scope only become known after their CRDs.
            let indices: Vec<usize> =
                (0..prepared.len()).filter(|&i| phase(&prepared[i]) == current_phase).collect();
            let results: Vec<Result<DynamicObject, ClusterError>> = futures::stream::iter(
                indices
                    .iter()
                    .map(|&i| apply_one(self, &prepared[i], options.force_conflicts, false)),
            )
            .buffered(options.concurrency.max(1))
            .collect()
            .await;
            for (&i, result) in indices.iter().zip(results) {
                let item = &prepared[i];
                match result {
                    Ok(answer) => {
                        let after = serde_json::to_value(&answer).unwrap_or(Json::Null);
                        let before = live[i].as_ref();
                        outcome.applied.push(Applied {
                            object: item.object.clone(),
                            change: change_of(before, &after),
                            ownership: ownerships[i].clone(),
                            before: before.map(|b| from_json(&strip_server_fields(b))),
                            after: from_json(&strip_server_fields(&after)),
                        });
                        if is_crd(&item.object)
                            && let Some(served) = &item.served
                        {
                            crds.push((item.object.clone(), served.clone()));
                        }
                    }
                    Err(error) => {
                        outcome.failed.push(Failure { object: item.object.clone(), error })
                    }
                }
            }
            if !outcome.failed.is_empty() {
                break;
            }
        }

        let recorded = if outcome.failed.is_empty() && options.prune {
            let result = super::prune::prune(self, scope, &previous, &current, options).await;
            outcome.pruned = result.pruned;
            outcome.prune_skipped = result.skipped;
            // What could not be deleted stays on record, so the next deploy tries again.
            let mut recorded = current.clone();
            recorded.extend(result.failed.iter().map(|f| f.object.clone()));
            recorded.extend(result.held.iter().cloned());
            outcome.failed.extend(result.failed);
            recorded
        } else {
            // Nothing is pruned after a failure (or without prune): everything stays on record,
            // including objects whose apply failed but may have reached the server.
            intent
        };
        if (recorded != record.objects || !record.is_confirmed())
            && let Err(error) =
                super::prune::write_inventory(self, scope, &recorded, InventoryState::Confirmed)
                    .await
        {
            outcome.failed.push(inventory_failure(scope, error));
        }

        if outcome.failed.is_empty()
            && let Some(timeout) = options.wait_timeout
        {
            let workloads: Vec<(ObjectRef, Served)> = prepared
                .iter()
                .filter(|p| is_waitable(&p.object) && !is_crd(&p.object))
                .filter_map(|p| Some((p.object.clone(), p.served.clone()?)))
                .collect();
            outcome.not_ready =
                wait_ready(self, &workloads, timeout, Duration::from_millis(250)).await?;
        }
        Ok(outcome)
    }

    /// Server-side dry run of `objects` (labelled as `scope` would label them), each paired with
    /// the live object and its [`Ownership`] verdict; both stripped of server-managed noise.
    /// Objects that cannot be dry-run yet (their namespace or CRD is new in this render) are
    /// paired as they were rendered. Objects a deploy would prune come last, with no would-be
    /// object. Nothing is persisted, and objects a deploy would refuse do not fail it: the
    /// verdict says so.
    pub async fn dry_run(
        &self,
        objects: &[Value],
        scope: &Scope,
        options: &DeployOptions,
    ) -> Result<Vec<LivePair>, ClusterError> {
        let prepared = prepare(self, objects, Some(scope)).await?;
        let live = observe(self, &prepared, options.concurrency).await?;
        let pairs =
            futures::stream::iter(prepared.iter().zip(&live).map(|(item, live)| async move {
                let ownership = inventory::ownership(live.as_ref(), scope);
                let live = live.as_ref().map(|l| from_json(&strip_server_fields(l)));
                if item.served.is_none() {
                    return Ok(LivePair {
                        object: item.object.clone(),
                        live,
                        would_be: Some(from_json(&strip_server_fields(&item.json))),
                        ownership,
                        conflict: None,
                    });
                }
                let mut conflict = None;
                let mut answer = apply_one(self, item, options.force_conflicts, true).await;
                if let Err(ClusterError::Conflict { managers, fields, .. }) = &answer {
                    conflict =
                        Some(FieldConflict { managers: managers.clone(), fields: fields.clone() });
                    answer = apply_one(self, item, true, true).await;
                }
                let would_be = match answer {
                    Ok(object) => {
                        strip_server_fields(&serde_json::to_value(&object).unwrap_or(Json::Null))
                    }
                    // The namespace is created by this very render: nothing to compare against yet.
                    Err(ClusterError::Api { code: 404, .. }) if live.is_none() => {
                        strip_server_fields(&item.json)
                    }
                    Err(error) => return Err(error),
                };
                Ok(LivePair {
                    object: item.object.clone(),
                    live,
                    would_be: Some(from_json(&would_be)),
                    ownership,
                    conflict,
                })
            }))
            .buffered(options.concurrency.max(1))
            .collect::<Vec<Result<LivePair, ClusterError>>>()
            .await;
        let mut pairs: Vec<LivePair> = pairs.into_iter().collect::<Result<_, _>>()?;
        // What a deploy would prune: recorded (or labelled), no longer rendered, and still ours.
        let record = super::prune::read_inventory(self, scope).await?;
        let previous = super::prune::recorded_or_labelled(self, scope, &record).await?;
        let current: BTreeSet<ObjectRef> = prepared.iter().map(|p| p.object.clone()).collect();
        for object in super::prune::leftovers(&previous, &current) {
            let Some(served) = self.resolve(&object.api_version, &object.kind).await? else {
                continue;
            };
            let described = object.to_string();
            let api = self.api(&served, &object.namespace);
            let live = self
                .retried(&described, "get", || api.get_opt(&object.name))
                .await
                .map_err(|e| e.into_cluster_error(&described, "get"))?;
            if let Some(live) = live {
                let json = typed_json(&live, &served);
                if inventory::owned_by(&json, scope) {
                    pairs.push(LivePair {
                        object,
                        live: Some(from_json(&strip_server_fields(&json))),
                        would_be: None,
                        ownership: Ownership::Ours,
                        conflict: None,
                    });
                }
            }
        }
        Ok(pairs)
    }
}

/// The object without what the server manages (identity, versions, timestamps, status).
pub fn strip_server_fields(object: &Json) -> Json {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("status");
    }
    if let Some(metadata) = copy["metadata"].as_object_mut() {
        for key in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            metadata.remove(key);
        }
        if let Some(annotations) = metadata.get_mut("annotations").and_then(Json::as_object_mut) {
            annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
            annotations.remove("deployment.kubernetes.io/revision");
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: String::new(),
            name: "x".into(),
        }
    }

    #[test]
    fn phases_put_namespaces_and_crds_first() {
        assert_eq!(phase_of(&object("v1", "Namespace"), false), Phase::Foundations);
        assert_eq!(
            phase_of(&object("apiextensions.k8s.io/v1", "CustomResourceDefinition"), false),
            Phase::Foundations
        );
        assert_eq!(
            phase_of(&object("rbac.authorization.k8s.io/v1", "ClusterRole"), false),
            Phase::ClusterScoped
        );
        assert_eq!(phase_of(&object("apps/v1", "Deployment"), true), Phase::Namespaced);
        assert!(
            Phase::Foundations < Phase::ClusterScoped && Phase::ClusterScoped < Phase::Namespaced
        );
    }

    #[test]
    fn crd_kinds_are_collected() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "spec": {"group": "example.com", "names": {"kind": "Widget"}}});
        assert_eq!(
            kinds_defined_by(&[crd]),
            [("example.com".to_owned(), "Widget".to_owned())].into()
        );
    }

    #[test]
    fn server_fields_are_stripped() {
        let live = json!({"metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "managedFields": [], "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "status": {}, "spec": {"x": 1}});
        assert_eq!(
            strip_server_fields(&live),
            json!({"metadata": {"name": "a"}, "spec": {"x": 1}})
        );
    }
}
