//! JSON patches (RFC 6902) applied to a resource, with the error behaviour of the library
//! kustomize uses (evanphx/json-patch v4): a path whose parent is missing, a key `remove` cannot
//! find, an index out of range or a failing `test` op fails the build (`replace` of a missing
//! object key adds it, as v4 does).
//!
//! This module owns decoding a list of operations (given as YAML or JSON, already parsed into a
//! `Value`) and applying it to one `Value`. It does not pick targets or parse text.

use crate::limits;
use crate::value::Value;

/// Why a JSON patch could not be decoded or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonPatchError {
    #[error("invalid JSON patch: {reason}")]
    Invalid { reason: String },
    #[error("{op} operation does not apply: {reason} (path {path:?})")]
    Failed { op: &'static str, path: String, reason: String },
    #[error("testing value {path} failed")]
    TestFailed { path: String },
    /// The operation would make the object weigh more than `limits::MAX_OBJECT_BYTES` or nest
    /// deeper than `limits::MAX_DEPTH`; nothing is copied.
    #[error("{op} operation at index {index} (path {path:?}) would make the object exceed {limit}")]
    Limit { op: &'static str, index: usize, path: String, limit: crate::error::Limit },
}

/// One RFC 6902 operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    Add { path: String, value: Value },
    Remove { path: String },
    Replace { path: String, value: Value },
    Move { from: String, path: String },
    Copy { from: String, path: String },
    Test { path: String, value: Value },
}

/// Decodes a patch document: a sequence of `{op, path, value|from}` maps.
pub fn decode(document: &Value) -> Result<Vec<Operation>, JsonPatchError> {
    let invalid = |reason: String| JsonPatchError::Invalid { reason };
    let items = document.as_seq().ok_or_else(|| invalid("expected a list of operations".into()))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let map =
                item.as_map().ok_or_else(|| invalid(format!("operation {index} is not a map")))?;
            let text = |key: &str| -> Result<String, JsonPatchError> {
                match map.get(key) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(_) => Err(invalid(format!("operation {index}: {key} is not a string"))),
                    None => Err(invalid(format!("operation {index}: missing {key}"))),
                }
            };
            // A missing value is JSON null, as in evanphx/json-patch.
            let value = || map.get("value").cloned().unwrap_or(Value::Null);
            let op = text("op")?;
            Ok(match op.as_str() {
                "add" => Operation::Add { path: text("path")?, value: value() },
                "remove" => Operation::Remove { path: text("path")? },
                "replace" => Operation::Replace { path: text("path")?, value: value() },
                "move" => Operation::Move { from: text("from")?, path: text("path")? },
                "copy" => Operation::Copy { from: text("from")?, path: text("path")? },
                "test" => Operation::Test { path: text("path")?, value: value() },
                other => {
                    return Err(invalid(format!(
                        "operation {index}: unexpected kind of operation {other:?}"
                    )));
                }
            })
        })
        .collect()
}

