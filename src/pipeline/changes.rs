//! From a detection to the plan's view of it: affected units per environment, with how each
//! changed.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::detect::Detection;
use crate::plan::UnitChange;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::FailedUnit;
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
}
