//! `namePrefix` and `nameSuffix`: prepend or append to names at the field specs' paths.
//!
//! As kustomize, CRDs, APIServices and Namespaces keep their names, and a resource remembers
//! the affixes applied to it (name-reference fix-up compares them) and its previous id.

use crate::field_specs::{FieldSpec, Leaf, visit};
use crate::resource::Resource;
use crate::value::Value;

/// Prefix or suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affix {
    Prefix,
    Suffix,
}

fn keeps_its_name(resource: &Resource) -> bool {
    let gvk = resource.original_id().gvk;
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// Applies `text` as a prefix or suffix to every resource.
pub fn add_affix(
    resources: &mut [Resource],
    affix: Affix,
    text: &str,
    specs: &[FieldSpec],
) -> Result<(), String> {
    for resource in resources.iter_mut() {
        if keeps_its_name(resource) {
            continue;
        }
        let original_gvk = resource.original_id().gvk;
        for spec in specs.iter().filter(|spec| spec.selects(&original_gvk)) {
            if spec.path == "metadata/name" && !text.is_empty() {
                match affix {
                    Affix::Prefix => resource.prefixes.push(text.to_owned()),
                    Affix::Suffix => resource.suffixes.push(text.to_owned()),
                }
                resource.store_previous_id();
            }
            if !spec.selects(&resource.gvk()) {
                continue;
            }
            visit(&mut resource.value, spec, Leaf::Existing, &mut |node| {
                if let Value::String(name) = node {
                    *name = match affix {
                        Affix::Prefix => format!("{text}{name}"),
                        Affix::Suffix => format!("{name}{text}"),
                    };
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_specs::TransformerConfig;
    use crate::yaml::parse_documents;

    #[test]
    fn prefixes_names_but_not_namespaces_or_crds_and_remembers_them() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\n\
                    apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\n\
                    apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n";
        let mut list: Vec<Resource> = parse_documents(text, "x.yaml")
            .unwrap()
            .into_iter()
            .map(|v| Resource::new(v, "x.yaml"))
            .collect();
        let specs = &TransformerConfig::builtin().name_prefix;
        add_affix(&mut list, Affix::Prefix, "dev-", specs).unwrap();
        add_affix(&mut list, Affix::Suffix, "-v2", &TransformerConfig::builtin().name_suffix)
            .unwrap();
        let names: Vec<&str> = list.iter().map(Resource::name).collect();
        assert_eq!(names, vec!["dev-web-v2", "ns", "widgets.example.com"]);
        assert_eq!(list[0].prefixes, vec!["dev-"]);
        assert_eq!(list[0].suffixes, vec!["-v2"]);
        assert_eq!(list[0].original_id().name, "web");
    }
}
