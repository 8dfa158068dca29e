//! The resource catalog: which kinds the fake API server knows, under which group, version and
//! plural, and whether they are namespaced. It is loaded from real discovery documents (see
//! `data/kube/README.md`) and grows when CustomResourceDefinitions become established.
//!
//! It renders both discovery forms (legacy per-group documents and aggregated `apidiscovery/v2`)
//! from the same entries so they never disagree. It holds no objects and does no I/O.

use serde_json::{Value as Json, json};

const AGGREGATED_APIS: &str = include_str!("../../data/kube/aggregated_v2.json");
const CORE_V1: &str = include_str!("../../data/kube/api__v1.json");

/// A subresource such as `deployments/status`.
#[derive(Clone, Debug, PartialEq)]
pub struct Subresource {
    pub name: String,
    pub kind: String,
    pub verbs: Vec<String>,
}

/// One REST resource of one group version.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceType {
    /// Empty for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub subresources: Vec<Subresource>,
    /// Defined by a CustomResourceDefinition (served as unstructured: list items keep their
    /// `apiVersion`/`kind`).
    pub custom: bool,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, `configmaps`: the name the API server uses in error messages.
    pub fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn has_status(&self) -> bool {
        self.subresources.iter().any(|s| s.name == "status")
    }
}

/// All resources, in discovery order (groups in the order the real server lists them).
#[derive(Clone, Debug)]
pub struct Catalog {
    resources: Vec<ResourceType>,
    /// Group names in preference order, core (`""`) first.
    groups: Vec<String>,
}

fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn text(value: &Json, key: &str) -> String {
    value.get(key).and_then(Json::as_str).unwrap_or_default().to_owned()
}

