//! Text of a diff: an object's YAML and the unified diff between two such texts.
//!
//! Only ever called on redacted objects (see `diff::object_diff`). The YAML is kustomize's
//! Go-formatted output style, so what readers see matches `kustomize build`.

use kustomize::Value;

/// Lines of unchanged context around each change.
const CONTEXT_LINES: usize = 3;

/// The YAML text of one (redacted) object, as kustomize prints it.
pub fn object_yaml(object: &Value) -> String {
    kustomize::yaml::emit_document(object)
}

/// A unified diff of two texts: hunks with `@@` headers and no file headers (the report names the
/// object). Empty when the texts are equal.
pub fn unified_diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new).unified_diff().context_radius(CONTEXT_LINES).to_string()
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
    fn yaml_is_kustomize_output_style() {
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
            "flag: \"true\"\nkind: Deployment\nspec:\n  containers:\n  - image: nginx:1.27\n    name: web\n  replicas: 2\n  script: |\n    echo a\n    echo b\n"
        );
    }
}
