//! Text of a diff: an object's YAML and the unified diff between two such texts.
//!
//! Only ever called on redacted objects (see `diff::object_diff`). The YAML is kustomize's
//! Go-formatted output style, so what readers see matches `kustomize build`.

use kustomize::Value;

/// Lines of unchanged context around each change.
const CONTEXT_LINES: usize = 3;

/// The YAML text of one (redacted) object, as kustomize prints it.
pub fn object_yaml(object: &Value) -> String {
    interim_yaml::emit(object)
}

/// A unified diff of two texts: hunks with `@@` headers and no file headers (the report names the
/// object). Empty when the texts are equal.
pub fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new).unified_diff().context_radius(CONTEXT_LINES).to_string()
}

/// A block-style YAML printer in go-yaml v2's manner (sorted keys, two-space indent, sequences
/// of mappings inline with `- `, multi-line strings as literal blocks), used until the kustomize
/// crate's exact emitter (`kustomize::yaml::emit_document`) lands.
mod interim_yaml {
    use kustomize::Value;

    pub fn emit(value: &Value) -> String {
        let mut out = String::new();
        match value {
            Value::Map(map) if !map.is_empty() => emit_map(&mut out, value, 0),
            Value::Seq(items) if !items.is_empty() => emit_seq(&mut out, items, 0),
            scalar => {
                out.push_str(&scalar_text(scalar, 0));
                out.push('\n');
            }
        }
        out
    }

    fn emit_map(out: &mut String, value: &Value, indent: usize) {
        let Some(map) = value.as_map() else { return };
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for (position, key) in keys.into_iter().enumerate() {
            // The first key of a mapping inside a sequence item shares the `- ` line.
            if position > 0 || !out.ends_with("- ") {
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(&string_text(key, indent));
            out.push(':');
            emit_child(out, &map[key], indent, true);
        }
    }

    fn emit_seq(out: &mut String, items: &[Value], indent: usize) {
        for item in items {
            out.push_str(&" ".repeat(indent));
            out.push('-');
            match item {
                Value::Map(map) if !map.is_empty() => {
                    out.push(' ');
                    emit_map(out, item, indent + 2);
                }
                _ => emit_child(out, item, indent, false),
            }
        }
    }

    /// Emits a value after `key:` or `-`: nested collections on the next lines, scalars inline.
    fn emit_child(out: &mut String, value: &Value, indent: usize, in_map: bool) {
        match value {
            Value::Map(map) if !map.is_empty() => {
                out.push('\n');
                emit_map(out, value, indent + 2);
            }
            Value::Seq(items) if !items.is_empty() => {
                out.push('\n');
                // go-yaml v2 does not indent a sequence under its mapping key.
                emit_seq(out, items, if in_map { indent } else { indent + 2 });
            }
            scalar => {
                out.push(' ');
                out.push_str(&scalar_text(scalar, indent));
                out.push('\n');
            }
        }
    }

    fn scalar_text(value: &Value, indent: usize) -> String {
        match value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::String(s) => string_text(s, indent),
            Value::Map(_) => "{}".to_owned(),
            Value::Seq(_) => "[]".to_owned(),
        }
    }

    fn string_text(s: &str, indent: usize) -> String {
        if s.contains('\n') && !s.contains('\r') {
            let chomp = if s.ends_with('\n') { "" } else { "-" };
            let pad = " ".repeat(indent + 2);
            let body: Vec<String> = s
                .strip_suffix('\n')
                .unwrap_or(s)
                .split('\n')
                .map(|line| if line.is_empty() { String::new() } else { format!("{pad}{line}") })
                .collect();
            return format!("|{chomp}\n{}", body.join("\n"));
        }
        if needs_quotes(s) {
            return format!("'{}'", s.replace('\'', "''"));
        }
        s.to_owned()
    }

    fn needs_quotes(s: &str) -> bool {
        const RESERVED: &[&str] =
            &["", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"];
        let lower = s.to_ascii_lowercase();
        RESERVED.contains(&lower.as_str())
            || s.parse::<f64>().is_ok()
            || s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c))
            || s.ends_with(' ')
            || s.contains(": ")
            || s.contains(" #")
            || s.chars().any(|c| c.is_control())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::Map;

    #[test]
    fn unified_diff_has_hunks_without_file_headers() {
        let diff = unified_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n");
        assert_eq!(diff, "@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n");
        assert_eq!(unified_diff("same\n", "same\n"), "");
        assert_eq!(unified_diff("", "new\n"), "@@ -0,0 +1 @@\n+new\n");
    }

    #[test]
    fn yaml_sorts_keys_and_nests_blocks() {
        let mut container = Map::new();
        container.insert("name".into(), "web".into());
        container.insert("image".into(), "nginx:1.27".into());
        let mut spec = Map::new();
        spec.insert("replicas".into(), Value::Int(2));
        spec.insert("containers".into(), Value::Seq(vec![Value::Map(container)]));
        spec.insert("script".into(), "echo a\necho b\n".into());
        let mut root = Map::new();
        root.insert("spec".into(), Value::Map(spec));
        root.insert("kind".into(), "Deployment".into());
        root.insert("flag".into(), "true".into());
        assert_eq!(
            object_yaml(&Value::Map(root)),
            "flag: 'true'\nkind: Deployment\nspec:\n  containers:\n  - image: nginx:1.27\n    name: web\n  replicas: 2\n  script: |\n    echo a\n    echo b\n"
        );
    }
}
