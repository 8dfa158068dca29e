//! Executes a plan's steps: preview transforms, server-side apply with prune, teardown, dry
//! runs, and the GitHub Deployments that mirror them. One target at a time, in plan order;
//! every step gets an outcome, so the report can say what happened to each.

use std::collections::BTreeMap;

use kustomize::Value;

use crate::cluster::{Cluster, DeployOptions, Outcome, PreviewSelector, RetryPolicy, Scope};
use crate::config::{ClusterSlot, RootKind};
use crate::detect::Detection;
use crate::diff::{UnitDiff, diff_unit};
use crate::github::{DeploymentState, DeploymentTarget, StatusUpdate};
use crate::image_override::apply_image_overrides;
use crate::pipeline;
use crate::plan::{Action, Plan, PreviewRef, Step, Target};
use crate::preview::{Preview, PreviewRequest, PreviewSettings, PreviewUnit};
use crate::report::UnitStatus;
use crate::timestamp::Timestamp;

use super::Setup;
use super::state::CurrentPull;

/// What happened to one step.
#[derive(Clone, Debug, Default)]
pub struct StepOutcome {
    /// `None`: left as planned.
    pub status: Option<UnitStatus>,
    pub error: Option<String>,
    pub urls: Vec<String>,
    /// The dry run's diff against the live objects, replacing the render diff.
    pub live_diff: Option<UnitDiff>,
}

/// What the execution did.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// One per plan step, in plan order.
    pub steps: Vec<StepOutcome>,
    pub preview_namespace: Option<String>,
    pub notes: Vec<String>,
}

pub struct Executor<'a> {
    pub setup: &'a Setup,
    pub detection: &'a Detection,
    pub pull: Option<&'a CurrentPull>,
    pub now: u64,
}