impl Catalog {
    /// The built-in resources of the recorded API server.
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog { resources: Vec::new(), groups: vec![String::new()] };
        let core: Json = serde_json::from_str(CORE_V1).expect("bundled api__v1.json is JSON");
        let core_resources = core["resources"].as_array().cloned().unwrap_or_default();
        for entry in &core_resources {
            let name = text(entry, "name");
            if let Some((parent, sub)) = name.split_once('/') {
                if let Some(owner) = catalog.resources.iter_mut().find(|r| r.plural == parent) {
                    owner.subresources.push(Subresource {
                        name: sub.to_owned(),
                        kind: text(entry, "kind"),
                        verbs: strings(entry.get("verbs")),
                    });
                }
                continue;
            }
            catalog.resources.push(ResourceType {
                group: String::new(),
                version: "v1".into(),
                kind: text(entry, "kind"),
                singular: text(entry, "singularName"),
                plural: name,
                namespaced: entry["namespaced"].as_bool().unwrap_or(false),
                verbs: strings(entry.get("verbs")),
                short_names: strings(entry.get("shortNames")),
                categories: strings(entry.get("categories")),
                subresources: Vec::new(),
                custom: false,
            });
        }
        let aggregated: Json =
            serde_json::from_str(AGGREGATED_APIS).expect("bundled aggregated_v2.json is JSON");
        for group in aggregated["items"].as_array().cloned().unwrap_or_default() {
            let group_name = text(&group["metadata"], "name");
            catalog.groups.push(group_name.clone());
            for version in group["versions"].as_array().cloned().unwrap_or_default() {
                let version_name = text(&version, "version");
                for entry in version["resources"].as_array().cloned().unwrap_or_default() {
                    catalog.resources.push(ResourceType {
                        group: group_name.clone(),
                        version: version_name.clone(),
                        kind: text(&entry["responseKind"], "kind"),
                        plural: text(&entry, "resource"),
                        singular: text(&entry, "singularResource"),
                        namespaced: entry["scope"] == "Namespaced",
                        verbs: strings(entry.get("verbs")),
                        short_names: strings(entry.get("shortNames")),
                        categories: strings(entry.get("categories")),
                        subresources: entry["subresources"]
                            .as_array()
                            .map(|subs| {
                                subs.iter()
                                    .map(|s| Subresource {
                                        name: text(s, "subresource"),
                                        kind: text(&s["responseKind"], "kind"),
                                        verbs: strings(s.get("verbs")),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        custom: false,
                    });
                }
            }
        }
        catalog
    }

    /// The resource served at `/apis/{group}/{version}/.../{plural}`.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// The resource for `apiVersion` + `kind`.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        let (group, version) = split_api_version(api_version);
        self.resources.iter().find(|r| r.group == group && r.version == version && r.kind == kind)
    }

    /// Versions served for a group, in preference order.
    fn versions_of(&self, group: &str) -> Vec<String> {
        let mut versions: Vec<String> = Vec::new();
        for r in self.resources.iter().filter(|r| r.group == group) {
            if !versions.contains(&r.version) {
                versions.push(r.version.clone());
            }
        }
        versions
    }

    pub fn has_group_version(&self, group: &str, version: &str) -> bool {
        self.resources.iter().any(|r| r.group == group && r.version == version)
    }

    pub fn has_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    /// Adds (or replaces) the resources of an established CustomResourceDefinition.
    pub fn add_custom(&mut self, resources: Vec<ResourceType>) {
        for resource in resources {
            self.resources.retain(|r| {
                !(r.group == resource.group
                    && r.version == resource.version
                    && r.plural == resource.plural)
            });
            if !self.groups.contains(&resource.group) {
                self.groups.push(resource.group.clone());
            }
            self.resources.push(resource);
        }
    }

    /// Removes the resources of a deleted CustomResourceDefinition.
    pub fn remove_custom(&mut self, group: &str, plural: &str) {
        self.resources.retain(|r| !(r.custom && r.group == group && r.plural == plural));
        if !self.resources.iter().any(|r| r.group == group) {
            self.groups.retain(|g| g != group);
        }
    }

    /// `GET /apis` (APIGroupList).
    pub fn group_list(&self) -> Json {
        let groups: Vec<Json> =
            self.groups.iter().filter(|g| !g.is_empty()).map(|g| self.group_document(g)).collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `GET /apis/{group}` (APIGroup).
    pub fn group(&self, group: &str) -> Json {
        let mut doc = self.group_document(group);
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        doc
    }

    fn group_document(&self, group: &str) -> Json {
        let versions: Vec<Json> = self
            .versions_of(group)
            .iter()
            .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
            .collect();
        let preferred = versions.first().cloned().unwrap_or(Json::Null);
        json!({"name": group, "versions": versions, "preferredVersion": preferred})
    }

    /// `GET /api/v1`, `GET /apis/{group}/{version}` (APIResourceList).
    pub fn resource_list(&self, group: &str, version: &str) -> Json {
        let mut entries = Vec::new();
        for r in self.resources.iter().filter(|r| r.group == group && r.version == version) {
            let mut entry = json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": r.verbs,
            });
            if !r.short_names.is_empty() {
                entry["shortNames"] = json!(r.short_names);
            }
            if !r.categories.is_empty() {
                entry["categories"] = json!(r.categories);
            }
            entries.push(entry);
            for sub in &r.subresources {
                entries.push(json!({
                    "name": format!("{}/{}", r.plural, sub.name),
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": sub.kind,
                    "verbs": sub.verbs,
                }));
            }
        }
        let group_version =
            if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries})
    }

    /// `GET /openapi/v3`: the index of per-group-version documents.
    pub fn openapi_v3_root(&self) -> Json {
        let mut paths = serde_json::Map::new();
        let mut seen = Vec::new();
        for r in &self.resources {
            let key = if r.group.is_empty() {
                format!("api/{}", r.version)
            } else {
                format!("apis/{}/{}", r.group, r.version)
            };
            if !seen.contains(&key) {
                paths.insert(
                    key.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash=fake")}),
                );
                seen.push(key);
            }
        }
        json!({"paths": paths})
    }

    /// `GET /openapi/v3/apis/{group}/{version}`: only what clients probe, namely each resource's
    /// PATCH operation with its GVK and the `fieldValidation` query parameter (kubectl checks it
    /// to choose server-side validation). Schemas are not served.
    pub fn openapi_v3(&self, group: &str, version: &str) -> Option<Json> {
        let mut paths = serde_json::Map::new();
        for r in self.resources.iter().filter(|r| r.group == group && r.version == version) {
            let prefix = if group.is_empty() {
                format!("/api/{version}")
            } else {
                format!("/apis/{group}/{version}")
            };
            let path = if r.namespaced {
                format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
            } else {
                format!("{prefix}/{}/{{name}}", r.plural)
            };
            let operation = json!({
                "operationId": format!("patch{}", r.kind),
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
                ],
                "responses": {"200": {"description": "OK"}},
            });
            paths.insert(path, json!({"patch": operation}));
        }
        if paths.is_empty() {
            return None;
        }
        Some(json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.33.0-fake"},
            "paths": paths,
            "components": {"schemas": {}},
        }))
    }

    /// Aggregated discovery (`apidiscovery.k8s.io/v2` APIGroupDiscoveryList) for `/api` (core
    /// only) or `/apis` (every other group).
    pub fn aggregated(&self, core: bool) -> Json {
        let groups: Vec<&String> = self.groups.iter().filter(|g| g.is_empty() == core).collect();
        let items: Vec<Json> = groups
            .into_iter()
            .map(|group| {
                let versions: Vec<Json> = self
                    .versions_of(group)
                    .iter()
                    .map(|version| {
                        let resources: Vec<Json> = self
                            .resources
                            .iter()
                            .filter(|r| &r.group == group && &r.version == version)
                            .map(aggregated_resource)
                            .collect();
                        json!({"version": version, "resources": resources, "freshness": "Current"})
                    })
                    .collect();
                let metadata = if group.is_empty() { json!({}) } else { json!({"name": group}) };
                json!({"metadata": metadata, "versions": versions})
            })
            .collect();
        json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
    }
}

