//! The decision table: event × settings × state → ordered steps with reasons (PRODUCT §1, §3).
//!
//! Pure: no I/O, no clock (the caller passes `now`). Rules, in the words of the product:
//! - a feature branch (push or PR) deploys its changed apps into its preview; its
//!   infrastructure changes are shown as a diff against the environment previews render from;
//! - a fork PR only gets a diff, unless a maintainer added the opt-in label;
//! - a PR into a long-lived environment's branch shows that environment's diff (develop → main
//!   is the production diff); merging it deploys that environment and tears the preview down;
//! - a push to an environment's branch deploys its changed units; a deleted unit is torn down;
//! - a PR closed without merging, or a deleted branch, tears its preview down;
//! - a schedule sweeps previews whose PR or branch is gone or whose time-to-live ran out;
//! - workflow_dispatch deploys, tears down or plans on demand.
//!
//! A unit that failed to render is never applied nor torn down: its step carries `blocked`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{Config, RootKind};
use crate::detect::{ChangeKind, UnitChange};
use crate::runner::event::{Event, PullRequestEvent, PushEvent};

/// What a plan is for: an event GitHub sent the workflow, or a command run by hand. Commands
/// are triggers of their own rather than invented events, so no plan carries fake commits.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// The workflow's event (`gitops-env action`).
    Event(Event),
    /// What a push to each of these branches would do (`gitops-env plan`).
    Push { branches: Vec<String> },
    /// Every environment's diff; nothing is deployed (`gitops-env diff`).
    Diff,
    /// Deploy an environment's units (`gitops-env deploy`).
    Deploy { environment: String },
    /// Remove the previews that match (`gitops-env teardown`).
    Teardown(PreviewMatch),
    /// Remove previews whose PR or branch is gone or whose time ran out (`gitops-env sweep`;
    /// the scheduled event decides the same way).
    Sweep,
}

/// Which existing previews a teardown names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreviewMatch {
    Slug(String),
    PullRequest(u64),
}

/// Where a step acts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// A per-branch preview in the cluster of the preview environment.
    Preview(PreviewRef),
    /// A long-lived environment.
    Environment { name: String },
}

/// Which preview: a same-repository branch, or a PR (forks are named by PR number so that a
/// fork's branch can never collide with ours).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PreviewRef {
    pub branch: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fork: bool,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Preview(p) if p.fork => {
                write!(f, "preview of PR #{}", p.pr.unwrap_or_default())
            }
            Target::Preview(p) => write!(f, "preview of {}", p.branch),
            Target::Environment { name } => f.write_str(name),
        }
    }
}

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Apply,
    Teardown,
    DiffOnly,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Apply => "apply",
            Action::Teardown => "teardown",
            Action::DiffOnly => "diff-only",
        }
    }
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub target: Target,
    /// The unit (repository-relative directory); `None` means the whole target (a preview's
    /// teardown removes everything it holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    pub action: Action,
    pub reason: String,
    /// Why this step must not run (the unit failed to render on one side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// The plan for one event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub event: String,
    pub summary: String,
    pub steps: Vec<Step>,
    /// The PR whose sticky comment reports this run, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    fn nothing(event: &str, why: impl Into<String>) -> Plan {
        Plan {
            event: event.to_owned(),
            summary: why.into(),
            steps: Vec::new(),
            pull_request: None,
            notes: Vec::new(),
        }
    }

    /// Whether any step cannot run because a unit failed to render.
    pub fn has_blocked_steps(&self) -> bool {
        self.steps.iter().any(|s| s.blocked.is_some())
    }

    /// Stable JSON: steps sorted by target, unit and action.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a plan always serialises") + "\n"
    }

    /// A readable table for logs and the terminal.
    pub fn to_table(&self) -> String {
        let mut out = format!("{} — {}\n", self.event, self.summary);
        if self.steps.is_empty() {
            out.push_str("  nothing to do\n");
        } else {
            let rows: Vec<[String; 4]> = self
                .steps
                .iter()
                .map(|s| {
                    let reason = match &s.blocked {
                        Some(why) => format!("{} — BLOCKED: {why}", s.reason),
                        None => s.reason.clone(),
                    };
                    [
                        s.target.to_string(),
                        s.unit.clone().unwrap_or_else(|| "(all)".into()),
                        s.action.as_str().to_owned(),
                        reason,
                    ]
                })
                .collect();
            let headers = ["TARGET", "UNIT", "ACTION", "REASON"];
            let widths: Vec<usize> = (0..3)
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([headers[i].len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: [&str; 4]| {
                format!(
                    "  {:w0$}  {:w1$}  {:w2$}  {}\n",
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2]
                )
            };
            out.push_str(&line(headers));
            for row in &rows {
                out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        out
    }
}

/// The PR as GitHub reports it now (which may differ from the event that started the run).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PullRequestState {
    pub number: u64,
    pub open: bool,
    pub merged: bool,
    pub head_branch: String,
    pub base_branch: String,
    pub fork: bool,
    pub labels: Vec<String>,
}

/// A preview found in the cluster, with what is known about its PR and branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingPreview {
    pub preview: PreviewRef,
    /// Its slug as recorded in the cluster (the label `gitops-env.io/preview`).
    pub slug: String,
    /// Unix seconds after which the preview may be swept.
    pub expires_at: Option<u64>,
    /// `Some(false)` when its PR is closed.
    pub pr_open: Option<bool>,
    /// `Some(false)` when its branch no longer exists.
    pub branch_exists: Option<bool>,
}

