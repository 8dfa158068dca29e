//! What a real cluster's controllers would do, one step per tick: establish CRDs, finish
//! namespace termination (deleting the namespace's objects), run garbage collection
//! (finalizers, foreground deletion, owners gone), and move workload status towards ready —
//! or keep it unready / failed when a test asked for that (`Behaviour`), with events.
//!
//! Pure state transitions on `State`; the HTTP layer's task calls `tick` on a timer.

use serde_json::{Value as Json, json};

use super::Behaviour;
use super::state::{Key, State, now};

/// Annotation a test (or a demo) can put on a workload to choose its behaviour.
pub const BEHAVIOUR_ANNOTATION: &str = "fake-kube.gitops-env.io/behaviour";

/// Runs every controller once; returns whether anything changed. (The server interleaves the
/// same steps with requests; see `http::serve`.)
#[cfg(test)]
pub fn tick(state: &mut State) -> bool {
    let before = state.resource_version;
    tick_cluster_wide(state);
    progress_workloads(state);
    state.resource_version != before
}

/// The controllers that look at the whole store (CRDs, deletions, garbage collection).
pub fn tick_cluster_wide(state: &mut State) {
    establish_crds(state);
    finish_deletions(state);
    collect_orphans(state);
}

fn establish_crds(state: &mut State) {
    let pending: Vec<(Key, Json)> = state
        .objects
        .iter()
        .filter(|(k, o)| {
            k.0 == "apiextensions.k8s.io"
                && k.1 == "customresourcedefinitions"
                && o["metadata"].get("deletionTimestamp").is_none()
                && !is_condition_true(o, "Established")
        })
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect();
    for (key, mut crd) in pending {
        let at = now();
        crd["status"] = json!({
            "acceptedNames": crd["spec"]["names"].clone(),
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": at},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": at},
            ],
            "storedVersions": crd["spec"]["versions"].as_array().map(|vs| {
                vs.iter().filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>()
            }).unwrap_or_default(),
        });
        state.establish_crd(&crd);
        state.store(key, crd, "MODIFIED");
    }
}

pub fn is_condition_true(object: &Json, kind: &str) -> bool {
    object["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == kind && c["status"] == "True"))
}

/// Controller ticks a terminating namespace waits before its content is deleted.
const NAMESPACE_GRACE_TICKS: u32 = 3;

fn finish_deletions(state: &mut State) {
    if !state.deleting {
        return;
    }
    let deleting: Vec<(Key, Json)> = state
        .objects
        .iter()
        .filter(|(_, o)| o["metadata"].get("deletionTimestamp").is_some())
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect();
    state.deleting = !deleting.is_empty();
    for (key, mut object) in deleting {
        let is_namespace = key.0.is_empty() && key.1 == "namespaces";
        if is_namespace {
            let ticks = state.terminating.entry(key.clone()).or_insert(0);
            *ticks += 1;
            if *ticks < NAMESPACE_GRACE_TICKS {
                state.deleting = true;
                continue;
            }
            // The namespace controller deletes the content (finalizers are honoured: such
            // objects linger with a deletion timestamp) and the namespace once it is empty.
            let content: Vec<Key> =
                state.objects.keys().filter(|k| !k.2.is_empty() && k.2 == key.3).cloned().collect();
            if content.is_empty() {
                state.terminating.remove(&key);
                state.remove(&key);
                continue;
            }
            for k in content {
                let Some(mut object) = state.objects.get(&k).cloned() else { continue };
                let has_finalizers = object["metadata"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f != "foregroundDeletion"));
                if !has_finalizers {
                    state.remove(&k);
                } else if object["metadata"].get("deletionTimestamp").is_none() {
                    object["metadata"]["deletionTimestamp"] = json!(super::state::now());
                    object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                    state.store(k, object, "MODIFIED");
                }
            }
            state.deleting = true;
            continue;
        }
        let mut finalizers: Vec<Json> =
            object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        if finalizers.contains(&json!("foregroundDeletion")) {
            let uid = object["metadata"]["uid"].clone();
            let dependents = dependents_of(state, &uid);
            if dependents.is_empty() {
                finalizers.retain(|f| f != "foregroundDeletion");
            } else {
                for dependent in dependents {
                    state.remove(&dependent);
                }
                continue;
            }
        }
        if finalizers.is_empty() {
            state.remove(&key);
        } else if object["metadata"]["finalizers"].as_array() != Some(&finalizers) {
            object["metadata"]["finalizers"] = Json::Array(finalizers);
            state.store(key, object, "MODIFIED");
        }
    }
}