fn aggregated_resource(r: &ResourceType) -> Json {
    let mut entry = json!({
        "resource": r.plural,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        entry["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        entry["categories"] = json!(r.categories);
    }
    if !r.subresources.is_empty() {
        entry["subresources"] = r
            .subresources
            .iter()
            .map(|s| {
                json!({
                    "subresource": s.name,
                    "responseKind": {"group": "", "version": "", "kind": s.kind},
                    "verbs": s.verbs,
                })
            })
            .collect();
    }
    entry
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// The resources a CustomResourceDefinition object defines (one per served version).
pub fn custom_resources(crd: &Json) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let group = text(spec, "group");
    let names = &spec["names"];
    let namespaced = spec["scope"] != "Cluster";
    let mut out = Vec::new();
    for version in spec["versions"].as_array().cloned().unwrap_or_default() {
        if version["served"] == false {
            continue;
        }
        let mut subresources = Vec::new();
        if version["subresources"].get("status").is_some() {
            subresources.push(Subresource {
                name: "status".into(),
                kind: text(names, "kind"),
                verbs: vec!["get".into(), "patch".into(), "update".into()],
            });
        }
        out.push(ResourceType {
            group: group.clone(),
            version: text(&version, "name"),
            kind: text(names, "kind"),
            plural: text(names, "plural"),
            singular: {
                let singular = text(names, "singular");
                if singular.is_empty() { text(names, "kind").to_lowercase() } else { singular }
            },
            namespaced,
            verbs: [
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "create",
                "update",
                "watch",
            ]
            .iter()
            .map(|v| v.to_string())
            .collect(),
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            subresources,
            custom: true,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_knows_core_and_apps() {
        let catalog = Catalog::builtin();
        let deployments = catalog.by_kind("apps/v1", "Deployment").expect("deployments");
        assert_eq!(deployments.plural, "deployments");
        assert!(deployments.namespaced);
        assert!(deployments.has_status());
        let namespaces = catalog.by_kind("v1", "Namespace").expect("namespaces");
        assert!(!namespaces.namespaced);
        assert!(namespaces.subresources.iter().any(|s| s.name == "finalize"));
        assert!(catalog.by_kind("v1", "Nonsense").is_none());
    }

    #[test]
    fn legacy_and_aggregated_documents_agree() {
        let catalog = Catalog::builtin();
        let legacy = catalog.resource_list("apps", "v1");
        let names: Vec<&str> = legacy["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"deployments") && names.contains(&"deployments/status"));
        let aggregated = catalog.aggregated(false);
        let apps = aggregated["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["metadata"]["name"] == "apps")
            .unwrap();
        assert!(
            apps["versions"][0]["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["resource"] == "deployments")
        );
        let core = catalog.aggregated(true);
        assert_eq!(core["items"].as_array().unwrap().len(), 1);
    }
}
