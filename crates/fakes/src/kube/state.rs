//! The fake API server's storage and the semantics of each verb: objects by (group, plural,
//! namespace, name), the resource-version counter, the change log that feeds watches, and
//! create / get / list / apply / patch / replace / delete with the errors a real server gives.
//!
//! It owns no sockets and no clock of its own beyond timestamps: the HTTP layer (`http`) turns
//! requests into these calls and the controllers (`controllers`) move status along.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};

use super::catalog::{Catalog, ResourceType, custom_resources};
use super::field_manager::{self, ApplyRequest};
use super::patch::{PatchError, PatchType};
use super::schema::Schema;
use super::selectors::{FieldSelector, LabelSelector};
use super::{Behaviour, Fault, RequestRecord};

/// Where an object lives: group, plural, namespace (empty when cluster-scoped), name.
pub type Key = (String, String, String, String);

/// One entry of the change log; watches replay it.
#[derive(Clone, Debug)]
pub struct Change {
    pub resource_version: u64,
    pub group: String,
    pub plural: String,
    pub namespace: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    pub object: Json,
}

/// A failure as the API server reports it: a `Status` body with this code and reason.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Json,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into(), details: Json::Null }
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> ApiError {
        ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("{} \"{name}\" not found", rt.qualified_plural()),
            details: json!({"name": name, "group": rt.group, "kind": rt.plural}),
        }
    }

    pub fn status_body(&self) -> Json {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if !self.details.is_null() {
            body["details"] = self.details.clone();
        }
        body
    }
}

/// RFC 3339 UTC timestamp with second precision, as Kubernetes writes them.
pub fn timestamp(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

pub fn now() -> String {
    timestamp(SystemTime::now())
}

/// Kinds whose `metadata.generation` moves with their spec.
fn tracks_generation(rt: &ResourceType) -> bool {
    rt.custom
        || (rt.has_status()
            && !matches!(
                rt.kind.as_str(),
                "Namespace"
                    | "Node"
                    | "PersistentVolume"
                    | "PersistentVolumeClaim"
                    | "Service"
                    | "Pod"
            ))
}

/// Fields that define "the object changed" for generation purposes: everything but metadata
/// and status.
fn spec_part(object: &Json) -> Json {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        for key in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(key);
        }
    }
    copy
}

/// The object without the parts that change on every write, to detect no-op writes.
fn content(object: &Json) -> Json {
    let mut copy = object.clone();
    if let Some(entries) = copy["metadata"]["managedFields"].as_array_mut() {
        for entry in entries {
            if let Some(map) = entry.as_object_mut() {
                map.remove("time");
            }
        }
    }
    copy
}

/// Options of a write request.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub manager: Option<String>,
    pub force: bool,
    pub dry_run: bool,
    /// The client's `User-Agent`, whose prefix names the manager of a non-apply write that
    /// gives no `fieldManager` (`kubectl/v1.32.4 (linux/amd64) ...` → `kubectl`).
    pub user_agent: Option<String>,
}

impl WriteOptions {
    /// The manager of an Update-operation write, as the API server names it.
    pub fn update_manager(&self) -> String {
        self.manager
            .clone()
            .or_else(|| {
                let agent = self.user_agent.as_deref()?.split('/').next()?.trim();
                (!agent.is_empty()).then(|| agent.chars().take(128).collect())
            })
            .unwrap_or_else(|| "unknown".into())
    }
}

/// How a DELETE propagates to dependents.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug)]
pub struct State {
    pub catalog: Catalog,
    pub objects: BTreeMap<Key, Json>,
    pub resource_version: u64,
    pub log: Vec<Change>,
    pub faults: Vec<Fault>,
    pub latency: Duration,
    pub requests: Vec<RequestRecord>,
    pub behaviours: HashMap<(String, String, String), Behaviour>,
    /// Per workload: the generation the controller last observed and the ticks since.
    pub progress: HashMap<Key, (i64, u32)>,
    /// Something was removed since the last controller tick (garbage collection has work).
    pub removed_since_tick: bool,
    /// Some object may carry a deletion timestamp (finalizers have work).
    pub deleting: bool,
    /// Terminating namespaces: controller ticks since their deletion. Their content goes only
    /// after a few ticks, as the namespace controller takes its time on a real cluster (a
    /// `kubectl delete -f` that names the namespace first still finds the objects after it).
    pub terminating: HashMap<Key, u32>,
    next_uid: u64,
    uid_seed: u64,
}

