//! Strategic merge patches, exactly as kustomize v5 applies them (kyaml's `merge2` walker with
//! its list-prepend option), driven by Kubernetes' schema metadata from `kube_schema`.
//!
//! This module owns the merge of one patch document into one resource; choosing targets and
//! keeping resource ids belongs to the caller (`patch::apply`). It reproduces kyaml's behaviour,
//! quirks included, because byte parity with `kustomize build` is the goal:
//! - maps merge key by key; `null` in the patch deletes a key; `$patch: delete|replace|merge` on a
//!   map deletes, replaces or merges it;
//! - a list merges element-wise only when the schema gives it a `merge` patch strategy (keys from
//!   `x-kubernetes-list-map-keys`, else `x-kubernetes-patch-merge-key`; none = a set of
//!   primitives); any other list, and every list of a kind without a schema (CRDs), is replaced;
//! - merged lists put the patch's elements first, then the target's remaining ones;
//! - a `{$patch: delete|replace|merge}` element directs the whole list; `$patch: delete` on an
//!   element removes it; `$patch: replace` on an element is a no-op in kyaml, and so here;
//! - `$setElementOrder/…`, `$retainKeys` and `$deleteFromPrimitiveList/…` are not directives in
//!   kustomize (only in the API server's implementation): they are merged as ordinary keys, which
//!   is what `kustomize build` prints, so we do the same.

use crate::kube_schema::{KubeSchema, SchemaNode};
use crate::value::{Map, Value};

const DIRECTIVE: &str = "$patch";

/// Why a strategic merge patch could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmpError {
    #[error("unknown patch strategy '{value}'")]
    UnknownDirective { value: String },
    #[error("wrong node kind at {path}: expected {expected} but got {actual}")]
    KindMismatch { path: String, expected: &'static str, actual: &'static str },
}

/// Whether a strategic merge patch may rename or re-kind its target (kustomize's
/// `options.allowNameChange` / `allowKindChange`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmpOptions {
    pub allow_name_change: bool,
    pub allow_kind_change: bool,
}

/// Applies `patch` to the resource `target`. `Ok(None)` means the patch deleted the resource
/// (`$patch: delete` at the top). Name, kind and namespace are kept unless `options` allow the
/// change, as kustomize's `Resource.ApplySmPatch` does.
pub fn apply_to_resource(
    target: &Value,
    patch: &Value,
    options: SmpOptions,
) -> Result<Option<Value>, SmpError> {
    let api_version = target.get_path(&["apiVersion"]).and_then(Value::as_str).unwrap_or_default();
    let kind = target.get_path(&["kind"]).and_then(Value::as_str).unwrap_or_default();
    let schema = KubeSchema::get().for_resource(api_version, kind);
    let name = target.get_path(&["metadata", "name"]).cloned();
    let namespace = target.get_path(&["metadata", "namespace"]).cloned();
    let original_kind = target.get_path(&["kind"]).cloned();

    let merged = merge(target, patch, schema)?;
    let Some(mut merged) = merged else { return Ok(None) };
    if merged.as_map().is_none_or(Map::is_empty) {
        return Ok(None);
    }
    if !options.allow_kind_change {
        set_or_clear(&mut merged, &["kind"], original_kind);
    }
    if !options.allow_name_change {
        set_or_clear(&mut merged, &["metadata", "name"], name);
    }
    set_or_clear(
        &mut merged,
        &["metadata", "namespace"],
        namespace.filter(|ns| ns.as_str() != Some("")),
    );
    Ok(Some(merged))
}

fn set_or_clear(resource: &mut Value, path: &[&str], value: Option<Value>) {
    let (last, parents) = path.split_last().expect("non-empty path");
    match value {
        Some(value) => {
            let mut node = resource;
            for key in parents {
                let Some(map) = node.as_map_mut() else { return };
                node = map.entry((*key).to_owned()).or_insert_with(|| Value::Map(Map::new()));
            }
            if let Some(map) = node.as_map_mut() {
                map.insert((*last).to_owned(), value);
            }
        }
        None => {
            if let Some(map) = resource.get_path_mut(parents).and_then(Value::as_map_mut) {
                map.shift_remove(*last);
            }
        }
    }
}

