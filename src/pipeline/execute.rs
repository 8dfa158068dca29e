//! Stages 5–7 for every step of the plan, target by target: the unit's renders transformed for
//! the target (preview namespace, hosts and labels; image overrides; ownership labels), their
//! diff (live against the cluster when its credentials may be used, else base render against
//! head render), and — unless the run holds — the apply, prune or teardown, mirrored as GitHub
//! Deployments. Every step gets one report entry, in plan order.
//!
//! Order inside an environment: infrastructure before apps (it carries the namespaces and CRDs
//! apps need), torn down after them. A held run (a unit failed to render, a newer commit took
//! over, a dry run, a command that stops at the diff) touches nothing and says why.

use std::collections::BTreeMap;
use std::time::Duration;

use kustomize::Value;

use crate::cluster::{Cluster, DeployOptions, Outcome, PreviewSelector, Scope};
use crate::config::{ClusterSlot, RootKind};
use crate::diff::diff_unit;
use crate::github::{DeploymentState, DeploymentTarget, StatusUpdate};
use crate::plan::{Action, Plan, PreviewRef, Step, Target};
use crate::preview::{Preview, PreviewRecord, PreviewRequest, PreviewSettings, PreviewUnit};
use crate::render::images::apply_image_overrides;
use crate::report::{DiffSource, UnitError, UnitReport, UnitStatus};

use super::assemble::{self, fail, label_for, planned, render_diff, target_name};
use super::context::{ClusterUnavailable, Context};
use super::gather::Gathered;
use super::{Hold, Progress};

/// What execution produced.
#[derive(Debug, Default)]
pub struct Executed {
    /// One entry per plan step, in plan order.
    pub units: Vec<UnitReport>,
    /// The preview namespace the run deployed or tore down.
    pub preview_namespace: Option<String>,
    pub notes: Vec<String>,
}

/// Runs `plan`'s steps (or, when `hold` says so, only shows them).
pub async fn execute(
    ctx: &Context,
    plan: &Plan,
    gathered: &Gathered,
    hold: Option<&Hold>,
    progress: &mut dyn Progress,
) -> Executed {
    let mut executed = Executed {
        units: plan
            .steps
            .iter()
            .map(|step| planned(step, &target_name(&ctx.config, &step.target)))
            .collect(),
        ..Executed::default()
    };
    let mut by_target: BTreeMap<&Target, Vec<usize>> = BTreeMap::new();
    for (index, step) in plan.steps.iter().enumerate() {
        by_target.entry(&step.target).or_default().push(index);
    }
    let mut run = Executor { ctx, gathered, hold, executed: &mut executed, progress };
    for (target, indices) in by_target {
        run.progress.section(&format!("gitops-env: {}", target_name(&ctx.config, target)));
        match target {
            Target::Environment { name } => run.environment(name, plan, &indices).await,
            Target::Preview(preview) => run.preview(preview, plan, &indices).await,
        }
    }
    executed
}

struct Executor<'a> {
    ctx: &'a Context,
    gathered: &'a Gathered,
    hold: Option<&'a Hold>,
    executed: &'a mut Executed,
    progress: &'a mut dyn Progress,
}

/// A unit's base and head renders after the preview transforms.
type PreviewSides = (PreviewUnit, PreviewUnit);

/// A cluster to use, or why there is none (then diffs compare renders).
type ClusterAccess = Result<Cluster, String>;