/// Everything the decision needs besides the event and the settings.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The current state of the event's PR, when there is one.
    pub pull_request: Option<PullRequestState>,
    /// Previews that exist now (for the scheduled sweep).
    pub previews: Vec<ExistingPreview>,
    /// Affected units per environment name (rendered from that environment's overlays).
    pub changes: BTreeMap<String, Vec<UnitChange>>,
    /// Unix seconds now.
    pub now: u64,
}

/// Decides the plan for `trigger`.
pub fn decide(trigger: &Trigger, config: &Config, state: &State) -> Plan {
    let mut plan = match trigger {
        Trigger::Event(event) => decide_event(event, config, state),
        Trigger::Push { branches } => decide_pushes(branches, config, state),
        Trigger::Diff => decide_diff(config, state),
        Trigger::Deploy { environment } => decide_deploy(environment, config, state),
        Trigger::Teardown(which) => decide_teardown(which, state),
        Trigger::Sweep => decide_sweep(state),
    };
    plan.steps.sort_by(|a, b| (&a.target, &a.unit, a.action).cmp(&(&b.target, &b.unit, b.action)));
    plan.steps.dedup();
    plan
}

fn decide_event(event: &Event, config: &Config, state: &State) -> Plan {
    match event {
        Event::Push(push) => decide_push(push, config, state),
        Event::PullRequest(pr) => decide_pull_request(pr, config, state),
        Event::Delete(deleted) => match deleted.branch() {
            Some(branch) if config.is_preview_branch(branch) => {
                let mut plan = Plan::nothing("delete", format!("branch {branch} deleted"));
                plan.steps.push(teardown_preview(
                    same_repo_preview(branch),
                    format!("branch {branch} was deleted"),
                ));
                plan
            }
            Some(branch) => {
                Plan::nothing("delete", format!("nothing to do: {branch} does not have previews"))
            }
            None => Plan::nothing("delete", "nothing to do: a tag was deleted"),
        },
        Event::Create(_) => {
            Plan::nothing("create", "nothing to do: a new branch is deployed by its first push")
        }
        Event::Schedule => decide_sweep(state),
        Event::WorkflowDispatch(dispatch) => decide_dispatch(dispatch, config, state),
        Event::IssueComment(comment) => decide_comment(comment, config, state),
        Event::Other { name } => Plan::nothing(name, format!("nothing to do for {name}")),
    }
}

/// `gitops-env plan`: the plans of a push to each branch, as one plan.
fn decide_pushes(branches: &[String], config: &Config, state: &State) -> Plan {
    let mut merged = Plan::nothing("plan", String::new());
    let mut summaries = Vec::new();
    for branch in branches {
        let plan = push_to_branch(branch, config, state);
        summaries.push(plan.summary);
        merged.steps.extend(plan.steps);
        merged.notes.extend(plan.notes);
    }
    merged.summary = summaries.join("; ");
    merged
}

