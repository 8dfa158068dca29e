//! Preview environments: turning a rendered testing unit into an isolated, labelled preview.
//!
//! Pure: objects in, objects out. Given who the preview is for (repository, pull request or
//! branch, commit, the time it was created — read from the clock by the caller, never here), a
//! `Preview` names its namespace (`preview-<slug>`, RFC 1123, see `slug`) and transforms each
//! unit's render:
//!
//! - every namespaced object moves into the preview namespace, and references to the namespaces it
//!   came from follow it where kustomize's namespace transformer would (RoleBinding subjects) and
//!   where routes name their backends' namespace;
//! - Namespace objects are dropped (their labels go to the preview namespace) and cluster-scoped
//!   objects are left out and listed — a preview cannot isolate them;
//! - hosts are rewritten by the host template (see `hosts`) and the preview URLs collected;
//! - image overrides are applied (see `crate::image_override`);
//! - every object gets the ownership labels and annotations the cluster stage prunes and sweeps by.
//!
//! `PreviewRecord` reads those labels and annotations back from a live namespace for the sweep.
//!
//! It does not decide which units get a preview, talk to a cluster, or read files.

mod hosts;
pub mod kinds;
mod slug;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kustomize::{Map, Value};

pub use hosts::{HostTemplate, PreviewUrl};
pub use slug::{SlugSource, is_dns_label, sanitise_label, short_hash, slug};

use crate::config::format_duration;
use crate::preview::kinds::{Scope, ScopeTable, api_group};
use crate::render::images::{ImageOverride, ImageOverrideReport, apply_image_overrides};
use crate::timestamp::Timestamp;

/// Label on everything gitops-env creates; only objects carrying it are ever deleted.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of `LABEL_MANAGED_BY`.
pub const MANAGER: &str = "gitops-env";
/// Label naming the preview (its slug) an object belongs to.
pub const LABEL_PREVIEW: &str = "gitops-env.io/preview";
pub const ANNOTATION_REPOSITORY: &str = "gitops-env.io/repository";
pub const ANNOTATION_PULL_REQUEST: &str = "gitops-env.io/pull-request";
pub const ANNOTATION_BRANCH: &str = "gitops-env.io/branch";
pub const ANNOTATION_SHA: &str = "gitops-env.io/sha";
pub const ANNOTATION_CREATED_AT: &str = "gitops-env.io/created-at";
pub const ANNOTATION_TTL: &str = "gitops-env.io/ttl";
pub const ANNOTATION_EXPIRES_AT: &str = "gitops-env.io/expires-at";

/// The default namespace template (PRODUCT §5).
pub const DEFAULT_NAMESPACE_TEMPLATE: &str = "preview-{slug}";

/// How previews are named and shaped (from the action's inputs or the config file).
#[derive(Clone, Debug)]
pub struct PreviewSettings {
    /// Must contain `{slug}` once; the result must be a valid namespace name.
    pub namespace_template: String,
    /// `None` leaves hosts as they are (the preview then shares the testing hosts).
    pub host_template: Option<String>,
    /// How long a preview lives before a sweep removes it.
    pub ttl: Option<Duration>,
    /// Applied to every unit of the preview.
    pub image_overrides: Vec<ImageOverride>,
    /// Scopes of kinds, beyond the built-in table and the CRDs in the render.
    pub scopes: ScopeTable,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        PreviewSettings {
            namespace_template: DEFAULT_NAMESPACE_TEMPLATE.to_owned(),
            host_template: None,
            ttl: None,
            image_overrides: Vec::new(),
            scopes: ScopeTable::built_in(),
        }
    }
}

impl PreviewSettings {
    /// The preview settings of a validated configuration, with the run's image overrides.
    pub fn from_config(
        config: &crate::config::Config,
        image_overrides: Vec<ImageOverride>,
    ) -> Self {
        PreviewSettings {
            namespace_template: config.preview.namespace_template.clone(),
            host_template: config.preview.host_template.clone(),
            ttl: Some(config.preview.ttl),
            image_overrides,
            scopes: ScopeTable::built_in(),
        }
    }
}

