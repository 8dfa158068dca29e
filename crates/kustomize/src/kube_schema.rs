//! Kubernetes' own schema metadata, kept as data: which lists merge by which keys, how to walk
//! from a kind down to its nested types.
//!
//! The tables are compacted extracts of the Kubernetes v1.36.0 OpenAPI document
//! (`data/*.json`, see `data/README.md`), embedded with `include_str!` and parsed once on first
//! use. This module only answers questions about types; it never looks at or changes a resource.
//! kustomize v5.5 compiles in the v1.21.2 schema, so apiVersions that existed then but are gone
//! now (`extensions/v1beta1`, `apps/v1beta2`, `batch/v1beta1`...) are resolved to the definition
//! of the same kind in today's schema: their list strategies are the same.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;

const PATCH_MERGE_KEYS: &str = include_str!("../data/patch-merge-keys.json");
const SCHEMA_REFS: &str = include_str!("../data/schema-refs.json");
const GVK_PATHS: &str = include_str!("../data/gvk-paths.json");

/// The API groups that ship with Kubernetes (plus the retired `extensions`): an apiVersion in one
/// of these that today's schema no longer has is matched by kind alone.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "extensions",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "node.k8s.io",
];

/// How a list field merges under a strategic merge patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStrategy {
    /// `x-kubernetes-patch-strategy`, e.g. `merge` or `merge,retainKeys`.
    pub strategy: String,
    /// `x-kubernetes-list-map-keys` when present, else the single `x-kubernetes-patch-merge-key`,
    /// else empty (a list of primitives merged as a set) — the order kyaml consults them in.
    pub keys: Vec<String>,
}

impl ListStrategy {
    /// Whether elements are merged (rather than the whole list replaced).
    pub fn merges(&self) -> bool {
        self.strategy.split(',').any(|part| part == "merge")
    }
}

#[derive(Debug, Clone)]
enum Shape {
    Object(String),
    ArrayOf(Option<String>),
    MapOf(String),
    Primitive,
}

#[derive(Debug, Clone)]
struct Property {
    shape: Shape,
    list: Option<ListStrategy>,
}

#[derive(Debug, Default)]
struct Definition {
    properties: HashMap<String, Property>,
}

#[derive(Debug)]
struct KindInfo {
    definition: String,
}

/// The parsed tables.
#[derive(Debug)]
pub struct KubeSchema {
    definitions: HashMap<String, Definition>,
    /// `apiVersion/Kind` (core as `v1/Kind`) → definition.
    kinds: HashMap<String, KindInfo>,
    /// `(group, Kind)` → definition, for retired versions of built-in groups.
    kinds_by_group: HashMap<(String, String), String>,
    /// Kind → definition, for retired groups (`extensions` → `apps`/`networking.k8s.io`).
    kinds_by_name: HashMap<String, String>,
}

/// A position in the type graph: the schema of one value being walked.
#[derive(Debug, Clone, Copy)]
pub enum SchemaNode<'a> {
    /// An object of a known definition.
    Object(&'a KubeSchema, &'a str),
    /// A list; its items' definition (None for primitives) and merge strategy.
    List(&'a KubeSchema, Option<&'a str>, Option<&'a ListStrategy>),
    /// A map whose values are all of one definition.
    MapOf(&'a KubeSchema, &'a str),
}

impl<'a> SchemaNode<'a> {
    /// The schema of field `name` of this object (or of any value of this map).
    pub fn field(self, name: &str) -> Option<SchemaNode<'a>> {
        match self {
            SchemaNode::Object(schema, definition) => {
                let property = schema.definitions.get(definition)?.properties.get(name)?;
                schema.node_for(property)
            }
            SchemaNode::MapOf(schema, definition) => Some(SchemaNode::Object(schema, definition)),
            SchemaNode::List(..) => None,
        }
    }

    /// The schema of this list's elements.
    pub fn elements(self) -> Option<SchemaNode<'a>> {
        match self {
            SchemaNode::List(schema, Some(items), _) => Some(SchemaNode::Object(schema, items)),
            _ => None,
        }
    }

    /// This list's merge strategy, when the schema declares one.
    pub fn list_strategy(self) -> Option<&'a ListStrategy> {
        match self {
            SchemaNode::List(_, _, strategy) => strategy,
            _ => None,
        }
    }
}

