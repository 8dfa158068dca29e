//! The values file helm is given, combined as kustomize combines it, and the redaction of values
//! from error text.
//!
//! kustomize hands helm one values file of its own (`-f <tmp>/<chart>-kustomize-values.yaml`):
//! with no `valuesInline`, a verbatim copy of `valuesFile` (default: the chart's `values.yaml`);
//! with `valuesInline`, the values file's first document merged with the inline values by kyaml's
//! `merge2` (`override`: inline wins; `merge`: the file wins; `replace`: inline alone), decoded
//! and written through JSON. helm reads that file through JSON too, so writing JSON (which YAML
//! reads) gives helm the same values.
//!
//! Values may hold secrets: this module never puts them in an error message, and `Redactor`
//! removes them from text that came from helm.

use crate::patch::strategic_merge;
use crate::value::{Map, Value};

/// How `valuesInline` combines with the values file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ValuesMerge {
    Override,
    Merge,
    Replace,
}

impl ValuesMerge {
    /// kustomize's legal `valuesMerge` values; empty means `override`.
    pub(crate) fn parse(text: &str) -> Option<ValuesMerge> {
        match text {
            "" | "override" => Some(ValuesMerge::Override),
            "merge" => Some(ValuesMerge::Merge),
            "replace" => Some(ValuesMerge::Replace),
            _ => None,
        }
    }
}

/// Why the values could not be combined. Messages name no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValuesError {
    #[error("could not parse values file '{file}' (line {line})")]
    Parse { file: String, line: u64 },
    #[error("could not parse values file '{file}': it holds no document")]
    Empty { file: String },
    #[error("could not merge values: {reason}")]
    Merge { reason: String },
    #[error("values hold a number JSON cannot carry (infinity or NaN)")]
    NotJson,
}

/// The bytes of the values file to hand helm.
pub(crate) fn combine(
    values_file: &[u8],
    values_file_name: &str,
    inline: Option<&Map>,
    mode: ValuesMerge,
) -> Result<Vec<u8>, ValuesError> {
    let Some(inline) = inline.filter(|map| !map.is_empty()) else {
        return Ok(values_file.to_vec());
    };
    let inline = Value::Map(inline.clone());
    let merged = match mode {
        ValuesMerge::Replace => inline,
        ValuesMerge::Override | ValuesMerge::Merge => {
            let file = first_document(values_file, values_file_name)?;
            let (target, patch) = match mode {
                ValuesMerge::Override => (file, inline),
                _ => (inline, file),
            };
            // No schema: maps merge key by key, a null in the winning side clears, lists are
            // replaced (kyaml infers no associative lists here).
            strategic_merge::merge(&target, &patch, None)
                .map_err(|e| ValuesError::Merge { reason: e.to_string() })?
                .unwrap_or(Value::Null)
        }
    };
    let json = to_json(&merged).ok_or(ValuesError::NotJson)?;
    let mut text = json.to_string();
    text.push('\n');
    Ok(text.into_bytes())
}

/// kyaml's `Parse` of a values file: its first document; none at all is an error.
fn first_document(bytes: &[u8], file: &str) -> Result<Value, ValuesError> {
    let text = String::from_utf8_lossy(bytes);
    let documents = crate::yaml::parse_documents_decoded(&text, file)
        .map_err(|e| ValuesError::Parse { file: file.to_owned(), line: e.line().unwrap_or(0) })?;
    documents.into_iter().next().ok_or_else(|| ValuesError::Empty { file: file.to_owned() })
}

fn to_json(value: &Value) -> Option<serde_json::Value> {
    Some(match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::Number(serde_json::Number::from_f64(*f)?),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Seq(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Option<_>>()?)
        }
        Value::Map(map) => serde_json::Value::Object(
            map.iter().map(|(k, v)| Some((k.clone(), to_json(v)?))).collect::<Option<_>>()?,
        ),
    })
}

/// Removes known secret values from text (helm's error output) before it reaches a message.
#[derive(Debug, Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so that a value containing another is replaced whole.
    secrets: Vec<String>,
}

/// Values shorter than this are left alone: they are words (`true`, `web`, `80`) that would
/// mangle every message, and too short to be credentials worth hiding.
const MIN_REDACTED_LEN: usize = 4;

