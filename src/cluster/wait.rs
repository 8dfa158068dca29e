//! Readiness: whether a workload has rolled out, judged as `kubectl rollout status` judges it
//! (Deployments, StatefulSets, DaemonSets), Jobs complete or failed, CRDs established; and the
//! polling wait that reports, for whatever did not get there in time, its conditions and recent
//! events.
//!
//! `readiness` is pure (object in, verdict out); `wait_ready` does the polling, bounded by its
//! timeout even when the server stops answering (a poll still running at the deadline is
//! abandoned, and the events lookup that follows has a small budget of its own).

use std::time::{Duration, Instant};

use kube::api::ListParams;
use serde_json::Value as Json;

use super::client::{Cluster, Served};
use super::{ClusterError, ObjectRef};

/// A verdict on one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Still progressing, with kubectl's words for why.
    Pending(String),
    /// Will not get there by waiting (progress deadline exceeded, Job failed).
    Failed(String),
}

/// Whether waiting applies to this kind at all.
pub fn is_waitable(object: &ObjectRef) -> bool {
    matches!(
        (object.group(), object.kind.as_str()),
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet")
            | ("batch", "Job")
            | ("apiextensions.k8s.io", "CustomResourceDefinition")
    )
}

fn int(value: &Json) -> i64 {
    value.as_i64().unwrap_or(0)
}

fn condition<'a>(object: &'a Json, kind: &str) -> Option<&'a Json> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == kind)
}

fn condition_true(object: &Json, kind: &str) -> bool {
    condition(object, kind).is_some_and(|c| c["status"] == "True")
}

/// The rollout verdict for a live object.
pub fn readiness(object: &Json) -> Readiness {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let generation = int(&object["metadata"]["generation"]);
    let observed = int(&object["status"]["observedGeneration"]);
    let status = &object["status"];
    match kind {
        "Deployment" => {
            if generation > observed {
                return Readiness::Pending(
                    "waiting for deployment spec update to be observed".into(),
                );
            }
            if condition(object, "Progressing")
                .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
            {
                return Readiness::Failed(format!(
                    "deployment \"{name}\" exceeded its progress deadline"
                ));
            }
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let updated = int(&status["updatedReplicas"]);
            let total = int(&status["replicas"]);
            let available = int(&status["availableReplicas"]);
            if updated < replicas {
                Readiness::Pending(format!(
                    "{updated} out of {replicas} new replicas have been updated"
                ))
            } else if total > updated {
                Readiness::Pending(format!(
                    "{} old replicas are pending termination",
                    total - updated
                ))
            } else if available < updated {
                Readiness::Pending(format!(
                    "{available} of {updated} updated replicas are available"
                ))
            } else {
                Readiness::Ready
            }
        }
        "StatefulSet" => {
            if object["spec"]["updateStrategy"]["type"]
                .as_str()
                .is_some_and(|t| t != "RollingUpdate")
            {
                return Readiness::Ready;
            }
            if observed == 0 || generation > observed {
                return Readiness::Pending(
                    "waiting for statefulset spec update to be observed".into(),
                );
            }
            let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = int(&status["readyReplicas"]);
            if ready < replicas {
                return Readiness::Pending(format!("{ready} of {replicas} pods are ready"));
            }
            let partition = int(&object["spec"]["updateStrategy"]["rollingUpdate"]["partition"]);
            if partition > 0 {
                let updated = int(&status["updatedReplicas"]);
                return if updated < replicas - partition {
                    Readiness::Pending(format!(
                        "{updated} of {} partitioned pods updated",
                        replicas - partition
                    ))
                } else {
                    Readiness::Ready
                };
            }
            if status["updateRevision"] != status["currentRevision"] {
                let updated = int(&status["updatedReplicas"]);
                return Readiness::Pending(format!(
                    "{updated} of {replicas} pods updated to the new revision"
                ));
            }
            Readiness::Ready
        }
        "DaemonSet" => {
            if object["spec"]["updateStrategy"]["type"]
                .as_str()
                .is_some_and(|t| t != "RollingUpdate")
            {
                return Readiness::Ready;
            }
            if generation > observed {
                return Readiness::Pending(
                    "waiting for daemon set spec update to be observed".into(),
                );
            }
            let desired = int(&status["desiredNumberScheduled"]);
            let updated = int(&status["updatedNumberScheduled"]);
            let available = int(&status["numberAvailable"]);
            if updated < desired {
                Readiness::Pending(format!("{updated} out of {desired} new pods have been updated"))
            } else if available < desired {
                Readiness::Pending(format!("{available} of {desired} updated pods are available"))
            } else {
                Readiness::Ready
            }
        }
        "Job" => {
            if condition_true(object, "Failed") {
                let reason = condition(object, "Failed")
                    .and_then(|c| c["reason"].as_str())
                    .unwrap_or("Failed");
                Readiness::Failed(format!("job \"{name}\" failed: {reason}"))
            } else if condition_true(object, "Complete") {
                Readiness::Ready
            } else {
                Readiness::Pending(format!(
                    "job \"{name}\" has not completed ({} active)",
                    int(&status["active"])
                ))
            }
        }
        "CustomResourceDefinition" => {
            if condition_true(object, "Established") {
                Readiness::Ready
            } else {
                Readiness::Pending(format!(
                    "customresourcedefinition \"{name}\" is not established"
                ))
            }
        }
        _ => Readiness::Ready,
    }
}

