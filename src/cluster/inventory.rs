//! Ownership and inventory: the labels that mark an object as created by gitops-env for one
//! environment and unit, and the record (a ConfigMap in [`INVENTORY_NAMESPACE`]) of what each
//! (environment, unit) applied last, which prune and teardown read.
//!
//! The labels are the authority: an inventory entry alone never justifies a deletion, and a live
//! object's labels decide whether a deploy may apply over it ([`Ownership`]). An inventory is
//! written in two steps so that a crash at any point leaves every object we may have applied on
//! record: *pending* (the union of what was recorded and what is about to be applied) before
//! applying, *confirmed* (what is there now) after. These keys are a contract with the preview transform (`crate::preview`, which labels and annotates
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

/// The key in an inventory's data that holds its [`InventoryState`].
pub const STATE_KEY: &str = "state";

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

/// Who a live object belongs to, judged for the scope about to apply it (kapp's rule: nothing
/// is taken over silently).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Not in the cluster: the apply creates it.
    Absent,
    /// Ours, for this environment and unit.
    Ours,
    /// Ours for this environment, recorded for another unit (its label value): the apply moves
    /// it to this unit, as when an object moves between units.
    OtherUnit { unit: String },
    /// It exists without gitops-env's ownership labels (made by hand, by another tool, or by
    /// gitops-env before it knew environments): applied over only when the deploy opts in to
    /// adopting. `managers` are its field managers, for the message.
    Foreign { managers: Vec<String> },
    /// gitops-env's for another environment (its label value): never taken over (a preview
    /// named like testing's namespace must not relabel, strip or later delete it).
    OtherEnvironment { environment: String },
}

impl Ownership {
    /// Whether a deploy may apply over the object (`adopt`: take over foreign objects).
    pub fn permits(&self, adopt: bool) -> bool {
        match self {
            Ownership::Absent | Ownership::Ours | Ownership::OtherUnit { .. } => true,
            Ownership::Foreign { .. } => adopt,
            Ownership::OtherEnvironment { .. } => false,
        }
    }
}

impl std::fmt::Display for Ownership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ownership::Absent => f.write_str("new"),
            Ownership::Ours => f.write_str("ours"),
            Ownership::OtherUnit { unit } => write!(f, "taken over from unit {unit}"),
            Ownership::Foreign { managers } if managers.is_empty() => {
                f.write_str("not created by gitops-env (no field managers recorded)")
            }
            Ownership::Foreign { managers } => {
                write!(f, "not created by gitops-env (field managers: {})", managers.join(", "))
            }
            Ownership::OtherEnvironment { environment } => {
                write!(f, "owned by gitops-env environment {environment}")
            }
        }
    }
}

/// The field managers of a live object, sorted.
pub fn field_managers(object: &Json) -> Vec<String> {
    let mut managers: Vec<String> = object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries.iter().filter_map(|e| e["manager"].as_str().map(str::to_owned)).collect()
        })
        .unwrap_or_default();
    managers.sort();
    managers.dedup();
    managers
}

/// Who `live` (absent: `None`) belongs to, for `scope`.
pub fn ownership(live: Option<&Json>, scope: &Scope) -> Ownership {
    let Some(live) = live else { return Ownership::Absent };
    let environment = label(live, ENVIRONMENT_LABEL);
    match environment {
        Some(environment) if label(live, MANAGED_BY_LABEL) == Some(MANAGED_BY_VALUE) => {
            if environment != label_value(&scope.environment) {
                Ownership::OtherEnvironment { environment: environment.to_owned() }
            } else {
                match label(live, UNIT_LABEL) {
                    Some(unit) if unit == label_value(&scope.unit) => Ownership::Ours,
                    unit => Ownership::OtherUnit { unit: unit.unwrap_or_default().to_owned() },
                }
            }
        }
        _ => Ownership::Foreign { managers: field_managers(live) },
    }
}

/// The label selector for objects gitops-env applied for `environment` (and `unit`, if given).
pub fn selector(environment: &str, unit: Option<&str>) -> String {
    let mut selector = format!(
        "{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{ENVIRONMENT_LABEL}={}",
        label_value(environment)
    );
    if let Some(unit) = unit {
        selector.push_str(&format!(",{UNIT_LABEL}={}", label_value(unit)));
    }
    selector
}

/// Whether an object is an inventory record (which carries its scope's labels too).
pub fn is_inventory(object: &Json) -> bool {
    object["metadata"]["labels"][INVENTORY_LABEL] == "true"
}