impl Redactor {
    /// Adds every string and number of `value` (and the base64 form of each string, which
    /// charts use for Secret data).
    pub(crate) fn add_value(&mut self, value: &Value) {
        match value {
            Value::Map(map) => map.values().for_each(|v| self.add_value(v)),
            Value::Seq(items) => items.iter().for_each(|v| self.add_value(v)),
            Value::String(s) => {
                self.add(s);
                self.add(&base64(s.as_bytes()));
            }
            Value::Int(_) | Value::Float(_) => {
                if let Some(text) = crate::resource::scalar_text(value) {
                    self.add(&text);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }

    /// Adds every value of a values file (a YAML text); an unreadable file adds its lines.
    pub(crate) fn add_values_text(&mut self, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes);
        match crate::yaml::parse_documents_decoded(&text, "values") {
            Ok(documents) => documents.iter().for_each(|d| self.add_value(d)),
            Err(_) => text.lines().for_each(|line| self.add(line.trim())),
        }
    }

    fn add(&mut self, secret: &str) {
        // Each line separately too: helm quotes values line by line in its messages.
        for part in std::iter::once(secret).chain(secret.lines()) {
            let part = part.trim();
            if part.chars().count() >= MIN_REDACTED_LEN && !self.secrets.iter().any(|s| s == part) {
                self.secrets.push(part.to_owned());
            }
        }
        self.secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// `text` with every known value replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_document;

    fn map(text: &str) -> Map {
        parse_document(text, "t").unwrap().as_map().unwrap().clone()
    }

    fn combined(file: &str, inline: &str, mode: ValuesMerge) -> serde_json::Value {
        let bytes = combine(file.as_bytes(), "values.yaml", Some(&map(inline)), mode).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    const FILE: &str = "replicas: 1\nimage:\n  repository: nginx\n  tag: \"1.25\"\nlist: [a, b]\n";
    const INLINE: &str = "replicas: 5\nlist: [z]\nimage: {tag: null}\nextra: {a: 1}\n";

    // Expected values recorded from kustomize v5.5.0's values file (see the helm test corpus).
    #[test]
    fn override_lets_inline_values_win_and_null_clears() {
        assert_eq!(
            combined(FILE, INLINE, ValuesMerge::Override),
            serde_json::json!({"replicas": 5, "image": {"repository": "nginx"}, "list": ["z"], "extra": {"a": 1}})
        );
    }

    #[test]
    fn merge_lets_the_file_win_and_adds_new_keys() {
        assert_eq!(
            combined(FILE, INLINE, ValuesMerge::Merge),
            serde_json::json!({"replicas": 1, "image": {"repository": "nginx", "tag": "1.25"}, "list": ["a", "b"], "extra": {"a": 1}})
        );
    }

    #[test]
    fn replace_uses_inline_values_alone() {
        assert_eq!(
            combined(FILE, INLINE, ValuesMerge::Replace),
            serde_json::json!({"replicas": 5, "image": {"tag": null}, "list": ["z"], "extra": {"a": 1}})
        );
    }

    #[test]
    fn without_inline_values_the_file_is_copied_verbatim() {
        let raw = b"# comment\nenabled: yes\n";
        assert_eq!(combine(raw, "v", None, ValuesMerge::Override).unwrap(), raw);
        assert_eq!(combine(raw, "v", Some(&Map::new()), ValuesMerge::Merge).unwrap(), raw);
    }

    #[test]
    fn an_empty_values_file_cannot_be_merged_and_only_the_first_document_counts() {
        let inline = map("a: 1\n");
        for empty in ["", "# nothing\n"] {
            assert!(matches!(
                combine(empty.as_bytes(), "v", Some(&inline), ValuesMerge::Override),
                Err(ValuesError::Empty { .. })
            ));
        }
        let bytes =
            combine(b"b: 1\n---\nc: 1\n", "v", Some(&inline), ValuesMerge::Override).unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            serde_json::json!({"a": 1, "b": 1})
        );
    }

    #[test]
    fn redaction_hides_values_their_lines_and_base64_but_not_short_words() {
        let mut redactor = Redactor::default();
        redactor.add_value(&Value::Map(map(
            "password: hunter22\ncert: |\n  line-one\n  line-two\non: true\nport: 8080\n",
        )));
        let text = "bad password hunter22 (aHVudGVyMjI=) near line-two on port 8080: true";
        assert_eq!(redactor.redact(text), "bad password *** (***) near *** on port ***: true");
    }

    #[test]
    fn base64_matches_the_standard_alphabet_with_padding() {
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"hunter22"), "aHVudGVyMjI=");
    }
}
