//! Redaction: what must never reach a diff, a comment, a job summary or a log line.
//!
//! Runs on the object tree before any text is made. Each side is redacted against its
//! counterpart (the same object on the other side) so that a marker can say whether a hidden value
//! changed — without revealing anything derived from the value itself (no hashes, no lengths: a
//! hash of a short secret is as good as the secret).
//!
//! - Secret `data`/`stringData`: every value becomes a marker; key names stay, so readers see which
//!   keys were added, changed or removed.
//! - The `kubectl.kubernetes.io/last-applied-configuration` annotation of a Secret (it holds the
//!   whole Secret, values included).
//! - SOPS: `ENC[...]` strings and the top-level `sops:` metadata become placeholders.
//! - PEM blocks (`-----BEGIN X-----` … `-----END X-----`) in any string collapse to their header.
//!
//! It must stay conservative: when in doubt, hide. It never removes keys, so structure stays
//! visible.

use kustomize::Value;

/// Which side of the diff an object is on; a changed hidden value reads "old" on one and "new" on
/// the other, so that the diff shows a line for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Old,
    New,
}

/// Shown for a hidden value that is the same on both sides, or exists on one side only.
pub const REDACTED: &str = "<redacted>";
/// The annotation kubectl writes with the whole object (Secret values included).
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

const SOPS_VALUE: &str = "ENC[…] <sops-encrypted>";
const SOPS_METADATA: &str = "<sops metadata>";

/// `object` with everything sensitive replaced by markers. `counterpart` is the same object on
/// the other side of the diff (absent for added/removed objects); `side` is `object`'s side.
pub fn redact_object(object: &Value, counterpart: Option<&Value>, side: Side) -> Value {
    let mut out = object.clone();
    let kind = object.get_path(&["kind"]).and_then(Value::as_str).unwrap_or("");
    if kind == "Secret" {
        for field in ["data", "stringData"] {
            let other = counterpart.and_then(|c| c.get_path(&[field]));
            if let Some(values) = out.get_path_mut(&[field]) {
                redact_secret_values(values, other, side);
            }
        }
        let path = ["metadata", "annotations", LAST_APPLIED];
        let other = counterpart.and_then(|c| c.get_path(&path));
        if let Some(annotation) = out.get_path_mut(&path) {
            *annotation = marker(REDACTED, annotation, other, side);
        }
    }
    if kind.ends_with("List")
        && let Some(items) = out.get_path_mut(&["items"]).and_then(Value::as_seq_mut)
    {
        let other_items = counterpart.and_then(|c| c.get_path(&["items"])).and_then(Value::as_seq);
        for (index, item) in items.iter_mut().enumerate() {
            let other = other_items.and_then(|o| o.get(index));
            *item = redact_object(item, other, side);
        }
    }
    let other_sops = counterpart.and_then(|c| c.get_path(&["sops"]));
    if let Some(sops) = out.get_path_mut(&["sops"]) {
        *sops = marker(SOPS_METADATA, sops, other_sops, side);
    }
    redact_strings(&mut out, counterpart, side);
    out
}

/// Replaces each value of a Secret's `data`/`stringData` by a marker; a field that is not a map
/// (invalid, but possible in input) is hidden whole.
fn redact_secret_values(values: &mut Value, other: Option<&Value>, side: Side) {
    match values {
        Value::Map(map) => {
            for (key, value) in map.iter_mut() {
                let other_value = other.and_then(Value::as_map).and_then(|o| o.get(key));
                *value = marker(REDACTED, value, other_value, side);
            }
        }
        Value::Null => {}
        other_shape => *other_shape = Value::String(REDACTED.to_owned()),
    }
}

/// `base` when the hidden value is unchanged or one-sided, `base (changed, old|new)` otherwise.
fn marker(base: &str, value: &Value, other: Option<&Value>, side: Side) -> Value {
    match other {
        Some(other) if other != value => Value::String(changed_marker(base, side)),
        _ => Value::String(base.to_owned()),
    }
}

fn changed_marker(base: &str, side: Side) -> String {
    match side {
        Side::Old => format!("{base} (changed, old)"),
        Side::New => format!("{base} (changed, new)"),
    }
}

