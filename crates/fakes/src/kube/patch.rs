//! The three non-apply patch types the API server accepts, as `kubectl patch`, `kubectl edit`,
//! `kubectl label`/`annotate` and client libraries send them:
//!
//! - JSON patch (RFC 6902, `application/json-patch+json`): `add`, `remove`, `replace`, `move`,
//!   `copy`, `test` on JSON pointers;
//! - JSON merge patch (RFC 7386, `application/merge-patch+json`);
//! - strategic merge patch (`application/strategic-merge-patch+json`), as apimachinery's
//!   `strategicpatch` applies it: lists whose Go field says `patchStrategy: merge` merge item by
//!   item on their `patchMergeKey` (or as sets, for lists of strings), other lists are replaced,
//!   and the directives `$patch` (`replace`/`merge`/`delete`), `$retainKeys`,
//!   `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` are honoured. The
//!   strategies come from the built-in kinds' schema (`schema`); custom resources have none,
//!   which is why the API server refuses strategic merge patches for them.
//!
//! Pure: JSON in, JSON out. Errors are typed by the status the API server answers with.

use serde_json::{Map, Value as Json};

use super::schema::{FieldType, Schema};

/// How a patch failed, by the answer the API server gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatchError {
    /// 400: the patch itself is malformed.
    BadRequest(String),
    /// 422: a well-formed patch that does not apply to this object (a failed `test`, a missing
    /// path). The API server answers with its generic message; the detail is for logs.
    DoesNotApply(String),
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchError::BadRequest(message) | PatchError::DoesNotApply(message) => {
                f.write_str(message)
            }
        }
    }
}

/// The patch types, by media type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
}

impl PatchType {
    pub fn from_media_type(media: &str) -> Option<PatchType> {
        match media {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            _ => None,
        }
    }

    /// Applies `patch` to `live`; `message` is the kind's schema message (strategic merge
    /// patches need one).
    pub fn apply(
        self,
        live: &Json,
        patch: &Json,
        message: Option<&str>,
    ) -> Result<Json, PatchError> {
        match self {
            PatchType::Json => json_patch(live, patch),
            PatchType::Merge => {
                if !patch.is_object() {
                    return Err(PatchError::BadRequest(
                        "error decoding patch: a merge patch must be a JSON object".into(),
                    ));
                }
                let mut out = live.clone();
                merge_patch(&mut out, patch);
                Ok(out)
            }
            PatchType::Strategic => {
                let Json::Object(patch) = patch else {
                    return Err(PatchError::BadRequest(
                        "error decoding patch: a strategic merge patch must be a JSON object"
                            .into(),
                    ));
                };
                let mut out = live.clone();
                if !out.is_object() {
                    out = Json::Object(Map::new());
                }
                let context = message.map_or(Context::Unknown, |m| Context::Message(m.to_owned()));
                if let Json::Object(target) = &mut out {
                    strategic_map(target, patch, &context)?;
                }
                Ok(out)
            }
        }
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    let Json::Object(target_map) = target else { return };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Json::Null), value);
        }
    }
}

// ----- JSON patch ------------------------------------------------------------------------------