impl Executor<'_> {
    pub async fn execute(&self, plan: &Plan) -> Outcomes {
        let mut outcomes = Outcomes {
            steps: vec![StepOutcome::default(); plan.steps.len()],
            ..Outcomes::default()
        };
        // Steps grouped by target, keeping plan order inside each.
        let mut by_target: BTreeMap<&Target, Vec<usize>> = BTreeMap::new();
        for (index, step) in plan.steps.iter().enumerate() {
            by_target.entry(&step.target).or_default().push(index);
        }
        for (target, indices) in by_target {
            let steps: Vec<&Step> = indices.iter().map(|&i| &plan.steps[i]).collect();
            let results = match target {
                Target::Preview(preview) => self.preview(preview, &steps, &mut outcomes).await,
                Target::Environment { name } => self.environment(name, &steps).await,
            };
            for (index, result) in indices.into_iter().zip(results) {
                outcomes.steps[index] = result;
            }
        }
        outcomes
    }

    fn options(&self) -> DeployOptions {
        let options = &self.setup.options;
        DeployOptions {
            force_conflicts: options.force_conflicts,
            wait_timeout: (!options.wait_timeout.is_zero()).then_some(options.wait_timeout),
            prune: options.prune,
            ..DeployOptions::default()
        }
    }

    async fn connect(&self, slot: ClusterSlot) -> Result<Cluster, String> {
        let target = self.setup.cluster(slot)?;
        Cluster::connect(target, RetryPolicy::default()).await.map_err(|err| err.to_string())
    }

    /// A unit's head render as objects.
    fn head_objects(&self, unit: &str) -> Result<Vec<Value>, String> {
        match self.detection.renders.get(unit).and_then(|r| r.head.clone()) {
            Some(Ok(text)) => pipeline::objects(&text, unit),
            Some(Err(error)) => Err(error),
            None => Err(format!("{unit} was not rendered at head")),
        }
    }

    async fn environment(&self, name: &str, steps: &[&Step]) -> Vec<StepOutcome> {
        let all_failed =
            |error: String| steps.iter().map(|_| failed(error.clone())).collect::<Vec<_>>();
        let Some(environment) = self.setup.config.environment(name) else {
            return all_failed(format!("environment `{name}` is not configured"));
        };
        let cluster = match self.connect(environment.cluster).await {
            Ok(cluster) => cluster,
            Err(error) => return all_failed(error),
        };
        let deployment = DeploymentTarget {
            environment: name.to_owned(),
            transient: false,
            production: environment.cluster == ClusterSlot::Production,
        };
        let deployment_id = self.start_deployment(&deployment, steps).await;
        let mut results = vec![StepOutcome::default(); steps.len()];
        for index in self.infrastructure_first(steps) {
            let step = steps[index];
            let Some(unit) = &step.unit else {
                results[index] =
                    failed("tearing down a whole environment is not done by a plan step".into());
                continue;
            };
            let scope = Scope { environment: name.to_owned(), unit: unit.clone() };
            let result = match step.action {
                Action::DiffOnly => StepOutcome::default(),
                Action::Apply => match self.head_objects(unit) {
                    Ok(mut objects) => {
                        apply_image_overrides(&mut objects, &self.setup.options.images);
                        self.apply(&cluster, &objects, &scope).await
                    }
                    Err(error) => failed(error),
                },
                Action::Teardown => self.remove_unit(&cluster, &scope).await,
            };
            results[index] = result;
        }
        self.finish_deployment(deployment_id, &results, None).await;
        results
    }

    /// The order to run an environment's steps in: infrastructure is applied before the other
    /// units, because it carries what apps need to exist first (namespaces, CRDs, storage
    /// classes), and torn down after them; plan order otherwise. (The plan sorts by path, which
    /// would put `apps/` first.)
    fn infrastructure_first(&self, steps: &[&Step]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..steps.len()).collect();
        order.sort_by_key(|&i| {
            let unit = steps[i].unit.as_deref().unwrap_or_default();
            let infrastructure =
                self.setup.config.root_kind(unit) == Some(RootKind::Infrastructure);
            match (infrastructure, steps[i].action == Action::Teardown) {
                (true, false) => 0,
                (false, _) => 1,
                (true, true) => 2,
            }
        });
        order
    }

    async fn preview(
        &self,
        preview_ref: &PreviewRef,
        steps: &[&Step],
        outcomes: &mut Outcomes,
    ) -> Vec<StepOutcome> {
        let config = &self.setup.config;
        let all_failed =
            |error: String| steps.iter().map(|_| failed(error.clone())).collect::<Vec<_>>();
        let cluster = match self.connect(config.preview_environment().cluster).await {
            Ok(cluster) => cluster,
            Err(error) => return all_failed(error),
        };
        let repository = self.setup.repo.to_string();
        let existing = match cluster.previews(None, Some(&repository)).await {
            Ok(records) => records,
            Err(error) => return all_failed(error.to_string()),
        };
        let request = PreviewRequest {
            repository: repository.clone(),
            pull_request: preview_ref.pr.or(self.pull.map(|p| p.state.number)),
            named_by_pull_request: preview_ref.fork,
            branch: preview_ref.branch.clone(),
            sha: self.pull.map_or_else(
                || self.detection.head.as_ref().map(|h| h.as_str().to_owned()).unwrap_or_default(),
                |p| p.head_sha.clone(),
            ),
            created_at: Timestamp(i64::try_from(self.now).unwrap_or(i64::MAX)),
        };
        let settings = PreviewSettings::from_config(config, self.setup.options.images.clone());
        let mut preview = match Preview::new(request.clone(), settings.clone()) {
            Ok(preview) => preview,
            Err(error) => return all_failed(error.to_string()),
        };
        // A preview keeps its creation time across re-deploys, so its expiry does not move.
        if let Some((record, _)) =
            existing.iter().find(|(record, _)| record.namespace == preview.namespace())
            && let Some(created_at) = record.created_at
        {
            match Preview::new(PreviewRequest { created_at, ..request }, settings) {
                Ok(again) => preview = again,
                Err(error) => return all_failed(error.to_string()),
            }
        }
        let namespace = preview.namespace().to_owned();
        outcomes.preview_namespace = Some(namespace.clone());
        let deployment = DeploymentTarget::preview(preview.slug());

        // A whole-preview teardown is the only step for its target.
        if steps.iter().any(|s| s.action == Action::Teardown && s.unit.is_none()) {
            return self.teardown_preview(&cluster, preview.slug(), &deployment, steps).await;
        }

        // Transform every unit first: the namespace object carries labels from all of them.
        let mut transformed: Vec<Option<Result<PreviewUnit, String>>> = Vec::new();
        for step in steps {
            let unit = step.unit.as_deref().unwrap_or_default();
            transformed.push((step.action == Action::Apply).then(|| {
                let objects = self.head_objects(unit)?;
                preview.transform(app_name(unit), objects).map_err(|err| err.to_string())
            }));
        }
        let ready: Vec<PreviewUnit> =
            transformed.iter().flatten().filter_map(|r| r.as_ref().ok()).cloned().collect();
        let namespace_object = preview.namespace_object(&ready);
        for unit in &ready {
            outcomes.notes.extend(unit.notes.iter().cloned());
        }

        let deployment_id = self.start_deployment(&deployment, steps).await;
        let mut results = Vec::new();
        for (step, transformed) in steps.iter().zip(transformed) {
            let unit = step.unit.clone().unwrap_or_default();
            let scope = Scope { environment: namespace.clone(), unit: unit.clone() };
            let result = match (step.action, transformed) {
                (Action::DiffOnly, _) => StepOutcome::default(),
                (Action::Teardown, _) => self.remove_unit(&cluster, &scope).await,
                (Action::Apply, Some(Ok(unit_objects))) => {
                    let mut objects = vec![namespace_object.clone()];
                    objects.extend(unit_objects.objects.iter().cloned());
                    let mut result = self.apply(&cluster, &objects, &scope).await;
                    result.urls = unit_objects.urls.iter().map(|u| u.url.clone()).collect();
                    result
                }
                (Action::Apply, Some(Err(error))) => failed(error),
                (Action::Apply, None) => failed(format!("{unit}: nothing to apply")),
            };
            results.push(result);
        }
        let url = results.iter().flat_map(|r| r.urls.first()).next().cloned();
        self.finish_deployment(deployment_id, &results, url).await;

        // The PR may have closed while we deployed: then nothing may be left behind.
        if let (Some(pull), Some(github)) = (self.pull, &self.setup.github)
            && !self.setup.options.dry_run
            && results.iter().any(|r| r.status == Some(UnitStatus::Applied))
            && let Ok(now) = github.pull_request(&self.setup.repo, pull.state.number).await
            && now.state != crate::github::PullState::Open
        {
            let torn = self.teardown_preview(&cluster, preview.slug(), &deployment, steps).await;
            outcomes.notes.push(format!(
                "PR #{} closed while its preview was deployed: the preview was torn down again",
                pull.state.number
            ));
            return torn;
        }
        results
    }

    async fn teardown_preview(
        &self,
        cluster: &Cluster,
        slug: &str,
        deployment: &DeploymentTarget,
        steps: &[&Step],
    ) -> Vec<StepOutcome> {
        if self.setup.options.dry_run {
            return steps.iter().map(|_| StepOutcome::default()).collect();
        }
        let repository = self.setup.repo.to_string();
        let timeout = self.setup.options.wait_timeout;
        let result = match cluster
            .teardown(&PreviewSelector::Slug(slug.to_owned()), Some(&repository), timeout)
            .await
        {
            Ok(outcome) if outcome.is_success() => done(UnitStatus::TornDown),
            Ok(outcome) => {
                failed(outcome.failed.iter().map(describe_failure).collect::<Vec<_>>().join("; "))
            }
            Err(error) => failed(error.to_string()),
        };
        if let (Some(github), true) = (&self.setup.github, self.setup.options.deployments)
            && let Err(error) =
                github.deactivate_environment(&self.setup.repo, &deployment.environment).await
        {
            return steps
                .iter()
                .map(|_| {
                    failed(format!(
                        "marking deployment {} inactive: {error}",
                        deployment.environment
                    ))
                })
                .collect();
        }
        steps.iter().map(|_| result.clone()).collect()
    }

    async fn apply(&self, cluster: &Cluster, objects: &[Value], scope: &Scope) -> StepOutcome {
        let options = self.options();
        if self.setup.options.dry_run {
            return match cluster.dry_run(objects, scope, &options).await {
                Ok(pairs) => {
                    let (live, would_be) = crate::cluster::live_diff_sides(&pairs);
                    StepOutcome {
                        status: Some(UnitStatus::WillApply),
                        live_diff: Some(diff_unit(
                            &scope.unit,
                            &scope.environment,
                            &live,
                            &would_be,
                        )),
                        ..StepOutcome::default()
                    }
                }
                Err(error) => failed(error.to_string()),
            };
        }
        match cluster.deploy(objects, scope, &options).await {
            Ok(outcome) => outcome_of(&outcome),
            Err(error) => failed(error.to_string()),
        }
    }

    /// Removes what a unit applied (its render is gone): an empty apply prunes everything it
    /// owns, and only what carries our ownership labels.
    async fn remove_unit(&self, cluster: &Cluster, scope: &Scope) -> StepOutcome {
        if self.setup.options.dry_run {
            return StepOutcome::default();
        }
        let options = DeployOptions { prune: true, wait_timeout: None, ..self.options() };
        match cluster.deploy(&[], scope, &options).await {
            Ok(outcome) if outcome.is_success() => done(UnitStatus::TornDown),
            Ok(outcome) => outcome_of(&outcome),
            Err(error) => failed(error.to_string()),
        }
    }

    async fn start_deployment(&self, target: &DeploymentTarget, steps: &[&Step]) -> Option<u64> {
        let github = self.setup.github.as_ref()?;
        let applies = steps.iter().any(|s| s.action == Action::Apply);
        if !self.setup.options.deployments || self.setup.options.dry_run || !applies {
            return None;
        }
        let sha = self.detection.head.as_ref()?.as_str().to_owned();
        let id = github
            .create_deployment(&self.setup.repo, target, &sha, "gitops-env deploy")
            .await
            .ok()?;
        let update = StatusUpdate {
            state: DeploymentState::InProgress,
            environment_url: None,
            log_url: self.setup.ctx.run_url(),
            description: Some("deploying".into()),
        };
        github.set_deployment_status(&self.setup.repo, id, &update).await.ok()?;
        Some(id)
    }

    async fn finish_deployment(
        &self,
        id: Option<u64>,
        results: &[StepOutcome],
        environment_url: Option<String>,
    ) {
        let (Some(github), Some(id)) = (&self.setup.github, id) else { return };
        let ok = results.iter().all(|r| r.error.is_none());
        let update = StatusUpdate {
            state: if ok { DeploymentState::Success } else { DeploymentState::Failure },
            environment_url,
            log_url: self.setup.ctx.run_url(),
            description: Some(if ok { "deployed".into() } else { "deploy failed".into() }),
        };
        // A status that cannot be set is not worth failing a deploy that worked.
        let _ = github.set_deployment_status(&self.setup.repo, id, &update).await;
    }
}

