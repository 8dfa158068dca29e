//! Pairing base and head objects: same apiVersion/kind/namespace/name is the same object; among
//! what is left, a generated ConfigMap/Secret whose kustomize hash suffix changed is a rename.
//!
//! Pure index bookkeeping: it never looks at object contents beyond the identifying fields.

use std::collections::BTreeMap;

use kustomize::Value;

use super::ObjectKey;

/// How one object of either side was matched (indices into the base and head slices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    Same(usize, usize),
    Renamed(usize, usize),
    Added(usize),
    Removed(usize),
}

/// Kinds kustomize's generators produce with a content-hash suffix.
const GENERATED_KINDS: &[&str] = &["ConfigMap", "Secret"];

/// Length of kustomize's name hash suffix (`encodeHash` of a sha256, cut to ten characters).
const HASH_LEN: usize = 10;

/// The characters kustomize's `encodeHash` can produce: hex digits with the vowel-like ones and
/// 0/1/3 swapped out so that no word is spelled (0→g, 1→h, 3→k, a→m, e→t).
const HASH_ALPHABET: &str = "bcdfghkmt2456789";

/// Pairs the objects of both sides. The result lists base objects in order (paired or removed),
/// then head objects left unpaired (renamed targets are already listed with their source).
///
/// A key that occurs more than once on a side (not something kustomize emits, but possible in
/// hand-written input) is paired occurrence by occurrence.
pub fn pair_objects(base: &[Value], head: &[Value]) -> Vec<Pairing> {
    let mut head_by_key: BTreeMap<ObjectKey, Vec<usize>> = BTreeMap::new();
    for (index, object) in head.iter().enumerate().rev() {
        head_by_key.entry(ObjectKey::of(object)).or_default().push(index);
    }
    let mut pairings = Vec::with_capacity(base.len().max(head.len()));
    let mut removed = Vec::new();
    for (index, object) in base.iter().enumerate() {
        match head_by_key.get_mut(&ObjectKey::of(object)).and_then(Vec::pop) {
            Some(head_index) => pairings.push(Pairing::Same(index, head_index)),
            None => removed.push(index),
        }
    }
    let mut added: Vec<usize> = head_by_key.into_values().flatten().collect();
    added.sort_unstable();

    // Renames: an unpaired base and head object with the same generated stem.
    let stem_of = |object: &Value| -> Option<(String, String, String, String)> {
        let key = ObjectKey::of(object);
        if !GENERATED_KINDS.contains(&key.kind.as_str()) {
            return None;
        }
        let stem = hash_suffix_stem(&key.name)?.to_owned();
        Some((key.api_version, key.kind, key.namespace, stem))
    };
    let mut renamed_heads = vec![false; head.len()];
    for &base_index in &removed {
        let target = stem_of(&base[base_index]).and_then(|stem| {
            added
                .iter()
                .copied()
                .find(|&h| !renamed_heads[h] && stem_of(&head[h]) == Some(stem.clone()))
        });
        match target {
            Some(head_index) => {
                renamed_heads[head_index] = true;
                pairings.push(Pairing::Renamed(base_index, head_index));
            }
            None => pairings.push(Pairing::Removed(base_index)),
        }
    }
    pairings.extend(added.into_iter().filter(|&h| !renamed_heads[h]).map(Pairing::Added));
    pairings
}

/// `name` without its kustomize hash suffix, when it has one (`web-config-9m7f2b8c4d` → `web-config`).
pub fn hash_suffix_stem(name: &str) -> Option<&str> {
    let (stem, suffix) = name.rsplit_once('-')?;
    let is_hash = suffix.len() == HASH_LEN && suffix.chars().all(|c| HASH_ALPHABET.contains(c));
    (is_hash && !stem.is_empty()).then_some(stem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::value::Map;

    fn object(kind: &str, name: &str) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), name.into());
        metadata.insert("namespace".into(), "shop".into());
        let mut map = Map::new();
        map.insert("apiVersion".into(), "v1".into());
        map.insert("kind".into(), kind.into());
        map.insert("metadata".into(), metadata.into());
        Value::Map(map)
    }

    #[test]
    fn stem_requires_a_ten_character_kustomize_hash() {
        assert_eq!(hash_suffix_stem("web-config-9m7f2b8c4d"), Some("web-config"));
        assert_eq!(
            hash_suffix_stem("web-config-abcdefghij"),
            None,
            "a, e, i, j are never produced"
        );
        assert_eq!(hash_suffix_stem("web-config-9m7f2b8c4"), None);
        assert_eq!(hash_suffix_stem("web"), None);
        assert_eq!(hash_suffix_stem("-9m7f2b8c4d"), None);
    }

    #[test]
    fn pairs_by_key_then_generated_renames() {
        let base = [
            object("Deployment", "web"),
            object("ConfigMap", "web-config-9m7f2b8c4d"),
            object("Service", "old"),
            object("Deployment", "web-config-9m7f2b8c4d"),
        ];
        let head = [
            object("ConfigMap", "web-config-h2k4t6g8b5"),
            object("Deployment", "web"),
            object("Service", "new"),
            object("Deployment", "web-config-h2k4t6g8b5"),
        ];
        assert_eq!(
            pair_objects(&base, &head),
            vec![
                Pairing::Same(0, 1),
                Pairing::Renamed(1, 0),
                Pairing::Removed(2),
                // Only generator kinds are renamed: a Deployment keeps delete + add.
                Pairing::Removed(3),
                Pairing::Added(2),
                Pairing::Added(3),
            ]
        );
    }

    #[test]
    fn duplicate_keys_pair_in_order() {
        let base = [object("Service", "a"), object("Service", "a")];
        let head = [object("Service", "a")];
        assert_eq!(pair_objects(&base, &head), vec![Pairing::Same(0, 0), Pairing::Removed(1)]);
    }
}
