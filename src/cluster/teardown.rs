//! Teardown and sweep: removing an environment (a preview above all) — every object its
//! inventories record or that carries its labels (a crashed deploy may have applied objects it
//! never confirmed) and still carries our labels for it, then its owned namespaces when nothing
//! but its own objects is left in them (the rule prune uses: `prune::foreign_content`;
//! otherwise the namespace stays and the outcome says why), then the inventories themselves —
//! and waiting until they are gone. Idempotent: nothing there is success. `sweep` finds preview
//! namespaces whose time to live ran out and tears them down.
//!
//! Previews are found by their namespace's ownership labels and read through
//! [`crate::preview::PreviewRecord`] (slug, pull request, expiry), so this works whatever the
//! namespace template is.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::ListParams;
use serde_json::Value as Json;

use super::client::Cluster;
use super::inventory::{self, INVENTORY_NAMESPACE};
use super::prune::{Deletion, delete_owned, find_labelled};
use super::{ClusterError, Failure, KeepReason, ObjectRef, from_json};
use crate::preview::PreviewRecord;
use crate::timestamp::Timestamp;

/// Requests in flight at once while deleting and while waiting for deletions to finish.
const TEARDOWN_CONCURRENCY: usize = 16;

/// Which preview to tear down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreviewSelector {
    Slug(String),
    PullRequest(u64),
}

/// What a teardown did.
#[derive(Debug, Default)]
pub struct TeardownOutcome {
    /// Environments (preview namespaces) torn down.
    pub environments: Vec<String>,
    pub deleted: Vec<ObjectRef>,
    /// Kept, with why (not ours; a namespace still holding others' objects).
    pub skipped: Vec<(ObjectRef, KeepReason)>,
    pub failed: Vec<Failure>,
}

impl TeardownOutcome {
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
    }

    fn absorb(&mut self, other: TeardownOutcome) {
        self.environments.extend(other.environments);
        self.deleted.extend(other.deleted);
        self.skipped.extend(other.skipped);
        self.failed.extend(other.failed);
    }
}

/// What a sweep did.
#[derive(Debug, Default)]
pub struct SweepOutcome {
    /// Expired previews removed (their namespaces).
    pub removed: Vec<String>,
    /// Previews left alone, with why.
    pub kept: Vec<(String, String)>,
    pub teardown: TeardownOutcome,
}

fn namespace_ref(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: String::new(),
        name: name.into(),
    }
}

/// Whether a preview has outlived its time to live at `now`. With a `ttl_override` (the sweep's
/// `--ttl`), expiry is its creation time plus that; otherwise its own expiry annotation decides.
/// A preview without a readable time never expires: deleting on a guess is worse than keeping
/// a namespace a little longer.
pub fn expired(
    record: &PreviewRecord,
    creation_timestamp: Option<&str>,
    now: Timestamp,
    ttl_override: Option<Duration>,
) -> Result<bool, String> {
    match ttl_override {
        None if record.expires_at.is_none() => {
            Err("no expiry (no TTL annotation, no --ttl); kept".into())
        }
        None => Ok(record.expired(now)),
        Some(ttl) => {
            let created = match record.created_at {
                Some(created) => created,
                None => Timestamp::parse(creation_timestamp.ok_or("no creation time")?)
                    .map_err(|e| e.0)?,
            };
            Ok(created.plus(ttl) <= now)
        }
    }
}