impl State {
    pub fn new() -> State {
        let uid_seed =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7);
        State {
            catalog: Catalog::builtin(),
            objects: BTreeMap::new(),
            resource_version: 1000,
            log: Vec::new(),
            faults: Vec::new(),
            latency: Duration::ZERO,
            requests: Vec::new(),
            behaviours: HashMap::new(),
            progress: HashMap::new(),
            removed_since_tick: false,
            deleting: false,
            terminating: HashMap::new(),
            next_uid: 0,
            uid_seed,
        }
    }

    /// A state holding what every cluster starts with: the system namespaces.
    pub fn with_system_namespaces() -> State {
        let mut state = State::new();
        if let Some(namespaces) = state.catalog.by_kind("v1", "Namespace").cloned() {
            let options =
                WriteOptions { manager: Some("kube-apiserver".into()), ..WriteOptions::default() };
            for name in ["default", "kube-node-lease", "kube-public", "kube-system"] {
                let body =
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
                let _ = state.create(&namespaces, "", body, &options);
            }
        }
        state
    }

    fn new_uid(&mut self) -> String {
        self.next_uid += 1;
        let a = self.uid_seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(self.next_uid);
        let b = a.rotate_left(17) ^ self.next_uid.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            (a >> 32) as u32,
            (a >> 16) as u16,
            (a & 0xfff) as u16,
            (b >> 52) as u16 & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn key(rt: &ResourceType, namespace: &str, name: &str) -> Key {
        let namespace = if rt.namespaced { namespace } else { "" };
        (rt.group.clone(), rt.plural.clone(), namespace.to_owned(), name.to_owned())
    }

    /// Stores an object (bumping the resource version) and logs the change.
    pub fn store(&mut self, key: Key, mut object: Json, kind: &'static str) -> Json {
        if object["metadata"].get("deletionTimestamp").is_some() {
            self.deleting = true;
        }
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.log.push(Change {
            resource_version: self.resource_version,
            group: key.0.clone(),
            plural: key.1.clone(),
            namespace: key.2.clone(),
            kind,
            object: object.clone(),
        });
        self.objects.insert(key, object.clone());
        object
    }

    /// Removes an object for good and logs `DELETED`.
    pub fn remove(&mut self, key: &Key) -> Option<Json> {
        let mut object = self.objects.remove(key)?;
        self.removed_since_tick = true;
        self.resource_version += 1;
        object["metadata"]["resourceVersion"] = json!(self.resource_version.to_string());
        self.log.push(Change {
            resource_version: self.resource_version,
            group: key.0.clone(),
            plural: key.1.clone(),
            namespace: key.2.clone(),
            kind: "DELETED",
            object: object.clone(),
        });
        self.progress.remove(key);
        if key.0 == "apiextensions.k8s.io" && key.1 == "customresourcedefinitions" {
            let group = object["spec"]["group"].as_str().unwrap_or_default().to_owned();
            let plural = object["spec"]["names"]["plural"].as_str().unwrap_or_default().to_owned();
            let doomed: Vec<Key> =
                self.objects.keys().filter(|k| k.0 == group && k.1 == plural).cloned().collect();
            for k in doomed {
                self.remove(&k);
            }
            self.catalog.remove_custom(&group, &plural);
        }
        Some(object)
    }

    /// The object as served at `rt`'s version.
    pub fn present(rt: &ResourceType, object: &Json) -> Json {
        let mut out = object.clone();
        out["apiVersion"] = json!(rt.api_version());
        out["kind"] = json!(rt.kind);
        out
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Json, ApiError> {
        self.objects
            .get(&Self::key(rt, namespace, name))
            .map(|o| Self::present(rt, o))
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    pub fn list(
        &self,
        rt: &ResourceType,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> Vec<Json> {
        self.objects
            .iter()
            .filter(|(k, _)| k.0 == rt.group && k.1 == rt.plural)
            .filter(|(k, _)| namespace.is_none_or(|ns| !rt.namespaced || k.2 == ns))
            .map(|(_, o)| Self::present(rt, o))
            .filter(|o| labels.matches(o) && fields.matches(o))
            .collect()
    }

    /// Whether new content may be created in a namespace.
    fn check_namespace(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let Some(ns) = self.objects.get(&(
            String::new(),
            "namespaces".into(),
            String::new(),
            namespace.to_owned(),
        )) else {
            return Err(ApiError {
                code: 404,
                reason: "NotFound",
                message: format!("namespaces \"{namespace}\" not found"),
                details: json!({"name": namespace, "kind": "namespaces"}),
            });
        };
        if ns["status"]["phase"] == "Terminating" {
            return Err(ApiError {
                code: 403,
                reason: "Forbidden",
                message: format!(
                    "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    rt.qualified_plural()
                ),
                details: json!({"name": name, "group": rt.group, "kind": rt.plural, "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {namespace} is being terminated"), "field": "metadata.namespace"}]}),
            });
        }
        Ok(())
    }

    fn check_body(rt: &ResourceType, body: &Json, name: Option<&str>) -> Result<String, ApiError> {
        if !body.is_object() {
            return Err(ApiError::new(400, "BadRequest", "the request body is not an object"));
        }
        let kind = body["kind"].as_str().unwrap_or_default();
        if kind != rt.kind {
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "the kind of the object ({kind}) does not match the resource ({})",
                    rt.kind
                ),
            ));
        }
        let body_name = body["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(url_name) = name
            && !body_name.is_empty()
            && body_name != url_name
        {
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({url_name})"
                ),
            ));
        }
        let resolved = if body_name.is_empty() { name.unwrap_or_default() } else { body_name };
        if resolved.is_empty() {
            return Err(ApiError {
                code: 422,
                reason: "Invalid",
                message: format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    rt.kind
                ),
                details: json!({"kind": rt.kind, "causes": [{"reason": "FieldValueRequired", "message": "Required value: name or generateName is required", "field": "metadata.name"}]}),
            });
        }
        Ok(resolved.to_owned())
    }

    /// Server-set metadata and defaults for a new object.
    fn initialise(&mut self, rt: &ResourceType, namespace: &str, name: &str, object: &mut Json) {
        let uid = self.new_uid();
        let metadata = &mut object["metadata"];
        metadata["name"] = json!(name);
        if rt.namespaced {
            metadata["namespace"] = json!(namespace);
        } else if let Some(m) = metadata.as_object_mut() {
            m.remove("namespace");
        }
        metadata["uid"] = json!(uid);
        metadata["creationTimestamp"] = json!(now());
        if tracks_generation(rt) {
            metadata["generation"] = json!(1);
        }
        if rt.kind == "Namespace" && rt.group.is_empty() {
            metadata["labels"]["kubernetes.io/metadata.name"] = json!(name);
            object["spec"]["finalizers"] = json!(["kubernetes"]);
            object["status"] = json!({"phase": "Active"});
        }
    }

    /// Defaults the API server fills in (the ones rollout status reads).
    fn apply_defaults(rt: &ResourceType, object: &mut Json) {
        if rt.group.is_empty() && rt.kind == "Secret" && object.get("type").is_none() {
            object["type"] = json!("Opaque");
        }
        if !rt.group.is_empty() && rt.group != "apps" {
            return;
        }
        match rt.kind.as_str() {
            "Deployment" | "StatefulSet" | "ReplicaSet" => {
                if object["spec"].get("replicas").is_none() {
                    object["spec"]["replicas"] = json!(1);
                }
                if rt.kind == "StatefulSet" && object["spec"].get("updateStrategy").is_none() {
                    object["spec"]["updateStrategy"] =
                        json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
                }
            }
            "DaemonSet" if object["spec"].get("updateStrategy").is_none() => {
                object["spec"]["updateStrategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}});
            }
            _ => {}
        }
    }

    /// Finishes a write: generation, defaults, no-op detection, storage (unless dry run).
    fn commit(
        &mut self,
        rt: &ResourceType,
        key: Key,
        old: Option<&Json>,
        mut object: Json,
        dry_run: bool,
    ) -> Json {
        Self::apply_defaults(rt, &mut object);
        if let Some(old) = old {
            // Status is the controllers' to change; writes to the main resource keep it.
            if rt.has_status() {
                match old.get("status") {
                    Some(status) => object["status"] = status.clone(),
                    None => {
                        if let Some(m) = object.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            if tracks_generation(rt) {
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                let bumped =
                    if spec_part(old) != spec_part(&object) { generation + 1 } else { generation };
                object["metadata"]["generation"] = json!(bumped);
            }
            if content(old) == content(&object) {
                return Self::present(rt, old);
            }
        }
        if dry_run {
            return Self::present(rt, &object);
        }
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        let stored = self.store(key, object, kind);
        Self::present(rt, &stored)
    }

    pub fn create(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        body: Json,
        options: &WriteOptions,
    ) -> Result<Json, ApiError> {
        let name = Self::check_body(rt, &body, None)?;
        self.check_namespace(rt, namespace, &name)?;
        let key = Self::key(rt, namespace, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError {
                code: 409,
                reason: "AlreadyExists",
                message: format!("{} \"{name}\" already exists", rt.qualified_plural()),
                details: json!({"name": name, "group": rt.group, "kind": rt.plural}),
            });
        }
        let mut object = field_manager::strip_server_fields(&body);
        if let Some(m) = object["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        let manager = options.update_manager();
        field_manager::record_update(&mut object, &body, &manager, &rt.api_version(), &now());
        self.initialise(rt, namespace, &name, &mut object);
        Ok(self.commit(rt, key, None, object, options.dry_run))
    }

    /// Server-side apply (`PATCH` with `application/apply-patch+yaml`).
    pub fn apply(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: Json,
        options: &WriteOptions,
    ) -> Result<(Json, bool), ApiError> {
        let Some(manager) = options.manager.clone() else {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "PATCH, application/apply-patch+yaml requests require the fieldManager parameter",
            ));
        };
        Self::check_body(rt, &body, Some(name))?;
        if body["apiVersion"].as_str() != Some(rt.api_version().as_str()) {
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "the API version in the data ({}) does not match the expected API version ({})",
                    body["apiVersion"].as_str().unwrap_or_default(),
                    rt.api_version()
                ),
            ));
        }
        let key = Self::key(rt, namespace, name);
        let old = self.objects.get(&key).cloned();
        if old.is_none() {
            self.check_namespace(rt, namespace, name)?;
        }
        let base = old.clone().unwrap_or_else(
            || json!({"apiVersion": rt.api_version(), "kind": rt.kind, "metadata": {}}),
        );
        let request = ApplyRequest {
            manager: &manager,
            force: options.force,
            api_version: &rt.api_version(),
            now: &now(),
        };
        let mut object = field_manager::apply(&base, &body, &request)
            .map_err(|conflicts| conflict_error(rt, name, &conflicts))?;
        object["apiVersion"] = json!(rt.api_version());
        object["kind"] = json!(rt.kind);
        if old.is_none() {
            self.initialise(rt, namespace, name, &mut object);
        }
        let created = old.is_none();
        Ok((self.commit(rt, key, old.as_ref(), object, options.dry_run), created))
    }

    /// `PATCH` with a JSON, merge or strategic merge patch, on the object or its `status`.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        patch: &Json,
        subresource: Option<&str>,
        options: &WriteOptions,
    ) -> Result<Json, ApiError> {
        let message = Schema::get().kind(&rt.api_version(), &rt.kind).filter(|_| !rt.custom);
        if patch_type == PatchType::Strategic && message.is_none() {
            // The API server has no strategy table for custom resources.
            return Err(unsupported_patch_type(rt));
        }
        let key = Self::key(rt, namespace, name);
        let old = self.objects.get(&key).cloned().ok_or_else(|| ApiError::not_found(rt, name))?;
        let mut object = patch_type.apply(&Self::present(rt, &old), patch, message).map_err(
            |error| match error {
                PatchError::BadRequest(message) => ApiError::new(400, "BadRequest", message),
                // The API server answers a patch that does not apply with its generic 422.
                PatchError::DoesNotApply(_) => ApiError::new(
                    422,
                    "Invalid",
                    "the server rejected our request due to an error in our request",
                ),
            },
        )?;
        if !object.is_object() || !object["metadata"].is_object() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the patched object is not an object with metadata",
            ));
        }
        if let Some(sent) = object["metadata"]["resourceVersion"].as_str()
            && !sent.is_empty()
            && Some(sent) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(modified_conflict(rt, name));
        }
        Self::check_body(rt, &object, Some(name))?;
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
        ] {
            match old["metadata"].get(field) {
                Some(value) => object["metadata"][field] = value.clone(),
                None => {
                    if let Some(metadata) = object["metadata"].as_object_mut() {
                        metadata.remove(field);
                    }
                }
            }
        }
        if subresource == Some("status") {
            // A status write changes status only.
            let mut updated = old.clone();
            match object.get("status") {
                Some(status) => updated["status"] = status.clone(),
                None => {
                    if let Some(map) = updated.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            object = updated;
        }
        let manager = options.update_manager();
        field_manager::record_change(
            &mut object,
            &old,
            &manager,
            &rt.api_version(),
            &now(),
            subresource,
        );
        if subresource == Some("status") {
            if content(&old) == content(&object) || options.dry_run {
                return Ok(Self::present(rt, &object));
            }
            let stored = self.store(key, object, "MODIFIED");
            return Ok(Self::present(rt, &stored));
        }
        Ok(self.commit(rt, key, Some(&old), object, options.dry_run))
    }

    /// `PUT`: replaces the object (optimistic concurrency on `resourceVersion`).
    pub fn replace(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: Json,
        options: &WriteOptions,
    ) -> Result<Json, ApiError> {
        Self::check_body(rt, &body, Some(name))?;
        let key = Self::key(rt, namespace, name);
        let Some(old) = self.objects.get(&key).cloned() else {
            return self.create(rt, namespace, body, options);
        };
        if let Some(expected) = body["metadata"]["resourceVersion"].as_str()
            && Some(expected) != old["metadata"]["resourceVersion"].as_str()
        {
            return Err(modified_conflict(rt, name));
        }
        let mut object = field_manager::strip_server_fields(&body);
        for key_name in
            ["uid", "creationTimestamp", "generation", "managedFields", "deletionTimestamp"]
        {
            if let Some(v) = old["metadata"].get(key_name) {
                object["metadata"][key_name] = v.clone();
            }
        }
        object["metadata"]["name"] = json!(name);
        if rt.namespaced {
            object["metadata"]["namespace"] = json!(namespace);
        }
        let manager = options.update_manager();
        field_manager::record_change(&mut object, &old, &manager, &rt.api_version(), &now(), None);
        Ok(self.commit(rt, key, Some(&old), object, options.dry_run))
    }

    /// The `scale` subresource: the object's replicas as an `autoscaling/v1` Scale.
    pub fn scale(&self, rt: &ResourceType, namespace: &str, name: &str) -> Result<Json, ApiError> {
        let object = self.get(rt, namespace, name)?;
        let metadata = &object["metadata"];
        let selector: Vec<String> = object["spec"]["selector"]["matchLabels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let mut scale = json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                "name": metadata["name"], "uid": metadata["uid"],
                "resourceVersion": metadata["resourceVersion"],
                "creationTimestamp": metadata["creationTimestamp"],
            },
            "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
            "status": {"replicas": object["status"]["replicas"].as_i64().unwrap_or(0)},
        });
        if rt.namespaced {
            scale["metadata"]["namespace"] = json!(namespace);
        }
        if !selector.is_empty() {
            scale["status"]["selector"] = json!(selector.join(","));
        }
        Ok(scale)
    }

    /// Writes a Scale (`PUT`, or the result of a `PATCH`, on `scale`) back to the object.
    pub fn write_scale(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        scale: &Json,
        options: &WriteOptions,
    ) -> Result<Json, ApiError> {
        let Some(replicas) = scale["spec"]["replicas"].as_i64().filter(|r| *r >= 0) else {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0"
                ),
            ));
        };
        let current = self.scale(rt, namespace, name)?;
        if let Some(sent) = scale["metadata"]["resourceVersion"].as_str()
            && !sent.is_empty()
            && Some(sent) != current["metadata"]["resourceVersion"].as_str()
        {
            return Err(modified_conflict(rt, name));
        }
        let key = Self::key(rt, namespace, name);
        let old = self.objects.get(&key).cloned().ok_or_else(|| ApiError::not_found(rt, name))?;
        let mut object = old.clone();
        object["spec"]["replicas"] = json!(replicas);
        let manager = options.update_manager();
        field_manager::record_change(
            &mut object,
            &old,
            &manager,
            &rt.api_version(),
            &now(),
            Some("scale"),
        );
        self.commit(rt, key, Some(&old), object, options.dry_run);
        let mut answer = self.scale(rt, namespace, name)?;
        answer["spec"]["replicas"] = json!(replicas);
        Ok(answer)
    }

    /// `POST serviceaccounts/{name}/token`: a TokenRequest answered with a token that means
    /// nothing (the fake does not authenticate).
    pub fn token_request(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        request: &Json,
    ) -> Result<Json, ApiError> {
        self.get(rt, namespace, name)?;
        let seconds = request["spec"]["expirationSeconds"].as_i64().unwrap_or(3600).max(600);
        let audiences = match request["spec"]["audiences"].as_array() {
            Some(list) if !list.is_empty() => Json::Array(list.clone()),
            _ => json!(["https://kubernetes.default.svc.cluster.local"]),
        };
        let expires = SystemTime::now() + Duration::from_secs(seconds as u64);
        self.next_uid += 1;
        let claims = format!(
            r#"{{"sub":"system:serviceaccount:{namespace}:{name}","n":{}}}"#,
            self.next_uid
        );
        let token = format!(
            "eyJhbGciOiJub25lIn0.{}.fake",
            super::protobuf::base64(claims.as_bytes()).trim_end_matches('=')
        );
        let mut spec = request["spec"].clone();
        if !spec.is_object() {
            spec = json!({});
        }
        spec["audiences"] = audiences;
        spec["expirationSeconds"] = json!(seconds);
        Ok(json!({
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now()},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": timestamp(expires)},
        }))
    }

    /// `DELETE`: immediate removal, or a deletion timestamp when finalizers (or foreground
    /// propagation, or a namespace's content) must be handled first.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        dry_run: bool,
    ) -> Result<Json, ApiError> {
        let key = Self::key(rt, namespace, name);
        let mut object =
            self.objects.get(&key).cloned().ok_or_else(|| ApiError::not_found(rt, name))?;
        let is_namespace = rt.group.is_empty() && rt.kind == "Namespace";
        let mut finalizers: Vec<Json> =
            object["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
        if propagation == Propagation::Foreground
            && !finalizers.contains(&json!("foregroundDeletion"))
            && !is_namespace
        {
            finalizers.push(json!("foregroundDeletion"));
        }
        if dry_run {
            return Ok(Self::present(rt, &object));
        }
        if propagation == Propagation::Orphan {
            let uid = object["metadata"]["uid"].clone();
            let dependents: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, o)| {
                    o["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
                })
                .map(|(k, _)| k.clone())
                .collect();
            for dependent_key in dependents {
                if let Some(mut dependent) = self.objects.get(&dependent_key).cloned() {
                    if let Some(refs) = dependent["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|r| r["uid"] != uid);
                    }
                    self.store(dependent_key, dependent, "MODIFIED");
                }
            }
        }
        if is_namespace || !finalizers.is_empty() {
            if object["metadata"].get("deletionTimestamp").is_none() {
                object["metadata"]["deletionTimestamp"] = json!(now());
                object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            }
            if !finalizers.is_empty() {
                object["metadata"]["finalizers"] = Json::Array(finalizers);
            }
            if is_namespace {
                object["status"]["phase"] = json!("Terminating");
            }
            let stored = self.store(key, object, "MODIFIED");
            return Ok(Self::present(rt, &stored));
        }
        let removed = self.remove(&key).unwrap_or(object);
        Ok(json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": removed["metadata"]["uid"]},
        }))
    }

    /// Makes an established CRD's kinds servable.
    pub fn establish_crd(&mut self, crd: &Json) {
        self.catalog.add_custom(custom_resources(crd));
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// The 409 a real server sends for an apply conflict.
fn conflict_error(
    rt: &ResourceType,
    name: &str,
    conflicts: &[field_manager::Conflict],
) -> ApiError {
    let count = conflicts.len();
    let mut message = if count == 1 {
        "Apply failed with 1 conflict: ".to_owned()
    } else {
        format!("Apply failed with {count} conflicts: ")
    };
    let parts: Vec<String> = conflicts
        .iter()
        .map(|c| format!("conflict with \"{}\" using {}: {}", c.manager, c.api_version, c.path))
        .collect();
    message.push_str(&parts.join("\n"));
    let causes: Vec<Json> = conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                "field": c.path,
            })
        })
        .collect();
    ApiError {
        code: 409,
        reason: "Conflict",
        message,
        details: json!({"name": name, "group": rt.group, "kind": rt.plural, "causes": causes}),
    }
}