/// The app a unit is, for `{app}` in host templates: `apps/overlays/testing/web` and
/// `apps/web/overlays/testing` are `web`; a unit holding every app (`apps/overlays/testing`) is
/// empty, so each object's own `app.kubernetes.io/name` label or name stands in.
fn app_name(unit: &str) -> &str {
    let parts: Vec<&str> = unit.split('/').collect();
    match parts.iter().position(|part| *part == "overlays") {
        Some(i) if i + 2 < parts.len() => parts[i + 2],
        Some(i) if i >= 2 => parts[i - 1],
        _ => "",
    }
}

fn outcome_of(outcome: &Outcome) -> StepOutcome {
    if outcome.is_success() {
        return done(UnitStatus::Applied);
    }
    let mut problems: Vec<String> = outcome.failed.iter().map(describe_failure).collect();
    problems.extend(outcome.not_ready.iter().map(ToString::to_string));
    failed(problems.join("\n"))
}

/// One object's failure, naming the object once: most cluster errors already start with it.
fn describe_failure(failure: &crate::cluster::Failure) -> String {
    let (object, error) = (failure.object.to_string(), failure.error.to_string());
    if error.starts_with(&object) { error } else { format!("{object}: {error}") }
}

fn done(status: UnitStatus) -> StepOutcome {
    StepOutcome { status: Some(status), ..StepOutcome::default() }
}

