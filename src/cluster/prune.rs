//! Prune: deleting what left the render. The inventory says what a scope applied last time;
//! what is no longer rendered is deleted — but only after reading the live object and finding
//! our ownership labels for the same environment and unit on it. A same-named object someone
//! else created, or one that lost our labels, is kept and reported.
//!
//! Deleting a namespace deletes everything in it, so a namespace that left the render is only
//! pruned when it holds nothing but this unit's objects (and what controllers derive from them).
//!
//! Also the inventory's reads and writes, and the owned-delete primitive teardown reuses.

use std::collections::BTreeSet;

use futures::StreamExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::discovery::{Scope as ResourceScope, verbs};
use serde_json::Value as Json;

use super::client::{Cluster, RetryError, with_retry};
use super::inventory::{self, FIELD_MANAGER, INVENTORY_NAMESPACE};
use super::{ClusterError, DeployOptions, Failure, ObjectRef, Scope};

/// What happened to one object we tried to delete.
#[derive(Debug)]
pub enum Deletion {
    Deleted,
    /// Already gone (or its kind is no longer served).
    Gone,
    /// Kept: the reason names why it is not ours.
    NotOurs(String),
    /// Ours, but kept for now (a namespace still holding others' objects); stays on record.
    Held(String),
}

/// Deletes `object` if the live one satisfies `owned`; background propagation, with a uid
/// precondition so a replacement created meanwhile is never hit.
pub async fn delete_owned(
    cluster: &Cluster,
    object: &ObjectRef,
    owned: impl Fn(&Json) -> bool,
) -> Result<Deletion, ClusterError> {
    let described = object.to_string();
    let Some(served) = cluster.resolve(&object.api_version, &object.kind).await? else {
        return Ok(Deletion::Gone);
    };
    let api = cluster.api(&served, &object.namespace);
    let live = with_retry(&cluster.retry, &described, "get", || api.get_opt(&object.name))
        .await
        .map_err(|e| e.into_cluster_error(&described, "get"))?;
    let Some(live) = live else { return Ok(Deletion::Gone) };
    let live_json = serde_json::to_value(&live).unwrap_or(Json::Null);
    if !owned(&live_json) {
        return Ok(Deletion::NotOurs(format!(
            "{described} does not carry gitops-env's ownership labels for this scope; left in place"
        )));
    }
    if live_json["metadata"]["deletionTimestamp"].is_string() {
        return Ok(Deletion::Deleted);
    }
    let params = DeleteParams {
        preconditions: live
            .metadata
            .uid
            .clone()
            .map(|uid| Preconditions { uid: Some(uid), resource_version: None }),
        ..DeleteParams::background()
    };
    match with_retry(&cluster.retry, &described, "delete", || api.delete(&object.name, &params))
        .await
    {
        Ok(_) => Ok(Deletion::Deleted),
        Err(error) if error.code() == Some(404) => Ok(Deletion::Gone),
        // The uid precondition failed: someone replaced the object since we read it.
        Err(error) if error.code() == Some(409) => Ok(Deletion::NotOurs(format!(
            "{described} was replaced while being deleted; left in place"
        ))),
        Err(error) => Err(error.into_cluster_error(&described, "delete")),
    }
}

/// Objects every namespace gets from the cluster itself, never from a user.
const NAMESPACE_DEFAULTS: &[(&str, &str)] =
    &[("ServiceAccount", "default"), ("ConfigMap", "kube-root-ca.crt")];

