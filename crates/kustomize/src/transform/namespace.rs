//! The `namespace` field: sets `metadata.namespace` on namespaced objects, the name of
//! `Namespace` objects, the namespace of (Cluster)RoleBinding subjects named `default`, and the
//! other places kustomize's namespace field specs list.

use std::collections::HashSet;

use crate::field_specs::{FieldSpec, Leaf, visit_all};
use crate::resource::Resource;
use crate::value::{Map, Value};

/// Moves every resource into `namespace`. Fails when two objects end up with the same id.
pub fn set_namespace(
    resources: &mut [Resource],
    namespace: &str,
    specs: &[FieldSpec],
) -> Result<(), String> {
    if namespace.is_empty() {
        return Ok(());
    }
    for resource in resources.iter_mut() {
        if resource.value.as_map().is_none_or(Map::is_empty) {
            continue;
        }
        resource.store_previous_id();
        let gvk = resource.gvk();
        let is_role_binding = matches!(gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding");
        // kustomize drops the metadata/namespace spec (handled below), renames objects only
        // for core `v1` (the Namespace kind), and handles binding subjects itself.
        let effective: Vec<FieldSpec> = specs
            .iter()
            .filter(|spec| spec.path != "metadata/namespace")
            .filter(|spec| resource.api_version() == "v1" || spec.path != "metadata/name")
            .filter(|spec| {
                !(is_role_binding
                    && matches!(spec.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
                    && spec.path == "subjects/namespace")
            })
            .cloned()
            .collect();
        let mut set = |node: &mut Value| {
            *node = Value::String(namespace.to_owned());
            Ok(())
        };
        if !gvk.is_cluster_scoped() {
            let spec = FieldSpec::any_kind("metadata/namespace", true);
            visit_all(&mut resource.value, &[spec], Leaf::Scalar, &mut set)?;
        }
        if is_role_binding {
            set_default_subjects(&mut resource.value, namespace);
        }
        visit_all(&mut resource.value, &effective, Leaf::Scalar, &mut |node| match node {
            Value::Map(_) | Value::Seq(_) => {
                Err("namespace field specs must target scalar nodes".into())
            }
            _ => set(node),
        })?;
    }
    let mut seen = HashSet::new();
    for resource in resources.iter() {
        let id = resource.id();
        let key = (id.gvk.clone(), id.name.clone(), id.effective_namespace().to_owned());
        if !seen.insert(key) {
            return Err(format!("namespace transformation produces ID conflict: {id}"));
        }
    }
    Ok(())
}

fn set_default_subjects(object: &mut Value, namespace: &str) {
    let Some(subjects) = object.get_path_mut(&["subjects"]).and_then(Value::as_seq_mut) else {
        return;
    };
    for subject in subjects.iter_mut().filter_map(Value::as_map_mut) {
        if subject.get("name").and_then(Value::as_str) == Some("default") {
            subject.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_specs::TransformerConfig;
    use crate::yaml::parse_documents;

    #[test]
    fn namespaces_objects_renames_namespace_and_default_subjects() {
        let docs = parse_documents(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: old\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb\n\
             subjects:\n- kind: ServiceAccount\n  name: default\n- kind: ServiceAccount\n  name: other\n",
            "x.yaml",
        )
        .unwrap();
        let mut resources: Vec<_> = docs.into_iter().map(|v| Resource::new(v, "x.yaml")).collect();
        set_namespace(&mut resources, "prod", &TransformerConfig::builtin().namespace).unwrap();
        assert_eq!(resources[0].name(), "prod");
        assert_eq!(resources[0].namespace(), "");
        assert_eq!(resources[1].namespace(), "prod");
        let subjects = resources[1].value.get_path(&["subjects"]).unwrap().as_seq().unwrap();
        assert_eq!(subjects[0].get_path(&["namespace"]), Some(&Value::from("prod")));
        assert_eq!(subjects[1].get_path(&["namespace"]), None);
        assert_eq!(resources[1].previous_ids[0].namespace, "default");
    }
}