impl Cluster {
    /// Tears down every unit of `environment`: deletes what its inventories record (when still
    /// ours), then its namespaces, waits until they are gone, then drops the inventories.
    pub async fn teardown_environment(
        &self,
        environment: &str,
        timeout: Duration,
    ) -> Result<TeardownOutcome, ClusterError> {
        let mut outcome = TeardownOutcome {
            environments: vec![environment.to_owned()],
            ..TeardownOutcome::default()
        };
        let configmaps = self.builtin("v1", "ConfigMap").await?;
        let api = self.api(&configmaps, INVENTORY_NAMESPACE);
        let selector = format!(
            "{}=true,{}={}",
            inventory::INVENTORY_LABEL,
            inventory::ENVIRONMENT_LABEL,
            inventory::label_value(environment)
        );
        let params = ListParams::default().labels(&selector);
        let inventories = self
            .retried("inventories", "list", || api.list(&params))
            .await
            .map_err(|e| e.into_cluster_error("inventories", "list"))?;
        let mut recorded: BTreeSet<ObjectRef> = BTreeSet::new();
        let mut inventory_names = Vec::new();
        for configmap in &inventories.items {
            let json = serde_json::to_value(configmap).unwrap_or(Json::Null);
            // Label values are hashed when long; the annotation holds the exact environment.
            if inventory::inventory_scope(&json).is_none_or(|s| s.environment != environment) {
                continue;
            }
            let name = configmap.metadata.name.clone().unwrap_or_default();
            let record = inventory::read_inventory(&json)
                .map_err(|message| ClusterError::Inventory { name: name.clone(), message })?;
            recorded.extend(record.objects);
            inventory_names.push(name);
        }
        // What a crashed deploy applied without confirming carries the environment's labels.
        let known: BTreeSet<_> = recorded.iter().map(ObjectRef::identity).collect();
        let labelled = find_labelled(self, &inventory::selector(environment, None)).await?;
        recorded.extend(labelled.into_iter().filter(|o| !known.contains(&o.identity())));
        // The environment's own namespace (previews) goes too, when it is ours.
        recorded.insert(namespace_ref(environment));
        let (namespaces, others): (Vec<ObjectRef>, Vec<ObjectRef>) =
            recorded.into_iter().partition(|o| o.group().is_empty() && o.kind == "Namespace");
        let owned = |live: &Json| inventory::owned_by_environment(live, environment);
        let mut deleted = Vec::new();
        // Namespaces last: their deletion takes their content along, past our ownership checks.
        for batch in [others, namespaces] {
            let results: Vec<(ObjectRef, Result<Deletion, ClusterError>)> =
                futures::stream::iter(batch.into_iter().map(|object| async move {
                    // A namespace goes only with nothing but the environment's objects in it.
                    let deletion = delete_owned(self, &object, owned).await;
                    (object, deletion)
                }))
                .buffered(TEARDOWN_CONCURRENCY)
                .collect()
                .await;
            for (object, deletion) in results {
                match deletion {
                    Ok(Deletion::Deleted) => {
                        deleted.push(object.clone());
                        outcome.deleted.push(object);
                    }
                    Ok(Deletion::Gone) => {}
                    Ok(Deletion::Kept(reason)) => {
                        // The environment's namespace is only a guess when nothing names it: a
                        // namespace that is not ours is not worth a word then.
                        let guessed = object == namespace_ref(environment)
                            && inventory_names.is_empty()
                            && reason == KeepReason::NotOurs;
                        if !guessed {
                            outcome.skipped.push((object, reason));
                        }
                    }
                    Err(error) => outcome.failed.push(Failure { object, error }),
                }
            }
        }
        if !outcome.failed.is_empty() {
            return Ok(outcome);
        }
        self.wait_gone(&deleted, timeout).await?;
        for name in inventory_names {
            let object = ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: INVENTORY_NAMESPACE.into(),
                name,
            };
            if let Err(error) = delete_owned(self, &object, inventory::is_inventory).await {
                outcome.failed.push(Failure { object, error });
            }
        }
        Ok(outcome)
    }

    /// Polls until every object is gone.
    async fn wait_gone(
        &self,
        objects: &[ObjectRef],
        timeout: Duration,
    ) -> Result<(), ClusterError> {
        let deadline = Instant::now() + timeout;
        let waits = futures::stream::iter(objects.iter().map(|object| async move {
            let Some(served) = self.resolve(&object.api_version, &object.kind).await? else {
                return Ok(());
            };
            let api = self.api(&served, &object.namespace);
            let described = object.to_string();
            let timed_out =
                || ClusterError::Timeout { what: format!("{described} to be deleted"), timeout };
            loop {
                // Bounded by the deadline even when the server stops answering.
                let get = self.retried(&described, "get", || api.get_opt(&object.name));
                let live = tokio::time::timeout_at(deadline.into(), get)
                    .await
                    .map_err(|_| timed_out())?
                    .map_err(|e| e.into_cluster_error(&described, "get"))?;
                if live.is_none() {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    return Err(timed_out());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }))
        .buffered(TEARDOWN_CONCURRENCY)
        .collect::<Vec<Result<(), ClusterError>>>()
        .await;
        waits.into_iter().collect()
    }

    /// Preview namespaces (ours, labelled as previews), optionally only those matching.
    pub async fn previews(
        &self,
        selector: Option<&PreviewSelector>,
        repository: Option<&str>,
    ) -> Result<Vec<(PreviewRecord, Json)>, ClusterError> {
        let namespaces = self.builtin("v1", "Namespace").await?;
        let api = self.api_all(&namespaces);
        let mut labels = format!(
            "{}={},{}",
            inventory::MANAGED_BY_LABEL,
            inventory::MANAGED_BY_VALUE,
            inventory::PREVIEW_LABEL
        );
        if let Some(PreviewSelector::Slug(slug)) = selector {
            labels =
                format!("{labels},{}={}", inventory::PREVIEW_LABEL, inventory::label_value(slug));
        }
        let params = ListParams::default().labels(&labels);
        let list = self
            .retried("preview namespaces", "list", || api.list(&params))
            .await
            .map_err(|e| e.into_cluster_error("preview namespaces", "list"))?;
        Ok(list
            .items
            .iter()
            .filter_map(|n| serde_json::to_value(n).ok())
            .filter_map(|json| Some((PreviewRecord::from_namespace(&from_json(&json))?, json)))
            .filter(|(record, _)| match selector {
                Some(PreviewSelector::PullRequest(number)) => record.pull_request == Some(*number),
                _ => true,
            })
            // Pull request numbers repeat across repositories sharing a cluster.
            .filter(|(record, _)| {
                repository.is_none_or(|r| record.repository.as_deref() == Some(r))
            })
            .collect())
    }

    /// Tears down the preview(s) selected (of `repository` only, when given, as recorded in
    /// the preview's annotations); none found is success.
    pub async fn teardown(
        &self,
        selector: &PreviewSelector,
        repository: Option<&str>,
        timeout: Duration,
    ) -> Result<TeardownOutcome, ClusterError> {
        let mut outcome = TeardownOutcome::default();
        for (record, _) in self.previews(Some(selector), repository).await? {
            outcome.absorb(self.teardown_environment(&record.namespace, timeout).await?);
        }
        Ok(outcome)
    }

    /// Tears down previews whose time to live ran out at `now` (see [`expired`]).
    pub async fn sweep(
        &self,
        now: Timestamp,
        ttl_override: Option<Duration>,
        timeout: Duration,
    ) -> Result<SweepOutcome, ClusterError> {
        let mut outcome = SweepOutcome::default();
        for (record, namespace) in self.previews(None, None).await? {
            let name = record.namespace.clone();
            if namespace["metadata"]["deletionTimestamp"].is_string() {
                outcome.kept.push((name, "already being deleted".into()));
                continue;
            }
            let created = namespace["metadata"]["creationTimestamp"].as_str();
            match expired(&record, created, now, ttl_override) {
                Ok(true) => {
                    outcome.teardown.absorb(self.teardown_environment(&name, timeout).await?);
                    outcome.removed.push(name);
                }
                Ok(false) => outcome.kept.push((name, "not expired".into())),
                Err(reason) => outcome.kept.push((name, reason)),
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(created_at: Option<&str>, expires_at: Option<&str>) -> PreviewRecord {
        PreviewRecord {
            namespace: "preview-x".into(),
            slug: "x".into(),
            repository: None,
            pull_request: None,
            branch: None,
            created_at: created_at.map(|t| Timestamp::parse(t).unwrap()),
            expires_at: expires_at.map(|t| Timestamp::parse(t).unwrap()),
            problems: Vec::new(),
        }
    }

    #[test]
    fn expiry_uses_the_annotation_or_the_override() {
        let at = |t: &str| Timestamp::parse(t).unwrap();
        let preview = record(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T01:00:00Z"));
        assert_eq!(expired(&preview, None, at("2026-01-01T00:59:00Z"), None), Ok(false));
        assert_eq!(expired(&preview, None, at("2026-01-01T01:00:00Z"), None), Ok(true));
        assert_eq!(
            expired(&preview, None, at("2026-01-01T00:10:00Z"), Some(Duration::from_secs(60))),
            Ok(true)
        );
        let no_ttl = record(None, None);
        assert!(
            expired(&no_ttl, Some("2020-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z"), None)
                .is_err()
        );
        assert_eq!(
            expired(
                &no_ttl,
                Some("2026-01-01T00:00:00Z"),
                at("2026-01-01T02:00:00Z"),
                Some(Duration::from_secs(3600))
            ),
            Ok(true)
        );
    }
}