/// Who and what a preview is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewRequest {
    /// `owner/name`.
    pub repository: String,
    /// The pull request, when there is one (recorded on the namespace for the sweep).
    pub pull_request: Option<u64>,
    /// Name the preview `pr-<number>` instead of after the branch. Fork PRs are named this way,
    /// so a fork's branch can never take the name of ours; a branch of this repository keeps
    /// its branch name, so pushes before and after its PR opens update the same preview.
    pub named_by_pull_request: bool,
    /// The head branch.
    pub branch: String,
    /// The commit being deployed.
    pub sha: String,
    /// When the preview was first created: the existing namespace's annotation when it exists
    /// (so that re-deploys do not push the expiry back or churn every object), else now.
    pub created_at: Timestamp,
}

/// A preview's problem, naming the template, object or host at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PreviewError {
    #[error("preview namespace template `{template}`: {problem}")]
    NamespaceTemplate { template: String, problem: String },
    #[error("preview host template `{template}`: {problem}")]
    HostTemplate { template: String, problem: String },
    #[error("{kind} `{name}`: host `{host}`: {problem}")]
    Host { kind: String, name: String, host: String, problem: String },
    #[error("{kind} `{name}`: {problem}")]
    Object { kind: String, name: String, problem: String },
    #[error("rendered object #{index} has no {missing}")]
    MalformedObject { index: usize, missing: &'static str },
}

/// An object a preview could not take, and why.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LeftOut {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub reason: LeftOutReason,
}

/// Why an object was left out of a preview.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeftOutReason {
    /// Cluster-wide objects cannot be isolated in a namespace.
    ClusterScoped,
    /// The preview brings its own namespace.
    NamespaceReplaced,
}

/// One unit after the preview transforms.
#[derive(Clone, Debug, PartialEq)]
pub struct PreviewUnit {
    pub objects: Vec<Value>,
    pub left_out: Vec<LeftOut>,
    /// Sorted, without duplicates.
    pub urls: Vec<PreviewUrl>,
    /// Labels of the Namespace objects that were dropped (pod security, mesh injection…), for the
    /// preview namespace.
    pub namespace_labels: BTreeMap<String, String>,
    /// Things the user should know (a TLS secret that will not exist in the preview…).
    pub notes: Vec<String>,
    pub images: ImageOverrideReport,
}

/// A preview: its names and the transforms for its units.
#[derive(Clone, Debug)]
pub struct Preview {
    request: PreviewRequest,
    slug: String,
    branch_label: String,
    namespace: String,
    host_template: Option<HostTemplate>,
    settings: PreviewSettings,
}

/// The slug and namespace of the preview named by `source` under the namespace `template`;
/// fails on templates that cannot give a valid namespace name.
pub fn preview_names(
    template: &str,
    source: SlugSource<'_>,
) -> Result<(String, String), PreviewError> {
    let template_error = |problem: &str| PreviewError::NamespaceTemplate {
        template: template.to_owned(),
        problem: problem.to_owned(),
    };
    if template.matches("{slug}").count() != 1 {
        return Err(template_error("it must contain `{slug}` exactly once"));
    }
    let fixed = template.replace("{slug}", "");
    if fixed.contains(['{', '}']) {
        return Err(template_error("only the `{slug}` placeholder is known here"));
    }
    // What the template leaves for the slug; 16 keeps room for a readable part and the hash.
    let budget = slug::MAX_LABEL_LEN.saturating_sub(fixed.len());
    if budget < 16 {
        return Err(template_error("it leaves fewer than 16 of the 63 characters for the slug"));
    }
    let slug = slug::slug(source, budget);
    let namespace = template.replace("{slug}", &slug);
    if !is_dns_label(&namespace) {
        return Err(template_error(&format!(
            "it gives `{namespace}`, which is not a valid namespace name (lower case letters, digits and `-`)"
        )));
    }
    Ok((slug, namespace))
}

impl Preview {
    /// Names the preview for `request`; fails on templates that cannot give valid names.
    pub fn new(
        request: PreviewRequest,
        settings: PreviewSettings,
    ) -> Result<Preview, PreviewError> {
        let source = match request.pull_request {
            Some(number) if request.named_by_pull_request => SlugSource::PullRequest(number),
            _ => SlugSource::Branch(&request.branch),
        };
        let (slug, namespace) = preview_names(&settings.namespace_template, source)?;
        let host_template = match &settings.host_template {
            Some(text) => Some(HostTemplate::parse(text).map_err(|problem| {
                PreviewError::HostTemplate { template: text.clone(), problem }
            })?),
            None => None,
        };
        if let Some(t) = &host_template
            && t.uses_pull_request()
            && request.pull_request.is_none()
        {
            return Err(PreviewError::HostTemplate {
                template: t.as_str().to_owned(),
                problem: "it uses `{pr}` but this preview is for a branch without a pull request"
                    .into(),
            });
        }
        let branch_label = slug::slug(SlugSource::Branch(&request.branch), slug::MAX_LABEL_LEN);
        Ok(Preview { request, slug, branch_label, namespace, host_template, settings })
    }

