//! From a detection to the plan's view of it: affected units per environment, with how each
//! changed. Also the detection of a repository with no diff base, where every unit is new.

use std::collections::{BTreeMap, BTreeSet};

use kustomize::FileSystem;
use rayon::prelude::*;

use crate::config::Config;
use crate::detect::{Detection, FailedUnit, RenderUnit, UnitRenders};
use crate::plan::{ChangeKind, UnitChange};
use crate::units::{self, ReadKustomization, UnitError, UnitSelection};

/// The environment overlay folder a unit path sits in (`apps/overlays/testing/web` →
/// `testing`, `apps/web/overlays/production` → `production`).
pub fn overlay_of(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    while let Some(part) = parts.next() {
        if part == "overlays" {
            return parts.next();
        }
    }
    None
}

/// Affected units per environment name. Deleted units are found by their path, since they are
/// not among the head's units.
pub fn changes_by_environment(
    config: &Config,
    detection: &Detection,
) -> BTreeMap<String, Vec<UnitChange>> {
    let overlay_of_unit: BTreeMap<&str, Option<&str>> = detection
        .units
        .iter()
        .map(|unit| (unit.path.as_str(), unit.environment.as_deref()))
        .collect();
    let failed: BTreeMap<&str, &FailedUnit> =
        detection.failed.iter().map(|f| (f.unit.as_str(), f)).collect();
    let new: BTreeSet<&str> = detection.new.iter().map(String::as_str).collect();
    let mut touched: Vec<(&str, ChangeKind)> = detection
        .affected
        .iter()
        .map(|unit| {
            let change = if let Some(failure) = failed.get(unit.as_str()) {
                ChangeKind::Failed(failure_message(failure))
            } else if new.contains(unit.as_str()) {
                ChangeKind::Added
            } else {
                ChangeKind::Modified
            };
            (unit.as_str(), change)
        })
        .collect();
    touched.extend(detection.deleted.iter().map(|unit| (unit.as_str(), ChangeKind::Deleted)));

    let mut by_environment: BTreeMap<String, Vec<UnitChange>> = BTreeMap::new();
    for (unit, change) in touched {
        let overlay = overlay_of_unit.get(unit).copied().flatten().or_else(|| overlay_of(unit));
        let Some(overlay) = overlay else { continue };
        for environment in config.environments.iter().filter(|env| env.overlay == overlay) {
            by_environment
                .entry(environment.name.clone())
                .or_default()
                .push(UnitChange { unit: unit.to_owned(), change: change.clone() });
        }
    }
    for changes in by_environment.values_mut() {
        changes.sort_by(|a, b| a.unit.cmp(&b.unit));
    }
    by_environment
}

fn failure_message(failure: &FailedUnit) -> String {
    match (&failure.base_error, &failure.head_error) {
        (_, Some(head)) => head.clone(),
        (Some(base), None) => format!("at the diff base: {base}"),
        (None, None) => "render failed".to_owned(),
    }
}

/// Detection without a diff base: every unit of `fs` is new, rendered once.
pub fn everything_new(
    fs: &dyn FileSystem,
    selection: &UnitSelection,
    read: ReadKustomization<'_>,
    render: RenderUnit<'_>,
) -> Result<Detection, UnitError> {
    let discovery = units::discover(fs, selection, read)?;
    let renders: Vec<(String, Result<String, String>)> = discovery
        .units
        .par_iter()
        .map(|unit| (unit.path.clone(), render(fs, &unit.path)))
        .collect();
    let mut detection = Detection { units: discovery.units.clone(), ..Detection::default() };
    for (unit, rendered) in renders {
        if let Err(error) = &rendered {
            detection.failed.push(FailedUnit {
                unit: unit.clone(),
                base_error: None,
                head_error: Some(error.clone()),
            });
        }
        detection.affected.push(unit.clone());
        detection.new.push(unit.clone());
        detection.renders.insert(unit, UnitRenders { base: None, head: Some(rendered) });
    }
    Ok(detection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Unit;

    fn unit(path: &str, env: &str) -> Unit {
        Unit { path: path.into(), environment: Some(env.into()) }
    }

    #[test]
    fn overlay_is_the_folder_under_overlays() {
        assert_eq!(overlay_of("apps/overlays/testing/web"), Some("testing"));
        assert_eq!(overlay_of("apps/web/overlays/production"), Some("production"));
        assert_eq!(overlay_of("apps/base/web"), None);
    }

    #[test]
    fn detection_becomes_changes_per_environment() {
        let detection = Detection {
            units: vec![
                unit("apps/overlays/testing/web", "testing"),
                unit("apps/overlays/testing/db", "testing"),
                unit("apps/overlays/production/web", "production"),
            ],
            affected: vec![
                "apps/overlays/production/web".into(),
                "apps/overlays/testing/db".into(),
                "apps/overlays/testing/web".into(),
            ],
            new: vec!["apps/overlays/testing/db".into()],
            failed: vec![FailedUnit {
                unit: "apps/overlays/testing/web".into(),
                base_error: None,
                head_error: Some("kustomization.yaml: boom".into()),
            }],
            deleted: vec!["apps/overlays/testing/old".into()],
            ..Detection::default()
        };
        let changes = changes_by_environment(&Config::default(), &detection);
        let testing: Vec<(&str, &ChangeKind)> =
            changes["testing"].iter().map(|c| (c.unit.as_str(), &c.change)).collect();
        assert_eq!(
            testing,
            [
                ("apps/overlays/testing/db", &ChangeKind::Added),
                ("apps/overlays/testing/old", &ChangeKind::Deleted),
                (
                    "apps/overlays/testing/web",
                    &ChangeKind::Failed("kustomization.yaml: boom".into())
                ),
            ]
        );
        assert_eq!(changes["production"][0].change, ChangeKind::Modified);
    }

    #[test]
    fn everything_is_new_without_a_base() {
        let fs = kustomize::MemoryFs::new()
            .with("apps/overlays/testing/web/kustomization.yaml", "resources: [cm.yaml]\n")
            .with(
                "apps/overlays/testing/web/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
            )
            .with("apps/overlays/testing/bad/kustomization.yaml", "resources: [missing.yaml]\n");
        let selection = crate::pipeline::unit_selection(&Config::default());
        let detection = everything_new(
            &fs,
            &selection,
            &units::read_kustomization,
            &crate::detect::render_with_kustomize,
        )
        .unwrap();
        assert_eq!(detection.new, ["apps/overlays/testing/bad", "apps/overlays/testing/web"]);
        assert_eq!(detection.failed.len(), 1);
        assert_eq!(detection.failed[0].unit, "apps/overlays/testing/bad");
        let rendered =
            detection.renders["apps/overlays/testing/web"].head.clone().unwrap().unwrap();
        assert!(rendered.contains("kind: ConfigMap"));
    }
}
