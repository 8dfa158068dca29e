//! From a plan and the units' renders to the report users read: one entry per step, with the
//! unit's per-object diff (base render against head render) and its failure, if any.
//!
//! Pure. The diff is made by the diff stage, which redacts Secrets before any text exists; the
//! statuses here say what was *planned*, and the caller overwrites them with what happened.

use crate::config::Config;
use crate::detect::Detection;
use crate::diff::diff_unit;
use crate::plan::{Action, Plan, Step};
use crate::report::{Report, UnitError, UnitReport, UnitStatus};

/// The report of `plan` before anything ran: statuses are "will apply", "diff only", "will tear
/// down", or "failed" for units whose render failed.
pub fn planned_report(
    plan: &Plan,
    detection: &Detection,
    kind: &str,
    title: &str,
    config: &Config,
) -> Report {
    Report {
        kind: kind.to_owned(),
        title: title.to_owned(),
        head_sha: detection.head.as_ref().map(|sha| sha.as_str().to_owned()),
        run_url: None,
        units: plan.steps.iter().map(|step| unit_report(step, detection, config)).collect(),
    }
}

fn unit_report(step: &Step, detection: &Detection, config: &Config) -> UnitReport {
    let environment = super::target_name(config, &step.target);
    let planned = match step.action {
        Action::Apply => UnitStatus::WillApply,
        Action::DiffOnly => UnitStatus::DiffOnly,
        Action::Teardown => UnitStatus::WillTearDown,
    };
    let mut report = UnitReport {
        environment: environment.clone(),
        unit: step.unit.clone().unwrap_or_else(|| "(everything)".to_owned()),
        status: planned,
        preview_urls: Vec::new(),
        error: None,
        diff: None,
    };
    let Some(unit) = &step.unit else { return report };
    let renders = detection.renders.get(unit).cloned().unwrap_or_default();
    let side = |rendered: Option<Result<String, String>>, which: &str| match rendered {
        None => Ok(Vec::new()),
        Some(Ok(text)) => super::objects(&text, unit),
        Some(Err(error)) => {
            Err(if which == "base" { format!("at the diff base: {error}") } else { error })
        }
    };
    match (side(renders.base, "base"), side(renders.head, "head")) {
        (Ok(base), Ok(head)) => {
            report.diff = Some(diff_unit(unit, &environment, &base, &head));
        }
        (Err(error), _) | (_, Err(error)) => {
            report.status = UnitStatus::Failed;
            report.error = Some(error_location(&error));
        }
    }
    if let Some(why) = &step.blocked
        && report.error.is_none()
    {
        report.status = UnitStatus::Failed;
        report.error = Some(error_location(why));
    }
    report
}

/// A render error with the file (and line) it names, when it starts with a repository path as
/// the renderer's errors do (`apps/web/kustomization.yaml: ...`, `... at line 3`).
pub fn error_location(message: &str) -> UnitError {
    let file = message
        .split(|c: char| c.is_whitespace() || c == ':' || c == '"' || c == '`' || c == '\'')
        .find(|word| {
            !word.starts_with('/')
                && !word.contains("://")
                && (word.ends_with(".yaml")
                    || word.ends_with(".yml")
                    || word.ends_with("/Kustomization"))
        })
        .map(str::to_owned);
    let line = message
        .split("line ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok());
    UnitError { message: message.to_owned(), file, line }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::UnitRenders;
    use crate::plan::{PreviewRef, Target};

    fn detection(
        unit: &str,
        base: Option<Result<&str, &str>>,
        head: Option<Result<&str, &str>>,
    ) -> Detection {
        let own = |side: Option<Result<&str, &str>>| {
            side.map(|r| r.map(str::to_owned).map_err(str::to_owned))
        };
        let mut detection = Detection::default();
        detection.renders.insert(unit.into(), UnitRenders { base: own(base), head: own(head) });
        detection
    }

    fn step(unit: Option<&str>, action: Action) -> Step {
        Step {
            target: Target::Environment { name: "testing".into() },
            unit: unit.map(str::to_owned),
            action,
            reason: "test".into(),
            blocked: None,
        }
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan {
            event: "push".into(),
            summary: "test".into(),
            steps,
            pull_request: None,
            notes: vec![],
        }
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n";
    const CM2: &str =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"2\"\n";

    #[test]
    fn each_step_gets_its_diff_and_planned_status() {
        let detection = detection("apps/overlays/testing/web", Some(Ok(CM)), Some(Ok(CM2)));
        let plan = plan(vec![step(Some("apps/overlays/testing/web"), Action::Apply)]);
        let report = planned_report(&plan, &detection, "diff", "Plan", &Config::default());
        let unit = &report.units[0];
        assert_eq!(unit.status, UnitStatus::WillApply);
        assert_eq!(unit.environment, "testing");
        let counts = unit.counts().unwrap();
        assert_eq!((counts.added, counts.changed, counts.removed), (0, 1, 0));
    }

    #[test]
    fn a_render_failure_is_a_failed_entry_naming_the_file() {
        let detection = detection(
            "apps/overlays/testing/web",
            Some(Ok(CM)),
            Some(Err("apps/overlays/testing/web/kustomization.yaml: unknown field `resourcez`")),
        );
        let plan = plan(vec![step(Some("apps/overlays/testing/web"), Action::Apply)]);
        let report = planned_report(&plan, &detection, "diff", "Plan", &Config::default());
        let unit = &report.units[0];
        assert_eq!(unit.status, UnitStatus::Failed);
        assert_eq!(
            unit.error.as_ref().unwrap().file.as_deref(),
            Some("apps/overlays/testing/web/kustomization.yaml")
        );
    }

    #[test]
    fn whole_target_teardowns_have_no_diff() {
        let mut teardown = step(None, Action::Teardown);
        teardown.target =
            Target::Preview(PreviewRef { branch: "feat/x".into(), pr: None, fork: false });
        let config = Config::default();
        let report =
            planned_report(&plan(vec![teardown]), &Detection::default(), "diff", "Plan", &config);
        assert_eq!(report.units[0].status, UnitStatus::WillTearDown);
        assert!(report.units[0].environment.starts_with("preview preview-feat-x-"));
        assert!(report.units[0].diff.is_none());
    }

    #[test]
    fn error_locations_find_file_and_line() {
        let error = error_location(
            "apps/web/deployment.yaml: mapping values are not allowed at line 7 column 3",
        );
        assert_eq!(error.file.as_deref(), Some("apps/web/deployment.yaml"));
        assert_eq!(error.line, Some(7));
        assert_eq!(error_location("no file here").file, None);
    }
}
