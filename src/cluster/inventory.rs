//! Ownership and inventory: the labels that mark an object as created by gitops-env for one
//! environment and unit, and the record (a ConfigMap in [`INVENTORY_NAMESPACE`]) of what each
//! (environment, unit) applied last, which prune and teardown read.
//!
//! The labels are the authority: an inventory entry alone never justifies a deletion. These
//! keys are a contract with the preview transform (`crate::preview`, which labels and annotates
//! preview namespaces; the shared keys are taken from there) and with users' clusters: change
//! them only with a migration.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};

use super::{ObjectRef, Scope};

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "gitops-env";
/// `app.kubernetes.io/managed-by: gitops-env` marks everything we create.
pub const MANAGED_BY_LABEL: &str = crate::preview::LABEL_MANAGED_BY;
pub const MANAGED_BY_VALUE: &str = crate::preview::MANAGER;
/// The environment (for previews: the preview namespace), label-safe.
pub const ENVIRONMENT_LABEL: &str = "gitops-env.io/environment";
/// The unit, label-safe (see [`label_value`]).
pub const UNIT_LABEL: &str = "gitops-env.io/unit";
/// On preview namespaces (and objects): the preview slug. Shared with `crate::preview`.
pub const PREVIEW_LABEL: &str = crate::preview::LABEL_PREVIEW;
/// Where inventories live.
pub const INVENTORY_NAMESPACE: &str = "gitops-env-system";
/// Inventory ConfigMaps carry this label, so they can be listed.
pub const INVENTORY_LABEL: &str = "gitops-env.io/inventory";
/// The unit's exact path, on inventories (label values cannot hold `/`).
pub const UNIT_PATH_ANNOTATION: &str = "gitops-env.io/unit-path";
pub const ENVIRONMENT_ANNOTATION: &str = "gitops-env.io/environment";

/// FNV-1a, 64 bits: a stable hash (std's hasher may change between Rust versions).
pub fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn is_label_value(text: &str) -> bool {
    text.len() <= 63
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && text.bytes().next().is_none_or(|b| b.is_ascii_alphanumeric())
        && text.bytes().last().is_none_or(|b| b.is_ascii_alphanumeric())
}

/// A valid label value for any text: the text itself when valid, otherwise a readable
/// sanitised prefix plus a hash of the exact text, so different texts never share a value.
pub fn label_value(text: &str) -> String {
    if is_label_value(text) {
        return text.to_owned();
    }
    let sanitised: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '-' })
        .collect();
    let prefix: String =
        sanitised.trim_matches(|c: char| !c.is_ascii_alphanumeric()).chars().take(50).collect();
    let prefix = prefix.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let hash = format!("{:08x}", stable_hash(text) as u32);
    if prefix.is_empty() { hash } else { format!("{prefix}-{hash}") }
}

/// The labels every object applied for `scope` carries.
pub fn ownership_labels(scope: &Scope) -> [(&'static str, String); 3] {
    [
        (MANAGED_BY_LABEL, MANAGED_BY_VALUE.to_owned()),
        (ENVIRONMENT_LABEL, label_value(&scope.environment)),
        (UNIT_LABEL, label_value(&scope.unit)),
    ]
}

/// Adds the ownership labels to an object about to be applied.
pub fn label_object(object: &mut Json, scope: &Scope) {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    if !object["metadata"]["labels"].is_object() {
        object["metadata"]["labels"] = json!({});
    }
    for (key, value) in ownership_labels(scope) {
        object["metadata"]["labels"][key] = json!(value);
    }
}

fn label<'a>(object: &'a Json, key: &str) -> Option<&'a str> {
    object["metadata"]["labels"][key].as_str()
}

/// Whether a live object was created by gitops-env for this environment.
pub fn owned_by_environment(object: &Json, environment: &str) -> bool {
    label(object, MANAGED_BY_LABEL) == Some(MANAGED_BY_VALUE)
        && label(object, ENVIRONMENT_LABEL) == Some(label_value(environment).as_str())
}

/// Whether a live object was created by gitops-env for exactly this environment and unit.
pub fn owned_by(object: &Json, scope: &Scope) -> bool {
    owned_by_environment(object, &scope.environment)
        && label(object, UNIT_LABEL) == Some(label_value(&scope.unit).as_str())
}

