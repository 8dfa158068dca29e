//! Content-hash name suffixes for generated ConfigMaps and Secrets.
//!
//! The hash is kustomize's exactly: Go's `json.Marshal` (sorted keys, HTML-safe escaping) of
//! `{kind, name, data[, binaryData]}` for ConfigMaps and `{kind, name, type, data[, stringData]}`
//! for Secrets, SHA-256, the first ten hex digits with `0 1 3 a e` replaced by `g h k m t`.
//! `name` is always empty: kustomize looks it up with a path its lookup does not split, so the
//! name never takes part (kept for byte parity).

use sha2::{Digest, Sha256};

use crate::resource::Resource;
use crate::value::{Map, Value};

/// Appends `-<hash>` to the name of every resource that asked for it.
pub fn add_hash_suffixes(resources: &mut [Resource]) {
    for resource in resources.iter_mut().filter(|r| r.needs_hash_suffix) {
        let hash = content_hash(&resource.value);
        resource.store_previous_id();
        let name = format!("{}-{hash}", resource.name());
        resource.set_name(&name);
    }
}

/// kustomize's content hash of a ConfigMap, Secret or other object.
pub fn content_hash(object: &Value) -> String {
    let kind = object.get_path(&["kind"]).and_then(Value::as_str).unwrap_or("");
    let field = |key: &str| match object.get_path(&[key]) {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(value) => value.clone(),
    };
    let encoded = match kind {
        "ConfigMap" => {
            let mut map = Map::new();
            map.insert("kind".into(), "ConfigMap".into());
            map.insert("name".into(), "".into());
            map.insert("data".into(), field("data"));
            if let Some(binary @ Value::Map(_)) = object.get_path(&["binaryData"]) {
                map.insert("binaryData".into(), binary.clone());
            }
            go_json(&Value::Map(map))
        }
        "Secret" => {
            let mut map = Map::new();
            map.insert("kind".into(), "Secret".into());
            map.insert("type".into(), field("type"));
            map.insert("name".into(), "".into());
            map.insert("data".into(), field("data"));
            if let Some(string_data @ Value::Map(_)) = object.get_path(&["stringData"]) {
                map.insert("stringData".into(), string_data.clone());
            }
            go_json(&Value::Map(map))
        }
        _ => go_json(object),
    };
    encode_hash(&encoded)
}

fn encode_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0xf])
        .take(10)
        .map(|nibble| match nibble {
            0 => 'g',
            1 => 'h',
            3 => 'k',
            0xa => 'm',
            0xe => 't',
            n => char::from_digit(u32::from(n), 16).unwrap_or('?'),
        })
        .collect()
}

/// Go's `encoding/json` output for a value: map keys sorted, strings HTML-escaped.
pub fn go_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out);
    out
}

fn write_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::String(s) => write_json_string(s, out),
        Value::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Map(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

/// Go's float formatting in JSON: shortest representation, exponent form outside [1e-6, 1e21).
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        // Rust prints `1e21`, Go `1e+21`; Go pads the exponent to two digits.
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        format!("{mantissa}e{sign}{digits:0>2}")
    } else {
        format!("{f}")
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_document;

    #[test]
    fn config_map_hash_matches_kustomize() {
        // `kubectl kustomize` names this generated ConfigMap `cm-gkmgmm6hmg`.
        let object = parse_document(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b<&\n",
            "cm.yaml",
        )
        .unwrap();
        assert_eq!(content_hash(&object), "gkmgmm6hmg");
    }

    #[test]
    fn go_json_sorts_keys_and_escapes_html() {
        let object = parse_document("b: 1\na: '<x>'\n", "x.yaml").unwrap();
        assert_eq!(go_json(&object), r#"{"a":"\u003cx\u003e","b":1}"#);
    }
}