impl KubeSchema {
    /// The schema, parsed on first use.
    pub fn get() -> &'static KubeSchema {
        static SCHEMA: OnceLock<KubeSchema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            KubeSchema::parse(PATCH_MERGE_KEYS, SCHEMA_REFS, GVK_PATHS)
                .expect("embedded Kubernetes schema data is valid JSON of the documented shape")
        })
    }

    fn parse(merge_keys: &str, refs: &str, gvk_paths: &str) -> Result<KubeSchema, String> {
        let merge_keys: Json = serde_json::from_str(merge_keys).map_err(|e| e.to_string())?;
        let refs: Json = serde_json::from_str(refs).map_err(|e| e.to_string())?;
        let gvk_paths: Json = serde_json::from_str(gvk_paths).map_err(|e| e.to_string())?;
        let mut definitions: HashMap<String, Definition> = HashMap::new();

        for (definition, properties) in refs.as_object().ok_or("schema-refs: not an object")? {
            if definition.starts_with('_') {
                continue;
            }
            let entry = definitions.entry(definition.clone()).or_default();
            for (name, target) in properties.as_object().ok_or("schema-refs: bad definition")? {
                let shape = match target {
                    Json::String(def) => Shape::Object(def.clone()),
                    Json::Array(items) => {
                        Shape::ArrayOf(items.first().and_then(Json::as_str).map(str::to_owned))
                    }
                    Json::Object(map) => {
                        match map.get("additionalProperties").and_then(Json::as_str) {
                            Some(def) => Shape::MapOf(def.to_owned()),
                            None => Shape::Primitive,
                        }
                    }
                    _ => Shape::Primitive,
                };
                entry.properties.insert(name.clone(), Property { shape, list: None });
            }
        }

        for (definition, properties) in
            merge_keys.as_object().ok_or("patch-merge-keys: not an object")?
        {
            if definition.starts_with('_') {
                continue;
            }
            let entry = definitions.entry(definition.clone()).or_default();
            for (name, meta) in properties.as_object().ok_or("patch-merge-keys: bad definition")? {
                let strategy = meta.get("x-kubernetes-patch-strategy").and_then(Json::as_str);
                let list = strategy.map(|strategy| {
                    let keys = match meta.get("x-kubernetes-list-map-keys").and_then(Json::as_array)
                    {
                        Some(keys) => {
                            keys.iter().filter_map(Json::as_str).map(str::to_owned).collect()
                        }
                        None => meta
                            .get("x-kubernetes-patch-merge-key")
                            .and_then(Json::as_str)
                            .map(|key| vec![key.to_owned()])
                            .unwrap_or_default(),
                    };
                    ListStrategy { strategy: strategy.to_owned(), keys }
                });
                let property = entry.properties.entry(name.clone()).or_insert(Property {
                    shape: if meta.get("type").and_then(Json::as_str) == Some("array") {
                        Shape::ArrayOf(meta.get("items").and_then(Json::as_str).map(str::to_owned))
                    } else {
                        Shape::Primitive
                    },
                    list: None,
                });
                // A `$ref` property's extensions are lost when kyaml resolves the reference, so
                // only list properties keep a strategy.
                if matches!(property.shape, Shape::ArrayOf(_)) {
                    property.list = list;
                }
            }
        }

        let mut kinds = HashMap::new();
        let mut kinds_by_group = HashMap::new();
        let mut kinds_by_name = HashMap::new();
        let resources = gvk_paths
            .get("resources")
            .and_then(Json::as_object)
            .ok_or("gvk-paths: no resources")?;
        let non_resources = gvk_paths.get("nonResourceKinds").and_then(Json::as_object);
        for (key, info) in resources.iter().chain(non_resources.into_iter().flatten()) {
            let Some(definition) = info.get("definition").and_then(Json::as_str) else { continue };
            let group = info.get("group").and_then(Json::as_str).unwrap_or_default();
            let kind = info.get("kind").and_then(Json::as_str).unwrap_or_default();
            kinds.insert(key.clone(), KindInfo { definition: definition.to_owned() });
            kinds_by_group
                .entry((group.to_owned(), kind.to_owned()))
                .or_insert_with(|| definition.to_owned());
            kinds_by_name.entry(kind.to_owned()).or_insert_with(|| definition.to_owned());
        }
        Ok(KubeSchema { definitions, kinds, kinds_by_group, kinds_by_name })
    }

    fn node_for<'a>(&'a self, property: &'a Property) -> Option<SchemaNode<'a>> {
        match &property.shape {
            Shape::Object(definition) => Some(SchemaNode::Object(self, definition)),
            Shape::ArrayOf(items) => {
                Some(SchemaNode::List(self, items.as_deref(), property.list.as_ref()))
            }
            Shape::MapOf(definition) => Some(SchemaNode::MapOf(self, definition)),
            Shape::Primitive => None,
        }
    }

    fn definition_for(&self, api_version: &str, kind: &str) -> Option<&str> {
        if let Some(info) = self.kinds.get(&format!("{api_version}/{kind}")) {
            return Some(&info.definition);
        }
        let group = api_version.rsplit_once('/').map(|(group, _)| group).unwrap_or("");
        if !BUILTIN_GROUPS.contains(&group) {
            return None;
        }
        if let Some(definition) = self.kinds_by_group.get(&(group.to_owned(), kind.to_owned())) {
            return Some(definition);
        }
        if group == "extensions" {
            return self.kinds_by_name.get(kind).map(String::as_str);
        }
        None
    }

    /// The schema of a whole resource, or None for kinds Kubernetes does not define (CRDs):
    /// those merge maps key by key and replace lists whole.
    pub fn for_resource(&self, api_version: &str, kind: &str) -> Option<SchemaNode<'_>> {
        self.definition_for(api_version, kind)
            .map(|definition| SchemaNode::Object(self, definition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_merge_by_name_and_ports_by_port_and_protocol() {
        let schema = KubeSchema::get();
        let deployment = schema.for_resource("apps/v1", "Deployment").expect("Deployment is known");
        let pod_spec = deployment
            .field("spec")
            .and_then(|s| s.field("template"))
            .and_then(|s| s.field("spec"));
        let containers = pod_spec.and_then(|s| s.field("containers")).expect("containers");
        let strategy = containers.list_strategy().expect("containers merge");
        assert!(strategy.merges());
        assert_eq!(strategy.keys, ["name"]);
        let ports = containers.elements().and_then(|c| c.field("ports")).expect("ports");
        assert_eq!(ports.list_strategy().expect("ports merge").keys, ["containerPort", "protocol"]);
        let args = containers.elements().and_then(|c| c.field("args"));
        assert!(args.and_then(SchemaNode::list_strategy).is_none());
    }

    #[test]
    fn finalizers_are_a_merged_set_without_keys() {
        let schema = KubeSchema::get();
        let meta = schema
            .for_resource("v1", "ConfigMap")
            .and_then(|s| s.field("metadata"))
            .expect("metadata");
        let finalizers =
            meta.field("finalizers").and_then(SchemaNode::list_strategy).expect("finalizers");
        assert!(finalizers.merges());
        assert!(finalizers.keys.is_empty());
    }

    #[test]
    fn unknown_kinds_have_no_schema_and_retired_versions_map_to_today_s() {
        let schema = KubeSchema::get();
        assert!(schema.for_resource("example.com/v1", "Widget").is_none());
        assert!(schema.for_resource("extensions/v1beta1", "Deployment").is_some());
        assert!(schema.for_resource("apps/v1beta2", "StatefulSet").is_some());
    }
}