/// Applies `operations` in order to `document`. On error the document may be partly patched;
/// callers discard it (the build fails).
pub fn apply(document: &mut Value, operations: &[Operation]) -> Result<(), JsonPatchError> {
    // The object's weight, kept up to date op by op: an op that adds a value is refused before
    // the copy is made when the result would be over the budget (40 `copy` ops doubling a
    // list would otherwise take terabytes).
    let mut weight = limits::weight(document);
    for (index, operation) in operations.iter().enumerate() {
        let (op, path, added) = match operation {
            Operation::Add { path, value } | Operation::Replace { path, value } => {
                ("add", path, Some(Added::Value(value)))
            }
            Operation::Copy { from, path } => ("copy", path, Some(Added::From(from))),
            Operation::Move { path, .. } => ("move", path, None),
            Operation::Remove { path } | Operation::Test { path, .. } => ("remove", path, None),
        };
        if let Some(added) = added {
            let (bytes, depth) = match added {
                Added::Value(value) => (limits::weight(value), limits::depth(value)),
                Added::From(from) => match get(document, from) {
                    Some(value) => (limits::weight(value), limits::depth(value)),
                    None => (0, 0),
                },
            };
            let limit_error =
                |limit| JsonPatchError::Limit { op, index, path: path.clone(), limit };
            // The new value sits below every token of its path.
            if path.matches('/').count() + depth > limits::MAX_DEPTH {
                return Err(limit_error(crate::error::Limit::Depth));
            }
            weight = weight.saturating_add(bytes);
            if weight > limits::MAX_OBJECT_BYTES {
                weight = limits::weight(document).saturating_add(bytes);
                if weight > limits::MAX_OBJECT_BYTES {
                    return Err(limit_error(crate::error::Limit::ObjectBytes));
                }
            }
        }
        match operation {
            Operation::Add { path, value } => add(document, "add", path, value.clone())?,
            Operation::Remove { path } => {
                remove(document, "remove", path)?;
            }
            Operation::Replace { path, value } => {
                let (parent, key) = parent_of(document, "replace", path)?;
                match parent {
                    // evanphx/json-patch v4 finds a missing object key "present" (its lookup
                    // returns nil without error), so `replace` then adds it; kustomize relies
                    // on that.
                    Value::Map(map) => {
                        map.insert(key, value.clone());
                    }
                    Value::Seq(items) => {
                        let index = array_index(&key, items.len(), false)
                            .ok_or_else(|| failed("replace", path, "index out of range"))?;
                        items[index] = value.clone();
                    }
                    _ => return Err(failed("replace", path, "doc is missing path")),
                }
            }
            Operation::Move { from, path } => {
                let value = remove(document, "move", from)?;
                add(document, "move", path, value)?;
            }
            Operation::Copy { from, path } => {
                let value = copy_source(document, from)?;
                add(document, "copy", path, value)?;
            }
            Operation::Test { path, value } if path.ends_with("/-") => {
                // evanphx/json-patch v4 reads `-` as an array index for `test` and fails.
                let parent = &path[..path.len() - 2];
                if matches!(get(document, parent), Some(Value::Seq(_))) {
                    return Err(failed(
                        "test",
                        path,
                        "strconv.Atoi: parsing \"-\": invalid syntax",
                    ));
                }
                if !matches!(value, Value::Null) {
                    return Err(JsonPatchError::TestFailed { path: path.clone() });
                }
            }
            Operation::Test { path, value } => {
                let matches = match get(document, path) {
                    Some(actual) => json_equal(actual, value),
                    None => matches!(value, Value::Null),
                };
                if !matches {
                    return Err(JsonPatchError::TestFailed { path: path.clone() });
                }
            }
        }
    }
    Ok(())
}

/// What an operation adds to the object, for the budget.
enum Added<'a> {
    Value(&'a Value),
    From(&'a str),
}

fn failed(op: &'static str, path: &str, reason: &str) -> JsonPatchError {
    JsonPatchError::Failed { op, path: path.to_owned(), reason: reason.to_owned() }
}

/// The unescaped reference tokens of a JSON pointer (`~1` is `/`, `~0` is `~`).
fn tokens(op: &'static str, path: &str) -> Result<Vec<String>, JsonPatchError> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest =
        path.strip_prefix('/').ok_or_else(|| failed(op, path, "a path must start with /"))?;
    Ok(rest.split('/').map(|token| token.replace("~1", "/").replace("~0", "~")).collect())
}

fn array_index(token: &str, len: usize, for_insert: bool) -> Option<usize> {
    let index: i64 = token.parse().ok()?;
    let limit = if for_insert { len } else { len.checked_sub(1)? };
    let index = if index < 0 {
        // evanphx/json-patch accepts negative indices, counted from the end.
        let from_end = i64::try_from(len).ok()? + index;
        usize::try_from(from_end).ok()?
    } else {
        usize::try_from(index).ok()?
    };
    (index <= limit).then_some(index)
}

fn get<'a>(document: &'a Value, path: &str) -> Option<&'a Value> {
    let tokens = tokens("get", path).ok()?;
    tokens.iter().try_fold(document, |node, token| match node {
        Value::Map(map) => map.get(token),
        Value::Seq(items) => items.get(array_index(token, items.len(), false)?),
        _ => None,
    })
}