impl Executor<'_> {
    /// Whether this run changes anything.
    fn applying(&self) -> bool {
        self.hold.is_none()
    }

    /// The status of a step that did not run.
    fn held_status(&self, step: &Step) -> UnitStatus {
        match (self.hold, step.action) {
            (_, Action::DiffOnly) => UnitStatus::DiffOnly,
            (Some(Hold::Blocked), _) => UnitStatus::Blocked,
            (_, action) => assemble::planned_status(action),
        }
    }

    fn deploy_options(&self) -> DeployOptions {
        let options = &self.ctx.options;
        DeployOptions {
            force_conflicts: options.force_conflicts,
            wait_timeout: options.wait_timeout,
            prune: options.prune,
            ..DeployOptions::default()
        }
    }

    fn teardown_timeout(&self) -> Duration {
        self.ctx.options.wait_timeout.unwrap_or(Duration::from_secs(300))
    }

    /// The cluster of `slot`, unless a newer commit superseded this run. (What a fork may do
    /// is the plan's business — it never plans an apply for one — and `diff`'s: no dry run of
    /// a fork's objects either.)
    async fn cluster(&self, slot: ClusterSlot) -> ClusterAccess {
        match self.hold {
            Some(Hold::Superseded { .. }) => {
                return Err("a newer commit superseded this run".into());
            }
            Some(Hold::Blocked) => {
                return Err("a unit failed to render, so the cluster was not asked".into());
            }
            _ => {}
        }
        self.ctx.clusters.connect(slot).await.map_err(|error| match error {
            ClusterUnavailable::NoCredentials(_) => error.to_string(),
            ClusterUnavailable::Connect(..) => format!("cannot reach {error}"),
        })
    }

    /// The objects a unit renders to on each side, before the target's transforms; `Err` is the
    /// unit's render failure. A side the unit does not exist on is empty.
    fn sides(&self, unit: &str) -> Result<(Vec<Value>, Vec<Value>), UnitError> {
        let renders = self.gathered.detection.renders.get(unit).cloned().unwrap_or_default();
        if let Some(failure) = renders.failure() {
            return Err(UnitError::from_render(&failure));
        }
        let objects = |side: Option<crate::render::Render>| {
            side.and_then(Result::ok).map(|r| r.objects).unwrap_or_default()
        };
        Ok((objects(renders.base), objects(renders.head)))
    }

    /// The diff of objects a step would apply as `scope`: live when the cluster can be asked
    /// (a server-side dry run), else base render against head render. Fields another field
    /// manager owns (someone edited the live object) would make the apply fail: the diff then
    /// shows what taking them over would change, and a warning says who owns them.
    async fn diff(
        &self,
        cluster: &ClusterAccess,
        scope: &Scope,
        display: &str,
        base: &[Value],
        head: &[Value],
    ) -> (crate::diff::UnitDiff, DiffSource, Vec<String>) {
        let renders = |why: String| {
            let (diff, source) = render_diff(&scope.unit, display, base, head, why);
            (diff, source, Vec::new())
        };
        if let Some(pull) = &self.gathered.pull
            && pull.state.fork
            && !pull.state.labels.contains(&self.ctx.config.fork_deploy_label)
        {
            return renders("a fork's pull request is not dry-run against the cluster".into());
        }
        let cluster = match cluster {
            Ok(cluster) => cluster,
            Err(why) => return renders(why.clone()),
        };
        let options = self.deploy_options();
        match cluster.dry_run(head, scope, &options).await {
            Ok(pairs) => {
                let warnings = pairs.iter().filter_map(|pair| warning(pair, &options)).collect();
                let (live, would_be) = crate::cluster::live_diff_sides(&pairs);
                (diff_unit(&scope.unit, display, &live, &would_be), DiffSource::Live, warnings)
            }
            Err(error) => renders(format!("the cluster's dry run failed: {error}")),
        }
    }

    async fn environment(&mut self, name: &str, plan: &Plan, indices: &[usize]) {
        let Some(environment) = self.ctx.config.environment(name) else {
            for &index in indices {
                fail(
                    &mut self.executed.units[index],
                    UnitError::message(format!("environment `{name}` is not configured")),
                );
            }
            return;
        };
        let cluster = self.cluster(environment.cluster).await;
        let applies = indices.iter().any(|&i| plan.steps[i].action != Action::DiffOnly);
        let deployment = DeploymentTarget {
            environment: name.to_owned(),
            transient: false,
            production: environment.cluster == ClusterSlot::Production,
        };
        let deployment_id = match (&cluster, self.applying() && applies) {
            (Ok(_), true) => self.start_deployment(&deployment).await,
            _ => None,
        };
        for index in self.infrastructure_first(plan, indices) {
            let step = &plan.steps[index];
            let entry = self.environment_step(name, step, &cluster).await;
            self.executed.units[index] = entry;
        }
        self.finish_deployment(deployment_id, indices, None).await;
    }

    async fn environment_step(
        &mut self,
        name: &str,
        step: &Step,
        cluster: &ClusterAccess,
    ) -> UnitReport {
        let mut entry = planned(step, name);
        let Some(unit) = &step.unit else {
            fail(
                &mut entry,
                UnitError::message("tearing down a whole environment is not done by a plan step"),
            );
            return entry;
        };
        let (mut base, mut head) = match self.sides(unit) {
            Ok(sides) => sides,
            Err(error) => {
                fail(&mut entry, error);
                return entry;
            }
        };
        let scope = Scope { environment: name.to_owned(), unit: unit.clone() };
        label_for(&mut base, &scope);
        label_for(&mut head, &scope);
        apply_image_overrides(&mut head, &self.ctx.options.images);
        let runs = self.applying() && step.action != Action::DiffOnly;
        if !runs {
            let (diff, source, warnings) = self.diff(cluster, &scope, name, &base, &head).await;
            entry.status = self.held_status(step);
            entry.diff = Some(diff);
            entry.diff_source = Some(source);
            entry.warnings = warnings;
            return entry;
        }
        let cluster = match cluster {
            Ok(cluster) => cluster,
            Err(why) => {
                fail(&mut entry, UnitError::message(why.clone()));
                return entry;
            }
        };
        self.progress.line(&format!("{}: {unit}", step.action.as_str()));
        let objects = if step.action == Action::Teardown { &[][..] } else { &head[..] };
        self.apply(cluster, objects, &scope, &mut entry, &base, &head).await;
        if step.action == Action::Teardown
            && matches!(entry.status, UnitStatus::Applied | UnitStatus::Unchanged)
        {
            entry.status = UnitStatus::TornDown;
        }
        entry
    }

    /// Applies `objects` as `scope` (an empty list removes what the unit owns) and writes what
    /// happened into `entry`.
    async fn apply(
        &mut self,
        cluster: &Cluster,
        objects: &[Value],
        scope: &Scope,
        entry: &mut UnitReport,
        base: &[Value],
        head: &[Value],
    ) {
        let mut options = self.deploy_options();
        if objects.is_empty() {
            // Removing a unit: everything it owns goes, whatever the prune input says.
            options.prune = true;
            options.wait_timeout = None;
        }
        match cluster.deploy(objects, scope, &options).await {
            Ok(outcome) => {
                // What the cluster did: each object before the apply against its answer, and
                // what was pruned. Counts are of that, not of git.
                let (before, after) = applied_sides(&outcome);
                entry.diff = Some(diff_unit(&scope.unit, &entry.environment, &before, &after));
                entry.diff_source = Some(DiffSource::Applied);
                let counts = outcome.counts();
                entry.status =
                    if counts.is_no_change() { UnitStatus::Unchanged } else { UnitStatus::Applied };
                if !outcome.is_success() {
                    fail(entry, UnitError::message(describe_outcome(&outcome)));
                }
                for (object, reason) in &outcome.prune_skipped {
                    self.executed.notes.push(format!("kept {object}: {reason}"));
                }
                self.progress.line(&format!(
                    "{}: {} created, {} configured, {} unchanged, {} pruned",
                    scope.unit, counts.created, counts.configured, counts.unchanged, counts.pruned
                ));
            }
            Err(error) => {
                let (diff, source) =
                    render_diff(&scope.unit, &entry.environment, base, head, "nothing was applied");
                entry.diff = Some(diff);
                entry.diff_source = Some(source);
                fail(entry, UnitError::message(error.to_string()));
            }
        }
    }

    /// The order to run an environment's steps in: infrastructure is applied before the other
    /// units, because it carries what apps need to exist first (namespaces, CRDs, storage
    /// classes), and torn down after them; plan order otherwise. (The plan sorts by path, which
    /// would put `apps/` first.)
    fn infrastructure_first(&self, plan: &Plan, indices: &[usize]) -> Vec<usize> {
        let mut order = indices.to_vec();
        order.sort_by_key(|&i| {
            let step = &plan.steps[i];
            let unit = step.unit.as_deref().unwrap_or_default();
            let infrastructure = self.ctx.config.root_kind(unit) == Some(RootKind::Infrastructure);
            match (infrastructure, step.action == Action::Teardown) {
                (true, false) => 0,
                (false, _) => 1,
                (true, true) => 2,
            }
        });
        order
    }

    /// The preview's identity: who it is for, and when it was first created (kept across
    /// re-deploys, so its expiry does not move).
    fn preview_request(
        &self,
        preview: &PreviewRef,
        existing: Option<&PreviewRecord>,
    ) -> PreviewRequest {
        let pull = self.gathered.pull.as_ref();
        PreviewRequest {
            repository: self.ctx.repository.clone().unwrap_or_default(),
            pull_request: preview.pr.or(pull.map(|p| p.state.number)),
            named_by_pull_request: preview.fork,
            branch: preview.branch.clone(),
            sha: pull.map_or_else(|| self.head_sha().unwrap_or_default(), |p| p.head_sha.clone()),
            created_at: existing.and_then(|r| r.created_at).unwrap_or(self.ctx.now),
        }
    }

    /// The commit being deployed: the change's head, else the commit the run was started for.
    fn head_sha(&self) -> Option<String> {
        self.gathered
            .detection
            .head
            .as_ref()
            .map(|h| h.as_str().to_owned())
            .or_else(|| self.ctx.commit.clone())
    }

    async fn preview(&mut self, preview_ref: &PreviewRef, plan: &Plan, indices: &[usize]) {
        let config = &self.ctx.config;
        let cluster = self.cluster(config.preview_environment().cluster).await;
        // Records of existing previews: from the sweep's or teardown's gathering, else asked.
        let mut records = self.gathered.preview_records.clone();
        if let Ok(cluster) = &cluster
            && records.is_empty()
        {
            match cluster.previews(None, self.ctx.repository.as_deref()).await {
                Ok(found) => records = found.into_iter().map(|(record, _)| record).collect(),
                Err(error) => {
                    self.fail_all(indices, &error.to_string());
                    return;
                }
            }
        }
        let settings = |images| PreviewSettings::from_config(config, images);
        let probe =
            match Preview::new(self.preview_request(preview_ref, None), settings(Vec::new())) {
                Ok(preview) => preview,
                Err(error) => {
                    self.fail_all(indices, &error.to_string());
                    return;
                }
            };
        // A preview found in the cluster is known by its recorded slug, whatever the settings
        // would name it today.
        let existing = self
            .gathered
            .state
            .previews
            .iter()
            .find(|p| p.preview == *preview_ref)
            .map(|p| p.slug.clone())
            .and_then(|slug| records.iter().find(|r| r.slug == slug))
            .or_else(|| records.iter().find(|r| r.namespace == probe.namespace()));
        let request = self.preview_request(preview_ref, existing);
        let built = Preview::new(request.clone(), settings(self.ctx.options.images.clone()))
            .and_then(|head| Ok((head, Preview::new(request, settings(Vec::new()))?)));
        let (head_preview, base_preview) = match built {
            Ok(pair) => pair,
            Err(error) => {
                self.fail_all(indices, &error.to_string());
                return;
            }
        };
        let slug = existing.map_or_else(|| head_preview.slug().to_owned(), |r| r.slug.clone());
        let namespace =
            existing.map_or_else(|| head_preview.namespace().to_owned(), |r| r.namespace.clone());
        let deployment = DeploymentTarget::preview(&slug);
        for &index in indices {
            self.executed.units[index].environment = format!("preview {namespace}");
        }

        // A whole-preview teardown is the only step for its target.
        if indices
            .iter()
            .any(|&i| plan.steps[i].action == Action::Teardown && plan.steps[i].unit.is_none())
        {
            self.executed.preview_namespace = Some(namespace);
            self.teardown_preview(&cluster, &slug, &deployment, indices).await;
            return;
        }

        // Transform every unit first: the namespace object carries labels from all of them.
        let mut transformed: Vec<(usize, Result<PreviewSides, UnitError>)> = Vec::new();
        for &index in indices {
            let unit = plan.steps[index].unit.clone().unwrap_or_default();
            let result = self.sides(&unit).and_then(|(base, head)| {
                let app = app_name(&unit);
                let error = |e: crate::preview::PreviewError| UnitError::message(e.to_string());
                let base = base_preview.transform(app, base).map_err(error)?;
                let head = head_preview.transform(app, head).map_err(error)?;
                Ok((base, head))
            });
            transformed.push((index, result));
        }
        let heads: Vec<PreviewUnit> = transformed
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|(_, h)| h.clone())
            .collect();
        let namespace_object = head_preview.namespace_object(&heads);
        for unit in &heads {
            self.executed.notes.extend(unit.notes.iter().cloned());
        }
        let applies = indices.iter().any(|&i| plan.steps[i].action != Action::DiffOnly);
        let runs = self.applying() && applies;
        if runs {
            self.executed.preview_namespace = Some(namespace.clone());
        }
        let deployment_id = match (&cluster, runs) {
            (Ok(_), true) => self.start_deployment(&deployment).await,
            _ => None,
        };
        for (index, result) in transformed {
            let step = &plan.steps[index];
            let mut entry = planned(step, &self.executed.units[index].environment);
            let (base, head) = match result {
                Ok(pair) => pair,
                Err(error) => {
                    fail(&mut entry, error);
                    self.executed.units[index] = entry;
                    continue;
                }
            };
            let unit = step.unit.clone().unwrap_or_default();
            let scope = Scope { environment: namespace.clone(), unit: unit.clone() };
            let mut objects = Vec::new();
            if step.action != Action::Teardown {
                objects.push(namespace_object.clone());
                objects.extend(head.objects.iter().cloned());
            }
            let mut base_objects = base.objects.clone();
            label_for(&mut base_objects, &scope);
            label_for(&mut objects, &scope);
            entry.preview_urls = head.urls.iter().map(|u| u.url.clone()).collect();
            if !runs || step.action == Action::DiffOnly {
                let (diff, source, warnings) =
                    self.diff(&cluster, &scope, &entry.environment, &base_objects, &objects).await;
                entry.status = self.held_status(step);
                entry.diff = Some(diff);
                entry.diff_source = Some(source);
                entry.warnings = warnings;
            } else {
                match &cluster {
                    Ok(cluster) => {
                        self.progress.line(&format!("{}: {unit}", step.action.as_str()));
                        let to_apply = if step.action == Action::Teardown {
                            Vec::new()
                        } else {
                            objects.clone()
                        };
                        self.apply(cluster, &to_apply, &scope, &mut entry, &base_objects, &objects)
                            .await;
                        if step.action == Action::Teardown
                            && matches!(entry.status, UnitStatus::Applied | UnitStatus::Unchanged)
                        {
                            entry.status = UnitStatus::TornDown;
                        }
                    }
                    Err(why) => fail(&mut entry, UnitError::message(why.clone())),
                }
            }
            self.executed.units[index] = entry;
        }
        let url = indices
            .iter()
            .flat_map(|&i| self.executed.units[i].preview_urls.first())
            .next()
            .cloned();
        self.finish_deployment(deployment_id, indices, url).await;

        // The PR may have closed while we deployed: then nothing may be left behind.
        let deployed =
            indices.iter().any(|&i| self.executed.units[i].status == UnitStatus::Applied);
        if let (Some(pull), Some(github), true) = (&self.gathered.pull, &self.ctx.github, deployed)
            && let Ok(now) = github.client.pull_request(&github.repo, pull.state.number).await
            && now.state != crate::github::PullState::Open
        {
            self.teardown_preview(&cluster, &slug, &deployment, indices).await;
            self.executed.notes.push(format!(
                "PR #{} closed while its preview was deployed: the preview was torn down again",
                pull.state.number
            ));
        }
    }

    fn fail_all(&mut self, indices: &[usize], message: &str) {
        for &index in indices {
            fail(&mut self.executed.units[index], UnitError::message(message));
        }
    }

    /// Removes a whole preview: its objects, namespace and inventories; marks its GitHub
    /// deployment inactive.
    async fn teardown_preview(
        &mut self,
        cluster: &ClusterAccess,
        slug: &str,
        deployment: &DeploymentTarget,
        indices: &[usize],
    ) {
        if !self.applying() {
            for &index in indices {
                self.executed.units[index].status = UnitStatus::WillTearDown;
            }
            return;
        }
        let cluster = match cluster {
            Ok(cluster) => cluster,
            Err(why) => return self.fail_all(indices, why),
        };
        self.progress.line(&format!("tearing down preview {slug}"));
        let repository = self.ctx.repository.as_deref();
        let result = cluster
            .teardown(&PreviewSelector::Slug(slug.to_owned()), repository, self.teardown_timeout())
            .await;
        let problem = match result {
            Ok(outcome) => {
                for object in &outcome.deleted {
                    self.progress.line(&format!("deleted {object}"));
                }
                for (object, reason) in &outcome.skipped {
                    self.executed.notes.push(format!("kept {object}: {reason}"));
                }
                (!outcome.is_success()).then(|| {
                    outcome.failed.iter().map(describe_failure).collect::<Vec<_>>().join("; ")
                })
            }
            Err(error) => Some(error.to_string()),
        };
        let deactivated = match (&self.ctx.github, self.ctx.options.deployments) {
            (Some(github), true) => github
                .client
                .deactivate_environment(&github.repo, &deployment.environment)
                .await
                .map(|_| ())
                .map_err(|error| {
                    format!("marking deployment {} inactive: {error}", deployment.environment)
                }),
            _ => Ok(()),
        };
        for &index in indices {
            let entry = &mut self.executed.units[index];
            entry.preview_urls.clear();
            match (&problem, &deactivated) {
                (Some(problem), _) => fail(entry, UnitError::message(problem.clone())),
                (None, Err(problem)) => fail(entry, UnitError::message(problem.clone())),
                (None, Ok(())) => entry.status = UnitStatus::TornDown,
            }
        }
    }

    /// The GitHub deployment of the commit to `target`: the one an earlier run at the same
    /// commit created, or a new one.
    async fn start_deployment(&self, target: &DeploymentTarget) -> Option<u64> {
        let github = self.ctx.github.as_ref()?;
        if !self.ctx.options.deployments {
            return None;
        }
        let sha = match &self.gathered.pull {
            Some(pull) => pull.head_sha.clone(),
            None => self.head_sha()?,
        };
        let id = match github.client.find_deployment(&github.repo, &target.environment, &sha).await
        {
            Ok(Some(id)) => id,
            _ => github
                .client
                .create_deployment(&github.repo, target, &sha, "gitops-env deploy")
                .await
                .ok()?,
        };
        let update = StatusUpdate {
            state: DeploymentState::InProgress,
            environment_url: None,
            log_url: self.ctx.run_url.clone(),
            description: Some("deploying".into()),
        };
        github.client.set_deployment_status(&github.repo, id, &update).await.ok()?;
        Some(id)
    }

    async fn finish_deployment(
        &self,
        id: Option<u64>,
        indices: &[usize],
        environment_url: Option<String>,
    ) {
        let (Some(github), Some(id)) = (&self.ctx.github, id) else { return };
        let ok = indices.iter().all(|&i| self.executed.units[i].status != UnitStatus::Failed);
        let update = StatusUpdate {
            state: if ok { DeploymentState::Success } else { DeploymentState::Failure },
            environment_url,
            log_url: self.ctx.run_url.clone(),
            description: Some(if ok { "deployed".into() } else { "deploy failed".into() }),
        };
        // A status that cannot be set is not worth failing a deploy that worked.
        let _ = github.client.set_deployment_status(&github.repo, id, &update).await;
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

/// What a reviewer must know of one dry-run object before merging: the apply will refuse it
/// (not ours), or fail on fields another manager owns.
fn warning(pair: &crate::cluster::LivePair, options: &DeployOptions) -> Option<String> {
    let object = &pair.object;
    if !pair.ownership.permits(options.adopt) {
        return Some(format!(
            "{object}: {}: the apply refuses to take it over{}",
            pair.ownership,
            if matches!(pair.ownership, crate::cluster::Ownership::Foreign { .. }) {
                " (set `adopt: true` for the environment to take it over)"
            } else {
                ""
            }
        ));
    }
    let conflict = pair.conflict.as_ref()?;
    Some(format!(
        "{object}: fields owned by {} would be changed ({}): the apply fails unless \
         `force-conflicts` is set or the fields are given back; the diff shows the values this \
         change would set",
        conflict.managers.join(", "),
        conflict.fields.join(", ")
    ))
}

/// The two sides of what a deploy did, for the diff stage: the live objects before it (and the
/// pruned ones) against the server's answers.
fn applied_sides(outcome: &Outcome) -> (Vec<Value>, Vec<Value>) {
    let mut before: Vec<Value> = outcome.applied.iter().filter_map(|a| a.before.clone()).collect();
    before.extend(outcome.pruned.iter().map(object_stub));
    let after = outcome.applied.iter().map(|a| a.after.clone()).collect();
    (before, after)
}

/// An object known only by its identity (a pruned one): enough for the diff to name it.
fn object_stub(object: &crate::cluster::ObjectRef) -> Value {
    let mut metadata = kustomize::Map::new();
    metadata.insert("name".into(), object.name.as_str().into());
    if !object.namespace.is_empty() {
        metadata.insert("namespace".into(), object.namespace.as_str().into());
    }
    let mut map = kustomize::Map::new();
    map.insert("apiVersion".into(), object.api_version.as_str().into());
    map.insert("kind".into(), object.kind.as_str().into());
    map.insert("metadata".into(), Value::Map(metadata));
    Value::Map(map)
}

/// What went wrong in a deploy, one line per object.
fn describe_outcome(outcome: &Outcome) -> String {
    let mut problems: Vec<String> = outcome.failed.iter().map(describe_failure).collect();
    problems.extend(outcome.not_ready.iter().map(ToString::to_string));
    problems.join("\n")
}

/// One object's failure, naming the object once: most cluster errors already start with it.
fn describe_failure(failure: &crate::cluster::Failure) -> String {
    let (object, error) = (failure.object.to_string(), failure.error.to_string());
    if error.starts_with(&object) { error } else { format!("{object}: {error}") }
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
