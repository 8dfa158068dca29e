//! One Kubernetes object in the build, with the bookkeeping kustomize keeps beside it, and the
//! ordered collection of them (kustomize's `ResMap`).
//!
//! kustomize stores its bookkeeping (previous names, applied prefixes and suffixes, generator
//! behaviour) in internal annotations and strips them before printing; we keep it in plain fields
//! instead, so nothing internal can leak into the output. Identity follows kustomize's `ResId`:
//! group, version, kind, name and namespace, where an empty namespace equals `default` and
//! cluster-scoped kinds have no namespace at all.
//!
//! This module knows identities and metadata accessors; it does not transform.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use crate::value::{Map, Value};

/// Group, version and kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    /// Splits an `apiVersion` the way kustomize does: `v1` is core, `apps/v1` is group `apps`.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((group, version)) => (group, version),
            None => ("", api_version),
        };
        Gvk { group: group.to_owned(), version: version.to_owned(), kind: kind.to_owned() }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `selector` selects this gvk (empty selector fields match anything).
    pub fn is_selected_by(&self, group: &str, version: &str, kind: &str) -> bool {
        (group.is_empty() || group == self.group)
            && (version.is_empty() || version == self.version)
            && (kind.is_empty() || kind == self.kind)
    }

    /// Whether kustomize's built-in schema knows this type as cluster-scoped. Allocation-free:
    /// every object's identity asks this, often several times per name reference.
    pub fn is_cluster_scoped(&self) -> bool {
        cluster_scoped_types().get(self.kind.as_str()).is_some_and(|versions| {
            versions.contains(&(self.group.as_str(), self.version.as_str()))
        })
    }
}

impl fmt::Display for Gvk {
    /// kustomize's `Gvk.String()`: `Kind.version.group`, with placeholders for empty parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let or = |s: &str, empty: &'static str| {
            if s.is_empty() { empty.to_owned() } else { s.to_owned() }
        };
        write!(
            f,
            "{}.{}.{}",
            or(&self.kind, "[noKind]"),
            or(&self.version, "[noVer]"),
            or(&self.group, "[noGrp]")
        )
    }
}

/// The types kyaml's default schema marks cluster-scoped: kind → (group, version) pairs.
fn cluster_scoped_types() -> &'static HashMap<&'static str, Vec<(&'static str, &'static str)>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<(&'static str, &'static str)>>> =
        OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<&'static str, Vec<(&'static str, &'static str)>> = HashMap::new();
        let lines = include_str!("../data/cluster-scoped.tsv").lines();
        for line in lines.filter(|line| !line.starts_with('#') && !line.trim().is_empty()) {
            if let Some((api_version, kind)) = line.split_once('\t') {
                let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
                table.entry(kind).or_default().push((group, version));
            }
        }
        table
    })
}

