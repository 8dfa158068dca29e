//! Legacy `vars:`: `$(NAME)` references in selected fields replaced by a field of another
//! resource, as kustomize v5.5 resolves them after name references.
//!
//! This module owns reading var definitions, reading a var's value from its resource, the
//! `$(NAME)` expansion (kustomize's rules: `$$` escapes, unknown names stay as written, a field
//! that is exactly `$(NAME)` takes the value's type) and walking the `varReference` field specs
//! (kustomize's table in `data/builtin-field-specs.yaml`, extendable by `configurations:`).
//! Which resource a var is bound to is decided by the pipeline (it tracks ids across levels).

use std::collections::{BTreeSet, HashMap};

use crate::field_specs::FieldSpec;
use crate::patch::entry_fields::EntryFields;
use crate::patch::selector::split_api_version;
use crate::transform::replacements::split_path;
use crate::value::Value;

/// Why vars could not be read or resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VarError {
    #[error("invalid var: {reason}")]
    Invalid { reason: String },
    #[error("var '{name}' already encountered")]
    Duplicate { name: String },
    #[error("var '{name}' cannot be mapped to a field in the set of known resources")]
    Unbound { name: String },
    #[error("field specified in var '{name}' not found in corresponding resource")]
    MissingField { name: String },
    #[error("considering field '{path}' of object {object}: {reason}")]
    Field { path: String, object: String, reason: String },
}

/// One `vars:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarDefinition {
    pub name: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    pub object_name: String,
    pub namespace: String,
    pub field_path: String,
}

fn invalid(reason: impl Into<String>) -> VarError {
    VarError::Invalid { reason: reason.into() }
}

/// The fields of a (possibly absent) map inside a var entry, unknown keys refused.
fn entry_fields<'a>(
    value: Option<&'a Value>,
    known: &[&str],
    what: &str,
) -> Result<Option<EntryFields<'a>>, VarError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Map(map)) => EntryFields::new(map, known, true)
            .map(Some)
            .map_err(|reason| invalid(format!("{what}: {reason}"))),
        Some(_) => Err(invalid(format!("{what} must be a map"))),
    }
}

impl VarDefinition {
    /// Reads `{name, objref: {apiVersion, kind, name, namespace}, fieldref: {fieldpath}}`.
    /// Unknown fields are refused, as kustomize refuses them in a kustomization.
    pub fn from_value(value: &Value) -> Result<VarDefinition, VarError> {
        let entry = entry_fields(Some(value), &["name", "objref", "fieldref"], "a var")?;
        let text = |fields: &Option<EntryFields<'_>>, name: &str| -> Result<String, VarError> {
            fields.as_ref().map_or(Ok(String::new()), |f| f.text(name).map_err(invalid))
        };
        let name = text(&entry, "name")?;
        if name.is_empty() {
            return Err(invalid("a var needs a name"));
        }
        let get = |name: &str| entry.as_ref().and_then(|f| f.get(name));
        let objref_known = ["apiVersion", "group", "version", "kind", "name", "namespace"];
        let objref = entry_fields(get("objref"), &objref_known, "objref")?;
        let field = |key: &str| text(&objref, key);
        let fieldref = entry_fields(get("fieldref"), &["fieldPath"], "fieldref")?;
        let field_path = text(&fieldref, "fieldPath")?;
        // `apiVersion` wins over inline `group`/`version`, as in kustomize's `Target.GVK()`.
        let api_version = field("apiVersion")?;
        let (group, version) = if api_version.is_empty() {
            (field("group")?, field("version")?)
        } else {
            let (group, version) = split_api_version(&api_version);
            (group.to_owned(), version.to_owned())
        };
        Ok(VarDefinition {
            name,
            group,
            version,
            kind: field("kind")?,
            object_name: field("name")?,
            namespace: field("namespace")?,
            field_path: if field_path.is_empty() { "metadata.name".to_owned() } else { field_path },
        })
    }

    /// Whether a resource with this (current or previous) id is the var's object, by
    /// kustomize's rule: group, version, kind and name equal, and the namespace too when the var
    /// names one.
    pub fn refers_to(&self, api_version: &str, kind: &str, name: &str, namespace: &str) -> bool {
        let (their_group, their_version) = split_api_version(api_version);
        let same_gvkn = self.group == their_group
            && self.version == their_version
            && self.kind == kind
            && self.object_name == name;
        if !same_gvkn {
            return false;
        }
        let gvk = crate::resource::Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        };
        let cluster_scoped = gvk.is_cluster_scoped();
        if self.namespace.is_empty() && !cluster_scoped {
            return true;
        }
        let effective = |ns: &str| if ns.is_empty() { "default".to_owned() } else { ns.to_owned() };
        cluster_scoped || effective(&self.namespace) == effective(namespace)
    }
}

