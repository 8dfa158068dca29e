//! Server-side apply and field ownership (`metadata.managedFields`), as the API server's
//! structured-merge-diff does it, for the parts clients observe:
//!
//! - an applier owns exactly the fields of its last applied configuration;
//! - applying a value different from the live one on a field another manager owns is a conflict
//!   (unless forced, which moves ownership); equal values are shared;
//! - fields the applier owned before and no longer sends are removed, unless someone else owns them;
//! - lists with a merge key (containers by `name`, ...) are merged item by item, other lists are atomic.
//!
//! Pure: JSON in, JSON out. Paths use the `fieldsV1` element syntax (`f:name`, `k:{"name":"x"}`,
//! and `.` for "the list item itself").

use std::collections::BTreeSet;

use serde_json::{Map, Value as Json, json};

/// One owned path, as `fieldsV1` elements.
pub type FieldPath = Vec<String>;
pub type FieldSet = BTreeSet<FieldPath>;

/// The key fields of associative lists, by the list's field name. Kubernetes knowledge as data:
/// from `x-kubernetes-list-map-keys` / `x-kubernetes-patch-merge-key` of the OpenAPI schema.
const LIST_MAP_KEYS: &[(&str, &[&str])] = &[
    ("containers", &["name"]),
    ("initContainers", &["name"]),
    ("ephemeralContainers", &["name"]),
    ("env", &["name"]),
    ("volumes", &["name"]),
    ("volumeMounts", &["mountPath"]),
    ("volumeDevices", &["devicePath"]),
    ("imagePullSecrets", &["name"]),
    ("hostAliases", &["ip"]),
    ("conditions", &["type"]),
    ("ownerReferences", &["uid"]),
    ("topologySpreadConstraints", &["topologyKey", "whenUnsatisfiable"]),
    ("resourceClaims", &["name"]),
];

/// Key fields for list items; `ports` differ between containers and Services.
fn list_keys(field: &str, items: &[Json]) -> Option<Vec<&'static str>> {
    let keys: Vec<&'static str> = if field == "ports" {
        if items.iter().all(|i| i.get("containerPort").is_some()) {
            vec!["containerPort", "protocol"]
        } else if items.iter().all(|i| i.get("port").is_some()) {
            vec!["port", "protocol"]
        } else {
            return None;
        }
    } else {
        LIST_MAP_KEYS.iter().find(|(name, _)| *name == field)?.1.to_vec()
    };
    let primary = keys[0];
    items.iter().all(|i| i.get(primary).is_some()).then_some(keys)
}

fn item_key(item: &Json, keys: &[&str]) -> String {
    let mut key = Map::new();
    for k in keys {
        if let Some(v) = item.get(*k) {
            key.insert((*k).to_owned(), v.clone());
        }
    }
    format!("k:{}", Json::Object(key))
}

/// Whether a top-level or metadata field is the server's, never a manager's.
fn is_server_field(path: &[String]) -> bool {
    match path {
        [top] => matches!(top.as_str(), "f:apiVersion" | "f:kind" | "f:status"),
        [top, field] if top == "f:metadata" => matches!(
            field.as_str(),
            "f:name"
                | "f:namespace"
                | "f:uid"
                | "f:resourceVersion"
                | "f:generation"
                | "f:creationTimestamp"
                | "f:managedFields"
                | "f:deletionTimestamp"
                | "f:deletionGracePeriodSeconds"
                | "f:selfLink"
                | "f:generateName"
        ),
        _ => false,
    }
}

/// The fields a configuration sets (server-owned fields excluded).
pub fn field_set(config: &Json) -> FieldSet {
    let mut set = FieldSet::new();
    collect(config, &mut Vec::new(), &mut set);
    set
}

fn collect(value: &Json, path: &mut FieldPath, set: &mut FieldSet) {
    let Json::Object(map) = value else { return };
    for (key, child) in map {
        path.push(format!("f:{key}"));
        if is_server_field(path) {
            path.pop();
            continue;
        }
        match child {
            Json::Object(inner) if !inner.is_empty() => collect(child, path, set),
            Json::Array(items) if list_keys(key, items).is_some() => {
                let keys = list_keys(key, items).unwrap_or_default();
                for item in items {
                    path.push(item_key(item, &keys));
                    let mut marker = path.clone();
                    marker.push(".".into());
                    set.insert(marker);
                    collect(item, path, set);
                    path.pop();
                }
            }
            _ => {
                set.insert(path.clone());
            }
        }
        path.pop();
    }
}