/// The effective namespace of cluster-scoped objects (kustomize's `TotallyNotANamespace`).
pub const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// A resource's identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// The namespace that counts for equality: none for cluster-scoped kinds, `default` for an
    /// empty one.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_A_NAMESPACE
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`.
    pub fn same_as(&self, other: &ResId) -> bool {
        self.gvk == other.gvk
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }
}

impl fmt::Display for ResId {
    /// kustomize's `ResId.String()`: `Kind.version.group/name.namespace`, as in its messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.name.is_empty() { "[noName]" } else { &self.name };
        let namespace = if self.namespace.is_empty() { "[noNs]" } else { &self.namespace };
        write!(f, "{}/{}.{}", self.gvk, name, namespace)
    }
}

/// What a generator asked to happen when its output meets an existing object of the same id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

impl Behavior {
    pub fn parse(text: &str) -> Option<Behavior> {
        match text {
            "" | "create" => Some(Behavior::Create),
            "merge" => Some(Behavior::Merge),
            "replace" => Some(Behavior::Replace),
            _ => None,
        }
    }
}

/// One object and its build bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The object itself; always a mapping.
    pub value: Value,
    /// The ids this object had before renames (namespace, prefix, suffix, hash), oldest first.
    pub previous_ids: Vec<ResId>,
    /// Name prefixes applied so far, innermost kustomization first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied so far, innermost kustomization first.
    pub suffixes: Vec<String>,
    /// Set on generated objects: how to combine with an existing object of the same id.
    pub behavior: Option<Behavior>,
    /// Set on generated objects that get a content hash appended to their name.
    pub needs_hash_suffix: bool,
    /// Names of the legacy `vars` whose object this is (kustomize's `refVarNames`).
    pub ref_var_names: Vec<String>,
    /// The file this object came from (for error messages).
    pub source: String,
    /// Where the object came from, tracked when the top kustomization sets `buildMetadata`
    /// (printed as `config.kubernetes.io/origin` with `originAnnotations`).
    pub origin: Option<Provenance>,
    /// The transformers that ran over the object, in order (printed as
    /// `alpha.config.kubernetes.io/transformations` with `transformerAnnotations`).
    pub transformations: Vec<Provenance>,
}

/// kustomize's `resource.Origin`: a file an object was read from, or the kustomization (or
/// plugin configuration) whose generator or transformer made or touched it. Paths are relative
/// to the directory being built.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    pub path: String,
    /// The remote repository (clone URL) the object or configuration came from, if any.
    pub repo: String,
    /// The ref of that repository, as written.
    pub git_ref: String,
    pub configured_in: String,
    /// apiVersion, kind, name and namespace of the configuring plugin.
    pub configured_by: Option<[String; 4]>,
}

impl Provenance {
    /// The YAML kustomize writes for it (field order `path`, `repo`, `ref`, `configuredIn`,
    /// `configuredBy`),
    /// each line prefixed by `indent` (the first by `first`).
    fn write_yaml(&self, out: &mut String, first: &str, indent: &str) {
        let mut lines: Vec<String> = Vec::new();
        if !self.path.is_empty() {
            lines.push(format!("path: {}", self.path));
        }
        if !self.repo.is_empty() {
            lines.push(format!("repo: {}", self.repo));
        }
        if !self.git_ref.is_empty() {
            lines.push(format!("ref: {}", self.git_ref));
        }
        if !self.configured_in.is_empty() {
            lines.push(format!("configuredIn: {}", self.configured_in));
        }
        if let Some([api_version, kind, name, namespace]) = &self.configured_by {
            lines.push("configuredBy:".to_owned());
            for (key, value) in [
                ("apiVersion", api_version),
                ("kind", kind),
                ("name", name),
                ("namespace", namespace),
            ] {
                if !value.is_empty() {
                    lines.push(format!("  {key}: {value}"));
                }
            }
        }
        for (i, line) in lines.iter().enumerate() {
            out.push_str(if i == 0 { first } else { indent });
            out.push_str(line);
            out.push('\n');
        }
    }

    /// The text of a `config.kubernetes.io/origin` annotation.
    pub fn to_annotation(&self) -> String {
        let mut out = String::new();
        self.write_yaml(&mut out, "", "");
        out
    }

    /// The text of an `alpha.config.kubernetes.io/transformations` annotation.
    pub fn list_to_annotation(list: &[Provenance]) -> String {
        let mut out = String::new();
        for item in list {
            item.write_yaml(&mut out, "- ", "  ");
        }
        out
    }
}

impl Resource {
    /// Wraps an object read from `source`.
    pub fn new(value: Value, source: &str) -> Resource {
        Resource {
            value,
            previous_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: None,
            needs_hash_suffix: false,
            ref_var_names: Vec::new(),
            source: source.to_owned(),
            origin: None,
            transformations: Vec::new(),
        }
    }

    fn string_at(&self, path: &[&str]) -> &str {
        self.value.get_path(path).and_then(Value::as_str).unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.string_at(&["apiVersion"])
    }

    pub fn kind(&self) -> &str {
        self.string_at(&["kind"])
    }

    pub fn name(&self) -> &str {
        self.string_at(&["metadata", "name"])
    }

    pub fn namespace(&self) -> &str {
        self.string_at(&["metadata", "namespace"])
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// The current id.
    pub fn id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_owned(),
            namespace: self.namespace().to_owned(),
        }
    }

    /// The id the object had when it entered the build.
    pub fn original_id(&self) -> ResId {
        self.previous_ids.first().cloned().unwrap_or_else(|| self.id())
    }

    /// Whether `id` is the current id or one of the previous ones.
    pub fn answers_to(&self, id: &ResId) -> bool {
        self.id().same_as(id) || self.previous_ids.iter().any(|previous| previous.same_as(id))
    }

    /// Remembers the current id before a rename, as kustomize's `StorePreviousId`. The
    /// namespace stored is the effective one (`default` for none), as kustomize stores it.
    pub fn store_previous_id(&mut self) {
        let id = self.id();
        let namespace = id.effective_namespace().to_owned();
        self.previous_ids.push(ResId { namespace, ..id });
    }

    /// The metadata mapping, created when missing.
    pub fn metadata_mut(&mut self) -> &mut Map {
        let map = self.value.as_map_mut().expect("resources are always mappings");
        let metadata = map.entry("metadata".to_owned()).or_insert_with(|| Value::Map(Map::new()));
        if !matches!(metadata, Value::Map(_)) {
            *metadata = Value::Map(Map::new());
        }
        metadata.as_map_mut().expect("just made a mapping")
    }

    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut().insert("name".into(), Value::String(name.to_owned()));
    }

    pub fn set_namespace(&mut self, namespace: &str) {
        if namespace.is_empty() {
            self.metadata_mut().shift_remove("namespace");
        } else {
            self.metadata_mut().insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    }

    /// A string-to-string field of metadata (`labels`, `annotations`); non-string values are
    /// skipped.
    pub fn string_map(&self, field: &str) -> Vec<(String, String)> {
        match self.value.get_path(&["metadata", field]) {
            Some(Value::Map(map)) => map
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), scalar_text(value)?)))
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value.get_path(&["metadata", "annotations", key]).and_then(Value::as_str)
    }
}

/// The text of a scalar, as kustomize reads it into a string map.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Null => Some(String::new()),
        Value::Seq(_) | Value::Map(_) => None,
    }
}

/// The ordered set of resources a kustomization accumulates (kustomize's `ResMap`).
///
/// Appending checks the new id against an index of the ids present (kept while nothing is
/// changed in place, rebuilt once after a change), so accumulating n objects costs O(n), not
/// the O(n²) of comparing each new object with every earlier one.
#[derive(Clone, Debug, Default)]
pub struct ResMap {
    resources: Vec<Resource>,
    /// The `IdKey` of every resource, when known to be current.
    ids: Option<HashSet<IdKey>>,
}

impl PartialEq for ResMap {
    fn eq(&self, other: &Self) -> bool {
        self.resources == other.resources
    }
}

/// What makes two ids `same_as` each other: gvk, name and effective namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct IdKey {
    gvk: Gvk,
    name: String,
    namespace: String,
}

impl IdKey {
    fn of(id: &ResId) -> IdKey {
        IdKey {
            gvk: id.gvk.clone(),
            name: id.name.clone(),
            namespace: id.effective_namespace().to_owned(),
        }
    }
}

impl ResMap {
    pub fn new() -> ResMap {
        ResMap::default()
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.resources.iter()
    }

    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Resource> {
        self.ids = None;
        self.resources.iter_mut()
    }

    pub fn as_slice(&self) -> &[Resource] {
        &self.resources
    }

    pub fn into_vec(self) -> Vec<Resource> {
        self.resources
    }

    /// Appends, refusing an id already present (kustomize's `Append`).
    pub fn append(&mut self, resource: Resource) -> Result<(), ResId> {
        let id = resource.id();
        let resources = &self.resources;
        let ids =
            self.ids.get_or_insert_with(|| resources.iter().map(|r| IdKey::of(&r.id())).collect());
        if !ids.insert(IdKey::of(&id)) {
            return Err(id);
        }
        self.resources.push(resource);
        Ok(())
    }

    /// How many id comparisons `append` has left to do: the ids it would index before the
    /// next append (0 while the index is current). For tests that pin the O(n) accumulation.
    pub fn ids_to_index(&self) -> usize {
        if self.ids.is_some() { 0 } else { self.resources.len() }
    }

    /// Appends every resource of `other` in order.
    pub fn append_all(&mut self, other: ResMap) -> Result<(), ResId> {
        for resource in other.resources {
            self.append(resource)?;
        }
        Ok(())
    }

    /// Replaces the whole list (after a reorder or a filter).
    pub fn replace_all(&mut self, resources: Vec<Resource>) {
        self.ids = None;
        self.resources = resources;
    }

    /// Indexes of resources whose current or previous id equals `id`.
    pub fn indexes_answering_to(&self, id: &ResId) -> Vec<usize> {
        (0..self.resources.len()).filter(|&i| self.resources[i].answers_to(id)).collect()
    }

    pub fn get(&self, index: usize) -> &Resource {
        &self.resources[index]
    }

    pub fn get_mut(&mut self, index: usize) -> &mut Resource {
        self.ids = None;
        &mut self.resources[index]
    }

    pub fn set(&mut self, index: usize, resource: Resource) {
        self.ids = None;
        self.resources[index] = resource;
    }
}

impl IntoIterator for ResMap {
    type Item = Resource;
    type IntoIter = std::vec::IntoIter<Resource>;
    fn into_iter(self) -> Self::IntoIter {
        self.resources.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str, name: &str, namespace: &str) -> Resource {
        let mut metadata = Map::new();
        metadata.insert("name".into(), name.into());
        if !namespace.is_empty() {
            metadata.insert("namespace".into(), namespace.into());
        }
        let mut map = Map::new();
        map.insert("apiVersion".into(), api_version.into());
        map.insert("kind".into(), kind.into());
        map.insert("metadata".into(), Value::Map(metadata));
        Resource::new(Value::Map(map), "test.yaml")
    }

    #[test]
    fn empty_namespace_equals_default_and_cluster_scoped_ignores_namespace() {
        let a = object("v1", "ConfigMap", "x", "").id();
        let b = object("v1", "ConfigMap", "x", "default").id();
        assert!(a.same_as(&b));
        let c = object("v1", "Namespace", "x", "foo").id();
        let d = object("v1", "Namespace", "x", "").id();
        assert!(c.same_as(&d));
        let e = object("v1", "ConfigMap", "x", "other").id();
        assert!(!a.same_as(&e));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let mut map = ResMap::new();
        map.append(object("apps/v1", "Deployment", "web", "")).unwrap();
        let err = map.append(object("apps/v1", "Deployment", "web", "default")).unwrap_err();
        assert_eq!(err.to_string(), "Deployment.v1.apps/web.default");
    }

    #[test]
    fn gvk_splits_api_version() {
        let gvk = Gvk::from_api_version("rbac.authorization.k8s.io/v1", "Role");
        assert_eq!(gvk.group, "rbac.authorization.k8s.io");
        assert_eq!(gvk.api_version(), "rbac.authorization.k8s.io/v1");
        assert_eq!(Gvk::from_api_version("v1", "Pod").group, "");
    }

    #[test]
    fn appending_keeps_the_id_index_instead_of_comparing_with_every_object() {
        let mut map = ResMap::new();
        for i in 0..10_000 {
            map.append(object("v1", "ConfigMap", &format!("c{i}"), "")).unwrap();
            // The index stays current: no append re-reads earlier ids.
            assert_eq!(map.ids_to_index(), 0);
        }
        assert!(map.append(object("v1", "ConfigMap", "c5", "default")).is_err());
        map.get_mut(0).set_name("renamed");
        assert_eq!(map.ids_to_index(), 10_000);
        map.append(object("v1", "ConfigMap", "c0", "")).unwrap();
        assert!(map.append(object("v1", "ConfigMap", "renamed", "")).is_err());
    }
}