    /// The slug (`pr-42`, `feat-login`…), also the value of the `gitops-env.io/preview` label.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// The preview namespace's name.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// When a sweep may remove the preview, if it has a TTL.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.settings.ttl.map(|ttl| self.request.created_at.plus(ttl))
    }

    /// The ownership labels every preview object carries.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        vec![(LABEL_MANAGED_BY, MANAGER.to_owned()), (LABEL_PREVIEW, self.slug.clone())]
    }

    /// The ownership annotations every preview object carries. The commit being deployed is
    /// recorded on the namespace only (`namespace_object`): on every object it would change
    /// them all on every push, and every diff would be that noise.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        let request = &self.request;
        let mut annotations = vec![
            (ANNOTATION_REPOSITORY, request.repository.clone()),
            (ANNOTATION_BRANCH, request.branch.clone()),
            (ANNOTATION_CREATED_AT, request.created_at.to_string()),
        ];
        if let Some(number) = request.pull_request {
            annotations.push((ANNOTATION_PULL_REQUEST, number.to_string()));
        }
        if let (Some(ttl), Some(expires_at)) = (self.settings.ttl, self.expires_at()) {
            annotations.push((ANNOTATION_TTL, format_duration(ttl)));
            annotations.push((ANNOTATION_EXPIRES_AT, expires_at.to_string()));
        }
        annotations
    }

    /// The preview's Namespace object, with the labels of the namespaces the units dropped
    /// (ours win on a clash).
    pub fn namespace_object(&self, units: &[PreviewUnit]) -> Value {
        let mut labels = Map::new();
        for unit in units {
            for (key, value) in &unit.namespace_labels {
                labels.insert(key.clone(), value.as_str().into());
            }
        }
        let mut metadata = Map::new();
        metadata.insert("name".into(), self.namespace.as_str().into());
        metadata.insert("labels".into(), Value::Map(labels));
        let mut object = Map::new();
        object.insert("apiVersion".into(), "v1".into());
        object.insert("kind".into(), "Namespace".into());
        object.insert("metadata".into(), Value::Map(metadata));
        let mut namespace = Value::Map(object);
        self.stamp(&mut namespace);
        set_metadata_entry(&mut namespace, "annotations", ANNOTATION_SHA, self.request.sha.clone());
        namespace
    }

    /// Transforms one unit's render. `app` names the unit for `{app}` in the host template (the
    /// unit folder's name); when it is empty, each object's `app.kubernetes.io/name` label or
    /// its own name stands in (a unit holding every app).
    pub fn transform(&self, app: &str, objects: Vec<Value>) -> Result<PreviewUnit, PreviewError> {
        let mut scopes = self.settings.scopes.clone();
        scopes.learn_from_crds(&objects);

        // Service accounts by their original namespace, for RoleBinding subjects.
        let mut service_accounts = BTreeSet::new();
        let mut kept = Vec::with_capacity(objects.len());
        let mut left_out = Vec::new();
        let mut namespace_labels = BTreeMap::new();
        let mut moved_from = BTreeSet::new();
        for (index, object) in objects.into_iter().enumerate() {
            let id = identity(&object, index)?;
            let original_namespace = object
                .get_path(&["metadata", "namespace"])
                .and_then(Value::as_str)
                .map(str::to_owned);
            if api_group(&id.api_version).is_empty() && id.kind == "Namespace" {
                if let Some(labels) =
                    object.get_path(&["metadata", "labels"]).and_then(Value::as_map)
                {
                    for (key, value) in labels {
                        // The API server sets this one to the namespace's own name.
                        if key != "kubernetes.io/metadata.name"
                            && let Some(value) = value.as_str()
                        {
                            namespace_labels.insert(key.clone(), value.to_owned());
                        }
                    }
                }
                moved_from.insert(id.name.clone());
                left_out.push(id.left_out(LeftOutReason::NamespaceReplaced));
                continue;
            }
            if scopes.scope_of(&id.api_version, &id.kind) == Scope::Cluster {
                left_out.push(id.left_out(LeftOutReason::ClusterScoped));
                continue;
            }
            if let Some(namespace) = &original_namespace {
                moved_from.insert(namespace.clone());
                if id.kind == "ServiceAccount" && api_group(&id.api_version).is_empty() {
                    service_accounts.insert((namespace.clone(), id.name.clone()));
                }
            }
            kept.push((id, object));
        }

        // TLS secrets that will exist in the preview namespace: Secrets in the render and the
        // secrets of cert-manager Certificates in the render.
        let secrets: BTreeSet<String> = kept
            .iter()
            .filter_map(|(id, object)| match (api_group(&id.api_version), id.kind.as_str()) {
                ("", "Secret") => Some(id.name.clone()),
                ("cert-manager.io", "Certificate") => object
                    .get_path(&["spec", "secretName"])
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .collect();
        let mut urls = BTreeSet::new();
        let mut notes = Vec::new();
        for (id, object) in &mut kept {
            set_metadata_field(object, "namespace", &self.namespace);
            self.follow_namespace_references(id, object, &moved_from, &service_accounts);
            let app_name =
                if app.is_empty() { object_app(object, &id.name) } else { app.to_owned() };
            for url in self.rewrite_hosts(id, object, &app_name, &secrets, &mut notes)? {
                urls.insert(url);
            }
        }

        let mut objects: Vec<Value> = kept.into_iter().map(|(_, object)| object).collect();
        let images = apply_image_overrides(&mut objects, &self.settings.image_overrides);
        for object in &mut objects {
            self.stamp(object);
        }
        left_out.sort();
        Ok(PreviewUnit {
            objects,
            left_out,
            urls: urls.into_iter().collect(),
            namespace_labels,
            notes,
            images,
        })
    }

    /// References that name a namespace the preview absorbed now name the preview namespace.
    /// RoleBinding subjects follow kustomize v5's namespace transformer exactly: a ServiceAccount
    /// subject moves when that ServiceAccount is in the render, or when it is `default`.
    fn follow_namespace_references(
        &self,
        id: &Identity,
        object: &mut Value,
        moved_from: &BTreeSet<String>,
        service_accounts: &BTreeSet<(String, String)>,
    ) {
        let group = api_group(&id.api_version);
        let retarget = |reference: &mut Map| {
            if let Some(Value::String(namespace)) = reference.get_mut("namespace")
                && moved_from.contains(namespace.as_str())
            {
                *namespace = self.namespace.clone();
            }
        };
        match (group, id.kind.as_str()) {
            ("rbac.authorization.k8s.io", "RoleBinding") => {
                let Some(Value::Seq(subjects)) = object.get_path_mut(&["subjects"]) else { return };
                for subject in subjects.iter_mut().filter_map(Value::as_map_mut) {
                    if subject.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                        continue;
                    }
                    let name = subject.get("name").and_then(Value::as_str).unwrap_or("").to_owned();
                    let namespace =
                        subject.get("namespace").and_then(Value::as_str).map(str::to_owned);
                    let in_render =
                        namespace.is_some_and(|ns| service_accounts.contains(&(ns, name.clone())));
                    if in_render || name == "default" {
                        subject.insert("namespace".into(), self.namespace.as_str().into());
                    }
                }
            }
            ("gateway.networking.k8s.io", _) => {
                for reference in seq_maps_mut(object, &["spec", "parentRefs"]) {
                    retarget(reference);
                }
                if let Some(Value::Seq(rules)) = object.get_path_mut(&["spec", "rules"]) {
                    for rule in rules.iter_mut() {
                        if let Some(Value::Seq(backends)) = rule.get_path_mut(&["backendRefs"]) {
                            backends.iter_mut().filter_map(Value::as_map_mut).for_each(retarget);
                        }
                    }
                }
            }
            ("traefik.io" | "traefik.containo.us", "IngressRoute") => {
                if let Some(Value::Seq(routes)) = object.get_path_mut(&["spec", "routes"]) {
                    for route in routes.iter_mut() {
                        for field in ["services", "middlewares"] {
                            if let Some(Value::Seq(items)) = route.get_path_mut(&[field]) {
                                items.iter_mut().filter_map(Value::as_map_mut).for_each(retarget);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Rewrites the object's hosts if it is a kind that has them, and returns its URLs.
    fn rewrite_hosts(
        &self,
        id: &Identity,
        object: &mut Value,
        app: &str,
        secrets: &BTreeSet<String>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<PreviewUrl>, PreviewError> {
        let group = api_group(&id.api_version);
        let cert_manager = ["cert-manager.io/cluster-issuer", "cert-manager.io/issuer"]
            .iter()
            .any(|key| object.get_path(&["metadata", "annotations", key]).is_some());
        let Some(spec) = object.get_path_mut(&["spec"]).and_then(Value::as_map_mut) else {
            return Ok(Vec::new());
        };
        let values = hosts::HostValues {
            app,
            slug: &self.slug,
            pull_request: self.request.pull_request,
            branch: &self.branch_label,
        };
        let mut failed_host = String::new();
        let mut rewrite = |host: &str| -> Result<String, String> {
            match &self.host_template {
                Some(template) => {
                    template.render(host, &values).inspect_err(|_| failed_host = host.to_owned())
                }
                None => Ok(host.to_owned()),
            }
        };
        let result = match (group, id.kind.as_str()) {
            ("networking.k8s.io" | "extensions", "Ingress") => {
                let urls = hosts::rewrite_ingress(spec, &mut rewrite);
                if urls.is_ok() {
                    self.place_tls_secrets(id, spec, cert_manager, secrets, notes);
                }
                urls
            }
            ("gateway.networking.k8s.io", "HTTPRoute") => {
                hosts::rewrite_route(spec, true, &mut rewrite)
            }
            ("gateway.networking.k8s.io", "GRPCRoute" | "TLSRoute") => {
                hosts::rewrite_route(spec, false, &mut rewrite)
            }
            ("traefik.io" | "traefik.containo.us", "IngressRoute") => {
                hosts::rewrite_ingress_route(spec, &mut rewrite)
            }
            // A Certificate for the app's host must follow the host, or it would be issued for
            // the testing host (and count against the issuer's rate limits for nothing).
            ("cert-manager.io", "Certificate") => {
                hosts::rewrite_certificate(spec, &mut rewrite).map(|()| Vec::new())
            }
            _ => Ok(Vec::new()),
        };
        let urls = result.map_err(|problem| {
            if failed_host.is_empty() {
                PreviewError::Object { kind: id.kind.clone(), name: id.name.clone(), problem }
            } else {
                PreviewError::Host {
                    kind: id.kind.clone(),
                    name: id.name.clone(),
                    host: failed_host.clone(),
                    problem,
                }
            }
        })?;
        if self.host_template.is_none() && !urls.is_empty() {
            notes.push(format!(
                "{} `{}` keeps its testing hosts: no preview host template is set, so the preview shares them",
                id.kind, id.name
            ));
        }
        Ok(urls
            .into_iter()
            .map(|(url, _host)| PreviewUrl { url, kind: id.kind.clone(), name: id.name.clone() })
            .collect())
    }

    /// An Ingress TLS secret must exist in the preview namespace. It will when the Secret is part
    /// of the render or when cert-manager issues it (the annotation); otherwise (a certificate
    /// copied into the app's namespace by other means) the name is dropped, so the ingress
    /// controller serves its default certificate instead of failing the TLS handshake.
    fn place_tls_secrets(
        &self,
        id: &Identity,
        spec: &mut Map,
        cert_manager: bool,
        secrets: &BTreeSet<String>,
        notes: &mut Vec<String>,
    ) {
        if cert_manager || self.host_template.is_none() {
            return;
        }
        let Some(Value::Seq(entries)) = spec.get_mut("tls") else { return };
        for entry in entries.iter_mut().filter_map(Value::as_map_mut) {
            let Some(name) = entry.get("secretName").and_then(Value::as_str).map(str::to_owned)
            else {
                continue;
            };
            if !secrets.contains(&name) {
                entry.shift_remove("secretName");
                notes.push(format!(
                    "Ingress `{}`: TLS secret `{name}` is not in the render and not issued by cert-manager, so it will not exist in `{}`; the ingress controller's default certificate serves the preview hosts",
                    id.name, self.namespace
                ));
            }
        }
    }

    /// Adds the ownership labels and annotations to `object`'s metadata.
    fn stamp(&self, object: &mut Value) {
        for (key, value) in self.labels() {
            set_metadata_entry(object, "labels", key, value);
        }
        for (key, value) in self.annotations() {
            set_metadata_entry(object, "annotations", key, value);
        }
    }
}

/// What a live preview namespace says about itself, read back from the labels and annotations
/// `Preview` writes; the sweep decides from this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewRecord {
    pub namespace: String,
    pub slug: String,
    pub repository: Option<String>,
    pub pull_request: Option<u64>,
    pub branch: Option<String>,
    pub created_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    /// Annotations that were present but unreadable (hand-edited, another tool…).
    pub problems: Vec<String>,
}

impl PreviewRecord {
    /// Reads a Namespace object; `None` unless it carries both ownership labels (a namespace
    /// gitops-env did not create is never a preview, whatever it is called).
    pub fn from_namespace(namespace: &Value) -> Option<PreviewRecord> {
        let label =
            |key: &str| namespace.get_path(&["metadata", "labels", key]).and_then(Value::as_str);
        let annotation = |key: &str| {
            namespace.get_path(&["metadata", "annotations", key]).and_then(Value::as_str)
        };
        if label(LABEL_MANAGED_BY) != Some(MANAGER) {
            return None;
        }
        let slug = label(LABEL_PREVIEW)?.to_owned();
        let name = namespace.get_path(&["metadata", "name"]).and_then(Value::as_str)?.to_owned();
        let mut problems = Vec::new();
        let mut timestamp = |key: &str| {
            let text = annotation(key)?;
            Timestamp::parse(text).map_err(|e| problems.push(format!("{key}: {e}"))).ok()
        };
        let created_at = timestamp(ANNOTATION_CREATED_AT);
        let expires_at = timestamp(ANNOTATION_EXPIRES_AT);
        let pull_request = annotation(ANNOTATION_PULL_REQUEST).and_then(|text| {
            text.parse()
                .map_err(|_| {
                    problems.push(format!("{ANNOTATION_PULL_REQUEST}: `{text}` is not a number"))
                })
                .ok()
        });
        Some(PreviewRecord {
            namespace: name,
            slug,
            repository: annotation(ANNOTATION_REPOSITORY).map(str::to_owned),
            pull_request,
            branch: annotation(ANNOTATION_BRANCH).map(str::to_owned),
            created_at,
            expires_at,
            problems,
        })
    }

    /// Whether the preview's time-to-live ran out at `now`. A preview without a readable expiry
    /// never expires by time (only by its PR or branch going away): deleting on a guess is worse
    /// than keeping a namespace a little longer.
    pub fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

/// apiVersion, kind and name of a rendered object.
#[derive(Clone, Debug)]
struct Identity {
    api_version: String,
    kind: String,
    name: String,
}

impl Identity {
    fn left_out(&self, reason: LeftOutReason) -> LeftOut {
        LeftOut {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            reason,
        }
    }
}

fn identity(object: &Value, index: usize) -> Result<Identity, PreviewError> {
    let field = |path: &[&str], missing: &'static str| {
        object
            .get_path(path)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(PreviewError::MalformedObject { index, missing })
    };
    Ok(Identity {
        api_version: field(&["apiVersion"], "apiVersion")?,
        kind: field(&["kind"], "kind")?,
        name: field(&["metadata", "name"], "metadata.name")?,
    })
}

/// The app an object belongs to, for `{app}` when the unit holds several apps.
fn object_app(object: &Value, name: &str) -> String {
    object
        .get_path(&["metadata", "labels", "app.kubernetes.io/name"])
        .and_then(Value::as_str)
        .unwrap_or(name)
        .to_owned()
}

fn metadata_mut(object: &mut Value) -> Option<&mut Map> {
    let map = object.as_map_mut()?;
    let metadata = map.entry("metadata".to_owned()).or_insert_with(|| Value::Map(Map::new()));
    metadata.as_map_mut()
}

fn set_metadata_field(object: &mut Value, field: &str, value: &str) {
    if let Some(metadata) = metadata_mut(object) {
        metadata.insert(field.to_owned(), value.into());
    }
}

/// Sets `metadata.<section>.<key>`, creating the section (or replacing a null one).
fn set_metadata_entry(object: &mut Value, section: &str, key: &str, value: String) {
    let Some(metadata) = metadata_mut(object) else { return };
    let entry = metadata.entry(section.to_owned()).or_insert_with(|| Value::Map(Map::new()));
    if !matches!(entry, Value::Map(_)) {
        *entry = Value::Map(Map::new());
    }
    if let Value::Map(map) = entry {
        map.insert(key.to_owned(), Value::String(value));
    }
}

fn seq_maps_mut<'a>(object: &'a mut Value, path: &[&str]) -> impl Iterator<Item = &'a mut Map> {
    object
        .get_path_mut(path)
        .and_then(Value::as_seq_mut)
        .into_iter()
        .flat_map(|items| items.iter_mut().filter_map(Value::as_map_mut))
}

#[cfg(test)]
mod tests;