/// RFC 6902 JSON patch, with the error wording of evanphx/json-patch (which the API server uses).
pub fn json_patch(live: &Json, patch: &Json) -> Result<Json, PatchError> {
    let Json::Array(operations) = patch else {
        return Err(PatchError::BadRequest(
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch".into(),
        ));
    };
    let mut doc = live.clone();
    for operation in operations {
        let op = operation["op"].as_str().unwrap_or_default();
        let path = |name: &str| {
            operation[name].as_str().map(str::to_owned).ok_or_else(|| {
                PatchError::DoesNotApply(format!("{op} operation missing {name} string"))
            })
        };
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or_else(|| PatchError::DoesNotApply(format!("{op} operation missing value")))
        };
        match op {
            "add" => add(&mut doc, &path("path")?, value()?)?,
            "remove" => {
                remove(&mut doc, &path("path")?)?;
            }
            "replace" => {
                let target = path("path")?;
                if pointer_get(&doc, &target)?.is_none() {
                    return Err(PatchError::DoesNotApply(format!(
                        "replace operation does not apply: doc is missing key: {target}: missing value"
                    )));
                }
                remove(&mut doc, &target)?;
                add(&mut doc, &target, value()?)?;
            }
            "move" => {
                let from = path("from")?;
                let moved = remove(&mut doc, &from)?;
                add(&mut doc, &path("path")?, moved)?;
            }
            "copy" => {
                let from = path("from")?;
                let copied = pointer_get(&doc, &from)?.cloned().ok_or_else(|| {
                    PatchError::DoesNotApply(format!(
                        "copy operation does not apply: doc is missing from path: {from}: missing value"
                    ))
                })?;
                add(&mut doc, &path("path")?, copied)?;
            }
            "test" => {
                let target = path("path")?;
                let expected = operation.get("value").cloned().unwrap_or(Json::Null);
                if pointer_get(&doc, &target)?.cloned().unwrap_or(Json::Null) != expected {
                    return Err(PatchError::DoesNotApply(format!(
                        "testing value {target} failed: test failed"
                    )));
                }
            }
            other => {
                return Err(PatchError::DoesNotApply(format!("Unexpected kind: {other}")));
            }
        }
    }
    Ok(doc)
}

fn tokens(pointer: &str) -> Result<Vec<String>, PatchError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer.strip_prefix('/').ok_or_else(|| {
        PatchError::DoesNotApply(format!("JSON pointer {pointer:?} must start with /"))
    })?;
    Ok(rest.split('/').map(|t| t.replace("~1", "/").replace("~0", "~")).collect())
}