/// Checks that no var name is defined twice (kustomize merges var sets level by level and
/// refuses duplicates).
pub fn check_unique(vars: &[VarDefinition]) -> Result<(), VarError> {
    let mut seen = BTreeSet::new();
    for var in vars {
        if !seen.insert(var.name.as_str()) {
            return Err(VarError::Duplicate { name: var.name.clone() });
        }
    }
    Ok(())
}

/// Reads a var's value from the resource it is bound to.
pub fn var_value(var: &VarDefinition, resource: &Value) -> Result<Value, VarError> {
    let mut node = resource;
    for part in split_path(&var.field_path) {
        // `containers[0]` is `containers.0` here, as in kyaml's GetFieldValue.
        let (field, index) = match part.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
            Some((field, index)) if index.parse::<usize>().is_ok() => {
                (field.to_owned(), Some(index.to_owned()))
            }
            _ => (part.clone(), None),
        };
        for step in std::iter::once(field).filter(|f| !f.is_empty()).chain(index) {
            node = match (node, step.parse::<usize>()) {
                (Value::Seq(items), Ok(index)) => items.get(index),
                (Value::Map(map), _) => map.get(&step),
                _ => None,
            }
            .ok_or_else(|| VarError::MissingField { name: var.name.clone() })?;
        }
    }
    Ok(node.clone())
}

/// Replaces `$(NAME)` references in every resource's `specs` fields. `values` maps var names to
/// values; returns the names that were used.
pub fn substitute(
    resources: &mut [Value],
    values: &HashMap<String, Value>,
    specs: &[FieldSpec],
) -> Result<BTreeSet<String>, VarError> {
    let mut used = BTreeSet::new();
    for resource in resources.iter_mut() {
        let api_version =
            resource.get_path(&["apiVersion"]).and_then(Value::as_str).unwrap_or("").to_owned();
        let kind = resource.get_path(&["kind"]).and_then(Value::as_str).unwrap_or("").to_owned();
        let (group, version) = split_api_version(&api_version);
        for spec in specs {
            let applies =
                [(&spec.kind, kind.as_str()), (&spec.group, group), (&spec.version, version)]
                    .into_iter()
                    .all(|(wanted, actual)| wanted.is_empty() || wanted == actual);
            if !applies {
                continue;
            }
            let segments: Vec<&str> = spec.path.split('/').collect();
            let object = || {
                let name = resource_name(resource);
                format!("{kind} {name}")
            };
            let object = object();
            walk(resource, &segments, &mut |field| expand_field(field, values, &mut used))
                .map_err(|reason| VarError::Field {
                    path: spec.path.clone(),
                    object: object.clone(),
                    reason,
                })?;
        }
    }
    Ok(used)
}