/// Merges `patch` into `target` under `schema` (None: no schema, as for CRDs). `Ok(None)` means
/// the result is deleted.
pub fn merge(
    target: &Value,
    patch: &Value,
    schema: Option<SchemaNode<'_>>,
) -> Result<Option<Value>, SmpError> {
    let mut walker = Walker { path: Vec::new() };
    Ok(walker.walk(Some(target.clone()), Some(patch.clone()), schema)?.value)
}

/// The result of walking one node: the value (None = clear the field) and whether it is the
/// target's node, merged in place — kyaml mutates the target's node and lists rely on that.
struct Walked {
    value: Option<Value>,
    is_target: bool,
}

impl Walked {
    fn target(value: Option<Value>) -> Walked {
        Walked { value, is_target: true }
    }
    fn patch(value: Option<Value>) -> Walked {
        // A null taken from the patch clears the field it lands in.
        Walked { value: value.filter(|v| !matches!(v, Value::Null)), is_target: false }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NodeKind {
    Map,
    Seq,
    Scalar,
}

fn node_kind(value: &Value) -> Option<NodeKind> {
    match value {
        Value::Null => None,
        Value::Map(_) => Some(NodeKind::Map),
        Value::Seq(_) => Some(NodeKind::Seq),
        _ => Some(NodeKind::Scalar),
    }
}

fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Map => "MappingNode",
        NodeKind::Seq => "SequenceNode",
        NodeKind::Scalar => "ScalarNode",
    }
}