fn failed(error: String) -> StepOutcome {
    StepOutcome { status: Some(UnitStatus::Failed), error: Some(error), ..StepOutcome::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_come_from_unit_folders() {
        assert_eq!(app_name("apps/overlays/testing/web"), "web");
        assert_eq!(app_name("apps/overlays/testing"), "");
        assert_eq!(app_name("apps/web/overlays/testing"), "web");
    }

    #[test]
    fn a_failure_names_its_object_once() {
        use crate::cluster::{ClusterError, Failure, ObjectRef};
        let object = ObjectRef {
            api_version: "v1".into(),
            kind: "Service".into(),
            namespace: "web".into(),
            name: "web".into(),
        };
        let api = Failure {
            object: object.clone(),
            error: ClusterError::Api {
                object: object.to_string(),
                verb: "apply",
                code: 404,
                reason: "NotFound".into(),
                message: "namespaces \"web\" not found".into(),
            },
        };
        let described = describe_failure(&api);
        assert_eq!(described.matches(&object.to_string()).count(), 1, "{described}");
        let timeout = Failure {
            object: object.clone(),
            error: ClusterError::Timeout {
                what: "deletion".into(),
                timeout: std::time::Duration::from_secs(1),
            },
        };
        assert!(describe_failure(&timeout).starts_with(&format!("{object}: timed out")));
    }
}