fn resource_name(resource: &Value) -> String {
    resource.get_path(&["metadata", "name"]).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// kustomize's field-spec walk without creation: lists are entered element by element.
fn walk(
    node: &mut Value,
    path: &[&str],
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else { return set(node) };
    match node {
        Value::Null => Ok(()),
        Value::Seq(items) => items.iter_mut().try_for_each(|item| walk(item, path, set)),
        Value::Map(map) => {
            let name = first.strip_suffix("[]").unwrap_or(first);
            match map.get_mut(name) {
                Some(child) => walk(child, rest, set),
                None => Ok(()),
            }
        }
        _ => Err("expected sequence or mapping node".to_owned()),
    }
}

fn expand_field(
    field: &mut Value,
    values: &HashMap<String, Value>,
    used: &mut BTreeSet<String>,
) -> Result<(), String> {
    match field {
        Value::Null => Ok(()),
        Value::String(text) => {
            *field = expand(text, values, used);
            Ok(())
        }
        Value::Map(map) => {
            for value in map.values_mut() {
                if let Value::String(text) = value {
                    *value = expand(text, values, used);
                }
            }
            Ok(())
        }
        Value::Seq(items) => {
            for item in items.iter_mut() {
                let Value::String(text) = item else {
                    return Err("invalid value type expect a string".into());
                };
                *item = expand(text, values, used);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A var's value as text inside a longer string (Go's `%v`).
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Float(f) => crate::patch::strategic_merge::scalar_text(&Value::Float(*f)),
        Value::Null | Value::Map(_) | Value::Seq(_) => String::new(),
    }
}

/// Expands `$(NAME)` in `input` (kustomize's `DoReplacements`).
pub fn expand(input: &str, values: &HashMap<String, Value>, used: &mut BTreeSet<String>) -> Value {
    // Only primitive values replace; anything else leaves the reference as written.
    let lookup = |name: &str, used: &mut BTreeSet<String>| -> Option<Value> {
        let value = values.get(name)?;
        if matches!(value, Value::Map(_) | Value::Seq(_) | Value::Null) {
            return None;
        }
        used.insert(name.to_owned());
        Some(value.clone())
    };
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < bytes.len() {
        if bytes[cursor] == b'$' && cursor + 1 < bytes.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance;
            match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    advance = 1;
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        let mapped = lookup(name, used);
                        if input.len() == name.len() + 3 && cursor == 0 {
                            return mapped.unwrap_or_else(|| Value::String(input.to_owned()));
                        }
                        match mapped {
                            Some(value) => out.push_str(&display(&value)),
                            None => {
                                out.push_str("$(");
                                out.push_str(name);
                                out.push(')');
                            }
                        }
                        advance = close + 1;
                    }
                    None => {
                        out.push_str("$(");
                        advance = 1;
                    }
                },
                _ => {
                    out.push('$');
                    let ch = rest.chars().next().expect("non-empty");
                    out.push(ch);
                    advance = ch.len_utf8();
                }
            }
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.push_str(&input[checkpoint.min(input.len())..]);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    fn values() -> HashMap<String, Value> {
        HashMap::from([("SVC".to_owned(), s("prod-web")), ("PORT".to_owned(), Value::Int(8080))])
    }

    #[test]
    fn expansion_follows_kustomize_rules() {
        let mut used = BTreeSet::new();
        assert_eq!(
            expand("http://$(SVC):$(PORT)/", &values(), &mut used),
            s("http://prod-web:8080/")
        );
        assert_eq!(expand("$(PORT)", &values(), &mut used), Value::Int(8080));
        assert_eq!(
            expand("$(MISSING) and $$(SVC)", &values(), &mut used),
            s("$(MISSING) and $(SVC)")
        );
        assert_eq!(expand("cost $5 $(", &values(), &mut used), s("cost $5 $("));
        assert_eq!(used, BTreeSet::from(["PORT".to_owned(), "SVC".to_owned()]));
    }

    #[test]
    fn substitutes_in_var_reference_fields_only() {
        let container = Value::Map(
            [
                ("name".to_owned(), s("c")),
                ("args".to_owned(), Value::Seq(vec![s("--svc=$(SVC)")])),
                ("image".to_owned(), s("$(SVC)")),
            ]
            .into_iter()
            .collect(),
        );
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {}}}\n";
        let mut deployment = crate::yaml::parse_document(yaml, "test").expect("parses");
        let spec = deployment
            .get_path_mut(&["spec", "template", "spec"])
            .and_then(Value::as_map_mut)
            .expect("spec");
        spec.insert("containers".into(), Value::Seq(vec![container]));
        let mut resources = vec![deployment];
        let used = substitute(
            &mut resources,
            &values(),
            &crate::field_specs::TransformerConfig::builtin().var_reference,
        )
        .expect("substitutes");
        let container = &resources[0]
            .get_path(&["spec", "template", "spec", "containers"])
            .unwrap()
            .as_seq()
            .unwrap()[0];
        assert_eq!(container.get_path(&["args"]), Some(&Value::Seq(vec![s("--svc=prod-web")])));
        assert_eq!(container.get_path(&["image"]), Some(&s("$(SVC)")));
        assert!(used.contains("SVC"));
    }

    #[test]
    fn definitions_values_and_binding() {
        let yaml = "name: SVC\nobjref: {kind: Service, name: web, apiVersion: v1}\nfieldref:\n  fieldpath: spec.ports[0].port\n";
        let var = VarDefinition::from_value(&crate::yaml::parse_document(yaml, "test").unwrap())
            .expect("valid");
        assert!(var.refers_to("v1", "Service", "web", "anything"));
        assert!(!var.refers_to("v1", "Service", "other", ""));
        let service = crate::yaml::parse_document("spec: {ports: [{port: 80}]}", "test").unwrap();
        assert_eq!(var_value(&var, &service), Ok(Value::Int(80)));
        assert!(matches!(var_value(&var, &Value::Null), Err(VarError::MissingField { .. })));
        assert!(matches!(check_unique(&[var.clone(), var]), Err(VarError::Duplicate { .. })));
    }
}
