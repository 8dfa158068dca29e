//! Whether a kind of Kubernetes object lives in a namespace or in the whole cluster.
//!
//! Owns the built-in scope table (`preview/scopes.txt`, generated from the Kubernetes
//! v1.36.0 OpenAPI document plus a few well-known custom resources) and the rules for kinds the
//! table does not know: a CustomResourceDefinition in the same render, or a scope the caller
//! states, wins; anything still unknown is treated as namespaced, because that is what almost
//! every custom resource an application ships is. It does not talk to a cluster: the `cluster`
//! module asks the API server's discovery when it needs the truth.

use std::collections::HashMap;

use kustomize::Value;

/// Where objects of a kind live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Namespaced,
    Cluster,
}

/// The built-in table, one `<group> <Kind> <namespaced|cluster>` line per kind; `core` is the
/// core group.
const BUILT_IN_SCOPES: &str = include_str!("scopes.txt");

/// Scopes by (API group, kind). The group is `""` for the core group.
#[derive(Clone, Debug)]
pub struct ScopeTable {
    scopes: HashMap<(String, String), Scope>,
}

impl Default for ScopeTable {
    fn default() -> Self {
        Self::built_in()
    }
}

impl ScopeTable {
    /// The built-in table: every Kubernetes kind and a few well-known custom resources.
    pub fn built_in() -> Self {
        let mut scopes = HashMap::new();
        for line in BUILT_IN_SCOPES.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            // The file is ours and checked by a test; a malformed line would be a build-time bug,
            // so it is skipped here rather than turned into a run-time error for users.
            if let [group, kind, scope] = fields[..] {
                let group = if group == "core" { "" } else { group };
                let scope = if scope == "cluster" { Scope::Cluster } else { Scope::Namespaced };
                scopes.insert((group.to_owned(), kind.to_owned()), scope);
            }
        }
        ScopeTable { scopes }
    }

    /// Records the scope of a kind, overriding the table (for kinds the caller knows about).
    pub fn insert(&mut self, group: &str, kind: &str, scope: Scope) {
        self.scopes.insert((group.to_owned(), kind.to_owned()), scope);
    }

    /// Adds the scopes declared by the CustomResourceDefinitions among `objects`, so that a
    /// cluster-scoped custom resource shipped with its CRD is recognised.
    pub fn learn_from_crds(&mut self, objects: &[Value]) {
        for object in objects {
            let is_crd = object.get_path(&["kind"]).and_then(Value::as_str)
                == Some("CustomResourceDefinition")
                && api_group(
                    object.get_path(&["apiVersion"]).and_then(Value::as_str).unwrap_or(""),
                ) == "apiextensions.k8s.io";
            if !is_crd {
                continue;
            }
            let group = object.get_path(&["spec", "group"]).and_then(Value::as_str);
            let kind = object.get_path(&["spec", "names", "kind"]).and_then(Value::as_str);
            let scope = match object.get_path(&["spec", "scope"]).and_then(Value::as_str) {
                Some("Cluster") => Scope::Cluster,
                Some("Namespaced") => Scope::Namespaced,
                _ => continue,
            };
            if let (Some(group), Some(kind)) = (group, kind) {
                self.insert(group, kind, scope);
            }
        }
    }

    /// The scope of `kind` in `api_version` (e.g. `apps/v1`, `v1`); unknown kinds are namespaced.
    pub fn scope_of(&self, api_version: &str, kind: &str) -> Scope {
        self.scopes
            .get(&(api_group(api_version).to_owned(), kind.to_owned()))
            .copied()
            .unwrap_or(Scope::Namespaced)
    }
}

/// The API group of an apiVersion: `apps/v1` → `apps`, `v1` → `` (core).
pub fn api_group(api_version: &str) -> &str {
    match api_version.rsplit_once('/') {
        Some((group, _version)) => group,
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_table_is_well_formed() {
        for line in BUILT_IN_SCOPES.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "{line}");
            assert!(matches!(fields[2], "cluster" | "namespaced"), "{line}");
        }
    }

    #[test]
    fn built_in_kinds_have_their_kubernetes_scope() {
        let table = ScopeTable::built_in();
        assert_eq!(table.scope_of("v1", "Namespace"), Scope::Cluster);
        assert_eq!(table.scope_of("v1", "Service"), Scope::Namespaced);
        assert_eq!(table.scope_of("apps/v1", "Deployment"), Scope::Namespaced);
        assert_eq!(table.scope_of("rbac.authorization.k8s.io/v1", "ClusterRole"), Scope::Cluster);
        assert_eq!(table.scope_of("networking.k8s.io/v1", "IngressClass"), Scope::Cluster);
        assert_eq!(table.scope_of("cert-manager.io/v1", "ClusterIssuer"), Scope::Cluster);
    }

    #[test]
    fn unknown_kinds_are_namespaced_unless_a_crd_in_the_render_says_otherwise() {
        let mut table = ScopeTable::built_in();
        assert_eq!(table.scope_of("example.com/v1", "Widget"), Scope::Namespaced);
        let mut names = kustomize::Map::new();
        names.insert("kind".into(), "Widget".into());
        let mut spec = kustomize::Map::new();
        spec.insert("group".into(), "example.com".into());
        spec.insert("scope".into(), "Cluster".into());
        spec.insert("names".into(), Value::Map(names));
        let mut crd = kustomize::Map::new();
        crd.insert("apiVersion".into(), "apiextensions.k8s.io/v1".into());
        crd.insert("kind".into(), "CustomResourceDefinition".into());
        crd.insert("spec".into(), Value::Map(spec));
        table.learn_from_crds(&[Value::Map(crd)]);
        assert_eq!(table.scope_of("example.com/v1alpha1", "Widget"), Scope::Cluster);
    }
}