fn is_null(value: &Option<Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

fn is_empty_map(value: &Value) -> bool {
    matches!(value, Value::Map(map) if map.is_empty())
}

/// The text of a scalar as kyaml compares it (`yaml.Node.Value`); collections have none.
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::String(s) => s.clone(),
        Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

fn parse_directive(text: &str) -> Result<Directive, SmpError> {
    match text {
        "delete" => Ok(Directive::Delete),
        "replace" => Ok(Directive::Replace),
        "merge" => Ok(Directive::Merge),
        other => Err(SmpError::UnknownDirective { value: other.to_owned() }),
    }
}

/// Reads and removes a map's `$patch` key.
fn take_map_directive(patch: &mut Option<Value>) -> Result<Directive, SmpError> {
    let Some(Value::Map(map)) = patch else { return Ok(Directive::Merge) };
    let Some(value) = map.get(DIRECTIVE) else { return Ok(Directive::Merge) };
    let directive = parse_directive(&scalar_text(value))?;
    map.shift_remove(DIRECTIVE);
    Ok(directive)
}

/// Reads a list's `{$patch: ...}` element and removes it (kyaml removes every element carrying
/// that same directive, and drops null and empty-map elements on the way).
fn take_list_directive(patch: &mut Option<Value>) -> Result<Directive, SmpError> {
    let Some(Value::Seq(items)) = patch else { return Ok(Directive::Merge) };
    let Some(element) =
        items.iter().find(|item| item.as_map().is_some_and(|m| m.contains_key(DIRECTIVE)))
    else {
        return Ok(Directive::Merge);
    };
    let map = element.as_map().expect("found a map");
    if map.len() > 1 {
        return Ok(Directive::Merge);
    }
    let text = scalar_text(&map[DIRECTIVE]);
    let directive = parse_directive(&text)?;
    element_setter(items, None, &[DIRECTIVE.to_owned()], &[text]);
    Ok(directive)
}

struct Walker {
    path: Vec<String>,
}

impl Walker {
    fn walk(
        &mut self,
        target: Option<Value>,
        patch: Option<Value>,
        schema: Option<SchemaNode<'_>>,
    ) -> Result<Walked, SmpError> {
        let kind = [&target, &patch].into_iter().flatten().find_map(node_kind);
        if let Some(kind) = kind {
            for value in [&target, &patch].into_iter().flatten() {
                if let Some(actual) = node_kind(value).filter(|actual| *actual != kind) {
                    return Err(SmpError::KindMismatch {
                        path: self.path.join("."),
                        expected: kind_name(kind),
                        actual: kind_name(actual),
                    });
                }
            }
        }
        match kind {
            None | Some(NodeKind::Map) => self.walk_map(target, patch, schema),
            Some(NodeKind::Seq) => {
                let merges = schema.and_then(SchemaNode::list_strategy).is_some_and(|s| s.merges());
                if merges {
                    self.walk_associative_list(target, patch, schema)
                } else if patch.is_some() {
                    Ok(Walked::patch(patch))
                } else {
                    Ok(Walked::target(target))
                }
            }
            Some(NodeKind::Scalar) => {
                if patch.is_some() {
                    Ok(Walked::patch(patch))
                } else {
                    Ok(Walked::target(target))
                }
            }
        }
    }

    fn walk_map(
        &mut self,
        target: Option<Value>,
        mut patch: Option<Value>,
        schema: Option<SchemaNode<'_>>,
    ) -> Result<Walked, SmpError> {
        let (base, is_target) = if is_null(&target) {
            // Errors are ignored here, as kyaml does for content the target lacks.
            if take_map_directive(&mut patch).unwrap_or(Directive::Merge) == Directive::Delete {
                return Ok(Walked::patch(None));
            }
            if patch.is_none() && target.is_some() {
                // An explicit null in the target survives a patch that does not mention it.
                return Ok(Walked::target(target));
            }
            (patch.clone(), false)
        } else if matches!(patch, Some(Value::Null)) {
            return Ok(Walked::patch(None));
        } else {
            match take_map_directive(&mut patch)? {
                Directive::Delete => return Ok(Walked::patch(None)),
                Directive::Replace => (patch.clone(), false),
                Directive::Merge => (target, true),
            }
        };
        let Some(Value::Map(mut base_map)) = base else {
            return Ok(Walked { value: base.filter(|v| !matches!(v, Value::Null)), is_target });
        };
        let patch_map = match patch {
            Some(Value::Map(map)) => map,
            _ => Map::new(),
        };
        let mut names: Vec<String> = base_map.keys().chain(patch_map.keys()).cloned().collect();
        names.sort();
        names.dedup();
        let mut patch_map = patch_map;
        for name in names {
            let field_schema = schema.and_then(|s| s.field(&name));
            let field_target = base_map.get(&name).cloned();
            let field_patch = patch_map.shift_remove(&name);
            self.path.push(name.clone());
            let walked = self.walk(field_target, field_patch, field_schema)?;
            self.path.pop();
            match walked.value {
                Some(value) => {
                    base_map.insert(name, value);
                }
                None => {
                    base_map.shift_remove(&name);
                }
            }
        }
        Ok(Walked { value: Some(Value::Map(base_map)), is_target })
    }

    fn walk_associative_list(
        &mut self,
        target: Option<Value>,
        mut patch: Option<Value>,
        schema: Option<SchemaNode<'_>>,
    ) -> Result<Walked, SmpError> {
        // kyaml walks the two sources in this order: [target, patch]; `replace` and a missing
        // target make the patch both.
        let (mut dest, patch, is_target) = if is_null(&target) {
            (patch.clone(), patch, false)
        } else if matches!(patch, Some(Value::Null)) {
            return Ok(Walked::patch(None));
        } else {
            match take_list_directive(&mut patch)? {
                Directive::Delete => return Ok(Walked::patch(None)),
                Directive::Replace => (patch.clone(), patch, false),
                Directive::Merge => (target, patch, true),
            }
        };
        let dest_is_patch = !is_target;
        let Some(Value::Seq(dest_items)) = dest.as_mut() else {
            return Ok(Walked { value: dest.filter(|v| !matches!(v, Value::Null)), is_target });
        };
        let patch_items: Vec<Value> = match &patch {
            Some(Value::Seq(items)) => items.clone(),
            _ => Vec::new(),
        };
        let keys: Vec<String> =
            schema.and_then(SchemaNode::list_strategy).map(|s| s.keys.clone()).unwrap_or_default();
        let element_schema = schema.and_then(SchemaNode::elements);

        // Patch first, then target: kustomize merges with ListIncreaseDirection = prepend.
        let mut values_list: Vec<Vec<String>> = Vec::new();
        let (keys, primitive) =
            if keys.is_empty() { (vec![String::new()], true) } else { (keys, false) };
        for item in patch_items.iter().chain(dest_items.iter()) {
            let values = if primitive {
                vec![scalar_text(item)]
            } else {
                keys.iter().map(|key| element_key_text(item, key)).collect()
            };
            if !values_list.contains(&values) {
                values_list.push(values);
            }
        }
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }

        let mut items_to_add: Vec<Value> = Vec::new();
        let mut valid_keys: Vec<String> = keys.clone();
        for values in &values_list {
            let (vk, vv) = validate_keys(&values_list, values, &keys);
            valid_keys = vk;
            let valid_values = vv;
            let (match_keys, match_values) =
                validate_keys(std::slice::from_ref(&valid_values), &valid_values, &valid_keys);
            let dest_index = element_index(dest_items, &match_keys, &match_values);
            // When the list is the patch's own (no target list, or `$patch: replace`), kyaml's
            // two sources are one node: removals and in-place merges show on both sides.
            let patch_element = if dest_is_patch {
                dest_index.map(|i| dest_items[i].clone())
            } else {
                element_index(&patch_items, &match_keys, &match_values)
                    .map(|i| patch_items[i].clone())
            };
            let dest_element = dest_index.map(|i| dest_items[i].clone());
            let walked = self.walk(dest_element, patch_element, element_schema)?;
            if (walked.is_target || dest_is_patch)
                && let (Some(index), Some(value)) = (dest_index, &walked.value)
            {
                dest_items[index] = value.clone();
            }
            let Some(mut value) = walked.value.filter(|v| !is_empty_map(v)) else {
                element_setter(dest_items, None, &valid_keys, &valid_values);
                continue;
            };
            if let Value::Map(map) = &mut value {
                for (key, key_value) in valid_keys.iter().zip(&valid_values) {
                    if !key.is_empty() && !map.contains_key(key) && !key_value.is_empty() {
                        map.insert(key.clone(), Value::String(key_value.clone()));
                    }
                }
            }
            element_setter(&mut items_to_add, Some(value), &valid_keys, &valid_values);
        }
        if !values_list.is_empty() {
            let keys = if valid_keys.is_empty() { vec![String::new()] } else { valid_keys };
            append_list(&mut items_to_add, dest_items, &keys);
            *dest_items = items_to_add;
        }
        Ok(Walked { value: dest, is_target })
    }
}

