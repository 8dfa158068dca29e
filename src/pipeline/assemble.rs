//! From plan steps and what happened to them to the report's entries: names of targets as
//! people read them, planned statuses, and errors with the file and line their type carries.
//!
//! Pure. The diff itself is made by the diff stage, which redacts Secrets before any text exists.

use kustomize::Value;

use crate::cluster::Scope;
use crate::cluster::inventory::ownership_labels;
use crate::config::Config;
use crate::diff::{UnitDiff, diff_unit};
use crate::plan::{Action, Step, Target};
use crate::preview::{SlugSource, preview_names};
use crate::report::{DiffSource, UnitError, UnitReport, UnitStatus};

/// How a step's target is named for people: environments by name, previews by namespace.
pub fn target_name(config: &Config, target: &Target) -> String {
    match target {
        Target::Environment { name } => name.clone(),
        Target::Preview(preview) => {
            let source = match preview.pr {
                Some(number) if preview.fork => SlugSource::PullRequest(number),
                _ => SlugSource::Branch(&preview.branch),
            };
            match preview_names(&config.preview.namespace_template, source) {
                Ok((_, namespace)) => format!("preview {namespace}"),
                Err(_) => target.to_string(),
            }
        }
    }
}

/// The entry of a step that has not run (yet): "will apply", "diff only", "will tear down".
pub fn planned(step: &Step, environment: &str) -> UnitReport {
    UnitReport {
        environment: environment.to_owned(),
        unit: step.unit.clone().unwrap_or_else(|| "(everything)".to_owned()),
        status: planned_status(step.action),
        preview_urls: Vec::new(),
        error: None,
        diff: None,
        diff_source: None,
        warnings: Vec::new(),
    }
}

/// What a step that does not run says it would do.
pub fn planned_status(action: Action) -> UnitStatus {
    match action {
        Action::Apply => UnitStatus::WillApply,
        Action::DiffOnly => UnitStatus::DiffOnly,
        Action::Teardown => UnitStatus::WillTearDown,
    }
}

/// Marks an entry failed with `error`.
pub fn fail(entry: &mut UnitReport, error: UnitError) {
    entry.status = UnitStatus::Failed;
    entry.error = Some(error);
}

/// The render diff of a unit: base against head, both already transformed for the target.
pub fn render_diff(
    unit: &str,
    environment: &str,
    base: &[Value],
    head: &[Value],
    why: impl Into<String>,
) -> (UnitDiff, DiffSource) {
    (diff_unit(unit, environment, base, head), DiffSource::Renders { why: why.into() })
}

/// Adds the ownership labels every object applied as `scope` carries, so that a render diff
/// shows the labels a deploy adds (the cluster stage adds the same ones when it applies).
pub fn label_for(objects: &mut [Value], scope: &Scope) {
    for object in objects {
        let Some(metadata) = object.as_map_mut().and_then(|o| {
            if !o.contains_key("metadata") {
                o.insert("metadata".into(), Value::Map(kustomize::Map::new()));
            }
            o.get_mut("metadata").and_then(Value::as_map_mut)
        }) else {
            continue;
        };
        if !matches!(metadata.get("labels"), Some(Value::Map(_))) {
            metadata.insert("labels".into(), Value::Map(kustomize::Map::new()));
        }
        if let Some(labels) = metadata.get_mut("labels").and_then(Value::as_map_mut) {
            for (key, value) in ownership_labels(scope) {
                labels.insert(key.to_owned(), Value::String(value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PreviewRef;

    fn step(unit: Option<&str>, action: Action, target: Target) -> Step {
        Step { target, unit: unit.map(str::to_owned), action, reason: "test".into(), blocked: None }
    }

    #[test]
    fn previews_are_named_by_their_namespace() {
        let target = Target::Preview(PreviewRef { branch: "feat/x".into(), pr: None, fork: false });
        let name = target_name(&Config::default(), &target);
        assert!(name.starts_with("preview preview-feat-x-"), "{name}");
        let entry = planned(&step(None, Action::Teardown, target), &name);
        assert_eq!(entry.status, UnitStatus::WillTearDown);
        assert_eq!(entry.unit, "(everything)");
        let env = Target::Environment { name: "testing".into() };
        assert_eq!(target_name(&Config::default(), &env), "testing");
    }

    #[test]
    fn labels_are_those_the_cluster_stage_applies() {
        let mut objects = vec![
            kustomize::yaml::parse_document(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
                "t",
            )
            .unwrap(),
        ];
        let scope = Scope { environment: "testing".into(), unit: "apps/web".into() };
        label_for(&mut objects, &scope);
        let labels = objects[0].get_path(&["metadata", "labels"]).and_then(Value::as_map).unwrap();
        for (key, value) in ownership_labels(&scope) {
            assert_eq!(labels.get(key).and_then(Value::as_str), Some(value.as_str()));
        }
    }
}