/// The container holding the last token of `path`, and that token.
fn parent_of<'a>(
    document: &'a mut Value,
    op: &'static str,
    path: &str,
) -> Result<(&'a mut Value, String), JsonPatchError> {
    let mut tokens = tokens(op, path)?;
    let last =
        tokens.pop().ok_or_else(|| failed(op, path, "cannot operate on the whole document"))?;
    let mut node = document;
    for token in &tokens {
        node = match node {
            Value::Map(map) => map.get_mut(token),
            Value::Seq(items) => {
                let len = items.len();
                array_index(token, len, false).and_then(|i| items.get_mut(i))
            }
            _ => None,
        }
        .ok_or_else(|| failed(op, path, "doc is missing path"))?;
    }
    Ok((node, last))
}

/// What `copy` reads at `from`: evanphx/json-patch v4 copies null from a missing key of an
/// existing object (its lookup finds "nothing" without error), but fails on a missing parent or
/// an index out of range.
fn copy_source(document: &Value, from: &str) -> Result<Value, JsonPatchError> {
    let mut tokens = tokens("copy", from)?;
    let Some(last) = tokens.pop() else { return Ok(document.clone()) };
    let parent = tokens.iter().try_fold(document, |node, token| match node {
        Value::Map(map) => map.get(token),
        Value::Seq(items) => items.get(array_index(token, items.len(), false)?),
        _ => None,
    });
    match parent {
        Some(Value::Map(map)) => Ok(map.get(&last).cloned().unwrap_or(Value::Null)),
        Some(Value::Seq(items)) => array_index(&last, items.len(), false)
            .map(|index| items[index].clone())
            .ok_or_else(|| failed("copy", from, "index out of range")),
        _ => Err(failed("copy", from, "doc is missing from path")),
    }
}

fn add(
    document: &mut Value,
    op: &'static str,
    path: &str,
    value: Value,
) -> Result<(), JsonPatchError> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent, key) = parent_of(document, op, path)?;
    match parent {
        Value::Map(map) => {
            map.insert(key, value);
        }
        Value::Seq(items) => {
            let index = if key == "-" {
                items.len()
            } else {
                array_index(&key, items.len(), true)
                    .ok_or_else(|| failed(op, path, "index out of range"))?
            };
            items.insert(index, value);
        }
        _ => return Err(failed(op, path, "doc is missing path")),
    }
    Ok(())
}

fn remove(document: &mut Value, op: &'static str, path: &str) -> Result<Value, JsonPatchError> {
    let (parent, key) = parent_of(document, op, path)?;
    match parent {
        Value::Map(map) => map
            .shift_remove(&key)
            .ok_or_else(|| failed(op, path, "unable to remove nonexistent key")),
        Value::Seq(items) => {
            let index = array_index(&key, items.len(), false)
                .ok_or_else(|| failed(op, path, "index out of range"))?;
            Ok(items.remove(index))
        }
        _ => Err(failed(op, path, "doc is missing path")),
    }
}

