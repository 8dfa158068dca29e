//! From a detection to the plan's view of it: affected units per environment, with how each
//! changed. Also the detection of a repository with no diff base, where every unit is new.

use std::collections::BTreeMap;

use kustomize::FileSystem;
use rayon::prelude::*;

use crate::config::Config;
use crate::detect::{Detection, FailedUnit, RenderUnit, UnitRenders};
use crate::plan::UnitChange;
use crate::units::{self, ReadKustomization, UnitError, UnitSelection};

/// Affected units per configured environment name (detection knows overlay folders; the
/// settings say which environments render which overlay, and several may share one).
pub fn changes_by_environment(
    config: &Config,
    detection: &Detection,
) -> BTreeMap<String, Vec<UnitChange>> {
    let by_overlay = detection.changes_by_environment();
    config
        .environments
        .iter()
        .filter_map(|env| Some((env.name.clone(), by_overlay.get(&env.overlay)?.clone())))
        .collect()
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
    use crate::plan::ChangeKind;
    use crate::units::Unit;

    fn unit(path: &str, env: &str) -> Unit {
        Unit { path: path.into(), environment: Some(env.into()) }
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
            deleted_units: vec![unit("apps/overlays/testing/old", "testing")],
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
                    &ChangeKind::Failed("head: kustomization.yaml: boom".into())
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