/// The text of an element's key field, "" when absent, null or empty (kyaml's
/// `ElementValuesList`).
fn element_key_text(item: &Value, key: &str) -> String {
    match item.as_map().and_then(|m| m.get(key)) {
        None | Some(Value::Null) => String::new(),
        Some(Value::Map(m)) if m.is_empty() => String::new(),
        Some(Value::Seq(s)) if s.is_empty() => String::new(),
        Some(value) => scalar_text(value),
    }
}

/// kyaml's `mergeValues`: key tuples that agree where both are set are unified.
fn merge_values(values_list: &mut [Vec<String>]) {
    for i in 0..values_list.len() {
        for j in 0..values_list.len() {
            if let Some(merged) = match_values(&values_list[i], &values_list[j]) {
                values_list[i] = merged.clone();
                values_list[j] = merged;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut result = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            result.push(x.clone());
            continue;
        }
        if !x.is_empty() && !y.is_empty() {
            return None;
        }
        result.push(if x.is_empty() { y.clone() } else { x.clone() });
    }
    common.then_some(result)
}

/// kyaml's `validateKeys`: only the keys some element sets take part in matching.
fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let valid: Vec<bool> = (0..keys.len())
        .map(|i| values_list.iter().any(|values| values.get(i).is_some_and(|v| !v.is_empty())))
        .collect();
    if !valid.iter().any(|v| *v) {
        return (keys.to_vec(), values.to_vec());
    }
    let valid_keys = keys.iter().zip(&valid).filter(|(_, v)| **v).map(|(k, _)| k.clone()).collect();
    let valid_values = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || valid.get(*i).copied().unwrap_or(false))
        .map(|(_, v)| v.clone())
        .collect();
    (valid_keys, valid_values)
}

/// kyaml's `FieldMatcher{Name, StringValue}`: an empty value matches any value of a present field.
fn field_matches(element: &Value, key: &str, value: &str) -> bool {
    if key.is_empty() {
        return node_kind(element) != Some(NodeKind::Map)
            && node_kind(element) != Some(NodeKind::Seq)
            && scalar_text(element) == value;
    }
    match element.as_map().and_then(|m| m.get(key)) {
        None => false,
        Some(field) => value.is_empty() || scalar_text(field) == value,
    }
}