/// Up to `limit` objects in `namespace` that neither `owned` accepts nor a controller derived
/// (an owner reference) nor the cluster created by default. One LIST per namespaced kind.
pub async fn foreign_content(
    cluster: &Cluster,
    namespace: &str,
    owned: impl Fn(&Json) -> bool,
    limit: usize,
) -> Result<Vec<String>, ClusterError> {
    let discovery = cluster.discovery(false).await?;
    let mut foreign = Vec::new();
    for group in discovery.groups() {
        for (resource, capabilities) in group.recommended_resources() {
            if capabilities.scope != ResourceScope::Namespaced
                || !capabilities.supports_operation(verbs::LIST)
                || resource.kind == "Event"
            {
                continue;
            }
            let api = kube::Api::<kube::api::DynamicObject>::namespaced_with(
                cluster.client().clone(),
                namespace,
                &resource,
            );
            let params = ListParams::default();
            let what = format!("{} in {namespace}", resource.plural);
            let list = match with_retry(&cluster.retry, &what, "list", || api.list(&params)).await {
                Ok(list) => list,
                // Kinds this client may not list (RBAC) or that vanished: nothing to judge.
                Err(error) if matches!(error.code(), Some(403..=405)) => continue,
                Err(error) => return Err(error.into_cluster_error(&what, "list")),
            };
            for item in list.items {
                let name = item.metadata.name.clone().unwrap_or_default();
                let derived =
                    item.metadata.owner_references.as_ref().is_some_and(|refs| !refs.is_empty());
                let default = NAMESPACE_DEFAULTS.contains(&(resource.kind.as_str(), name.as_str()));
                if derived || default || owned(&serde_json::to_value(&item).unwrap_or(Json::Null)) {
                    continue;
                }
                foreign.push(format!("{} {namespace}/{name}", resource.kind));
                if foreign.len() >= limit {
                    return Ok(foreign);
                }
            }
        }
    }
    Ok(foreign)
}

/// The objects the inventory of `scope` records (empty when there is none yet).
pub async fn read_inventory(
    cluster: &Cluster,
    scope: &Scope,
) -> Result<BTreeSet<ObjectRef>, ClusterError> {
    let name = inventory::inventory_name(scope);
    let configmaps = cluster.builtin("v1", "ConfigMap").await?;
    let api = cluster.api(&configmaps, INVENTORY_NAMESPACE);
    let found = with_retry(&cluster.retry, &name, "get inventory", || api.get_opt(&name))
        .await
        .map_err(|e| e.into_cluster_error(&name, "get inventory"))?;
    match found {
        None => Ok(BTreeSet::new()),
        Some(configmap) => {
            let json = serde_json::to_value(&configmap).unwrap_or(Json::Null);
            inventory::read_inventory(&json)
                .map_err(|message| ClusterError::Inventory { name, message })
        }
    }
}

/// Records `objects` as what `scope` applied, creating the inventory namespace if needed; an
/// empty record (a unit removed) deletes the inventory instead.
pub async fn write_inventory(
    cluster: &Cluster,
    scope: &Scope,
    objects: &BTreeSet<ObjectRef>,
) -> Result<(), ClusterError> {
    let name = inventory::inventory_name(scope);
    let configmaps = cluster.builtin("v1", "ConfigMap").await?;
    let api = cluster.api(&configmaps, INVENTORY_NAMESPACE);
    if objects.is_empty() {
        let params = DeleteParams::default();
        return match with_retry(&cluster.retry, &name, "delete inventory", || {
            api.delete(&name, &params)
        })
        .await
        {
            Ok(_) => Ok(()),
            Err(error) if error.code() == Some(404) => Ok(()),
            Err(error) => Err(error.into_cluster_error(&name, "delete inventory")),
        };
    }
    let body = inventory::inventory_object(scope, objects);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(&body);
    let write = || api.patch(&name, &params, &patch);
    match with_retry(&cluster.retry, &name, "write inventory", write).await {
        Ok(_) => Ok(()),
        Err(error) if error.code() == Some(404) => {
            let namespaces = cluster.builtin("v1", "Namespace").await?;
            let ns_api = cluster.api(&namespaces, "");
            let ns_body = inventory::inventory_namespace_object();
            let ns_patch = Patch::Apply(&ns_body);
            with_retry(&cluster.retry, INVENTORY_NAMESPACE, "create namespace", || {
                ns_api.patch(INVENTORY_NAMESPACE, &params, &ns_patch)
            })
            .await
            .map_err(|e| e.into_cluster_error(INVENTORY_NAMESPACE, "create namespace"))?;
            with_retry(&cluster.retry, &name, "write inventory", write)
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

/// What a prune did.
#[derive(Debug, Default)]
pub struct PruneResult {
    pub pruned: Vec<ObjectRef>,
    pub skipped: Vec<(ObjectRef, String)>,
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
                    match foreign_content(cluster, &object.name, ours, 3).await {
                        Ok(foreign) if !foreign.is_empty() => {
                            let reason = format!(
                                "{object} still holds objects gitops-env did not create ({}); left in place",
                                foreign.join(", ")
                            );
                            return (object, Ok(Deletion::Held(reason)));
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
                Ok(Deletion::NotOurs(reason)) => result.skipped.push((object, reason)),
                Ok(Deletion::Held(reason)) => {
                    result.held.push(object.clone());
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