/// `gitops-env diff`: every environment's changed units, shown and not deployed.
fn decide_diff(config: &Config, state: &State) -> Plan {
    let mut plan = Plan::nothing("diff", String::new());
    for environment in &config.environments {
        plan.steps.extend(diff_environment(state, &environment.name, "diff", config));
    }
    plan.summary = if plan.steps.is_empty() {
        "no unit's output changed".to_owned()
    } else {
        format!("{} unit(s) changed", plan.steps.len())
    };
    plan
}

/// `gitops-env deploy`: every unit of one environment (what detection found), infrastructure
/// and apps alike.
fn decide_deploy(environment: &str, config: &Config, state: &State) -> Plan {
    if config.environment(environment).is_none() {
        return Plan::nothing(
            "deploy",
            format!(
                "unknown environment `{environment}` (expected one of: {})",
                config.environments.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    let steps = deploy_environment(config, state, environment, "requested by gitops-env deploy");
    let summary = if steps.is_empty() {
        format!("deploy {environment}: it has no units")
    } else {
        format!("deploy {environment}")
    };
    Plan { event: "deploy".into(), summary, steps, pull_request: None, notes: Vec::new() }
}

/// `gitops-env teardown`: the existing previews that match.
fn decide_teardown(which: &PreviewMatch, state: &State) -> Plan {
    let mut plan = Plan::nothing("teardown", String::new());
    for existing in &state.previews {
        let matches = match which {
            PreviewMatch::Slug(slug) => existing.slug == *slug,
            PreviewMatch::PullRequest(number) => existing.preview.pr == Some(*number),
        };
        if matches {
            plan.steps.push(teardown_preview(
                existing.preview.clone(),
                "requested by gitops-env teardown".into(),
            ));
        }
    }
    plan.summary = match plan.steps.len() {
        0 => "no preview matches; nothing to tear down".to_owned(),
        n => format!("tear down {n} preview(s)"),
    };
    plan
}

fn same_repo_preview(branch: &str) -> PreviewRef {
    PreviewRef { branch: branch.to_owned(), pr: None, fork: false }
}

fn teardown_preview(preview: PreviewRef, reason: String) -> Step {
    Step {
        target: Target::Preview(preview),
        unit: None,
        action: Action::Teardown,
        reason,
        blocked: None,
    }
}

fn blocked(change: &ChangeKind) -> Option<String> {
    match change {
        ChangeKind::Failed(why) => Some(format!("render failed: {why}")),
        _ => None,
    }
}

fn describe(change: &ChangeKind) -> &'static str {
    match change {
        ChangeKind::Modified => "output changed",
        ChangeKind::Added => "new unit",
        ChangeKind::Deleted => "unit removed",
        ChangeKind::Failed(_) => "render failed",
    }
}

/// Steps deploying `environment`'s changed units.
fn deploy_environment(config: &Config, state: &State, environment: &str, why: &str) -> Vec<Step> {
    let changes = state.changes.get(environment).map(Vec::as_slice).unwrap_or_default();
    changes
        .iter()
        .map(|change| Step {
            target: Target::Environment { name: environment.to_owned() },
            unit: Some(change.unit.clone()),
            action: if change.change == ChangeKind::Deleted {
                Action::Teardown
            } else {
                Action::Apply
            },
            reason: format!("{why}: {}", describe(&change.change)),
            blocked: blocked(&change.change),
        })
        .filter(|step| config.root_kind(step.unit.as_deref().unwrap_or_default()).is_some())
        .collect()
}

/// Steps showing `environment`'s diff without touching it.
fn diff_environment(state: &State, environment: &str, why: &str, config: &Config) -> Vec<Step> {
    let changes = state.changes.get(environment).map(Vec::as_slice).unwrap_or_default();
    changes
        .iter()
        .filter(|change| config.root_kind(&change.unit).is_some())
        .map(|change| Step {
            target: Target::Environment { name: environment.to_owned() },
            unit: Some(change.unit.clone()),
            action: Action::DiffOnly,
            reason: format!("{why}: {}", describe(&change.change)),
            blocked: blocked(&change.change),
        })
        .collect()
}

/// Steps for a feature branch's preview: apps applied (or diff-only), infrastructure diff-only.
fn preview_steps(
    config: &Config,
    state: &State,
    preview: &PreviewRef,
    may_deploy: bool,
    why_not: &str,
) -> Vec<Step> {
    let environment = &config.preview.environment;
    let changes = state.changes.get(environment).map(Vec::as_slice).unwrap_or_default();
    let mut steps = Vec::new();
    for change in changes {
        match config.root_kind(&change.unit) {
            Some(RootKind::Apps) => {
                let (action, reason) = match (&change.change, may_deploy) {
                    (ChangeKind::Deleted, true) => (Action::Teardown, "app removed on the feature branch".to_owned()),
                    (_, true) => (Action::Apply, format!("app changed on the feature branch: {}", describe(&change.change))),
                    (_, false) => (Action::DiffOnly, format!("{why_not}: {}", describe(&change.change))),
                };
                steps.push(Step { target: Target::Preview(preview.clone()), unit: Some(change.unit.clone()), action, reason, blocked: blocked(&change.change) });
            }
            Some(RootKind::Infrastructure) => steps.push(Step {
                target: Target::Environment { name: environment.clone() },
                unit: Some(change.unit.clone()),
                action: Action::DiffOnly,
                reason: format!(
                    "infrastructure changed on a feature branch: shown as a diff, applied when merged ({})",
                    describe(&change.change)
                ),
                blocked: blocked(&change.change),
            }),
            None => {}
        }
    }
    steps
}

fn decide_push(push: &PushEvent, config: &Config, state: &State) -> Plan {
    let Some(branch) = push.branch() else {
        return Plan::nothing("push", format!("nothing to do: {} is not a branch", push.git_ref));
    };
    if push.is_deletion() {
        if config.is_preview_branch(branch) {
            let mut plan = Plan::nothing("push", format!("branch {branch} deleted"));
            plan.steps.push(teardown_preview(
                same_repo_preview(branch),
                format!("branch {branch} was deleted"),
            ));
            return plan;
        }
        return Plan::nothing(
            "push",
            format!("nothing to do: {branch} was deleted and has no preview"),
        );
    }
    push_to_branch(branch, config, state)
}

/// A push of new commits to `branch`.
fn push_to_branch(branch: &str, config: &Config, state: &State) -> Plan {
    if let Some(environment) = config.environment_for_branch(branch) {
        let steps =
            deploy_environment(config, state, &environment.name, &format!("pushed to {branch}"));
        let summary = if steps.is_empty() {
            format!("push to {branch}: no unit of {} changed", environment.name)
        } else {
            format!("push to {branch}: deploy {}", environment.name)
        };
        return Plan {
            event: "push".into(),
            summary,
            steps,
            pull_request: None,
            notes: Vec::new(),
        };
    }
    if config.is_preview_branch(branch) {
        let preview = same_repo_preview(branch);
        let steps = preview_steps(config, state, &preview, true, "");
        let summary = if steps.is_empty() {
            format!("push to {branch}: no app or infrastructure unit changed")
        } else {
            format!("push to {branch}: update its preview")
        };
        return Plan {
            event: "push".into(),
            summary,
            steps,
            pull_request: None,
            notes: Vec::new(),
        };
    }
    Plan::nothing(
        "push",
        format!("nothing to do: {branch} is neither an environment branch nor a preview branch"),
    )
}

fn decide_pull_request(event: &PullRequestEvent, config: &Config, state: &State) -> Plan {
    let pr = &event.pull_request;
    let number = event.number;
    // The PR as it is now wins over the event that started the run: a PR closed while the
    // run waited must not get a fresh preview.
    let (open, merged, labels) = match &state.pull_request {
        Some(now) => (now.open, now.merged, now.labels.clone()),
        None => {
            (pr.state == "open", pr.is_merged(), pr.labels.iter().map(|l| l.name.clone()).collect())
        }
    };
    let head = pr.head.branch.as_str();
    let base = pr.base.branch.as_str();
    let fork = event.is_fork();
    let preview = PreviewRef { branch: head.to_owned(), pr: fork.then_some(number), fork };
    let has_preview = fork || config.is_preview_branch(head);
    let event_name = format!("pull_request.{}", event.action);
    let mut plan = Plan {
        event: event_name,
        summary: String::new(),
        steps: Vec::new(),
        pull_request: Some(number),
        notes: Vec::new(),
    };

    if !open {
        if has_preview {
            let why = if merged {
                format!("PR #{number} was merged")
            } else {
                format!("PR #{number} was closed without merging")
            };
            plan.steps.push(teardown_preview(preview, why));
        }
        // The push of the merge to the base branch deploys its environment: one deploy per
        // merge, whichever of the two runs comes first, and merges done by push deploy too.
        if merged && let Some(environment) = config.environment_for_branch(base) {
            plan.notes.push(format!(
                "{} is deployed by the push of the merge to {base}, not by this run",
                environment.name
            ));
            plan.summary = format!("PR #{number} merged into {base}");
        } else {
            plan.summary = format!("PR #{number} closed");
        }
        return plan;
    }

    let relevant = matches!(
        event.action.as_str(),
        "opened" | "synchronize" | "reopened" | "ready_for_review" | "edited"
    ) || (matches!(event.action.as_str(), "labeled" | "unlabeled")
        && event.label.as_ref().is_some_and(|l| l.name == config.fork_deploy_label));
    if !relevant {
        plan.summary = format!("nothing to do for pull_request.{}", event.action);
        return plan;
    }

    let base_environment = config.environment_for_branch(base);
    if has_preview {
        let opted_in = labels.contains(&config.fork_deploy_label);
        let may_deploy = !fork || opted_in;
        let why_not = format!(
            "fork PR: diff only (a maintainer can add the `{}` label to deploy)",
            config.fork_deploy_label
        );
        if fork && !opted_in && event.action == "unlabeled" {
            plan.steps.push(teardown_preview(
                preview.clone(),
                format!("the `{}` label was removed", config.fork_deploy_label),
            ));
        }
        plan.steps.extend(preview_steps(config, state, &preview, may_deploy, &why_not));
        if !may_deploy {
            plan.notes.push(why_not);
        }
        plan.summary = format!(
            "PR #{number} from {head}: {}",
            if may_deploy { "update its preview" } else { "diff only" }
        );
    }
    // The base branch's environment shows its diff — unless it is the environment previews
    // render from and the preview already shows this change there.
    if let Some(environment) = base_environment
        && (environment.name != config.preview.environment || !has_preview)
    {
        plan.steps.extend(diff_environment(
            state,
            &environment.name,
            &format!("PR #{number} into {base} would change {}", environment.name),
            config,
        ));
        plan.summary = format!("PR #{number} into {base}: {} diff", environment.name);
    }
    if plan.summary.is_empty() {
        plan.summary = format!(
            "nothing to do: PR #{number} ({head} → {base}) has no preview and targets no environment branch"
        );
    }
    plan
}

fn decide_sweep(state: &State) -> Plan {
    let mut plan = Plan::nothing("schedule", "sweep previews");
    for existing in &state.previews {
        let reason = if existing.pr_open == Some(false) {
            Some(format!("PR #{} is closed", existing.preview.pr.unwrap_or_default()))
        } else if existing.branch_exists == Some(false) {
            Some(format!("branch {} no longer exists", existing.preview.branch))
        } else if existing.expires_at.is_some_and(|at| at <= state.now) {
            Some("its time-to-live ran out".to_owned())
        } else {
            None
        };
        match reason {
            Some(why) => plan.steps.push(teardown_preview(existing.preview.clone(), why)),
            None => plan.notes.push(format!("kept {}", Target::Preview(existing.preview.clone()))),
        }
    }
    plan.summary =
        format!("sweep: {} of {} previews to remove", plan.steps.len(), state.previews.len());
    plan
}

fn decide_dispatch(
    dispatch: &crate::runner::event::DispatchEvent,
    config: &Config,
    state: &State,
) -> Plan {
    let branch = dispatch.git_ref.strip_prefix("refs/heads/").unwrap_or(&dispatch.git_ref);
    let operation = dispatch.input("operation").unwrap_or("deploy");
    let environment = dispatch
        .input("environment")
        .map(str::to_owned)
        .or_else(|| config.environment_for_branch(branch).map(|e| e.name.clone()))
        .unwrap_or_else(|| "preview".to_owned());
    let name = "workflow_dispatch";
    if environment == "preview" {
        let preview_branch = dispatch.input("branch").unwrap_or(branch);
        let preview = same_repo_preview(preview_branch);
        let mut plan = Plan::nothing(name, String::new());
        match operation {
            "teardown" => {
                plan.steps.push(teardown_preview(preview, "requested by workflow_dispatch".into()))
            }
            "deploy" | "plan" => {
                plan.steps = preview_steps(
                    config,
                    state,
                    &preview,
                    operation == "deploy",
                    "requested as a plan",
                );
            }
            other => {
                return Plan::nothing(
                    name,
                    format!("unknown operation `{other}` (expected deploy, teardown or plan)"),
                );
            }
        }
        plan.summary = format!("{operation} preview of {preview_branch} on demand");
        return plan;
    }
    if config.environment(&environment).is_none() {
        return Plan::nothing(
            name,
            format!(
                "unknown environment `{environment}` (expected preview or one of the configured environments)"
            ),
        );
    }
    let steps = match operation {
        "deploy" => {
            deploy_environment(config, state, &environment, "requested by workflow_dispatch")
        }
        "plan" => diff_environment(state, &environment, "requested by workflow_dispatch", config),
        "teardown" => {
            return Plan::nothing(
                name,
                format!(
                    "refusing to tear down the long-lived environment `{environment}` on demand"
                ),
            );
        }
        other => {
            return Plan::nothing(
                name,
                format!("unknown operation `{other}` (expected deploy, teardown or plan)"),
            );
        }
    };
    Plan {
        event: name.into(),
        summary: format!("{operation} {environment} on demand"),
        steps,
        pull_request: None,
        notes: Vec::new(),
    }
}

/// Comment commands on a PR: `/gitops-env preview` redeploys, `/gitops-env teardown` removes.
fn decide_comment(
    comment: &crate::runner::event::IssueCommentEvent,
    config: &Config,
    state: &State,
) -> Plan {
    let name = "issue_comment";
    if comment.action != "created" || !comment.is_on_pull_request() {
        return Plan::nothing(name, "nothing to do: not a new comment on a pull request");
    }
    let body = comment.comment.body.as_deref().unwrap_or_default();
    let command = body.lines().next().unwrap_or_default().trim();
    let Some(verb) = command.strip_prefix("/gitops-env").map(str::trim) else {
        return Plan::nothing(name, "nothing to do: the comment is not a /gitops-env command");
    };
    let Some(pr) = &state.pull_request else {
        return Plan::nothing(name, "nothing to do: the PR's state is unknown");
    };
    if !(pr.fork || config.is_preview_branch(&pr.head_branch)) {
        return Plan::nothing(
            name,
            format!("nothing to do: {} does not get previews", pr.head_branch),
        );
    }
    let preview = PreviewRef {
        branch: pr.head_branch.clone(),
        pr: pr.fork.then_some(pr.number),
        fork: pr.fork,
    };
    let mut plan = Plan {
        event: name.into(),
        summary: String::new(),
        steps: Vec::new(),
        pull_request: Some(pr.number),
        notes: Vec::new(),
    };
    match verb {
        "preview" | "deploy" if pr.open => {
            let may_deploy = !pr.fork || pr.labels.contains(&config.fork_deploy_label);
            plan.steps = preview_steps(config, state, &preview, may_deploy, "fork PR: diff only");
            plan.summary = format!("/gitops-env {verb} on PR #{}", pr.number);
        }
        "teardown" => {
            plan.steps.push(teardown_preview(
                preview,
                "requested by a /gitops-env teardown comment".into(),
            ));
            plan.summary = format!("/gitops-env teardown on PR #{}", pr.number);
        }
        other => {
            plan.summary =
                format!("nothing to do: unknown or inapplicable command `/gitops-env {other}`")
        }
    }
    plan
}

#[cfg(test)]
mod tests;
