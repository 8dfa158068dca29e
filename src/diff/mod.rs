//! The diff stage: what one unit's rendered output changes, object by object.
//!
//! Input is the rendered objects of one unit on the base and on the head side (plain
//! `kustomize::Value`s); output is a [`UnitDiff`]: objects paired by apiVersion/kind/namespace/name
//! ([`pair`]), Secret values and other sensitive strings redacted ([`redact`]) *before* any text is
//! made, and a unified diff of the Go-formatted YAML per object ([`text`]). A generator's
//! hash-suffix rename is one [`Change::Renamed`] object, explained, not a delete plus an add.
//!
//! This module is pure: no I/O, no clock, no environment. It must never produce text from an
//! unredacted object — every path to text goes through [`redact::redact_object`] first.

pub mod pair;
pub mod redact;
pub mod text;

use std::collections::HashMap;
use std::fmt;

use kustomize::Value;

use pair::Pairing;

/// The identity of a Kubernetes object inside one rendered unit.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    // Field order is the sort order: readers look objects up by kind first.
    pub kind: String,
    /// Empty for cluster-scoped objects (and for namespaced ones rendered without a namespace).
    pub namespace: String,
    pub name: String,
    pub api_version: String,
}

impl ObjectKey {
    /// The key of a rendered object; missing fields become empty strings rather than errors,
    /// because the renderer has already validated what it emits and a diff must never fail.
    pub fn of(object: &Value) -> ObjectKey {
        let field = |path: &[&str]| object.get_path(path).and_then(Value::as_str).unwrap_or("");
        ObjectKey {
            kind: field(&["kind"]).to_owned(),
            namespace: field(&["metadata", "namespace"]).to_owned(),
            name: field(&["metadata", "name"]).to_owned(),
            api_version: field(&["apiVersion"]).to_owned(),
        }
    }
}

impl fmt::Display for ObjectKey {
    /// `kind/namespace/name`, or `kind/name` for objects without a namespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What happened to one object between base and head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    Changed,
    /// A generated ConfigMap/Secret whose hash suffix changed with its content.
    Renamed {
        from: ObjectKey,
    },
}

/// Why a change looks the way it does, for readers who would otherwise take it for noise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Explanation {
    /// kustomize names generated ConfigMaps/Secrets `name-<hash of content>`, so a content change
    /// is also a rename.
    GeneratedHashSuffix,
    /// The only difference is references to generated objects that were renamed (listed by their
    /// new names).
    OnlyRenamedReferences { renamed: Vec<String> },
}

/// One object's change: its key on the head side (base side when removed), and the unified diff
/// of its redacted YAML (hunks only, no file headers).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectDiff {
    pub key: ObjectKey,
    pub change: Change,
    pub text: String,
    pub explanation: Option<Explanation>,
}

/// How many objects of a unit were added, changed (renames included) or removed, and how many
/// stayed the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub changed: usize,
    pub removed: usize,
    pub unchanged: usize,
}

impl Counts {
    /// Whether anything differs.
    pub fn is_empty(&self) -> bool {
        self.added == 0 && self.changed == 0 && self.removed == 0
    }
}

/// The diff of one unit in one environment. `objects` lists only objects that differ, sorted by
/// key.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitDiff {
    pub unit: String,
    pub environment: String,
    pub objects: Vec<ObjectDiff>,
    pub counts: Counts,
}

/// Diffs the rendered objects of `unit` in `environment`: `base` (before) against `head` (after).
pub fn diff_unit(unit: &str, environment: &str, base: &[Value], head: &[Value]) -> UnitDiff {
    let mut objects = Vec::new();
    let mut counts = Counts::default();
    let mut renames: Vec<(String, String)> = Vec::new();
    for pairing in pair::pair_objects(base, head) {
        match pairing {
            Pairing::Added(h) => {
                counts.added += 1;
                objects.push(object_diff(None, Some(&head[h]), Change::Added));
            }
            Pairing::Removed(b) => {
                counts.removed += 1;
                objects.push(object_diff(Some(&base[b]), None, Change::Removed));
            }
            Pairing::Same(b, h) if base[b] == head[h] => counts.unchanged += 1,
            Pairing::Same(b, h) => {
                let diff = object_diff(Some(&base[b]), Some(&head[h]), Change::Changed);
                // Values can differ where their YAML cannot (a NaN is never equal to itself).
                if diff.text.is_empty() {
                    counts.unchanged += 1;
                } else {
                    counts.changed += 1;
                    objects.push(diff);
                }
            }
            Pairing::Renamed(b, h) => {
                counts.changed += 1;
                let from = ObjectKey::of(&base[b]);
                let to = ObjectKey::of(&head[h]);
                renames.push((from.name.clone(), to.name.clone()));
                let mut diff =
                    object_diff(Some(&base[b]), Some(&head[h]), Change::Renamed { from });
                diff.explanation = Some(Explanation::GeneratedHashSuffix);
                objects.push(diff);
            }
        }
    }
    if !renames.is_empty() {
        explain_renamed_references(&mut objects, base, head, &renames);
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    UnitDiff { unit: unit.to_owned(), environment: environment.to_owned(), objects, counts }
}

/// Redacts both sides against each other, then diffs their YAML.
/// The key is the head side's, or the base side's for a removed object.
fn object_diff(base: Option<&Value>, head: Option<&Value>, change: Change) -> ObjectDiff {
    let key = head.or(base).map(ObjectKey::of).unwrap_or_default();
    let base_text =
        base.map(|b| text::object_yaml(&redact::redact_object(b, head, redact::Side::Old)));
    let head_text =
        head.map(|h| text::object_yaml(&redact::redact_object(h, base, redact::Side::New)));
    let text =
        text::unified_diff(base_text.as_deref().unwrap_or(""), head_text.as_deref().unwrap_or(""));
    ObjectDiff { key, change, text, explanation: None }
}

/// Marks changed objects whose only difference is references to renamed generated objects (a
/// Deployment mounting a ConfigMap whose hash changed), so readers know it follows the rename.
fn explain_renamed_references(
    objects: &mut [ObjectDiff],
    base: &[Value],
    head: &[Value],
    renames: &[(String, String)],
) {
    let index = |side: &'_ [Value]| -> HashMap<ObjectKey, usize> {
        side.iter().enumerate().map(|(i, v)| (ObjectKey::of(v), i)).collect()
    };
    let (base_index, head_index) = (index(base), index(head));
    for object in objects.iter_mut().filter(|o| o.change == Change::Changed) {
        let (Some(&b), Some(&h)) = (base_index.get(&object.key), head_index.get(&object.key))
        else {
            continue;
        };
        let (mut before, after) = (base[b].clone(), &head[h]);
        let mut used = Vec::new();
        rename_strings(&mut before, renames, &mut used);
        if before == *after && !used.is_empty() {
            used.sort();
            used.dedup();
            object.explanation = Some(Explanation::OnlyRenamedReferences { renamed: used });
        }
    }
}