fn pointer_get<'a>(doc: &'a Json, pointer: &str) -> Result<Option<&'a Json>, PatchError> {
    let mut current = doc;
    for token in tokens(pointer)? {
        let next = match current {
            Json::Object(map) => map.get(&token),
            Json::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(n) => current = n,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// The container a pointer's last token lives in, and that token.
fn parent_mut<'a>(
    doc: &'a mut Json,
    pointer: &str,
    op: &str,
) -> Result<(&'a mut Json, String), PatchError> {
    let mut tokens = tokens(pointer)?;
    let last = tokens.pop().ok_or_else(|| {
        PatchError::DoesNotApply(format!(
            "{op} operation does not apply: the whole document cannot be the target"
        ))
    })?;
    let mut current = doc;
    for token in tokens {
        let next = match current {
            Json::Object(map) => map.get_mut(&token),
            Json::Array(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
            _ => None,
        };
        current = next.ok_or_else(|| {
            PatchError::DoesNotApply(format!(
                "{op} operation does not apply: doc is missing path: \"{pointer}\": missing value"
            ))
        })?;
    }
    Ok((current, last))
}

fn add(doc: &mut Json, pointer: &str, value: Json) -> Result<(), PatchError> {
    if pointer.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, last) = parent_mut(doc, pointer, "add")?;
    match parent {
        Json::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Json::Array(items) => {
            let index = if last == "-" { items.len() } else { index_of(&last, items.len() + 1)? };
            items.insert(index, value);
            Ok(())
        }
        _ => Err(PatchError::DoesNotApply(format!(
            "add operation does not apply: doc is missing path: \"{pointer}\": missing value"
        ))),
    }
}

fn remove(doc: &mut Json, pointer: &str) -> Result<Json, PatchError> {
    let missing = || {
        PatchError::DoesNotApply(format!(
            "remove operation does not apply: doc is missing path: \"{pointer}\": missing value"
        ))
    };
    let (parent, last) = parent_mut(doc, pointer, "remove")?;
    match parent {
        Json::Object(map) => map.remove(&last).ok_or_else(missing),
        Json::Array(items) => {
            let index = index_of(&last, items.len())?;
            Ok(items.remove(index))
        }
        _ => Err(missing()),
    }
}

fn index_of(token: &str, bound: usize) -> Result<usize, PatchError> {
    match token.parse::<usize>() {
        Ok(i) if i < bound && (token == "0" || !token.starts_with('0')) => Ok(i),
        _ => Err(PatchError::DoesNotApply(format!(
            "Unable to access invalid index: {token}: invalid index referenced"
        ))),
    }
}

// ----- strategic merge patch -----------------------------------------------------------------

/// What a JSON value's type is, as far as the schema knows.
#[derive(Clone, Debug, PartialEq)]
enum Context {
    /// An object of this message.
    Message(String),
    /// An object with arbitrary keys whose values have this context.
    MapOf(Box<Context>),
    /// No schema (custom content, scalars): lists are replaced, maps merge.
    Unknown,
}

impl Context {
    fn field(&self, key: &str) -> (Option<&'static super::schema::Field>, Context) {
        match self {
            Context::Message(message) => match Schema::get().json_field(message, key) {
                Some(field) => (Some(field), context_of(&field.ty)),
                None => (None, Context::Unknown),
            },
            Context::MapOf(inner) => (None, (**inner).clone()),
            Context::Unknown => (None, Context::Unknown),
        }
    }
}

fn context_of(ty: &FieldType) -> Context {
    match ty {
        FieldType::Message(name) => Context::Message(name.clone()),
        FieldType::Map { value, .. } => Context::MapOf(Box::new(context_of(value))),
        FieldType::Scalar(_) => Context::Unknown,
    }
}

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

fn is_directive(key: &str) -> bool {
    key == PATCH
        || key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

fn strategic_map(
    target: &mut Map<String, Json>,
    patch: &Map<String, Json>,
    context: &Context,
) -> Result<(), PatchError> {
    match patch.get(PATCH).map(|v| v.as_str()) {
        None | Some(Some("merge")) => {}
        Some(Some("replace")) => {
            target.clear();
            for (key, value) in patch.iter().filter(|(k, _)| !is_directive(k)) {
                target.insert(key.clone(), value.clone());
            }
            return Ok(());
        }
        Some(Some("delete")) => {
            target.clear();
            return Ok(());
        }
        Some(other) => {
            return Err(PatchError::BadRequest(format!(
                "Unknown patch type: {}",
                other.map_or_else(|| patch[PATCH].to_string(), str::to_owned)
            )));
        }
    }
    if let Some(retain) = patch.get(RETAIN_KEYS) {
        let Some(keys) = retain.as_array() else {
            return Err(PatchError::BadRequest("invalid patch format of retainKeys".into()));
        };
        let keys: Vec<&str> = keys.iter().filter_map(Json::as_str).collect();
        if patch.keys().any(|k| !is_directive(k) && !keys.contains(&k.as_str())) {
            return Err(PatchError::DoesNotApply(
                "patch content doesn't match retainKeys list".into(),
            ));
        }
        target.retain(|k, _| keys.contains(&k.as_str()));
    }
    for (key, values) in patch {
        let Some(list) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) else { continue };
        let Some(values) = values.as_array() else {
            return Err(PatchError::BadRequest("invalid patch format of primitive list".into()));
        };
        if let Some(Json::Array(items)) = target.get_mut(list) {
            items.retain(|item| !values.contains(item));
        }
    }
    for (key, value) in patch.iter().filter(|(k, _)| !is_directive(k)) {
        if value.is_null() {
            target.remove(key);
            continue;
        }
        let (field, child) = context.field(key);
        let merge = field.is_some_and(|f| f.merge);
        let merge_key = field.and_then(|f| f.merge_key.as_deref());
        let existing = target.remove(key);
        let merged = match (existing, value) {
            (Some(Json::Object(mut live)), Json::Object(patch_map)) => {
                if patch_map.get(PATCH).and_then(Json::as_str) == Some("delete") {
                    continue;
                }
                strategic_map(&mut live, patch_map, &child)?;
                Json::Object(live)
            }
            (Some(Json::Array(live)), Json::Array(patch_items)) if merge => {
                Json::Array(merge_list(live, patch_items, merge_key, &child)?)
            }
            (_, Json::Object(patch_map)) => {
                if patch_map.get(PATCH).and_then(Json::as_str) == Some("delete") {
                    continue;
                }
                let mut fresh = Map::new();
                strategic_map(&mut fresh, patch_map, &child)?;
                Json::Object(fresh)
            }
            (_, Json::Array(patch_items)) => {
                Json::Array(merge_list(Vec::new(), patch_items, merge_key, &child)?)
            }
            (_, scalar) => scalar.clone(),
        };
        target.insert(key.clone(), merged);
    }
    for (key, order) in patch {
        let Some(list) = key.strip_prefix(SET_ELEMENT_ORDER) else { continue };
        let Some(order) = order.as_array() else {
            return Err(PatchError::BadRequest(
                "invalid patch format of setElementOrder list".into(),
            ));
        };
        let merge_key = context.field(list).0.and_then(|f| f.merge_key.as_deref());
        if let Some(Json::Array(items)) = target.get_mut(list) {
            reorder(items, order, merge_key);
        }
    }
    Ok(())
}

/// Merges a patch list into a live list whose field has `patchStrategy: merge`.
fn merge_list(
    mut live: Vec<Json>,
    patch: &[Json],
    merge_key: Option<&str>,
    item: &Context,
) -> Result<Vec<Json>, PatchError> {
    let directive = |entry: &Json| entry.get(PATCH).and_then(Json::as_str).map(str::to_owned);
    if patch.iter().any(|entry| directive(entry).as_deref() == Some("replace")) {
        let mut replaced = Vec::new();
        for entry in patch.iter().filter(|e| directive(e).is_none()) {
            replaced.push(strip(entry, item)?);
        }
        return Ok(replaced);
    }
    let Some(key) = merge_key else {
        // A set of scalars (finalizers, ...): union, in order.
        for entry in patch {
            if !live.contains(entry) {
                live.push(strip(entry, item)?);
            }
        }
        return Ok(live);
    };
    for entry in patch {
        let Some(id) = entry.get(key) else {
            return Err(PatchError::BadRequest(format!(
                "map: {entry} does not contain declared merge key: {key}"
            )));
        };
        let position = live.iter().position(|l| l.get(key) == Some(id));
        if directive(entry).as_deref() == Some("delete") {
            live.retain(|l| l.get(key) != Some(id));
            continue;
        }
        match (position, entry) {
            (Some(index), Json::Object(patch_map)) => {
                if let Json::Object(existing) = &mut live[index] {
                    strategic_map(existing, patch_map, item)?;
                }
            }
            _ => live.push(strip(entry, item)?),
        }
    }
    Ok(live)
}

/// A patch value taken whole, with its directives applied to nothing.
fn strip(value: &Json, context: &Context) -> Result<Json, PatchError> {
    match value {
        Json::Object(patch) => {
            let mut fresh = Map::new();
            strategic_map(&mut fresh, patch, context)?;
            Ok(Json::Object(fresh))
        }
        other => Ok(other.clone()),
    }
}

/// `$setElementOrder`: the listed items first, in that order, then the others as they were.
fn reorder(items: &mut Vec<Json>, order: &[Json], merge_key: Option<&str>) {
    let identity = |item: &Json| match merge_key {
        Some(key) => item.get(key).cloned(),
        None => Some(item.clone()),
    };
    let wanted: Vec<Json> = order
        .iter()
        .filter_map(|o| if merge_key.is_some() { identity(o) } else { Some(o.clone()) })
        .collect();
    let mut rest = std::mem::take(items);
    for id in &wanted {
        if let Some(index) = rest.iter().position(|item| identity(item).as_ref() == Some(id)) {
            items.push(rest.remove(index));
        }
    }
    items.append(&mut rest);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const DEPLOYMENT: &str = "k8s.io.api.apps.v1.Deployment";

    fn deployment() -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}, "finalizers": ["a"]},
            "spec": {
                "replicas": 1,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                "template": {"spec": {"containers": [
                    {"name": "app", "image": "nginx:1", "env": [{"name": "A", "value": "1"}], "args": ["x"]},
                    {"name": "sidecar", "image": "envoy:1"}
                ]}}
            }
        })
    }

    fn strategic(patch: Json) -> Result<Json, PatchError> {
        PatchType::Strategic.apply(&deployment(), &patch, Some(DEPLOYMENT))
    }

    #[test]
    fn strategic_merge_merges_keyed_lists_and_replaces_atomic_ones() {
        let out = strategic(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "nginx:2", "env": [{"name": "B", "value": "2"}], "args": ["y"]}
        ]}}}}))
        .unwrap();
        let containers = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(containers[0]["image"], "nginx:2");
        assert_eq!(
            containers[0]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
        assert_eq!(containers[0]["args"], json!(["y"]), "args has no merge strategy");
        assert_eq!(containers[1]["name"], "sidecar", "untouched items stay");
        // A JSON merge patch replaces the whole list instead.
        let merged = PatchType::Merge
            .apply(
                &deployment(),
                &json!({"spec": {"template": {"spec": {"containers": [{"name": "app"}]}}}}),
                None,
            )
            .unwrap();
        assert_eq!(merged["spec"]["template"]["spec"]["containers"], json!([{"name": "app"}]));
    }

    #[test]
    fn strategic_merge_directives() {
        let out = strategic(json!({
            "metadata": {"labels": {"tier": null}, "finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {
                "$retainKeys": ["type"] ,
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                "template": {"spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                    "containers": [{"name": "app", "$patch": "delete"}, {"name": "sidecar", "image": "envoy:2"}]
                }}
            }
        }));
        // `$retainKeys` on spec names only `type`, but the patch also sets `strategy`/`template`.
        assert!(matches!(out, Err(PatchError::DoesNotApply(_))), "{out:?}");
        let out = strategic(json!({
            "metadata": {"labels": {"tier": null}, "finalizers": ["b"], "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {
                "strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                "template": {"spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "new"}],
                    "containers": [{"name": "app", "$patch": "delete"}, {"name": "new", "image": "busybox"}]
                }}
            }
        }))
        .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sidecar", "new"]);
        let replaced = strategic(json!({"spec": {"template": {"spec": {"containers": [{"$patch": "replace"}, {"name": "only"}]}}}})).unwrap();
        assert_eq!(replaced["spec"]["template"]["spec"]["containers"], json!([{"name": "only"}]));
        let bad =
            strategic(json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}));
        assert!(matches!(bad, Err(PatchError::BadRequest(m)) if m.contains("merge key: name")));
    }

    #[test]
    fn json_patch_operations_and_failures() {
        let out = PatchType::Json
            .apply(
                &deployment(),
                &json!([
                    {"op": "add", "path": "/metadata/labels/new", "value": "x"},
                    {"op": "replace", "path": "/spec/replicas", "value": 3},
                    {"op": "remove", "path": "/metadata/labels/tier"},
                    {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "third"}},
                    {"op": "move", "from": "/metadata/labels/new", "path": "/metadata/labels/moved"},
                    {"op": "copy", "from": "/spec/replicas", "path": "/metadata/annotations"},
                    {"op": "test", "path": "/spec/replicas", "value": 3},
                    {"op": "add", "path": "/metadata/finalizers/0", "value": "first"},
                    {"op": "replace", "path": "/metadata/labels/a~1b", "value": "c"}
                ]),
                None,
            )
            .unwrap_err();
        assert!(
            matches!(out, PatchError::DoesNotApply(m) if m.contains("replace operation does not apply"))
        );
        let out = PatchType::Json
            .apply(
                &deployment(),
                &json!([
                    {"op": "add", "path": "/metadata/labels/new", "value": "x"},
                    {"op": "replace", "path": "/spec/replicas", "value": 3},
                    {"op": "remove", "path": "/metadata/labels/tier"},
                    {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "third"}},
                    {"op": "move", "from": "/metadata/labels/new", "path": "/metadata/labels/moved"},
                    {"op": "add", "path": "/metadata/finalizers/0", "value": "first"},
                    {"op": "add", "path": "/metadata/labels/a~1b", "value": "c"},
                    {"op": "test", "path": "/spec/replicas", "value": 3}
                ]),
                None,
            )
            .unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"app": "web", "moved": "x", "a/b": "c"}));
        assert_eq!(out["spec"]["replicas"], 3);
        assert_eq!(out["metadata"]["finalizers"], json!(["first", "a"]));
        assert_eq!(out["spec"]["template"]["spec"]["containers"][2]["name"], "third");
        let failed = PatchType::Json.apply(
            &deployment(),
            &json!([{"op": "test", "path": "/spec/replicas", "value": 9}]),
            None,
        );
        assert!(matches!(failed, Err(PatchError::DoesNotApply(_))));
        let not_a_list = PatchType::Json.apply(&deployment(), &json!({"op": "add"}), None);
        assert!(matches!(not_a_list, Err(PatchError::BadRequest(_))));
    }
}