/// Where an inventory is in its two-step write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InventoryState {
    /// Written before applying: it may list objects that were never applied. Also what an
    /// inventory without a state (written by an older gitops-env) counts as.
    Pending,
    /// Written after applying and pruning: it lists what is there.
    Confirmed,
}

impl InventoryState {
    fn as_str(self) -> &'static str {
        match self {
            InventoryState::Pending => "pending",
            InventoryState::Confirmed => "confirmed",
        }
    }
}

/// What an inventory says: the objects, and whether the run that wrote it finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub objects: BTreeSet<ObjectRef>,
    /// `None`: there is no inventory.
    pub state: Option<InventoryState>,
}

impl Record {
    /// Whether the record can be trusted to list everything of its scope: only a confirmed one
    /// can; otherwise the scope's objects are also looked up by label.
    pub fn is_confirmed(&self) -> bool {
        self.state == Some(InventoryState::Confirmed)
    }
}

/// The inventory ConfigMap's name for a scope: stable, unique, a valid object name.
pub fn inventory_name(scope: &Scope) -> String {
    format!("inventory-{:016x}", stable_hash(&format!("{}\0{}", scope.environment, scope.unit)))
}

/// The inventory ConfigMap recording `objects` for `scope`.
pub fn inventory_object(
    scope: &Scope,
    objects: &BTreeSet<ObjectRef>,
    state: InventoryState,
) -> Json {
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
        "data": {
            "objects.json": serde_json::to_string(&entries).unwrap_or_else(|_| "[]".into()),
            STATE_KEY: state.as_str(),
        },
    })
}

/// What an inventory ConfigMap records.
pub fn read_inventory(configmap: &Json) -> Result<Record, String> {
    let state = match configmap["data"][STATE_KEY].as_str() {
        Some("confirmed") => InventoryState::Confirmed,
        _ => InventoryState::Pending,
    };
    let objects = read_objects(configmap)?;
    Ok(Record { objects, state: Some(state) })
}

fn read_objects(configmap: &Json) -> Result<BTreeSet<ObjectRef>, String> {
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
    fn ownership_is_judged_from_the_live_labels() {
        let unit = scope();
        assert_eq!(ownership(None, &unit), Ownership::Absent);
        let mut live = json!({"metadata": {"name": "a", "managedFields": [
            {"manager": "kubectl-client-side-apply"}, {"manager": "helm"}, {"manager": "helm"}]}});
        let foreign = ownership(Some(&live), &unit);
        assert_eq!(
            foreign,
            Ownership::Foreign {
                managers: vec!["helm".into(), "kubectl-client-side-apply".into()]
            }
        );
        assert!(!foreign.permits(false) && foreign.permits(true));
        label_object(&mut live, &unit);
        assert_eq!(ownership(Some(&live), &unit), Ownership::Ours);
        let api = Scope { environment: "testing".into(), unit: "apps/api".into() };
        let moved = ownership(Some(&live), &api);
        assert_eq!(moved, Ownership::OtherUnit { unit: label_value("apps/web") });
        assert!(moved.permits(false));
        let preview = Scope { environment: "web".into(), unit: "apps/web".into() };
        let other = ownership(Some(&live), &preview);
        assert_eq!(other, Ownership::OtherEnvironment { environment: "testing".into() });
        assert!(!other.permits(true), "another environment's objects are never taken over");
        // Our manager label alone (no environment) is not ownership.
        let bare = json!({"metadata": {"labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE}}});
        assert!(matches!(ownership(Some(&bare), &unit), Ownership::Foreign { .. }));
        assert_eq!(
            selector("testing", Some("apps/web")),
            format!(
                "app.kubernetes.io/managed-by=gitops-env,gitops-env.io/environment=testing,gitops-env.io/unit={}",
                label_value("apps/web")
            )
        );
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
        for state in [InventoryState::Pending, InventoryState::Confirmed] {
            let cm = inventory_object(&scope(), &objects, state);
            let record = read_inventory(&cm).unwrap();
            assert_eq!((record.objects, record.state), (objects.clone(), Some(state)));
            assert_eq!(inventory_scope(&cm), Some(scope()));
            assert!(is_inventory(&cm));
        }
        // Written by an older gitops-env: no state, so not to be trusted as complete.
        let legacy = json!({"data": {"objects.json": "[]"}});
        assert!(!read_inventory(&legacy).unwrap().is_confirmed());
        assert!(read_inventory(&json!({"data": {"objects.json": "{"}})).is_err());
    }
}