fn dependents_of(state: &State, uid: &Json) -> Vec<Key> {
    state
        .objects
        .iter()
        .filter(|(_, o)| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| &r["uid"] == uid))
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// Background propagation: objects whose every owner is gone are deleted.
fn collect_orphans(state: &mut State) {
    if !std::mem::take(&mut state.removed_since_tick) {
        return;
    }
    let uids: std::collections::HashSet<String> = state
        .objects
        .values()
        .filter_map(|o| o["metadata"]["uid"].as_str().map(str::to_owned))
        .collect();
    let orphans: Vec<Key> = state
        .objects
        .iter()
        .filter(|(_, o)| {
            o["metadata"]["ownerReferences"].as_array().is_some_and(|refs| {
                !refs.is_empty()
                    && refs.iter().all(|r| r["uid"].as_str().is_none_or(|u| !uids.contains(u)))
            })
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in orphans {
        state.remove(&key);
    }
}

fn behaviour_of(state: &State, kind: &str, key: &Key, object: &Json) -> Behaviour {
    if let Some(b) = state.behaviours.get(&(kind.to_owned(), key.2.clone(), key.3.clone())) {
        return *b;
    }
    match object["metadata"]["annotations"][BEHAVIOUR_ANNOTATION].as_str() {
        Some("never-ready") => Behaviour::NeverReady,
        Some("fail") => Behaviour::Fail,
        _ => Behaviour::Ready,
    }
}

#[cfg(test)]
fn progress_workloads(state: &mut State) {
    for key in pending_workloads(state) {
        progress_workload(state, &key);
    }
}

/// Workloads not yet settled at their current generation. The HTTP layer takes them one at a
/// time (`progress_workload`), so a burst of new workloads does not hold the server's lock.
pub fn pending_workloads(state: &State) -> Vec<Key> {
    state
        .objects
        .iter()
        .filter(|(k, _)| {
            (k.0 == "apps" && matches!(k.1.as_str(), "deployments" | "statefulsets" | "daemonsets"))
                || (k.0 == "batch" && k.1 == "jobs")
        })
        .filter(|(_, o)| o["metadata"].get("deletionTimestamp").is_none())
        .filter(|(k, o)| {
            let generation = o["metadata"]["generation"].as_i64().unwrap_or(1);
            !matches!(state.progress.get(*k), Some((seen, ticks)) if *seen == generation && *ticks >= 1)
        })
        .map(|(k, _)| k.clone())
        .collect()
}

/// One controller step for one workload.
pub fn progress_workload(state: &mut State, key: &Key) {
    let Some(object) = state.objects.get(key).cloned() else { return };
    let kind = object["kind"].as_str().unwrap_or_default().to_owned();
    let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
    let behaviour = behaviour_of(state, &kind, key, &object);
    let ticks = match state.progress.get(key) {
        Some((seen, ticks)) if *seen == generation => ticks + 1,
        _ => 0,
    };
    state.progress.insert(key.clone(), (generation, ticks));
    // Tick 0 observes the new generation with nothing ready yet; tick 1 settles.
    let settled = ticks >= 1;
    let status = match kind.as_str() {
        "Deployment" => deployment_status(&object, generation, behaviour, settled),
        "StatefulSet" => statefulset_status(&object, generation, behaviour, settled),
        "DaemonSet" => daemonset_status(generation, behaviour, settled),
        "Job" => job_status(&object, behaviour, settled),
        _ => return,
    };
    if object.get("status") != Some(&status) {
        let mut updated = object.clone();
        updated["status"] = status;
        state.store(key.clone(), updated, "MODIFIED");
    }
    if settled && ticks == 1 {
        emit_events(state, key, &object, &kind, behaviour);
    }
}

fn replicas(object: &Json) -> i64 {
    object["spec"]["replicas"].as_i64().unwrap_or(1)
}

fn condition(kind: &str, status: bool, reason: &str, message: &str) -> Json {
    json!({"type": kind, "status": if status { "True" } else { "False" }, "reason": reason, "message": message})
}

fn deployment_status(object: &Json, generation: i64, behaviour: Behaviour, settled: bool) -> Json {
    let n = replicas(object);
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let ready = settled && behaviour == Behaviour::Ready;
    let progressing = if settled && behaviour == Behaviour::Fail {
        condition(
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            &format!("ReplicaSet \"{name}\" has timed out progressing."),
        )
    } else if ready {
        condition(
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{name}\" has successfully progressed."),
        )
    } else {
        condition(
            "Progressing",
            true,
            "ReplicaSetUpdated",
            &format!("ReplicaSet \"{name}\" is progressing."),
        )
    };
    let available = if ready {
        condition(
            "Available",
            true,
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        condition(
            "Available",
            false,
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": n,
        "updatedReplicas": n,
        "conditions": [available, progressing],
    });
    if ready {
        status["readyReplicas"] = json!(n);
        status["availableReplicas"] = json!(n);
    } else {
        status["unavailableReplicas"] = json!(n);
    }
    status
}

fn statefulset_status(object: &Json, generation: i64, behaviour: Behaviour, settled: bool) -> Json {
    let n = replicas(object);
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let ready = settled && behaviour == Behaviour::Ready;
    let revision = format!("{name}-{:x}", generation * 0x5f3759 % 0xfffffff);
    let mut status = json!({
        "observedGeneration": generation,
        "replicas": n,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    if ready {
        status["readyReplicas"] = json!(n);
        status["currentReplicas"] = json!(n);
        status["updatedReplicas"] = json!(n);
        status["availableReplicas"] = json!(n);
        status["currentRevision"] = json!(revision);
    } else {
        status["currentRevision"] = json!(format!("{name}-previous"));
        status["availableReplicas"] = json!(0);
    }
    status
}

fn daemonset_status(generation: i64, behaviour: Behaviour, settled: bool) -> Json {
    let ready = settled && behaviour == Behaviour::Ready;
    let n = i64::from(ready);
    json!({
        "observedGeneration": generation,
        "desiredNumberScheduled": 1,
        "currentNumberScheduled": 1,
        "numberMisscheduled": 0,
        "updatedNumberScheduled": 1,
        "numberReady": n,
        "numberAvailable": n,
    })
}

fn job_status(object: &Json, behaviour: Behaviour, settled: bool) -> Json {
    let start = object["metadata"]["creationTimestamp"].clone();
    if !settled || behaviour == Behaviour::NeverReady {
        return json!({"active": 1, "ready": 0, "startTime": start, "terminating": 0});
    }
    let at = now();
    if behaviour == Behaviour::Fail {
        return json!({
            "failed": 1,
            "startTime": start,
            "terminating": 0,
            "conditions": [
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": at},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastTransitionTime": at},
            ],
        });
    }
    let completions = object["spec"]["completions"].as_i64().unwrap_or(1);
    json!({
        "succeeded": completions,
        "ready": 0,
        "terminating": 0,
        "startTime": start,
        "completionTime": at,
        "conditions": [
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastTransitionTime": at},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastTransitionTime": at},
        ],
    })
}

fn first_image(object: &Json) -> String {
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned()
}

/// Events as the controllers (and the kubelet, for the pods we do not model) would record them
/// against the workload.
fn emit_events(state: &mut State, key: &Key, object: &Json, kind: &str, behaviour: Behaviour) {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let (event_type, reason, message, component) = match (kind, behaviour) {
        ("Deployment", Behaviour::Ready) => (
            "Normal",
            "ScalingReplicaSet",
            format!("Scaled up replica set {name}-7d4b9c8f5 from 0 to {}", replicas(object)),
            "deployment-controller",
        ),
        ("Job", Behaviour::Ready) => {
            ("Normal", "Completed", "Job completed".to_owned(), "job-controller")
        }
        ("Job", Behaviour::Fail) => (
            "Warning",
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit".to_owned(),
            "job-controller",
        ),
        (_, Behaviour::Ready) => (
            "Normal",
            "SuccessfulCreate",
            format!("create Pod {name}-0 in {} {name} successful", kind),
            "controller",
        ),
        (_, Behaviour::Fail) => (
            "Warning",
            "ProgressDeadlineExceeded",
            format!("{kind} {name} has timed out progressing"),
            "deployment-controller",
        ),
        (_, Behaviour::NeverReady) => (
            "Warning",
            "BackOff",
            format!("Back-off pulling image \"{}\"", first_image(object)),
            "kubelet",
        ),
    };
    record_event(state, &key.2, object, event_type, reason, &message, component);
}

/// Stores a core/v1 Event about `involved` in `namespace`.
pub fn record_event(
    state: &mut State,
    namespace: &str,
    involved: &Json,
    event_type: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    if namespace.is_empty() {
        return;
    }
    let namespace_alive = state
        .objects
        .get(&(String::new(), "namespaces".into(), String::new(), namespace.to_owned()))
        .is_some_and(|ns| ns["status"]["phase"] != "Terminating");
    if !namespace_alive {
        return;
    }
    let Some(events) = state.catalog.by_kind("v1", "Event").cloned() else { return };
    let involved_name = involved["metadata"]["name"].as_str().unwrap_or_default();
    let name = format!(
        "{involved_name}.{:016x}",
        state.resource_version.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    );
    let at = now();
    let event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": at, "uid": format!("evt-{}", state.resource_version)},
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": involved_name,
            "namespace": namespace,
            "uid": involved["metadata"]["uid"],
            "resourceVersion": involved["metadata"]["resourceVersion"],
        },
        "reason": reason,
        "message": message,
        "type": event_type,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": "",
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
    });
    let key = State::key(&events, namespace, &name);
    state.store(key, event, "ADDED");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::state::WriteOptions;

    fn setup() -> State {
        let mut state = State::new();
        let ns = state.catalog.by_kind("v1", "Namespace").unwrap().clone();
        let opts = WriteOptions { manager: Some("t".into()), ..WriteOptions::default() };
        state
            .apply(
                &ns,
                "",
                "ns",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}),
                &opts,
            )
            .unwrap();
        let dep = state.catalog.by_kind("apps/v1", "Deployment").unwrap().clone();
        state
            .apply(&dep, "ns", "web", json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 2}}), &opts)
            .unwrap();
        state
    }

    #[test]
    fn deployments_become_available_after_a_tick() {
        let mut state = setup();
        let dep = state.catalog.by_kind("apps/v1", "Deployment").unwrap().clone();
        tick(&mut state);
        let first = state.get(&dep, "ns", "web").unwrap();
        assert_eq!(first["status"]["observedGeneration"], 1);
        assert!(!is_condition_true(&first, "Available"));
        tick(&mut state);
        let second = state.get(&dep, "ns", "web").unwrap();
        assert!(is_condition_true(&second, "Available"));
        assert_eq!(second["status"]["availableReplicas"], 2);
    }

    #[test]
    fn never_ready_deployments_record_a_warning_event() {
        let mut state = setup();
        state
            .behaviours
            .insert(("Deployment".into(), "ns".into(), "web".into()), Behaviour::NeverReady);
        for _ in 0..3 {
            tick(&mut state);
        }
        let dep = state.catalog.by_kind("apps/v1", "Deployment").unwrap().clone();
        assert!(!is_condition_true(&state.get(&dep, "ns", "web").unwrap(), "Available"));
        let events: Vec<&Json> =
            state.objects.iter().filter(|(k, _)| k.1 == "events").map(|(_, o)| o).collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["reason"], "BackOff");
    }

    #[test]
    fn terminating_namespaces_take_their_objects_along() {
        let mut state = setup();
        let ns = state.catalog.by_kind("v1", "Namespace").unwrap().clone();
        state.delete(&ns, "", "ns", crate::kube::state::Propagation::Background, false).unwrap();
        tick(&mut state);
        assert!(!state.objects.is_empty(), "the content stays for a few ticks");
        for _ in 0..NAMESPACE_GRACE_TICKS + 1 {
            tick(&mut state);
        }
        assert!(state.objects.is_empty(), "{:?}", state.objects.keys().collect::<Vec<_>>());
    }
}
