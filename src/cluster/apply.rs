//! Deploying a render: validation and ownership labels, kind resolution (every kind must be
//! served or defined by a CRD in the same render: otherwise nothing is applied), server-side
//! apply in phases — Namespaces and CRDs first (then wait for the CRDs to be established),
//! other cluster-scoped objects, then namespaced ones — with bounded concurrency inside a phase,
//! then inventory, prune and wait. Also the server-side dry run that feeds the live diff.
//!
//! In the steady state a deploy costs one PATCH per object, plus discovery once per connection
//! and one read and (when the object set changed) one write of the inventory.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{DynamicObject, Patch, PatchParams};
use kustomize::value::Value;
use serde_json::{Value as Json, json};

use super::client::{Cluster, RetryError, Served, api_error, resolve_in, with_retry};
use super::inventory::{self, FIELD_MANAGER};
use super::wait::{is_waitable, wait_ready};
use super::{
    ClusterError, DeployOptions, Failure, LivePair, ObjectRef, Outcome, Scope, from_json, to_json,
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
    let result = with_retry(&cluster.retry, &described, "apply", || {
        api.patch(&item.object.name, &params, &patch)
    })
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

/// Applies a phase with at most `concurrency` requests in flight; results in input order.
async fn apply_phase(
    cluster: &Cluster,
    items: &[Prepared],
    options: &DeployOptions,
) -> Vec<Result<DynamicObject, ClusterError>> {
    futures::stream::iter(
        items.iter().map(|item| apply_one(cluster, item, options.force_conflicts, false)),
    )
    .buffered(options.concurrency.max(1))
    .collect()
    .await
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

impl Cluster {
    /// Applies `objects` as `scope`: see the module documentation for the order. Returns
    /// `Err` only when nothing was applied (bad input, unknown kinds, unreachable cluster);
    /// per-object failures, prune results and unready workloads are in the [`Outcome`].
    pub async fn deploy(
        &self,
        objects: &[Value],
        scope: &Scope,
        options: &DeployOptions,
    ) -> Result<Outcome, ClusterError> {
        let mut prepared = prepare(self, objects, Some(scope)).await?;
        let previous = super::prune::read_inventory(self, scope).await?;
        let mut outcome = Outcome::default();

        let phase = |p: &Prepared| match &p.served {
            Some(s) => phase_of(&p.object, s.namespaced),
            // Custom resources whose CRD is in this render: namespaced or not, after the CRDs.
            None => Phase::Namespaced,
        };
        prepared.sort_by_key(|p| (phase(p), is_crd(&p.object)));
        let mut crds: Vec<(ObjectRef, Served)> = Vec::new();
        for current in [Phase::Foundations, Phase::ClusterScoped, Phase::Namespaced] {
            if current == Phase::ClusterScoped
                && let Err(error) =
                    establish_crds(self, &mut prepared, &crds, options.crd_timeout).await
            {
                outcome.failed.push(Failure { object: crds[0].0.clone(), error });
                break;
            }
            // Custom resources of cluster scope only become known after their CRDs.
            let items: Vec<Prepared> =
                prepared.iter().filter(|p| phase(p) == current).cloned().collect();
            let results = apply_phase(self, &items, options).await;
            for (item, result) in items.iter().zip(results) {
                match result {
                    Ok(_) => {
                        outcome.applied.push(item.object.clone());
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

        let current: BTreeSet<ObjectRef> = prepared.iter().map(|p| p.object.clone()).collect();
        let mut recorded: BTreeSet<ObjectRef> = outcome.applied.iter().cloned().collect();
        if outcome.failed.is_empty() && options.prune {
            let result = super::prune::prune(self, scope, &previous, &current, options).await;
            outcome.pruned = result.pruned;
            outcome.prune_skipped = result.skipped;
            // What could not be deleted stays on record, so the next deploy tries again.
            recorded.extend(result.failed.iter().map(|f| f.object.clone()));
            recorded.extend(result.held.iter().cloned());
            outcome.failed.extend(result.failed);
        } else {
            // Nothing is pruned after a failure; keep tracking what was there.
            let current_ids: BTreeSet<_> = current.iter().map(ObjectRef::identity).collect();
            recorded
                .extend(previous.iter().filter(|o| !current_ids.contains(&o.identity())).cloned());
        }
        if recorded != previous
            && let Err(error) = super::prune::write_inventory(self, scope, &recorded).await
        {
            outcome.failed.push(Failure {
                object: ObjectRef {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    namespace: inventory::INVENTORY_NAMESPACE.into(),
                    name: inventory::inventory_name(scope),
                },
                error,
            });
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
    /// the live object; both stripped of server-managed noise. Objects that cannot be dry-run
    /// yet (their namespace or CRD is new in this render) are paired as they were rendered.
    /// Objects a deploy would prune come last, with no would-be object. Nothing is persisted.
    pub async fn dry_run(
        &self,
        objects: &[Value],
        scope: &Scope,
        options: &DeployOptions,
    ) -> Result<Vec<LivePair>, ClusterError> {
        let prepared = prepare(self, objects, Some(scope)).await?;
        let pairs = futures::stream::iter(prepared.iter().map(|item| async move {
            let Some(served) = &item.served else {
                return Ok(LivePair {
                    object: item.object.clone(),
                    live: None,
                    would_be: Some(from_json(&strip_server_fields(&item.json))),
                });
            };
            let described = item.object.to_string();
            let api = self.api(served, &item.object.namespace);
            let live =
                with_retry(&self.retry, &described, "get", || api.get_opt(&item.object.name))
                    .await
                    .map_err(|e| e.into_cluster_error(&described, "get"))?
                    .map(|o| {
                        from_json(&strip_server_fields(
                            &serde_json::to_value(&o).unwrap_or(Json::Null),
                        ))
                    });
            let would_be = match apply_one(self, item, options.force_conflicts, true).await {
                Ok(object) => {
                    strip_server_fields(&serde_json::to_value(&object).unwrap_or(Json::Null))
                }
                // The namespace is created by this very render: nothing to compare against yet.
                Err(ClusterError::Api { code: 404, .. }) if live.is_none() => {
                    strip_server_fields(&item.json)
                }
                Err(error) => return Err(error),
            };
            Ok(LivePair { object: item.object.clone(), live, would_be: Some(from_json(&would_be)) })
        }))
        .buffered(options.concurrency.max(1))
        .collect::<Vec<Result<LivePair, ClusterError>>>()
        .await;
        let mut pairs: Vec<LivePair> = pairs.into_iter().collect::<Result<_, _>>()?;
        // What a deploy would prune: recorded, no longer rendered, and still ours.
        let previous = super::prune::read_inventory(self, scope).await?;
        let current: BTreeSet<ObjectRef> = prepared.iter().map(|p| p.object.clone()).collect();
        for object in super::prune::leftovers(&previous, &current) {
            let Some(served) = self.resolve(&object.api_version, &object.kind).await? else {
                continue;
            };
            let described = object.to_string();
            let api = self.api(&served, &object.namespace);
            let live = with_retry(&self.retry, &described, "get", || api.get_opt(&object.name))
                .await
                .map_err(|e| e.into_cluster_error(&described, "get"))?;
            if let Some(live) = live {
                let json = serde_json::to_value(&live).unwrap_or(Json::Null);
                if inventory::owned_by(&json, scope) {
                    pairs.push(LivePair {
                        object,
                        live: Some(from_json(&strip_server_fields(&json))),
                        would_be: None,
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