/// kyaml's `ElementMatcher` (with `MatchField`): the first element whose key fields hold exactly
/// these texts.
fn element_index(items: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.is_empty() || keys[0].is_empty() {
        let wanted = values.first().map(String::as_str).unwrap_or("");
        return items.iter().position(|item| {
            scalar_text(item) == wanted && !matches!(item, Value::Map(_) | Value::Seq(_))
        });
    }
    if keys.len() != values.len() {
        return None;
    }
    // `MatchField` compares the text exactly: unlike `field_matches`, an empty value only
    // matches a field whose text is empty.
    items.iter().position(|item| {
        item.as_map().is_some_and(|map| {
            keys.iter()
                .zip(values)
                .all(|(key, value)| map.get(key).is_some_and(|field| scalar_text(field) == *value))
        })
    })
}

/// kyaml's `ElementSetter`: replaces the elements matching `keys`/`values` with `element` (or
/// removes them when it is None), appending it when none matched. Like kyaml it drops null and
/// empty-map elements as it goes.
fn element_setter(
    items: &mut Vec<Value>,
    element: Option<Value>,
    keys: &[String],
    values: &[String],
) {
    let keys: Vec<String> = if keys.is_empty() { vec![String::new()] } else { keys.to_vec() };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut kept = Vec::with_capacity(items.len() + 1);
    let mut matched = false;
    for item in items.drain(..) {
        if matches!(item, Value::Null) || is_empty_map(&item) {
            continue;
        }
        if item.as_map().is_none() && mapping_setter {
            kept.push(item);
            continue;
        }
        let mut found = true;
        let mut last_match = false;
        for (j, key) in keys.iter().enumerate() {
            if let Some(value) = values.get(j) {
                last_match = field_matches(&item, key, value);
            }
            if !last_match {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                kept.push(item);
            }
            continue;
        }
        matched = true;
        if let Some(element) = &element {
            kept.push(element.clone());
        }
    }
    *items = kept;
    if let Some(element) = element.filter(|e| !matches!(e, Value::Null))
        && !matched
    {
        items.push(element);
    }
}

