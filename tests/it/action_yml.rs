//! `action.yml` and the code agree: every input the code reads is declared with the same
//! default, and every output the code writes is declared (and nothing else is).

use std::collections::BTreeSet;

use gitops_env::runner::{inputs::INPUTS, outputs::OUTPUTS};
use kustomize::Value;

fn action_yml() -> Value {
    let path = testsupport::workspace_root().join("action.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    kustomize::yaml::parse_document(&text, "action.yml").unwrap()
}

#[test]
fn inputs_match_the_code() {
    let action = action_yml();
    let declared = action.get_path(&["inputs"]).and_then(Value::as_map).expect("inputs mapping");
    let declared_names: BTreeSet<&str> = declared.keys().map(String::as_str).collect();
    let code_names: BTreeSet<&str> = INPUTS.iter().map(|s| s.name).collect();
    assert_eq!(declared_names, code_names, "action.yml inputs and actions::inputs::INPUTS differ");
    for spec in INPUTS {
        let input = &declared[spec.name];
        let default = input.get_path(&["default"]).and_then(Value::as_str);
        assert_eq!(default, Some(spec.default), "default of input {}", spec.name);
        let description = input.get_path(&["description"]).and_then(Value::as_str);
        assert_eq!(description, Some(spec.description), "description of input {}", spec.name);
    }
}

#[test]
fn outputs_match_the_code() {
    let action = action_yml();
    let declared = action.get_path(&["outputs"]).and_then(Value::as_map).expect("outputs mapping");
    let declared_names: BTreeSet<&str> = declared.keys().map(String::as_str).collect();
    let code_names: BTreeSet<&str> = OUTPUTS.iter().map(|s| s.name).collect();
    assert_eq!(declared_names, code_names);
}

#[test]
fn the_action_runs_the_container_entrypoint() {
    let action = action_yml();
    assert_eq!(action.get_path(&["runs", "using"]).and_then(Value::as_str), Some("docker"));
    let args = action.get_path(&["runs", "args"]).and_then(Value::as_seq).expect("runs.args");
    assert_eq!(args, [Value::from("action")]);
}

#[test]
fn readme_documents_every_input_and_output() {
    let readme = std::fs::read_to_string(testsupport::workspace_root().join("README.md")).unwrap();
    for spec in INPUTS {
        let default = if spec.default.is_empty() {
            "(empty)".to_owned()
        } else {
            format!("`{}`", spec.default)
        };
        let row = format!("| `{}` | {default} |", spec.name);
        assert!(
            readme.contains(&row),
            "README's input table lacks or misstates {}: expected a row starting {row}",
            spec.name
        );
    }
    for spec in OUTPUTS {
        assert!(
            readme.contains(&format!("| `{}` |", spec.name)),
            "README's output table lacks {}",
            spec.name
        );
    }
}
