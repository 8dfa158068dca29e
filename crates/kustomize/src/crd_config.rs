//! Transformer tables derived from the OpenAPI definitions a kustomization lists under `crds`
//! (kustomize's `LoadConfigFromCRDs`).
//!
//! For every definition that looks like a Kubernetes type (it has `apiVersion`, `kind` and
//! `metadata` properties) the properties are walked, following `$ref`s: an
//! `x-kubernetes-annotation` property takes common annotations, `x-kubernetes-label-selector`
//! common labels, `x-kubernetes-identity` the name prefix, and an
//! `x-kubernetes-object-ref-kind` / `-api-version` pair makes the field a name reference to that
//! kind. The definition's kind is the last `.`-separated part of its name. Pure: definitions in,
//! tables out.

use crate::field_specs::{FieldSpec, NameBackReference, TransformerConfig};
use crate::resource::Gvk;
use crate::value::{Map, Value};

/// Refs are followed at most this deep (kustomize has no guard; a cyclic definition would
/// never finish there).
const MAX_DEPTH: usize = 32;

/// The tables one definitions document adds.
pub fn config_from_definitions(definitions: &Value) -> Result<TransformerConfig, String> {
    let definitions =
        definitions.as_map().ok_or("an OpenAPI definitions document must be a mapping")?;
    let mut result = TransformerConfig::default();
    for (name, definition) in definitions {
        let Some(properties) = properties_of(definition) else { continue };
        if !["kind", "apiVersion", "metadata"].iter().all(|key| properties.contains_key(*key)) {
            continue;
        }
        let kind = name.rsplit('.').next().unwrap_or(name);
        let gvk = Gvk { kind: kind.to_owned(), ..Gvk::default() };
        let mut config = TransformerConfig::default();
        walk(&mut config, &gvk, definitions, name, &mut Vec::new())?;
        result.merge(&config)?;
    }
    Ok(result)
}

fn properties_of(definition: &Value) -> Option<&Map> {
    definition.get_path(&["Schema", "properties"]).and_then(Value::as_map)
}

fn walk(
    config: &mut TransformerConfig,
    gvk: &Gvk,
    definitions: &Map,
    type_name: &str,
    path: &mut Vec<String>,
) -> Result<(), String> {
    if path.len() > MAX_DEPTH {
        return Err(format!("definition '{type_name}' refers to itself too deeply"));
    }
    let Some(properties) = definitions.get(type_name).and_then(properties_of) else {
        return Ok(());
    };
    for (property_name, property) in properties {
        let extension = |key: &str| property.get_path(&[key]).and_then(Value::as_str);
        path.push(property_name.clone());
        let spec = |segments: &[String]| FieldSpec {
            group: gvk.group.clone(),
            version: gvk.version.clone(),
            kind: gvk.kind.clone(),
            path: segments.join("/"),
            create: false,
        };
        if extension("x-kubernetes-annotation").is_some() {
            crate::field_specs::merge_specs(&mut config.common_annotations, &[spec(path)])?;
        }
        if extension("x-kubernetes-label-selector").is_some() {
            crate::field_specs::merge_specs(&mut config.common_labels, &[spec(path)])?;
        }
        if extension("x-kubernetes-identity").is_some() {
            crate::field_specs::merge_specs(&mut config.name_prefix, &[spec(path)])?;
        }
        if let (Some(version), Some(kind)) = (
            extension("x-kubernetes-object-ref-api-version"),
            extension("x-kubernetes-object-ref-kind"),
        ) {
            let name_key = extension("x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut segments = path.clone();
            segments.push(name_key.to_owned());
            let reference = NameBackReference {
                gvk: Gvk { version: version.to_owned(), kind: kind.to_owned(), ..Gvk::default() },
                referrers: vec![spec(&segments)],
            };
            let addition = TransformerConfig {
                name_reference: vec![reference],
                ..TransformerConfig::default()
            };
            config.merge(&addition)?;
        }
        if let Some(reference) = property.get_path(&["$ref"]).and_then(Value::as_str) {
            walk(config, gvk, definitions, reference, path)?;
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_references_become_name_references() {
        let definitions = crate::yaml::parse_document(
            r#"{
              "example.com/v1.Bee": {"Schema": {"properties": {
                "apiVersion": {}, "kind": {}, "metadata": {},
                "spec": {"$ref": "example.com/v1.BeeSpec"}}}},
              "example.com/v1.BeeSpec": {"Schema": {"properties": {
                "secretRef": {"x-kubernetes-object-ref-api-version": "v1",
                              "x-kubernetes-object-ref-kind": "Secret"}}}}
            }"#,
            "crd.json",
        )
        .unwrap();
        let config = config_from_definitions(&definitions).unwrap();
        let secret = config.name_reference.iter().find(|r| r.gvk.kind == "Secret").unwrap();
        assert_eq!(secret.referrers[0].kind, "Bee");
        assert_eq!(secret.referrers[0].path, "spec/secretRef/name");
    }
}