/// A workload that did not become ready, with what the cluster says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct NotReady {
    pub object: ObjectRef,
    /// kubectl-style reason (`1 of 2 updated replicas are available`).
    pub reason: String,
    /// Whether it failed for good (rather than running out of time).
    pub failed: bool,
    /// `Type=Status (Reason): message` for each status condition.
    pub conditions: Vec<String>,
    /// Recent events about it, oldest first: `Warning BackOff: message`.
    pub events: Vec<String>,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} not ready: {}", self.object, self.reason)?;
        for condition in &self.conditions {
            write!(f, "\n  condition {condition}")?;
        }
        for event in &self.events {
            write!(f, "\n  event {event}")?;
        }
        Ok(())
    }
}

fn describe_conditions(object: &Json) -> Vec<String> {
    object["status"]["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={} ({}): {}",
                        c["type"].as_str().unwrap_or("?"),
                        c["status"].as_str().unwrap_or("?"),
                        c["reason"].as_str().unwrap_or(""),
                        c["message"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How long the events of what did not get ready may take to read, all objects together: they
/// explain a failure, and must not hold the run up past its wait.
const EVENTS_BUDGET: Duration = Duration::from_secs(10);

/// The last few events about an object, oldest first (none when they cannot be read).
pub async fn recent_events(cluster: &Cluster, object: &ObjectRef, limit: usize) -> Vec<String> {
    if object.namespace.is_empty() {
        return Vec::new();
    }
    let Ok(events) = cluster.builtin("v1", "Event").await else { return Vec::new() };
    let api = cluster.api(&events, &object.namespace);
    let params = ListParams::default().fields(&format!(
        "involvedObject.name={},involvedObject.kind={}",
        object.name, object.kind
    ));
    let Ok(list) = cluster.retried(&object.to_string(), "list events", || api.list(&params)).await
    else {
        return Vec::new();
    };
    let mut items: Vec<Json> =
        list.items.iter().filter_map(|e| serde_json::to_value(e).ok()).collect();
    let time = |e: &Json| {
        e["lastTimestamp"]
            .as_str()
            .or(e["eventTime"].as_str())
            .or(e["metadata"]["creationTimestamp"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    items.sort_by_key(time);
    let skip = items.len().saturating_sub(limit);
    items
        .iter()
        .skip(skip)
        .map(|e| {
            format!(
                "{} {}: {}",
                e["type"].as_str().unwrap_or("Normal"),
                e["reason"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Polls each object until it is ready, failed, or `timeout` passes; returns those not ready.
pub async fn wait_ready(
    cluster: &Cluster,
    objects: &[(ObjectRef, Served)],
    timeout: Duration,
    poll: Duration,
) -> Result<Vec<NotReady>, ClusterError> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<(ObjectRef, Served, Readiness, Json)> = objects
        .iter()
        .map(|(o, s)| {
            // What stands when no check ever answers.
            let unanswered = Readiness::Pending("the API server did not answer in time".into());
            (o.clone(), s.clone(), unanswered, Json::Null)
        })
        .collect();
    let mut finished = Vec::new();
    loop {
        let checks = pending.iter().map(|(object, served, _, _)| async move {
            let api = cluster.api(served, &object.namespace);
            let result =
                cluster.retried(&object.to_string(), "get", || api.get_opt(&object.name)).await;
            match result {
                Ok(Some(live)) => {
                    let json = serde_json::to_value(&live).unwrap_or(Json::Null);
                    (readiness(&json), json)
                }
                Ok(None) => (Readiness::Failed("it no longer exists".into()), Json::Null),
                Err(error) => (
                    Readiness::Pending(
                        error.into_cluster_error(&object.to_string(), "get").to_string(),
                    ),
                    Json::Null,
                ),
            }
        });
        let verdicts =
            match tokio::time::timeout_at(deadline.into(), futures::future::join_all(checks)).await
            {
                Ok(verdicts) => verdicts,
                // Abandoned at the deadline: the last answers stand.
                Err(_) => pending.iter().map(|(_, _, v, live)| (v.clone(), live.clone())).collect(),
            };
        let mut still = Vec::new();
        for ((object, served, _, _), (verdict, live)) in pending.into_iter().zip(verdicts) {
            match verdict {
                Readiness::Ready => {}
                Readiness::Failed(_) => finished.push((object, verdict, live)),
                Readiness::Pending(_) => still.push((object, served, verdict, live)),
            }
        }
        pending = still;
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(poll.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    finished.extend(pending.into_iter().map(|(object, _, verdict, live)| (object, verdict, live)));
    let mut not_ready = Vec::new();
    let events_deadline = tokio::time::Instant::now() + EVENTS_BUDGET;
    for (object, verdict, live) in finished {
        let (reason, failed) = match verdict {
            Readiness::Failed(reason) => (reason, true),
            Readiness::Pending(reason) => (format!("timed out after {timeout:?}: {reason}"), false),
            Readiness::Ready => continue,
        };
        let events = tokio::time::timeout_at(events_deadline, recent_events(cluster, &object, 5))
            .await
            .unwrap_or_default();
        not_ready.push(NotReady {
            conditions: describe_conditions(&live),
            object,
            reason,
            failed,
            events,
        });
    }
    Ok(not_ready)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, status: Json) -> Json {
        json!({"kind": "Deployment", "metadata": {"name": "web", "generation": generation}, "spec": {"replicas": 2}, "status": status})
    }

    #[test]
    fn deployments_follow_kubectl_rollout_status() {
        assert!(
            matches!(readiness(&deployment(2, json!({"observedGeneration": 1}))), Readiness::Pending(m) if m.contains("observed"))
        );
        assert_eq!(
            readiness(&deployment(
                1,
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1})
            )),
            Readiness::Pending("1 out of 2 new replicas have been updated".into())
        );
        assert_eq!(
            readiness(&deployment(
                1,
                json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2})
            )),
            Readiness::Pending("1 old replicas are pending termination".into())
        );
        assert_eq!(
            readiness(&deployment(
                1,
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1})
            )),
            Readiness::Pending("1 of 2 updated replicas are available".into())
        );
        assert_eq!(
            readiness(&deployment(
                1,
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
            )),
            Readiness::Ready
        );
        let stuck = json!({"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]});
        assert!(matches!(readiness(&deployment(1, stuck)), Readiness::Failed(_)));
    }

    #[test]
    fn statefulsets_daemonsets_jobs_crds() {
        let sts = |status: Json| json!({"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1}, "spec": {"replicas": 1, "updateStrategy": {"type": "RollingUpdate"}}, "status": status});
        assert!(matches!(
            readiness(&sts(json!({"observedGeneration": 1, "readyReplicas": 0}))),
            Readiness::Pending(_)
        ));
        assert!(matches!(
            readiness(&sts(
                json!({"observedGeneration": 1, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"})
            )),
            Readiness::Pending(_)
        ));
        assert_eq!(
            readiness(&sts(
                json!({"observedGeneration": 1, "readyReplicas": 1, "currentRevision": "b", "updateRevision": "b"})
            )),
            Readiness::Ready
        );
        let ds = json!({"kind": "DaemonSet", "metadata": {"generation": 1}, "spec": {}, "status": {"observedGeneration": 1, "desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 1}});
        assert!(matches!(readiness(&ds), Readiness::Pending(_)));
        let job = |c: &str| json!({"kind": "Job", "metadata": {"name": "j"}, "status": {"conditions": [{"type": c, "status": "True", "reason": "BackoffLimitExceeded"}]}});
        assert_eq!(readiness(&job("Complete")), Readiness::Ready);
        assert!(matches!(readiness(&job("Failed")), Readiness::Failed(_)));
        let crd = json!({"kind": "CustomResourceDefinition", "metadata": {"name": "x"}, "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(readiness(&crd), Readiness::Ready);
    }
}