/// Walks every string (mapping keys excepted), hiding SOPS values and PEM blocks; `other` follows
/// the same path on the counterpart.
fn redact_strings(value: &mut Value, other: Option<&Value>, side: Side) {
    match value {
        Value::String(s) => {
            let other = other.and_then(Value::as_str);
            if is_sops_value(s) {
                let changed = other.is_some_and(|o| o != s);
                *s = if changed { changed_marker(SOPS_VALUE, side) } else { SOPS_VALUE.to_owned() };
            } else if s.contains(SOPS_OPEN) || s.contains(PEM_BEGIN) {
                let mine = replace_sops_tokens(s);
                let theirs = other.map(replace_sops_tokens);
                let mut out = collapse_pem(&mine, theirs.as_deref(), side);
                // A change carried only by hidden tokens (a dotenv file of `KEY=ENC[...]` lines)
                // must still show as a changed line.
                if other.is_some_and(|o| o != s) && theirs.as_deref() == Some(mine.as_str()) {
                    // Marked on the last line, keeping a trailing newline where it was.
                    out = match out.strip_suffix('\n') {
                        Some(body) => format!("{}\n", changed_marker(body, side)),
                        None => changed_marker(&out, side),
                    };
                }
                *s = out;
            }
        }
        Value::Seq(items) => {
            let other_items = other.and_then(Value::as_seq);
            for (index, item) in items.iter_mut().enumerate() {
                redact_strings(item, other_items.and_then(|o| o.get(index)), side);
            }
        }
        Value::Map(map) => {
            let other_map = other.and_then(Value::as_map);
            for (key, item) in map.iter_mut() {
                redact_strings(item, other_map.and_then(|o| o.get(key)), side);
            }
        }
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
}

/// Free text (an error message, a log line) with PEM blocks collapsed and SOPS `ENC[...]` tokens
/// replaced, for text that does not come from a parsed object.
pub fn redact_text(text: &str) -> String {
    let out = replace_sops_tokens(text);
    if out.contains(PEM_BEGIN) { collapse_pem(&out, None, Side::New) } else { out }
}

const SOPS_OPEN: &str = "ENC[";

/// `text` with every `ENC[...]` token (to its `]`, or to the end when unclosed) replaced.
fn replace_sops_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(SOPS_OPEN) {
        out.push_str(&rest[..start]);
        match rest[start..].find(']') {
            Some(len) => {
                out.push_str(SOPS_VALUE);
                rest = &rest[start + len + 1..];
            }
            None => {
                out.push_str(SOPS_VALUE);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// SOPS writes each encrypted leaf as `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
fn is_sops_value(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("ENC[") && s.ends_with(']')
}

const PEM_BEGIN: &str = "-----BEGIN ";
const PEM_DASHES: &str = "-----";

/// One PEM block found in a string: its byte span and label (`RSA PRIVATE KEY`).
struct PemBlock<'a> {
    start: usize,
    end: usize,
    label: &'a str,
}

/// The PEM blocks of `s`, in order. A block without its END line runs to the end of the string:
/// a truncated key is still a key.
fn pem_blocks(s: &str) -> Vec<PemBlock<'_>> {
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(offset) = s[from..].find(PEM_BEGIN) {
        let start = from + offset;
        let label_start = start + PEM_BEGIN.len();
        let Some(label_len) = s[label_start..].find(PEM_DASHES) else {
            blocks.push(PemBlock { start, end: s.len(), label: "" });
            break;
        };
        let label = &s[label_start..label_start + label_len];
        let body_start = label_start + label_len + PEM_DASHES.len();
        let end_line = format!("-----END {label}-----");
        let end = match s[body_start..].find(&end_line) {
            Some(at) => body_start + at + end_line.len(),
            None => s.len(),
        };
        blocks.push(PemBlock { start, end, label });
        from = end;
    }
    blocks
}

/// `s` with every PEM block replaced by `-----BEGIN X----- … (redacted)`; a block that differs
/// from the block at the same position in `other` is marked changed.
fn collapse_pem(s: &str, other: Option<&str>, side: Side) -> String {
    let other_blocks: Vec<&str> = match other {
        Some(o) => pem_blocks(o).iter().map(|b| &o[b.start..b.end]).collect(),
        None => Vec::new(),
    };
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (index, block) in pem_blocks(s).iter().enumerate() {
        out.push_str(&s[last..block.start]);
        let mut collapsed = format!("{PEM_BEGIN}{}{PEM_DASHES} … (redacted)", block.label);
        let this = &s[block.start..block.end];
        if other.is_some() && other_blocks.get(index).is_none_or(|o| *o != this) {
            collapsed = changed_marker(&collapsed, side);
        }
        out.push_str(&collapsed);
        last = block.end;
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::Map;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<Map>())
    }

    fn secret(data: &[(&str, &str)]) -> Value {
        let data = map(&data.iter().map(|(k, v)| (*k, Value::from(*v))).collect::<Vec<_>>());
        map(&[
            ("apiVersion", "v1".into()),
            ("kind", "Secret".into()),
            ("metadata", map(&[("name", "db".into())])),
            ("data", data.clone()),
            ("stringData", data),
        ])
    }

    #[test]
    fn secret_values_become_markers_that_only_say_whether_they_changed() {
        let old = secret(&[("user", "YWRtaW4="), ("password", "aHVudGVyMg==")]);
        let new = secret(&[("user", "YWRtaW4="), ("password", "c3dvcmRmaXNo"), ("token", "dG9r")]);
        let old_r = redact_object(&old, Some(&new), Side::Old);
        let new_r = redact_object(&new, Some(&old), Side::New);
        for field in ["data", "stringData"] {
            assert_eq!(old_r.get_path(&[field, "user"]), Some(&REDACTED.into()));
            assert_eq!(
                old_r.get_path(&[field, "password"]),
                Some(&"<redacted> (changed, old)".into())
            );
            assert_eq!(
                new_r.get_path(&[field, "password"]),
                Some(&"<redacted> (changed, new)".into())
            );
            assert_eq!(new_r.get_path(&[field, "token"]), Some(&REDACTED.into()));
        }
    }

    #[test]
    fn non_map_secret_data_is_hidden_whole() {
        let mut object = secret(&[]);
        *object.get_path_mut(&["data"]).unwrap() = "c2VjcmV0".into();
        let redacted = redact_object(&object, None, Side::New);
        assert_eq!(redacted.get_path(&["data"]), Some(&REDACTED.into()));
    }

    #[test]
    fn last_applied_annotation_of_a_secret_is_hidden() {
        let mut object = secret(&[("a", "Yg==")]);
        let annotations = map(&[(LAST_APPLIED, r#"{"data":{"a":"Yg=="}}"#.into())]);
        object
            .get_path_mut(&["metadata"])
            .unwrap()
            .as_map_mut()
            .unwrap()
            .insert("annotations".into(), annotations);
        let redacted = redact_object(&object, None, Side::New);
        assert_eq!(
            redacted.get_path(&["metadata", "annotations", LAST_APPLIED]),
            Some(&REDACTED.into())
        );
    }

    #[test]
    fn sops_values_and_metadata_become_placeholders() {
        let object = map(&[
            ("kind", "ConfigMap".into()),
            ("data", map(&[("k", "ENC[AES256_GCM,data:abc,iv:x,tag:y,type:str]".into())])),
            ("sops", map(&[("mac", "ENC[AES256_GCM,data:zzz]".into())])),
        ]);
        let redacted = redact_object(&object, None, Side::New);
        assert_eq!(redacted.get_path(&["data", "k"]), Some(&SOPS_VALUE.into()));
        assert_eq!(redacted.get_path(&["sops"]), Some(&SOPS_METADATA.into()));
    }

    #[test]
    fn sops_tokens_inside_text_are_hidden_and_their_changes_still_show() {
        let file = |token: &str| {
            map(&[
                ("kind", "ConfigMap".into()),
                ("data", map(&[("app.env", format!("A=1\nB={token}\n").into())])),
            ])
        };
        let old = file("ENC[AES256_GCM,data:aaaa,type:str]");
        let new = file("ENC[AES256_GCM,data:bbbb,type:str]");
        let old_r = redact_object(&old, Some(&new), Side::Old);
        let new_r = redact_object(&new, Some(&old), Side::New);
        assert_eq!(
            old_r.get_path(&["data", "app.env"]),
            Some(&"A=1\nB=ENC[…] <sops-encrypted> (changed, old)\n".into())
        );
        assert_ne!(old_r, new_r);
        let same = redact_object(&old, Some(&old), Side::Old);
        assert_eq!(
            same.get_path(&["data", "app.env"]),
            Some(&"A=1\nB=ENC[…] <sops-encrypted>\n".into())
        );
    }

    #[test]
    fn pem_blocks_collapse_and_changes_are_marked() {
        let old = "ca:\n-----BEGIN CERTIFICATE-----\nMIIBAAA\n-----END CERTIFICATE-----\ntail";
        let new = "ca:\n-----BEGIN CERTIFICATE-----\nMIIBBBB\n-----END CERTIFICATE-----\ntail";
        assert_eq!(
            collapse_pem(old, None, Side::Old),
            "ca:\n-----BEGIN CERTIFICATE----- … (redacted)\ntail"
        );
        assert_eq!(
            collapse_pem(new, Some(old), Side::New),
            "ca:\n-----BEGIN CERTIFICATE----- … (redacted) (changed, new)\ntail"
        );
        assert_eq!(
            collapse_pem(old, Some(old), Side::Old),
            "ca:\n-----BEGIN CERTIFICATE----- … (redacted)\ntail"
        );
    }

    #[test]
    fn free_text_loses_pem_blocks_and_sops_tokens() {
        assert_eq!(
            redact_text(
                "bad key -----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY----- in x.yaml"
            ),
            "bad key -----BEGIN EC PRIVATE KEY----- … (redacted) in x.yaml"
        );
        assert_eq!(redact_text("v=ENC[AES256_GCM,data:q] ok"), "v=ENC[…] <sops-encrypted> ok");
        assert_eq!(redact_text("cut ENC[AES"), "cut ENC[…] <sops-encrypted>");
    }

    #[test]
    fn unterminated_pem_is_hidden_to_the_end() {
        let s = "x -----BEGIN PRIVATE KEY-----\nMIIEv";
        assert_eq!(collapse_pem(s, None, Side::New), "x -----BEGIN PRIVATE KEY----- … (redacted)");
        assert_eq!(
            collapse_pem("-----BEGIN oops", None, Side::New),
            "-----BEGIN ----- … (redacted)"
        );
    }
}