/// The 409 for a write based on an outdated `resourceVersion`.
fn modified_conflict(rt: &ResourceType, name: &str) -> ApiError {
    ApiError {
        code: 409,
        reason: "Conflict",
        message: format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            rt.qualified_plural()
        ),
        details: json!({"name": name, "group": rt.group, "kind": rt.plural}),
    }
}

/// The 415 for a patch type the resource does not accept.
pub fn unsupported_patch_type(rt: &ResourceType) -> ApiError {
    let strategic = if rt.custom { "" } else { "application/strategic-merge-patch+json, " };
    ApiError::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, {strategic}application/apply-patch+yaml"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(state: &State, api_version: &str, kind: &str) -> ResourceType {
        state.catalog.by_kind(api_version, kind).unwrap().clone()
    }

    fn apply_opts(manager: &str) -> WriteOptions {
        WriteOptions { manager: Some(manager.into()), ..WriteOptions::default() }
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn apply_needs_an_existing_namespace_and_bumps_versions() {
        let mut state = State::new();
        let cm = rt(&state, "v1", "ConfigMap");
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "1"}});
        let err = state.apply(&cm, "ns", "c", body.clone(), &apply_opts("m")).unwrap_err();
        assert_eq!((err.code, err.message.as_str()), (404, "namespaces \"ns\" not found"));
        let ns = rt(&state, "v1", "Namespace");
        state
            .apply(
                &ns,
                "",
                "ns",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}),
                &apply_opts("m"),
            )
            .unwrap();
        let (created, was_created) =
            state.apply(&cm, "ns", "c", body.clone(), &apply_opts("m")).unwrap();
        assert!(was_created);
        let (again, _) = state.apply(&cm, "ns", "c", body, &apply_opts("m")).unwrap();
        assert_eq!(
            created["metadata"]["resourceVersion"], again["metadata"]["resourceVersion"],
            "no-op apply keeps the version"
        );
    }

    #[test]
    fn deployment_generation_moves_with_spec_only() {
        let mut state = State::new();
        let ns = rt(&state, "v1", "Namespace");
        state
            .apply(
                &ns,
                "",
                "ns",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}),
                &apply_opts("m"),
            )
            .unwrap();
        let dep = rt(&state, "apps/v1", "Deployment");
        let body = |replicas: i64, label: &str| json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"l": label}}, "spec": {"replicas": replicas}});
        let (first, _) = state.apply(&dep, "ns", "d", body(1, "a"), &apply_opts("m")).unwrap();
        assert_eq!(first["metadata"]["generation"], 1);
        let (labelled, _) = state.apply(&dep, "ns", "d", body(1, "b"), &apply_opts("m")).unwrap();
        assert_eq!(labelled["metadata"]["generation"], 1);
        let (scaled, _) = state.apply(&dep, "ns", "d", body(2, "b"), &apply_opts("m")).unwrap();
        assert_eq!(scaled["metadata"]["generation"], 2);
    }

    #[test]
    fn namespace_delete_goes_through_terminating() {
        let mut state = State::new();
        let ns = rt(&state, "v1", "Namespace");
        state
            .apply(
                &ns,
                "",
                "ns",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}}),
                &apply_opts("m"),
            )
            .unwrap();
        let deleted = state.delete(&ns, "", "ns", Propagation::Background, false).unwrap();
        assert_eq!(deleted["status"]["phase"], "Terminating");
        let cm = rt(&state, "v1", "ConfigMap");
        let err = state
            .apply(
                &cm,
                "ns",
                "c",
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
                &apply_opts("m"),
            )
            .unwrap_err();
        assert_eq!(err.code, 403);
    }
}