/// The value at a path, if present.
pub fn get_at<'a>(value: &'a Json, path: &[String]) -> Option<&'a Json> {
    let mut current = value;
    let mut previous_field = "";
    for element in path {
        if element == "." {
            continue;
        }
        if let Some(field) = element.strip_prefix("f:") {
            current = current.get(field)?;
            previous_field = field;
        } else {
            let items = current.as_array()?;
            let keys = list_keys(previous_field, items)?;
            current = items.iter().find(|i| &item_key(i, &keys) == element)?;
        }
    }
    Some(current)
}

/// Removes the field or list item at a path; returns whether something was removed.
fn remove_at(value: &mut Json, path: &[String]) -> bool {
    let path: Vec<&String> = path.iter().filter(|e| *e != ".").collect();
    let Some((last, parents)) = path.split_last() else { return false };
    let mut current = value;
    let mut previous_field = String::new();
    for element in parents {
        let next = if let Some(field) = element.strip_prefix("f:") {
            previous_field = field.to_owned();
            current.get_mut(field)
        } else {
            let field = previous_field.clone();
            current.as_array_mut().and_then(|items| {
                let keys = list_keys(&field, items)?;
                items.iter_mut().find(|i| &item_key(i, &keys) == *element)
            })
        };
        match next {
            Some(n) => current = n,
            None => return false,
        }
    }
    if let Some(field) = last.strip_prefix("f:") {
        current.as_object_mut().and_then(|m| m.remove(field)).is_some()
    } else if let Some(items) = current.as_array_mut() {
        let Some(keys) = list_keys(&previous_field, items) else { return false };
        let before = items.len();
        items.retain(|i| &item_key(i, &keys) != *last);
        before != items.len()
    } else {
        false
    }
}

/// Merges an applied configuration into the live object: maps recursively, associative lists by
/// key (configuration order first, then live items nobody re-sent), everything else replaced.
pub fn merge(live: &mut Json, config: &Json) {
    let (Json::Object(live_map), Json::Object(config_map)) = (&mut *live, config) else {
        *live = config.clone();
        return;
    };
    for (key, value) in config_map {
        match (live_map.get_mut(key), value) {
            (Some(existing @ Json::Object(_)), Json::Object(_)) => merge(existing, value),
            (Some(Json::Array(existing)), Json::Array(applied))
                if list_keys(key, applied).is_some() && list_keys(key, existing).is_some() =>
            {
                let keys = list_keys(key, applied).unwrap_or_default();
                let mut merged = Vec::new();
                for item in applied {
                    let id = item_key(item, &keys);
                    match existing.iter().position(|e| item_key(e, &keys) == id) {
                        Some(index) => {
                            let mut current = existing.remove(index);
                            merge(&mut current, item);
                            merged.push(current);
                        }
                        None => merged.push(item.clone()),
                    }
                }
                merged.append(existing);
                *existing = merged;
            }
            _ => {
                live_map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// `.spec.template.spec.containers[name="app"].image`: how the API server prints a path.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        if element == "." {
            continue;
        }
        if let Some(field) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(field);
        } else if let Some(key) = element.strip_prefix("k:") {
            let parsed: Json = serde_json::from_str(key).unwrap_or(Json::Null);
            let parts: Vec<String> = parsed
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!("[{}]", parts.join(",")));
        }
    }
    out
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

pub fn read_managed(object: &Json) -> Vec<ManagedEntry> {
    let Some(entries) = object["metadata"]["managedFields"].as_array() else { return Vec::new() };
    entries
        .iter()
        .map(|e| ManagedEntry {
            manager: e["manager"].as_str().unwrap_or_default().to_owned(),
            operation: e["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
            time: e["time"].as_str().unwrap_or_default().to_owned(),
            subresource: e["subresource"].as_str().map(str::to_owned),
            fields: decode_fields(&e["fieldsV1"]),
        })
        .collect()
}

pub fn write_managed(object: &mut Json, entries: &[ManagedEntry]) {
    let encoded: Vec<Json> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut entry = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": encode_fields(&e.fields),
            });
            if let Some(sub) = &e.subresource {
                entry["subresource"] = json!(sub);
            }
            entry
        })
        .collect();
    if let Some(metadata) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        if encoded.is_empty() {
            metadata.remove("managedFields");
        } else {
            metadata.insert("managedFields".into(), Json::Array(encoded));
        }
    }
}

fn encode_fields(fields: &FieldSet) -> Json {
    let mut root = Json::Object(Map::new());
    for path in fields {
        let mut current = &mut root;
        for element in path {
            current = current
                .as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .entry(element.clone())
                .or_insert_with(|| Json::Object(Map::new()));
        }
    }
    root
}