/// kyaml's `appendListNode`: sets every element of `source` into `dest` by its keys.
fn append_list(dest: &mut Vec<Value>, source: &[Value], keys: &[String]) {
    for element in source {
        if keys[0].is_empty() {
            element_setter(dest, Some(element.clone()), &[String::new()], &[scalar_text(element)]);
            continue;
        }
        let mut values = Vec::new();
        for key in keys {
            match element.as_map().and_then(|m| m.get(key)) {
                None | Some(Value::Null) => dest.push(element.clone()),
                Some(value) => values.push(scalar_text(value)),
            }
        }
        if keys.len() > 1 {
            element_setter(dest, None, keys, &values);
        }
        element_setter(dest, Some(element.clone()), keys, &values);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::build::{map, s, seq};

    fn container(name: &str, image: &str) -> Value {
        map(vec![("name", s(name)), ("image", s(image))])
    }

    fn deployment(pod_spec: Value) -> Value {
        map(vec![
            ("apiVersion", s("apps/v1")),
            ("kind", s("Deployment")),
            ("metadata", map(vec![("name", s("web"))])),
            ("spec", map(vec![("template", map(vec![("spec", pod_spec)]))])),
        ])
    }

    fn pod_spec_of(resource: &Value) -> &Value {
        resource.get_path(&["spec", "template", "spec"]).expect("pod spec")
    }

    fn apply(target: &Value, patch: &Value) -> Option<Value> {
        apply_to_resource(target, patch, SmpOptions::default()).expect("patch applies")
    }

    #[test]
    fn containers_merge_by_name_with_patch_elements_first() {
        // Pinned against kubectl kustomize v5.5.0: patching b and adding c gives [b, c, a].
        let target = deployment(map(vec![(
            "containers",
            seq(vec![container("a", "a"), container("b", "b")]),
        )]));
        let patch = deployment(map(vec![(
            "containers",
            seq(vec![container("b", "b2"), container("c", "c")]),
        )]));
        let merged = apply(&target, &patch).expect("kept");
        let expected = map(vec![(
            "containers",
            seq(vec![container("b", "b2"), container("c", "c"), container("a", "a")]),
        )]);
        assert_eq!(pod_spec_of(&merged), &expected);
    }

    #[test]
    fn element_delete_removes_it_and_element_replace_is_ignored_as_in_kustomize() {
        let target = deployment(map(vec![
            ("containers", seq(vec![container("a", "a"), container("b", "b")])),
            ("volumes", seq(vec![map(vec![("name", s("v1"))]), map(vec![("name", s("v2"))])])),
        ]));
        let patch = deployment(map(vec![
            (
                "containers",
                seq(vec![map(vec![
                    ("name", s("b")),
                    ("$patch", s("replace")),
                    ("image", s("b3")),
                ])]),
            ),
            ("volumes", seq(vec![map(vec![("name", s("v1")), ("$patch", s("delete"))])])),
        ]));
        let merged = apply(&target, &patch).expect("kept");
        let pod = pod_spec_of(&merged);
        assert_eq!(pod.get_path(&["volumes"]), Some(&seq(vec![map(vec![("name", s("v2"))])])));
        assert_eq!(
            pod.get_path(&["containers"]),
            Some(&seq(vec![container("b", "b"), container("a", "a")]))
        );
    }

    #[test]
    fn list_replace_directive_replaces_the_whole_list() {
        let target = deployment(map(vec![("containers", seq(vec![container("a", "a")]))]));
        let patch = deployment(map(vec![(
            "containers",
            seq(vec![map(vec![("$patch", s("replace"))]), container("z", "z")]),
        )]));
        let merged = apply(&target, &patch).expect("kept");
        assert_eq!(
            pod_spec_of(&merged).get_path(&["containers"]),
            Some(&seq(vec![container("z", "z")]))
        );
    }

    #[test]
    fn ports_with_partial_protocol_keys_follow_kyamls_multi_key_matching() {
        // Pinned against kubectl kustomize v5.5.0: the patch's {80, UDP} is lost.
        let port = |p: i64| map(vec![("containerPort", Value::Int(p))]);
        let mut with_ports = container("b", "b");
        with_ports.as_map_mut().unwrap().insert("ports".into(), seq(vec![port(80), port(81)]));
        let target = deployment(map(vec![("containers", seq(vec![with_ports.clone()]))]));
        let patch_port = map(vec![("containerPort", Value::Int(80)), ("protocol", s("UDP"))]);
        let patch = deployment(map(vec![(
            "containers",
            seq(vec![map(vec![("name", s("b")), ("ports", seq(vec![patch_port]))])]),
        )]));
        let merged = apply(&target, &patch).expect("kept");
        assert_eq!(pod_spec_of(&merged).get_path(&["containers"]), Some(&seq(vec![with_ports])));
    }

    #[test]
    fn a_patch_list_with_no_target_list_is_merged_with_itself() {
        // Pinned against kubectl kustomize v5.5.0: the element's `$patch: replace` is dropped and
        // its duplicate env entries collapse, because kyaml merges the patch's list into itself.
        let env = |name: &str, value: &str| map(vec![("name", s(name)), ("value", s(value))]);
        let target = deployment(map(vec![]));
        let element = map(vec![
            ("name", s("c")),
            ("$patch", s("replace")),
            ("env", seq(vec![env("A", "1"), env("A", "1"), env("B", "x")])),
        ]);
        let patch = deployment(map(vec![("containers", seq(vec![element]))]));
        let merged = apply(&target, &patch).expect("kept");
        let expected =
            map(vec![("name", s("c")), ("env", seq(vec![env("A", "1"), env("B", "x")]))]);
        assert_eq!(pod_spec_of(&merged).get_path(&["containers"]), Some(&seq(vec![expected])));
    }

    #[test]
    fn keyless_elements_in_a_new_list_remove_the_keyed_ones() {
        // Pinned against kubectl kustomize v5.5.0: [{$patch: replace}, c, {$patch: delete, d}]
        // into a target without containers leaves only the directive element.
        let target = deployment(map(vec![]));
        let directive = map(vec![("$patch", s("replace"))]);
        let deleted = map(vec![("name", s("d")), ("$patch", s("delete"))]);
        let patch = deployment(map(vec![(
            "containers",
            seq(vec![directive.clone(), container("c", "c"), deleted]),
        )]));
        let merged = apply(&target, &patch).expect("kept");
        assert_eq!(pod_spec_of(&merged).get_path(&["containers"]), Some(&seq(vec![directive])));
    }

    #[test]
    fn primitive_merge_lists_are_unions_with_patch_items_first() {
        let meta = |items: Vec<&str>| {
            map(vec![
                ("apiVersion", s("v1")),
                ("kind", s("ConfigMap")),
                (
                    "metadata",
                    map(vec![
                        ("name", s("c")),
                        ("finalizers", seq(items.into_iter().map(s).collect())),
                    ]),
                ),
            ])
        };
        let merged = apply(&meta(vec!["x", "y"]), &meta(vec!["z", "x"])).expect("kept");
        assert_eq!(
            merged.get_path(&["metadata", "finalizers"]),
            Some(&seq(vec![s("z"), s("x"), s("y")]))
        );
    }

    #[test]
    fn null_deletes_a_key_and_maps_merge_while_crd_lists_replace() {
        let widget = |spec: Value| {
            map(vec![
                ("apiVersion", s("example.com/v1")),
                ("kind", s("Widget")),
                ("metadata", map(vec![("name", s("w"))])),
                ("spec", spec),
            ])
        };
        let target = widget(map(vec![
            ("keep", s("k")),
            ("drop", s("d")),
            ("items", seq(vec![map(vec![("name", s("a"))])])),
        ]));
        let patch = widget(map(vec![
            ("drop", Value::Null),
            ("items", seq(vec![map(vec![("name", s("b"))])])),
            ("added", map(vec![("gone", Value::Null), ("there", Value::Int(1))])),
        ]));
        let merged = apply(&target, &patch).expect("kept");
        let expected = map(vec![
            ("keep", s("k")),
            ("items", seq(vec![map(vec![("name", s("b"))])])),
            ("added", map(vec![("there", Value::Int(1))])),
        ]);
        let mut spec = merged.get_path(&["spec"]).expect("spec").clone();
        spec.as_map_mut().unwrap().sort_keys();
        let mut expected = expected;
        expected.as_map_mut().unwrap().sort_keys();
        assert_eq!(spec, expected);
    }

    #[test]
    fn directives_the_api_server_knows_are_plain_keys_in_kustomize() {
        let target = deployment(map(vec![("containers", seq(vec![container("a", "a")]))]));
        let order = seq(vec![map(vec![("name", s("a"))])]);
        let patch = deployment(map(vec![("$setElementOrder/containers", order.clone())]));
        let merged = apply(&target, &patch).expect("kept");
        assert_eq!(pod_spec_of(&merged).get_path(&["$setElementOrder/containers"]), Some(&order));
    }

    #[test]
    fn delete_directive_at_the_top_deletes_the_resource() {
        let target = deployment(map(vec![]));
        let mut patch = deployment(map(vec![]));
        patch.as_map_mut().unwrap().insert("$patch".into(), s("delete"));
        assert_eq!(apply(&target, &patch), None);
    }

    #[test]
    fn name_and_kind_are_kept_unless_allowed() {
        let target = deployment(map(vec![]));
        let mut patch = deployment(map(vec![]));
        patch.as_map_mut().unwrap().insert("metadata".into(), map(vec![("name", s("renamed"))]));
        let kept = apply(&target, &patch).expect("kept");
        assert_eq!(kept.get_path(&["metadata", "name"]), Some(&s("web")));
        let options = SmpOptions { allow_name_change: true, allow_kind_change: false };
        let renamed = apply_to_resource(&target, &patch, options).expect("applies").expect("kept");
        assert_eq!(renamed.get_path(&["metadata", "name"]), Some(&s("renamed")));
    }

    #[test]
    fn unknown_directive_and_kind_mismatch_are_errors() {
        let target = deployment(map(vec![("containers", seq(vec![container("a", "a")]))]));
        let mut patch = deployment(map(vec![]));
        patch.as_map_mut().unwrap().insert("spec".into(), map(vec![("$patch", s("explode"))]));
        assert!(matches!(
            apply_to_resource(&target, &patch, SmpOptions::default()),
            Err(SmpError::UnknownDirective { .. })
        ));
        let patch = deployment(s("scalar"));
        assert!(matches!(
            apply_to_resource(&target, &patch, SmpOptions::default()),
            Err(SmpError::KindMismatch { .. })
        ));
    }
}