/// Replaces every string equal to an old generated name by its new name, recording which.
fn rename_strings(value: &mut Value, renames: &[(String, String)], used: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            if let Some((_, new)) = renames.iter().find(|(old, _)| old == s) {
                used.push(new.clone());
                *s = new.clone();
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|v| rename_strings(v, renames, used)),
        Value::Map(map) => map.values_mut().for_each(|v| rename_strings(v, renames, used)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::Map;

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map>())
    }

    fn config_map(name: &str, value: &str) -> Value {
        map(vec![
            ("apiVersion", "v1".into()),
            ("kind", "ConfigMap".into()),
            ("metadata", map(vec![("name", name.into()), ("namespace", "shop".into())])),
            ("data", map(vec![("LEVEL", value.into())])),
        ])
    }

    fn deployment(config: &str) -> Value {
        map(vec![
            ("apiVersion", "apps/v1".into()),
            ("kind", "Deployment".into()),
            ("metadata", map(vec![("name", "web".into()), ("namespace", "shop".into())])),
            ("spec", map(vec![("configName", config.into())])),
        ])
    }

    #[test]
    fn generator_rename_is_one_explained_change_and_follows_into_references() {
        let base = [config_map("web-9m7f2b8c4d", "info"), deployment("web-9m7f2b8c4d")];
        let head = [config_map("web-h2k4t6g8b5", "debug"), deployment("web-h2k4t6g8b5")];
        let diff = diff_unit("apps/web", "testing", &base, &head);
        assert_eq!(diff.counts, Counts { added: 0, changed: 2, removed: 0, unchanged: 0 });
        let config = &diff.objects[0];
        assert_eq!(config.key.to_string(), "ConfigMap/shop/web-h2k4t6g8b5");
        assert_eq!(config.change, Change::Renamed { from: ObjectKey::of(&base[0]) });
        assert_eq!(config.explanation, Some(Explanation::GeneratedHashSuffix));
        assert!(config.text.contains("-  LEVEL: info\n+  LEVEL: debug\n"), "{}", config.text);
        let deploy = &diff.objects[1];
        assert_eq!(deploy.change, Change::Changed);
        assert_eq!(
            deploy.explanation,
            Some(Explanation::OnlyRenamedReferences { renamed: vec!["web-h2k4t6g8b5".into()] })
        );
    }

    #[test]
    fn added_removed_and_unchanged_objects_are_counted() {
        let base = [config_map("a", "1"), config_map("b", "1")];
        let head = [config_map("b", "1"), config_map("c", "1")];
        let diff = diff_unit("u", "e", &base, &head);
        assert_eq!(diff.counts, Counts { added: 1, changed: 0, removed: 1, unchanged: 1 });
        let changes: Vec<_> =
            diff.objects.iter().map(|o| (o.key.name.as_str(), &o.change)).collect();
        assert_eq!(changes, vec![("a", &Change::Removed), ("c", &Change::Added)]);
        assert!(diff.objects[1].text.starts_with("@@ -0,0 +1,7 @@\n+apiVersion: v1\n"));
        assert!(diff_unit("u", "e", &base, &base).counts.is_empty());
        let nan = [map(vec![("kind", "X".into()), ("v", Value::Float(f64::NAN))])];
        assert_eq!(diff_unit("u", "e", &nan, &nan).counts.unchanged, 1);
    }

    #[test]
    fn secret_values_never_reach_the_text() {
        let secret = |value: &str| {
            map(vec![
                ("kind", "Secret".into()),
                ("metadata", map(vec![("name", "db".into())])),
                ("data", map(vec![("password", value.into())])),
            ])
        };
        let diff = diff_unit("u", "e", &[secret("aHVudGVyMg==")], &[secret("c3dvcmRmaXNo")]);
        let text = &diff.objects[0].text;
        assert!(!text.contains("aHVudGVyMg") && !text.contains("c3dvcmRmaXNo"), "{text}");
        assert!(text.contains("-  password: <redacted> (changed, old)\n"), "{text}");
    }
}