fn decode_fields(value: &Json) -> FieldSet {
    fn walk(value: &Json, path: &mut FieldPath, set: &mut FieldSet) {
        let Some(map) = value.as_object() else { return };
        if map.is_empty() && !path.is_empty() {
            set.insert(path.clone());
            return;
        }
        for (key, child) in map {
            path.push(key.clone());
            walk(child, path, set);
            path.pop();
        }
    }
    let mut set = FieldSet::new();
    walk(value, &mut Vec::new(), &mut set);
    set
}

/// A field another manager owns with a different value.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: String,
}

/// What an apply asks for.
#[derive(Debug)]
pub struct ApplyRequest<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub api_version: &'a str,
    pub now: &'a str,
}

/// Applies `config` onto `live` (an existing object, or `{}` for a create). On success the
/// returned object has the merged content and updated `managedFields`; server fields are left
/// for the caller to set.
pub fn apply(
    live: &Json,
    config: &Json,
    request: &ApplyRequest<'_>,
) -> Result<Json, Vec<Conflict>> {
    let new_fields = field_set(config);
    let mut managers = read_managed(live);
    let mut conflicts = Vec::new();
    for entry in managers.iter_mut() {
        if entry.manager == request.manager && entry.operation == "Apply" {
            continue;
        }
        if entry.subresource.is_some() {
            continue;
        }
        let contested: Vec<FieldPath> = new_fields
            .intersection(&entry.fields)
            .filter(|p| p.last().is_none_or(|e| e != "."))
            .filter(|p| get_at(live, p) != get_at(config, p))
            .cloned()
            .collect();
        if request.force {
            for path in &contested {
                entry.fields.remove(path);
            }
        } else {
            conflicts.extend(contested.iter().map(|p| Conflict {
                manager: entry.manager.clone(),
                api_version: entry.api_version.clone(),
                path: display_path(p),
            }));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let mut result = live.clone();
    let previous = managers
        .iter()
        .find(|e| e.manager == request.manager && e.operation == "Apply")
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others: FieldSet = managers
        .iter()
        .filter(|e| !(e.manager == request.manager && e.operation == "Apply"))
        .flat_map(|e| e.fields.iter().cloned())
        .collect();
    // Deepest first, so a removed list item does not hide its removed fields' parents.
    let mut dropped: Vec<&FieldPath> = previous.difference(&new_fields).collect();
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in dropped {
        let shared = others
            .iter()
            .any(|o| o.starts_with(path.strip_suffix(&[".".to_owned()]).unwrap_or(path)));
        if !shared {
            remove_at(&mut result, path);
            prune_empty_parents(&mut result, path, &others, &new_fields);
        }
    }
    merge(&mut result, &strip_server_fields(config));

    managers.retain(|e| !(e.manager == request.manager && e.operation == "Apply"));
    managers.push(ManagedEntry {
        manager: request.manager.to_owned(),
        operation: "Apply".into(),
        api_version: request.api_version.to_owned(),
        time: request.now.to_owned(),
        subresource: None,
        fields: new_fields,
    });
    write_managed(&mut result, &managers);
    Ok(result)
}

/// Records an Update-operation manager that created the object: it owns what it sent.
pub fn record_update(object: &mut Json, sent: &Json, manager: &str, api_version: &str, now: &str) {
    let fields = field_set(sent);
    assign_update(object, fields, manager, api_version, now, None);
}

/// Records an Update-operation write to an existing object (patch, replace, a status write),
/// as structured-merge-diff does: `manager` gains the fields the write added or changed, every
/// other manager loses them, and fields the write removed leave everyone.
pub fn record_change(
    object: &mut Json,
    old: &Json,
    manager: &str,
    api_version: &str,
    now: &str,
    subresource: Option<&str>,
) {
    let changed: FieldSet = field_set(object)
        .into_iter()
        .filter(|path| match path.split_last() {
            Some((last, parent)) if last == "." => get_at(old, parent).is_none(),
            _ => get_at(old, path) != get_at(object, path),
        })
        .collect();
    let mut managers = read_managed(object);
    for entry in managers.iter_mut() {
        entry.fields.retain(|path| get_at(object, path).is_some());
    }
    write_managed(object, &managers);
    if !changed.is_empty() {
        assign_update(object, changed, manager, api_version, now, subresource);
    }
}

fn assign_update(
    object: &mut Json,
    fields: FieldSet,
    manager: &str,
    api_version: &str,
    now: &str,
    subresource: Option<&str>,
) {
    let mut managers = read_managed(object);
    let mine = |e: &ManagedEntry| {
        e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == subresource
    };
    for entry in managers.iter_mut() {
        if !mine(entry) {
            entry.fields.retain(|p| !fields.contains(p));
        }
    }
    match managers.iter_mut().find(|e| mine(e)) {
        Some(entry) => {
            entry.fields.extend(fields);
            entry.time = now.to_owned();
        }
        None => managers.push(ManagedEntry {
            manager: manager.to_owned(),
            operation: "Update".into(),
            api_version: api_version.to_owned(),
            time: now.to_owned(),
            subresource: subresource.map(str::to_owned),
            fields,
        }),
    }
    write_managed(object, &managers);
}

/// Removes maps left empty by a removal, unless someone still owns them.
fn prune_empty_parents(object: &mut Json, path: &FieldPath, others: &FieldSet, mine: &FieldSet) {
    let fields: Vec<&String> = path.iter().filter(|e| *e != ".").collect();
    for depth in (1..fields.len()).rev() {
        let parent: FieldPath = fields[..depth].iter().map(|s| (*s).clone()).collect();
        if !parent.last().is_some_and(|e| e.starts_with("f:")) {
            return;
        }
        let empty =
            get_at(object, &parent).is_some_and(|v| v.as_object().is_some_and(Map::is_empty));
        let owned = others.iter().chain(mine.iter()).any(|p| p.starts_with(&parent));
        if empty && !owned {
            remove_at(object, &parent);
        } else {
            return;
        }
    }
}

/// The configuration without the fields only the server sets.
pub fn strip_server_fields(config: &Json) -> Json {
    let mut out = config.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Json::as_object_mut) {
            for key in [
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "managedFields",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ] {
                metadata.remove(key);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(manager: &str, force: bool) -> ApplyRequest<'_> {
        ApplyRequest { manager, force, api_version: "apps/v1", now: "2026-01-01T00:00:00Z" }
    }

    fn deployment(replicas: i64, image: &str) -> Json {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}}
        })
    }

    #[test]
    fn field_set_uses_fields_v1_elements() {
        let set = field_set(&deployment(1, "nginx"));
        assert!(set.contains(&vec!["f:spec".to_owned(), "f:replicas".to_owned()]));
        let item = r#"k:{"name":"app"}"#.to_owned();
        assert!(set.contains(&vec![
            "f:spec".into(),
            "f:template".into(),
            "f:spec".into(),
            "f:containers".into(),
            item.clone(),
            "f:image".into()
        ]));
        assert!(!set.iter().any(|p| p == &vec!["f:apiVersion".to_owned()]));
        assert!(!set.iter().any(|p| p == &vec!["f:metadata".to_owned(), "f:name".to_owned()]));
    }

    #[test]
    fn conflicts_name_the_other_manager_and_force_takes_over() {
        let created =
            apply(&json!({}), &deployment(1, "nginx"), &req("gitops-env", false)).unwrap();
        let scaled = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 3}});
        let conflicts = apply(&created, &scaled, &req("kubectl", false)).unwrap_err();
        assert_eq!(
            conflicts,
            vec![Conflict {
                manager: "gitops-env".into(),
                api_version: "apps/v1".into(),
                path: ".spec.replicas".into()
            }]
        );
        let forced = apply(&created, &scaled, &req("kubectl", true)).unwrap();
        assert_eq!(forced["spec"]["replicas"], 3);
        // The original manager no longer owns replicas, so re-applying the same value conflicts.
        let again = apply(&forced, &deployment(1, "nginx"), &req("gitops-env", false)).unwrap_err();
        assert_eq!(again[0].manager, "kubectl");
        // Equal values are shared, not conflicts.
        assert!(apply(&forced, &deployment(3, "nginx"), &req("gitops-env", false)).is_ok());
    }

    #[test]
    fn fields_dropped_from_the_configuration_are_removed() {
        let created =
            apply(&json!({}), &deployment(1, "nginx"), &req("gitops-env", false)).unwrap();
        let mut smaller = deployment(1, "nginx");
        smaller["metadata"].as_object_mut().unwrap().remove("labels");
        let updated = apply(&created, &smaller, &req("gitops-env", false)).unwrap();
        assert!(updated["metadata"].get("labels").is_none(), "{updated}");
        assert_eq!(updated["spec"]["template"]["spec"]["containers"][0]["image"], "nginx");
    }

    #[test]
    fn managed_fields_round_trip() {
        let created =
            apply(&json!({}), &deployment(2, "nginx"), &req("gitops-env", false)).unwrap();
        let entries = read_managed(&created);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].fields, field_set(&deployment(2, "nginx")));
        assert_eq!(
            display_path(&[
                "f:spec".into(),
                "f:containers".into(),
                r#"k:{"name":"app"}"#.into(),
                "f:image".into()
            ]),
            r#".spec.containers[name="app"].image"#
        );
    }
}