/// The inventory ConfigMap's name for a scope: stable, unique, a valid object name.
pub fn inventory_name(scope: &Scope) -> String {
    format!("inventory-{:016x}", stable_hash(&format!("{}\0{}", scope.environment, scope.unit)))
}

/// The inventory ConfigMap recording `objects` for `scope`.
pub fn inventory_object(scope: &Scope, objects: &BTreeSet<ObjectRef>) -> Json {
    let entries: Vec<Json> = objects
        .iter()
        .map(|o| json!({"apiVersion": o.api_version, "kind": o.kind, "namespace": o.namespace, "name": o.name}))
        .collect();
    let mut labels = serde_json::Map::new();
    for (key, value) in ownership_labels(scope) {
        labels.insert(key.to_owned(), json!(value));
    }
    labels.insert(INVENTORY_LABEL.to_owned(), json!("true"));
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": inventory_name(scope),
            "namespace": INVENTORY_NAMESPACE,
            "labels": labels,
            "annotations": {ENVIRONMENT_ANNOTATION: scope.environment, UNIT_PATH_ANNOTATION: scope.unit},
        },
        "data": {"objects.json": serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into())},
    })
}

/// The objects an inventory ConfigMap records.
pub fn read_inventory(configmap: &Json) -> Result<BTreeSet<ObjectRef>, String> {
    let Some(text) = configmap["data"]["objects.json"].as_str() else {
        return Ok(BTreeSet::new());
    };
    let entries: Vec<Json> =
        serde_json::from_str(text).map_err(|e| format!("objects.json is not a JSON list: {e}"))?;
    entries
        .iter()
        .map(|e| {
            let field = |name: &str| {
                e[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("entry without {name}: {e}"))
            };
            Ok(ObjectRef {
                api_version: field("apiVersion")?,
                kind: field("kind")?,
                namespace: field("namespace")?,
                name: field("name")?,
            })
        })
        .collect()
}

/// The scope an inventory ConfigMap belongs to.
pub fn inventory_scope(configmap: &Json) -> Option<Scope> {
    let annotations = &configmap["metadata"]["annotations"];
    Some(Scope {
        environment: annotations[ENVIRONMENT_ANNOTATION].as_str()?.to_owned(),
        unit: annotations[UNIT_PATH_ANNOTATION].as_str()?.to_owned(),
    })
}

/// The namespace that holds inventories, labelled as ours.
pub fn inventory_namespace_object() -> Json {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": INVENTORY_NAMESPACE, "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope { environment: "testing".into(), unit: "apps/web".into() }
    }

    #[test]
    fn label_values_are_valid_and_distinct() {
        assert_eq!(label_value("testing"), "testing");
        let web = label_value("apps/web");
        assert!(is_label_value(&web) && web.starts_with("apps-web-"), "{web}");
        assert_ne!(label_value("apps/web"), label_value("apps-web"));
        let long = label_value(&"x/".repeat(80));
        assert!(is_label_value(&long), "{long}");
        assert!(is_label_value(&label_value("///")));
    }

    #[test]
    fn ownership_needs_every_label() {
        let mut object = json!({"metadata": {"name": "a"}});
        assert!(!owned_by(&object, &scope()));
        label_object(&mut object, &scope());
        assert!(owned_by(&object, &scope()));
        assert!(owned_by_environment(&object, "testing"));
        assert!(!owned_by(
            &object,
            &Scope { environment: "testing".into(), unit: "apps/api".into() }
        ));
        assert!(!owned_by_environment(&object, "production"));
        object["metadata"]["labels"][MANAGED_BY_LABEL] = json!("helm");
        assert!(!owned_by(&object, &scope()));
    }

    #[test]
    fn inventory_round_trips() {
        let objects: BTreeSet<ObjectRef> = [ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: "web".into(),
            name: "c".into(),
        }]
        .into();
        let cm = inventory_object(&scope(), &objects);
        assert_eq!(read_inventory(&cm).unwrap(), objects);
        assert_eq!(inventory_scope(&cm), Some(scope()));
        assert!(read_inventory(&json!({"data": {"objects.json": "{"}})).is_err());
    }
}