/// JSON equality: numbers compare by value whatever their YAML type; maps ignore key order.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn s(text: &str) -> Value {
        Value::String(text.to_owned())
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map>())
    }

    fn op(entries: Vec<(&str, Value)>) -> Value {
        map(entries)
    }

    fn resource() -> Value {
        map(vec![(
            "spec",
            map(vec![
                ("replicas", Value::Int(1)),
                ("args", Value::Seq(vec![s("a"), s("b")])),
                ("a/b", s("slash")),
            ]),
        )])
    }

    fn run(ops: Vec<Value>) -> Result<Value, JsonPatchError> {
        let mut doc = resource();
        apply(&mut doc, &decode(&Value::Seq(ops))?)?;
        Ok(doc)
    }

    #[test]
    fn add_replace_remove_move_copy_and_test() {
        let doc = run(vec![
            op(vec![("op", s("replace")), ("path", s("/spec/replicas")), ("value", Value::Int(3))]),
            op(vec![("op", s("add")), ("path", s("/spec/args/-")), ("value", s("c"))]),
            op(vec![("op", s("add")), ("path", s("/spec/args/0")), ("value", s("first"))]),
            op(vec![("op", s("remove")), ("path", s("/spec/a~1b"))]),
            op(vec![("op", s("copy")), ("from", s("/spec/replicas")), ("path", s("/spec/copied"))]),
            op(vec![("op", s("move")), ("from", s("/spec/copied")), ("path", s("/spec/moved"))]),
            op(vec![("op", s("test")), ("path", s("/spec/moved")), ("value", Value::Float(3.0))]),
        ])
        .expect("applies");
        let expected = map(vec![(
            "spec",
            map(vec![
                ("replicas", Value::Int(3)),
                ("args", Value::Seq(vec![s("first"), s("a"), s("b"), s("c")])),
                ("moved", Value::Int(3)),
            ]),
        )]);
        assert_eq!(doc, expected);
    }

    #[test]
    fn missing_paths_and_failed_tests_are_errors() {
        let missing_parent =
            run(vec![op(vec![("op", s("add")), ("path", s("/nope/x")), ("value", s("v"))])]);
        assert!(matches!(missing_parent, Err(JsonPatchError::Failed { op: "add", .. })));
        let missing_index = run(vec![op(vec![
            ("op", s("replace")),
            ("path", s("/spec/args/7")),
            ("value", s("v")),
        ])]);
        assert!(matches!(missing_index, Err(JsonPatchError::Failed { op: "replace", .. })));
        let missing_key =
            run(vec![op(vec![("op", s("replace")), ("path", s("/spec/nope")), ("value", s("v"))])])
                .expect("v4 replaces a missing object key by adding it");
        assert_eq!(missing_key.get_path(&["spec", "nope"]), Some(&s("v")));
        let missing_remove = run(vec![op(vec![("op", s("remove")), ("path", s("/spec/args/5"))])]);
        assert!(matches!(missing_remove, Err(JsonPatchError::Failed { op: "remove", .. })));
        let failed_test = run(vec![op(vec![
            ("op", s("test")),
            ("path", s("/spec/replicas")),
            ("value", Value::Int(2)),
        ])]);
        assert!(matches!(failed_test, Err(JsonPatchError::TestFailed { .. })));
    }

    #[test]
    fn malformed_operations_are_rejected() {
        assert!(matches!(decode(&s("nope")), Err(JsonPatchError::Invalid { .. })));
        assert!(matches!(
            decode(&Value::Seq(vec![op(vec![("op", s("frob")), ("path", s("/a"))])])),
            Err(JsonPatchError::Invalid { .. })
        ));
        assert!(matches!(
            decode(&Value::Seq(vec![op(vec![("op", s("add"))])])),
            Err(JsonPatchError::Invalid { .. })
        ));
    }

    #[test]
    fn copy_of_a_missing_key_is_null_and_test_on_dash_fails_as_in_json_patch_v4() {
        let doc = run(vec![op(vec![
            ("op", s("copy")),
            ("from", s("/spec/nope")),
            ("path", s("/spec/copied")),
        ])])
        .expect("v4 copies null from a missing key");
        assert_eq!(doc.get_path(&["spec", "copied"]), Some(&Value::Null));
        let dash = run(vec![op(vec![("op", s("test")), ("path", s("/spec/args/-"))])]);
        assert!(matches!(dash, Err(JsonPatchError::Failed { op: "test", .. })));
        let missing_parent = run(vec![op(vec![
            ("op", s("copy")),
            ("from", s("/nope/x")),
            ("path", s("/spec/copied")),
        ])]);
        assert!(matches!(missing_parent, Err(JsonPatchError::Failed { op: "copy", .. })));
    }

    #[test]
    fn negative_indices_count_from_the_end() {
        let doc = run(vec![op(vec![("op", s("remove")), ("path", s("/spec/args/-1"))])])
            .expect("applies");
        assert_eq!(doc.get_path(&["spec", "args"]), Some(&Value::Seq(vec![s("a")])));
    }

    #[test]
    fn copies_that_would_exceed_the_byte_budget_fail_before_copying() {
        // Each op doubles the list: 40 of them would make 2^40 copies of a 1 KB string.
        let mut doc = map(vec![("x", Value::Seq(vec![s(&"y".repeat(1000))]))]);
        let copy = op(vec![("op", s("copy")), ("from", s("/x")), ("path", s("/x/-"))]);
        let ops = decode(&Value::Seq(vec![copy; 40])).unwrap();
        match apply(&mut doc, &ops) {
            Err(JsonPatchError::Limit { op: "copy", index, limit, .. }) => {
                assert_eq!(limit, crate::error::Limit::ObjectBytes);
                assert!((15..30).contains(&index), "failed at op {index}");
            }
            other => panic!("{other:?}"),
        }
        assert!(limits::weight(&doc) <= limits::MAX_OBJECT_BYTES);
    }
}
