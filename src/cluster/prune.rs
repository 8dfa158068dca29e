//! Prune: deleting what left the render. The inventory says what a scope applied last time
//! (and when it is not confirmed, a lookup by our labels adds what a crashed run may have
//! applied); what is no longer rendered is deleted — but only after reading the live object
//! and finding our ownership labels for the same environment and unit on it. A same-named
//! object someone else created, or one that lost our labels, is kept and reported.
//!
//! Deleting a namespace deletes everything in it, so a namespace goes only when everything in
//! it is ours ([`foreign_content`], the one rule prune and teardown share): objects a
//! controller derived from ours (owner references) and what Kubernetes puts in every namespace
//! ([`CLUSTER_MADE`]) do not count against it.
//!
//! Also the inventory's reads and writes, and the owned-delete primitive teardown reuses.

use std::collections::BTreeSet;

use futures::StreamExt;
use kube::api::{ApiResource, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::discovery::{Scope as ResourceScope, verbs};
use serde_json::Value as Json;

use super::client::{Cluster, RetryError};
use super::inventory::{self, FIELD_MANAGER, INVENTORY_NAMESPACE, InventoryState, Record};
use super::{ClusterError, DeployOptions, Failure, KeepReason, ObjectRef, Scope};

/// What happened to one object we tried to delete.
#[derive(Debug)]
pub enum Deletion {
    Deleted,
    /// Already gone (or its kind is no longer served).
    Gone,
    /// Kept, and why.
    Kept(KeepReason),
}

/// Deletes `object` if the live one satisfies `owned` — and, for a namespace, if everything in
/// it does too ([`foreign_content`]); background propagation, with a uid precondition so a
/// replacement created meanwhile is never hit.
pub async fn delete_owned(
    cluster: &Cluster,
    object: &ObjectRef,
    owned: impl Fn(&Json) -> bool + Copy,
) -> Result<Deletion, ClusterError> {
    let described = object.to_string();
    let Some(served) = cluster.resolve(&object.api_version, &object.kind).await? else {
        return Ok(Deletion::Gone);
    };
    let api = cluster.api(&served, &object.namespace);
    let live = cluster
        .retried(&described, "get", || api.get_opt(&object.name))
        .await
        .map_err(|e| e.into_cluster_error(&described, "get"))?;
    let Some(live) = live else { return Ok(Deletion::Gone) };
    let live_json = serde_json::to_value(&live).unwrap_or(Json::Null);
    if !owned(&live_json) {
        return Ok(Deletion::Kept(KeepReason::NotOurs));
    }
    if live_json["metadata"]["deletionTimestamp"].is_string() {
        return Ok(Deletion::Deleted);
    }
    if object.group().is_empty() && object.kind == "Namespace" {
        let (objects, total) = foreign_content(cluster, &object.name, owned, FOREIGN_NAMED).await?;
        if total > 0 {
            return Ok(Deletion::Kept(KeepReason::HoldsForeign { objects, total }));
        }
    }
    let params = DeleteParams {
        preconditions: live
            .metadata
            .uid
            .clone()
            .map(|uid| Preconditions { uid: Some(uid), resource_version: None }),
        ..DeleteParams::background()
    };
    match cluster.retried(&described, "delete", || api.delete(&object.name, &params)).await {
        Ok(_) => Ok(Deletion::Deleted),
        Err(error) if error.code() == Some(404) => Ok(Deletion::Gone),
        // The uid precondition failed: someone replaced the object since we read it.
        Err(error) if error.code() == Some(409) => Ok(Deletion::Kept(KeepReason::Replaced)),
        Err(error) => Err(error.into_cluster_error(&described, "delete")),
    }
}

/// Which objects of a kind an entry of [`CLUSTER_MADE`] covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Names {
    Any,
    Exactly(&'static str),
    Prefix(&'static str),
}

/// What Kubernetes itself creates in namespaces, never a user: it does not keep a namespace
/// from being deleted. (group, kind, names, where it comes from.)
pub const CLUSTER_MADE: &[(&str, &str, Names, &str)] = &[
    (
        "",
        "ConfigMap",
        Names::Exactly("kube-root-ca.crt"),
        "kube-controller-manager's root CA publisher, in every namespace (Kubernetes 1.20+)",
    ),
    (
        "",
        "ServiceAccount",
        Names::Exactly("default"),
        "the service account controller, in every namespace",
    ),
    (
        "",
        "Secret",
        Names::Prefix("default-token-"),
        "the token controller, for the default ServiceAccount (Kubernetes before 1.24)",
    ),
    ("", "Event", Names::Any, "controllers and kubelets, about the namespace's objects"),
    ("events.k8s.io", "Event", Names::Any, "the same events, through the events.k8s.io API"),
    (
        "",
        "Endpoints",
        Names::Any,
        // One made by hand belongs to a selector-less Service, which counts by itself.
        "the endpoints controller, for each Service: no owner reference, the Service's labels",
    ),
];

/// Whether an object is one of [`CLUSTER_MADE`]. Controllers copy labels onto some of them
/// (Endpoints get their Service's), so a lookup by our labels skips them too.
fn cluster_made(resource: &ApiResource, name: &str) -> bool {
    CLUSTER_MADE.iter().any(|(group, kind, names, _)| {
        resource.group == *group
            && resource.kind == *kind
            && match names {
                Names::Any => true,
                Names::Exactly(exact) => name == *exact,
                Names::Prefix(prefix) => name.starts_with(prefix),
            }
    })
}

/// The kinds worth looking through for someone's objects: listable and deletable (which leaves
/// out read-only views such as metrics), of the given scope.
fn content_kinds(discovery: &kube::Discovery, namespaced: bool) -> Vec<ApiResource> {
    let mut kinds = Vec::new();
    for group in discovery.groups() {
        for (resource, capabilities) in group.recommended_resources() {
            let scope_matches = (capabilities.scope == ResourceScope::Namespaced) == namespaced;
            if scope_matches
                && capabilities.supports_operation(verbs::LIST)
                && capabilities.supports_operation(verbs::DELETE)
            {
                kinds.push(resource);
            }
        }
    }
    kinds
}

fn object_ref(resource: &ApiResource, item: &kube::api::DynamicObject) -> ObjectRef {
    ObjectRef {
        api_version: resource.api_version.clone(),
        kind: resource.kind.clone(),
        namespace: item.metadata.namespace.clone().unwrap_or_default(),
        name: item.metadata.name.clone().unwrap_or_default(),
    }
}

/// The objects in `namespace` that keep it from being deleted: neither accepted by `owned`, nor
/// derived by a controller (an owner reference), nor made by the cluster ([`CLUSTER_MADE`]).
/// At most `limit` of them, and how many there are. One LIST per namespaced kind.
pub async fn foreign_content(
    cluster: &Cluster,
    namespace: &str,
    owned: impl Fn(&Json) -> bool,
    limit: usize,
) -> Result<(Vec<ObjectRef>, usize), ClusterError> {
    let discovery = cluster.discovery(false).await?;
    let kinds = content_kinds(&discovery, true);
    let lists = futures::stream::iter(kinds.into_iter().map(|resource| async move {
        let api = kube::Api::<kube::api::DynamicObject>::namespaced_with(
            cluster.client().clone(),
            namespace,
            &resource,
        );
        let params = ListParams::default();
        let what = format!("{} in {namespace}", resource.plural);
        match cluster.retried(&what, "list", || api.list(&params)).await {
            Ok(list) => Ok(Some((resource, list.items))),
            // Kinds this client may not list (RBAC) or that vanished: nothing to judge.
            Err(error) if matches!(error.code(), Some(403..=405)) => Ok(None),
            Err(error) => Err(error.into_cluster_error(&what, "list")),
        }
    }))
    .buffered(LIST_CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    let lists: Vec<_> =
        lists.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    let mut foreign = Vec::new();
    let mut total = 0;
    for (resource, items) in &lists {
        for item in items {
            let name = item.metadata.name.as_deref().unwrap_or_default();
            let derived =
                item.metadata.owner_references.as_ref().is_some_and(|refs| !refs.is_empty());
            if derived
                || cluster_made(resource, name)
                || owned(&serde_json::to_value(item).unwrap_or(Json::Null))
            {
                continue;
            }
            total += 1;
            if foreign.len() < limit {
                foreign.push(object_ref(resource, item));
            }
        }
    }
    Ok((foreign, total))
}

/// Requests in flight at once while looking through many kinds.
const LIST_CONCURRENCY: usize = 8;

/// Every object carrying the labels of `selector` (see [`inventory::selector`]), in every
/// namespace, of every listable and deletable kind — except inventories and what controllers
/// derived (owner references: they go with their owner) or the cluster made ([`CLUSTER_MADE`]:
/// Endpoints carry their Service's labels, and deleting them would only interrupt traffic).
/// One LIST per kind.
pub async fn find_labelled(
    cluster: &Cluster,
    selector: &str,
) -> Result<BTreeSet<ObjectRef>, ClusterError> {
    let discovery = cluster.discovery(false).await?;
    let mut kinds = content_kinds(&discovery, true);
    kinds.extend(content_kinds(&discovery, false));
    let found = futures::stream::iter(kinds.into_iter().map(|resource| async move {
        let api =
            kube::Api::<kube::api::DynamicObject>::all_with(cluster.client().clone(), &resource);
        let params = ListParams::default().labels(selector);
        let what = format!("{} labelled {selector}", resource.plural);
        let list = match cluster.retried(&what, "list", || api.list(&params)).await {
            Ok(list) => list,
            Err(error) if matches!(error.code(), Some(403..=405)) => return Ok(Vec::new()),
            Err(error) => return Err(error.into_cluster_error(&what, "list")),
        };
        Ok(list
            .items
            .iter()
            .filter(|item| item.metadata.owner_references.as_ref().is_none_or(Vec::is_empty))
            .filter(|item| !cluster_made(&resource, item.metadata.name.as_deref().unwrap_or("")))
            .filter(|item| {
                !inventory::is_inventory(&serde_json::to_value(item).unwrap_or(Json::Null))
            })
            .map(|item| object_ref(&resource, item))
            .collect::<Vec<_>>())
    }))
    .buffered(LIST_CONCURRENCY)
    .collect::<Vec<Result<Vec<ObjectRef>, ClusterError>>>()
    .await;
    let mut objects = BTreeSet::new();
    for batch in found {
        objects.extend(batch?);
    }
    Ok(objects)
}

/// What `scope` may have applied: its inventory's objects, plus — when the inventory is missing
/// or was not confirmed (a run crashed, or an older gitops-env wrote it) — whatever carries its
/// labels in the cluster.
pub async fn recorded_or_labelled(
    cluster: &Cluster,
    scope: &Scope,
    record: &Record,
) -> Result<BTreeSet<ObjectRef>, ClusterError> {
    let mut objects = record.objects.clone();
    if !record.is_confirmed() {
        let selector = inventory::selector(&scope.environment, Some(&scope.unit));
        let found = find_labelled(cluster, &selector).await?;
        let known: BTreeSet<_> = objects.iter().map(ObjectRef::identity).collect();
        objects.extend(found.into_iter().filter(|o| !known.contains(&o.identity())));
    }
    Ok(objects)
}

/// What the inventory of `scope` records (no objects and no state when there is none yet).
pub async fn read_inventory(cluster: &Cluster, scope: &Scope) -> Result<Record, ClusterError> {
    let name = inventory::inventory_name(scope);
    let configmaps = cluster.builtin("v1", "ConfigMap").await?;
    let api = cluster.api(&configmaps, INVENTORY_NAMESPACE);
    let found = cluster
        .retried(&name, "get inventory", || api.get_opt(&name))
        .await
        .map_err(|e| e.into_cluster_error(&name, "get inventory"))?;
    match found {
        None => Ok(Record { objects: BTreeSet::new(), state: None }),
        Some(configmap) => {
            let json = serde_json::to_value(&configmap).unwrap_or(Json::Null);
            inventory::read_inventory(&json)
                .map_err(|message| ClusterError::Inventory { name, message })
        }
    }
}

/// Records `objects` as what `scope` applied (`state`: before or after applying), creating the
/// inventory namespace if needed; an empty confirmed record (a unit removed) deletes the
/// inventory instead.
pub async fn write_inventory(
    cluster: &Cluster,
    scope: &Scope,
    objects: &BTreeSet<ObjectRef>,
    state: InventoryState,
) -> Result<(), ClusterError> {
    let name = inventory::inventory_name(scope);
    let configmaps = cluster.builtin("v1", "ConfigMap").await?;
    let api = cluster.api(&configmaps, INVENTORY_NAMESPACE);
    if objects.is_empty() && state == InventoryState::Confirmed {
        let params = DeleteParams::default();
        return match cluster.retried(&name, "delete inventory", || api.delete(&name, &params)).await
        {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(404) => Ok(()),
            Err(error) => Err(error.into_cluster_error(&name, "delete inventory")),
        };
    }
    let body = inventory::inventory_object(scope, objects, state);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(&body);
    let write = || api.patch(&name, &params, &patch);
    match cluster.retried(&name, "write inventory", write).await {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(404) => {
            let namespaces = cluster.builtin("v1", "Namespace").await?;
            let ns_api = cluster.api(&namespaces, "");
            let ns_body = inventory::inventory_namespace_object();
            let ns_patch = Patch::Apply(&ns_body);
            cluster
                .retried(INVENTORY_NAMESPACE, "create namespace", || {
                    ns_api.patch(INVENTORY_NAMESPACE, &params, &ns_patch)
                })
                .await
                .map_err(|e| e.into_cluster_error(INVENTORY_NAMESPACE, "create namespace"))?;
            cluster
                .retried(&name, "write inventory", write)
                .await
                .map(|_| ())
                .map_err(|e: RetryError| e.into_cluster_error(&name, "write inventory"))
        }
        Err(error) => Err(error.into_cluster_error(&name, "write inventory")),
    }
}

/// The recorded objects that are no longer rendered (matched across API versions).
pub fn leftovers(previous: &BTreeSet<ObjectRef>, current: &BTreeSet<ObjectRef>) -> Vec<ObjectRef> {
    let current_ids: BTreeSet<_> = current.iter().map(ObjectRef::identity).collect();
    let mut gone: Vec<ObjectRef> =
        previous.iter().filter(|o| !current_ids.contains(&o.identity())).cloned().collect();
    // Namespaces last: deleting one takes its content along, which would hide ownership checks.
    gone.sort_by_key(|o| (o.group().is_empty() && o.kind == "Namespace", o.clone()));
    gone
}

/// How many of a namespace's foreign objects a [`KeepReason::HoldsForeign`] names.
pub const FOREIGN_NAMED: usize = 3;

/// What a prune did.
#[derive(Debug, Default)]
pub struct PruneResult {
    pub pruned: Vec<ObjectRef>,
    pub skipped: Vec<(ObjectRef, KeepReason)>,
    /// Ours but kept for now: they stay in the inventory so a later deploy retries.
    pub held: Vec<ObjectRef>,
    pub failed: Vec<Failure>,
}

/// Deletes the owned objects among those that left the render.
pub async fn prune(
    cluster: &Cluster,
    scope: &Scope,
    previous: &BTreeSet<ObjectRef>,
    current: &BTreeSet<ObjectRef>,
    options: &DeployOptions,
) -> PruneResult {
    let gone = leftovers(previous, current);
    let (namespaces, others): (Vec<ObjectRef>, Vec<ObjectRef>) =
        gone.into_iter().partition(|o| o.group().is_empty() && o.kind == "Namespace");
    let mut result = PruneResult::default();
    for batch in [others, namespaces] {
        let outcomes: Vec<(ObjectRef, Result<Deletion, ClusterError>)> =
            futures::stream::iter(batch.into_iter().map(|object| async move {
                if object.group().is_empty() && object.kind == "Namespace" {
                    // Only this unit's objects may go with it: other units (a preview's units
                    // share its namespace) and other owners keep the namespace alive.
                    let ours = |live: &Json| inventory::owned_by(live, scope);
                    match foreign_content(cluster, &object.name, ours, FOREIGN_NAMED).await {
                        Ok((objects, total)) if total > 0 => {
                            let reason = KeepReason::HoldsForeign { objects, total };
                            return (object, Ok(Deletion::Kept(reason)));
                        }
                        Ok(_) => {}
                        Err(error) => return (object, Err(error)),
                    }
                }
                let deletion =
                    delete_owned(cluster, &object, |live| inventory::owned_by(live, scope)).await;
                (object, deletion)
            }))
            .buffered(options.concurrency.max(1))
            .collect()
            .await;
        for (object, deletion) in outcomes {
            match deletion {
                Ok(Deletion::Deleted) => result.pruned.push(object),
                Ok(Deletion::Gone) => {}
                Ok(Deletion::Kept(reason)) => {
                    // Ours, kept for now: it stays on record so a later deploy retries.
                    if matches!(reason, KeepReason::HoldsForeign { .. }) {
                        result.held.push(object.clone());
                    }
                    result.skipped.push((object, reason));
                }
                Err(error) => result.failed.push(Failure { object, error }),
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: String::new(),
            name: name.into(),
        }
    }

    #[test]
    fn leftovers_ignore_version_changes_and_put_namespaces_last() {
        let previous: BTreeSet<ObjectRef> = [
            object("v1", "Namespace", "a"),
            object("autoscaling/v1", "HorizontalPodAutoscaler", "h"),
            object("v1", "ConfigMap", "gone"),
            object("v1", "ConfigMap", "kept"),
        ]
        .into();
        let current: BTreeSet<ObjectRef> = [
            object("autoscaling/v2", "HorizontalPodAutoscaler", "h"),
            object("v1", "ConfigMap", "kept"),
        ]
        .into();
        assert_eq!(
            leftovers(&previous, &current),
            vec![object("v1", "ConfigMap", "gone"), object("v1", "Namespace", "a")]
        );
    }
}
