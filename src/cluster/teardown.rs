//! Teardown and sweep: removing an environment (a preview above all) — every object its
//! inventories record that still carries our labels for it, its owned namespace, then the
//! inventories themselves — and waiting until they are gone. Idempotent: nothing there is
//! success. `sweep` finds preview namespaces whose time to live ran out and tears them down.
//!
//! Previews are found by their namespace's labels ([`inventory::PREVIEW_LABEL`],
//! [`inventory::PR_LABEL`]), so this works whatever the namespace template is.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use kube::api::ListParams;
use serde_json::Value as Json;

use super::client::{Cluster, with_retry};
use super::inventory::{self, INVENTORY_NAMESPACE};
use super::prune::{Deletion, delete_owned};
use super::{ClusterError, Failure, ObjectRef};

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
    pub skipped: Vec<(ObjectRef, String)>,
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

/// Parses an RFC 3339 UTC timestamp (`2026-01-02T03:04:05Z`, fractions allowed).
pub fn parse_timestamp(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (date_parts.next()??, date_parts.next()??, date_parts.next()??);
    let time = time.strip_suffix('Z')?;
    let time = time.split('.').next()?;
    let mut time_parts = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (time_parts.next()??, time_parts.next()??, time_parts.next()??);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    u64::try_from(seconds).ok().map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

/// Whether a preview namespace has outlived its TTL at `now`: the `ttl` override, else its TTL
/// annotation; created at its created-at annotation, else its creation timestamp. A namespace
/// without any TTL never expires.
pub fn expiry(
    namespace: &Json,
    now: SystemTime,
    ttl_override: Option<Duration>,
) -> Result<bool, String> {
    let annotations = &namespace["metadata"]["annotations"];
    let ttl = match ttl_override {
        Some(ttl) => ttl,
        None => match annotations[inventory::TTL_ANNOTATION].as_str() {
            Some(text) => crate::config::parse_duration(text)
                .map_err(|e| format!("annotation {}: {e}", inventory::TTL_ANNOTATION))?,
            None => return Err("no TTL (annotation or --ttl); kept".into()),
        },
    };
    let created_text = annotations[inventory::CREATED_AT_ANNOTATION]
        .as_str()
        .or(namespace["metadata"]["creationTimestamp"].as_str())
        .ok_or("no creation time")?;
    let created = parse_timestamp(created_text)
        .ok_or_else(|| format!("creation time {created_text:?} is not RFC 3339"))?;
    Ok(created + ttl <= now)
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
        let inventories = with_retry(&self.retry, "inventories", "list", || api.list(&params))
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
            let objects = inventory::read_inventory(&json)
                .map_err(|message| ClusterError::Inventory { name: name.clone(), message })?;
            recorded.extend(objects);
            inventory_names.push(name);
        }
        // The environment's own namespace (previews) goes too, when it is ours.
        recorded.insert(namespace_ref(environment));
        let (namespaces, others): (Vec<ObjectRef>, Vec<ObjectRef>) =
            recorded.into_iter().partition(|o| o.group().is_empty() && o.kind == "Namespace");
        let owned = |live: &Json| inventory::owned_by_environment(live, environment);
        let mut deleted_namespaces = Vec::new();
        for batch in [others, namespaces] {
            for object in batch {
                match delete_owned(self, &object, owned).await {
                    Ok(Deletion::Deleted) => {
                        if object.kind == "Namespace" {
                            deleted_namespaces.push(object.clone());
                        }
                        outcome.deleted.push(object);
                    }
                    Ok(Deletion::Gone) => {}
                    Ok(Deletion::NotOurs(reason)) => {
                        // The environment's namespace is only a guess when no inventory names it.
                        if object != namespace_ref(environment) || !inventory_names.is_empty() {
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
        self.wait_gone(&deleted_namespaces, timeout).await?;
        for name in inventory_names {
            let object = ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: INVENTORY_NAMESPACE.into(),
                name,
            };
            let is_inventory =
                |live: &Json| live["metadata"]["labels"][inventory::INVENTORY_LABEL] == "true";
            if let Err(error) = delete_owned(self, &object, is_inventory).await {
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
        for object in objects {
            let Some(served) = self.resolve(&object.api_version, &object.kind).await? else {
                continue;
            };
            let api = self.api(&served, &object.namespace);
            loop {
                let described = object.to_string();
                let live = with_retry(&self.retry, &described, "get", || api.get_opt(&object.name))
                    .await
                    .map_err(|e| e.into_cluster_error(&described, "get"))?;
                if live.is_none() {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(ClusterError::Timeout {
                        what: format!("{described} to be deleted"),
                        timeout,
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Preview namespaces (ours, labelled as previews), optionally only those matching.
    pub async fn previews(
        &self,
        selector: Option<&PreviewSelector>,
    ) -> Result<Vec<Json>, ClusterError> {
        let namespaces = self.builtin("v1", "Namespace").await?;
        let api = self.api_all(&namespaces);
        let mut labels = format!(
            "{}={},{}",
            inventory::MANAGED_BY_LABEL,
            inventory::MANAGED_BY_VALUE,
            inventory::PREVIEW_LABEL
        );
        match selector {
            Some(PreviewSelector::Slug(slug)) => {
                labels = format!(
                    "{labels},{}={}",
                    inventory::PREVIEW_LABEL,
                    inventory::label_value(slug)
                )
            }
            Some(PreviewSelector::PullRequest(number)) => {
                labels = format!("{labels},{}={number}", inventory::PR_LABEL)
            }
            None => {}
        }
        let params = ListParams::default().labels(&labels);
        let list = with_retry(&self.retry, "preview namespaces", "list", || api.list(&params))
            .await
            .map_err(|e| e.into_cluster_error("preview namespaces", "list"))?;
        Ok(list.items.iter().filter_map(|n| serde_json::to_value(n).ok()).collect())
    }

    /// Tears down the preview(s) selected; none found is success.
    pub async fn teardown(
        &self,
        selector: &PreviewSelector,
        timeout: Duration,
    ) -> Result<TeardownOutcome, ClusterError> {
        let mut outcome = TeardownOutcome::default();
        for namespace in self.previews(Some(selector)).await? {
            let name = namespace["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            outcome.absorb(self.teardown_environment(&name, timeout).await?);
        }
        Ok(outcome)
    }

    /// Tears down previews whose TTL ran out at `now` (see [`expiry`]).
    pub async fn sweep(
        &self,
        now: SystemTime,
        ttl_override: Option<Duration>,
        timeout: Duration,
    ) -> Result<SweepOutcome, ClusterError> {
        let mut outcome = SweepOutcome::default();
        for namespace in self.previews(None).await? {
            let name = namespace["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            if namespace["metadata"]["deletionTimestamp"].is_string() {
                outcome.kept.push((name, "already being deleted".into()));
                continue;
            }
            match expiry(&namespace, now, ttl_override) {
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
    use serde_json::json;

    #[test]
    fn timestamps_parse() {
        assert_eq!(
            parse_timestamp("1970-01-02T00:00:01Z"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(86_401))
        );
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.5Z"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2023-13-14T22:13:20Z"), None);
    }

    #[test]
    fn expiry_uses_annotations_then_override() {
        let ns = json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z", "annotations": {"gitops-env.io/ttl": "1h"}}});
        let at = |s: &str| parse_timestamp(s).unwrap();
        assert_eq!(expiry(&ns, at("2026-01-01T00:59:00Z"), None), Ok(false));
        assert_eq!(expiry(&ns, at("2026-01-01T01:00:00Z"), None), Ok(true));
        assert_eq!(
            expiry(&ns, at("2026-01-01T00:10:00Z"), Some(Duration::from_secs(60))),
            Ok(true)
        );
        let no_ttl = json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z"}});
        assert!(expiry(&no_ttl, at("2030-01-01T00:00:00Z"), None).is_err());
        let created_at = json!({"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z", "annotations": {"gitops-env.io/ttl": "1h", "gitops-env.io/created-at": "2026-01-02T00:00:00Z"}}});
        assert_eq!(expiry(&created_at, at("2026-01-01T12:00:00Z"), None), Ok(false));
    }
}
