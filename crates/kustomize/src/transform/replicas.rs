//! `replicas`: sets the replica count of the named workloads.

use crate::field_specs::{FieldSpec, Leaf, visit};
use crate::kustomization::ReplicaEntry;
use crate::resource::Resource;
use crate::value::Value;

/// Sets `entry.count` on every resource named `entry.name` (by current or previous name) whose
/// kind a replicas field spec selects; it is an error when none matches, as in kustomize.
pub fn set_replicas(
    resources: &mut [Resource],
    entry: &ReplicaEntry,
    specs: &[FieldSpec],
) -> Result<(), String> {
    let mut found = false;
    for spec in specs {
        for resource in resources.iter_mut() {
            let matches = std::iter::once(resource.id())
                .chain(resource.previous_ids.iter().cloned())
                .any(|id| id.name == entry.name && spec.selects(&id.gvk));
            if !matches {
                continue;
            }
            found = true;
            if !spec.selects(&resource.gvk()) {
                continue;
            }
            visit(&mut resource.value, spec, Leaf::Scalar, &mut |node| {
                *node = Value::Int(entry.count);
                Ok(())
            })?;
        }
    }
    if !found {
        let kinds: Vec<String> = specs
            .iter()
            .map(|spec| crate::resource::Gvk {
                group: spec.group.clone(),
                version: spec.version.clone(),
                kind: spec.kind.clone(),
            })
            .map(|gvk| gvk.to_string())
            .collect();
        return Err(format!(
            "resource with name {} does not match a config with the following GVK [{}]",
            entry.name,
            kinds.join(" ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_specs::TransformerConfig;
    use crate::yaml::parse_document;

    #[test]
    fn sets_count_on_named_workloads_and_fails_when_none_matches() {
        let value = parse_document(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
            "d.yaml",
        )
        .unwrap();
        let mut list = vec![Resource::new(value, "d.yaml")];
        let specs = &TransformerConfig::builtin().replicas;
        set_replicas(&mut list, &ReplicaEntry { name: "web".into(), count: 3 }, specs).unwrap();
        assert_eq!(list[0].value.get_path(&["spec", "replicas"]), Some(&Value::Int(3)));
        assert!(
            set_replicas(&mut list, &ReplicaEntry { name: "other".into(), count: 1 }, specs)
                .is_err()
        );
    }
}
