//! How kustomize reads the nested entries of a kustomization (`patches`, `replacements`,
//! `vars`, target selectors): Go's `encoding/json` into structs with unknown fields refused.
//! A key names a struct field case-insensitively, a repeated field takes its last value, and any other key is an error — so a typo fails the build exactly where
//! kustomize's does. Only key lookup lives here; the callers interpret the values.

use crate::value::{Map, Value};

/// The fields of one decoded entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryFields<'a> {
    map: &'a Map,
}

impl<'a> EntryFields<'a> {
    /// Checks every key against `known` (when `strict`) and wraps the map.
    pub(crate) fn new(
        map: &'a Map,
        known: &[&str],
        strict: bool,
    ) -> Result<EntryFields<'a>, String> {
        if strict
            && let Some(unknown) =
                map.keys().find(|key| !known.iter().any(|name| name.eq_ignore_ascii_case(key)))
        {
            return Err(format!("unknown field \"{unknown}\""));
        }
        Ok(EntryFields { map })
    }

    /// The value of field `name`: the last key equal to it ignoring case (Go decodes keys in
    /// order, each overwriting the field it names).
    pub(crate) fn get(&self, name: &str) -> Option<&'a Value> {
        self.map
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// Field `name` as text: absent or null is empty; numbers and booleans become their text
    /// (kustomize's YAML-to-JSON step has already typed them; a string field refuses them).
    pub(crate) fn text(&self, name: &str) -> Result<String, String> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(format!("field \"{name}\" must be a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> Map {
        entries.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect()
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_are_refused() {
        let entry = map(&[("fieldpath", "data.x"), ("Kind", "ConfigMap")]);
        let fields = EntryFields::new(&entry, &["fieldPath", "kind"], true).expect("known");
        assert_eq!(fields.text("fieldPath"), Ok("data.x".to_owned()));
        assert_eq!(fields.text("kind"), Ok("ConfigMap".to_owned()));
        assert_eq!(fields.text("name"), Ok(String::new()));
        let typo = map(&[("fieldPaht", "x")]);
        assert_eq!(
            EntryFields::new(&typo, &["fieldPath"], true).map(|_| ()),
            Err("unknown field \"fieldPaht\"".to_owned())
        );
        assert!(EntryFields::new(&typo, &["fieldPath"], false).is_ok());
    }

    #[test]
    fn a_repeated_field_takes_its_last_value() {
        let entry = map(&[("path", "a"), ("Path", "b")]);
        let fields = EntryFields::new(&entry, &["path"], true).expect("known");
        assert_eq!(fields.text("path"), Ok("b".to_owned()));
    }
}
