//! Labels and annotations: `commonLabels`, `labels` (with `includeSelectors`,
//! `includeTemplates`, `fields`) and `commonAnnotations`.
//!
//! Each pair is written at every path the field specs give (creating maps where a spec says
//! `create`), in key order, as kustomize's label and annotation filters do.

use crate::field_specs::{FieldSpec, Leaf, TransformerConfig, merge_specs, visit_all};
use crate::kustomization::LabelEntry;
use crate::resource::Resource;
use crate::value::Value;

/// Writes `pairs` into every field `specs` select, in every resource.
pub fn set_pairs(
    resources: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), String> {
    if pairs.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for resource in resources {
        for (key, value) in &sorted {
            visit_all(&mut resource.value, specs, Leaf::Map, &mut |node| match node {
                Value::Map(map) => {
                    map.insert(key.clone(), Value::String(value.clone()));
                    Ok(())
                }
                Value::Null => Ok(()),
                _ => Err(format!("cannot set '{key}': the field is not a mapping")),
            })?;
        }
    }
    Ok(())
}

/// The field specs one `labels` entry writes to (kustomize's label transformer configurator).
pub fn label_entry_specs(
    entry: &LabelEntry,
    config: &TransformerConfig,
) -> Result<Vec<FieldSpec>, String> {
    let mut specs = entry.fields.clone();
    merge_specs(&mut specs, &config.labels)?;
    if entry.include_selectors {
        merge_specs(&mut specs, &config.common_labels)?;
    } else {
        if entry.include_templates {
            merge_specs(&mut specs, &config.template_labels)?;
        }
        merge_specs(&mut specs, &[FieldSpec::any_kind("metadata/labels", true)])?;
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_document;

    #[test]
    fn common_labels_reach_selectors_and_templates() {
        let value = parse_document(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec: {}\n",
            "d.yaml",
        )
        .unwrap();
        let mut resources = vec![Resource::new(value, "d.yaml")];
        let config = TransformerConfig::builtin();
        set_pairs(&mut resources, &[("app".into(), "web".into())], &config.common_labels).unwrap();
        let object = &resources[0].value;
        for path in [
            &["metadata", "labels", "app"][..],
            &["spec", "selector", "matchLabels", "app"],
            &["spec", "template", "metadata", "labels", "app"],
        ] {
            assert_eq!(object.get_path(path), Some(&Value::from("web")), "{path:?}");
        }
    }

    #[test]
    fn plain_labels_entry_touches_metadata_only() {
        let entry = LabelEntry { pairs: vec![("a".into(), "b".into())], ..LabelEntry::default() };
        let specs = label_entry_specs(&entry, TransformerConfig::builtin()).unwrap();
        assert_eq!(specs, vec![FieldSpec::any_kind("metadata/labels", true)]);
    }
}
