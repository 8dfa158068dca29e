//! The conductor: THE order of the stages, shared by every command. Each command is a prefix
//! of one run (ARCHITECTURE.md):
//!
//! 1. `context` — the command builds a [`Context`]: settings, trigger, options, credentials, time;
//! 2. `gather` — the PR as it is now, existing previews, detection (affected units, with both
//!    sides' renders: the render stage runs inside detection and nowhere else);
//! 3. `plan::decide` — the plan (pure);
//! 4. to 7. `execute` — per target: renders transformed for it (preview, images, labels), their
//!    diff (live when the cluster may be asked), then apply / prune / teardown unless the run
//!    holds;
//! 8. the report's entries, which the command publishes (`publish` posts the sticky comment).
//!
//! It owns the glue between stages and nothing else: every decision lives in its stage (`plan`,
//! `detect`, `preview`, `diff`, `report`), every effect in an edge module (`git`, `github`,
//! `cluster`, `runner`). It never imports `cli`.

pub mod assemble;
pub mod context;
pub mod execute;
pub mod gather;

pub use context::{Clusters, Context, GitHub, Revisions, RunOptions};
pub use gather::{CurrentPull, Gathered};

use crate::github::StickyMarker;
use crate::plan::{Action, Plan, decide};
use crate::report::{Report, UnitReport, UnitStatus};

/// Where a command stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// After the plan (stage 3): nothing is rendered beyond detection, nothing diffed.
    Plan,
    /// After the diff (stage 6): nothing is applied.
    Diff,
    /// The whole run.
    Deploy,
}

/// Why a run applies nothing although its plan has applies or teardowns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The PR's head moved past the commit of this run: the newer commit's run deploys.
    Superseded { newer: String },
    /// A unit failed to render: nothing of the run is applied, pruned or torn down.
    Blocked,
    /// A server-side dry run was asked for.
    DryRun,
    /// The command stops at the diff.
    DiffOnly,
}

impl Hold {
    /// The note that tells users why nothing was applied.
    pub fn note(&self) -> String {
        match self {
            Hold::Superseded { newer } => format!(
                "superseded: the pull request's head moved to {newer}; this run deploys nothing (the newer commit's run will)"
            ),
            Hold::Blocked => {
                "a unit failed to render: nothing was applied, pruned or torn down in this run"
                    .to_owned()
            }
            Hold::DryRun => "dry run: nothing was persisted".to_owned(),
            Hold::DiffOnly => "nothing is applied by this command".to_owned(),
        }
    }
}

/// Why a run could not get as far as a plan.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The input cannot be used: a folder that is not a repository, revisions that do not
    /// resolve, a unit glob that does not parse (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// Something the run depends on failed: GitHub, the cluster, the clone's history (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// What the conductor tells whoever watches, as it goes: the CLI prints it, the action groups it
/// in the Actions log.
pub trait Progress {
    /// A stage or a target starts.
    fn section(&mut self, title: &str);
    /// One line of progress.
    fn line(&mut self, text: &str);
}

/// Progress nobody watches.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn section(&mut self, _title: &str) {}
    fn line(&mut self, _text: &str) {}
}

/// One run, as far as its command went.
#[derive(Debug)]
pub struct Run {
    pub plan: Plan,
    pub gathered: Gathered,
    /// Why nothing was applied, when nothing was.
    pub hold: Option<Hold>,
    /// One entry per plan step, in plan order (empty when the run stopped at the plan).
    pub units: Vec<UnitReport>,
    /// The preview namespace the run deployed or tore down (or would have).
    pub preview_namespace: Option<String>,
    /// What users should know: the plan's and detection's caveats, and what execution noticed.
    pub notes: Vec<String>,
    /// What the renders resolved at render time (unpinned chart versions, branch refs).
    pub resolved: crate::render::Resolved,
}

impl Run {
    /// Whether any unit failed (to render, to apply, to become ready).
    pub fn failed(&self) -> bool {
        self.hold == Some(Hold::Blocked)
            || self.units.iter().any(|u| u.status == UnitStatus::Failed)
    }

    /// The report of this run, for the comment, the summary and annotations.
    pub fn report(&self, kind: &str, title: &str, run_url: Option<String>) -> Report {
        Report {
            kind: kind.to_owned(),
            title: title.to_owned(),
            head_sha: self.head_sha(),
            run_url,
            units: self.units.clone(),
            resolved: self.resolved.clone(),
        }
    }

    /// The commit the run rendered.
    pub fn head_sha(&self) -> Option<String> {
        self.gathered.detection.head.as_ref().map(|sha| sha.as_str().to_owned())
    }
}

/// Runs the pipeline for `ctx` up to `until`.
pub async fn run(
    ctx: &Context,
    until: Stop,
    progress: &mut dyn Progress,
) -> Result<Run, PipelineError> {
    // 2. What happened, and what is there now.
    progress.section("gitops-env: detecting affected units");
    let gathered = gather::gather(ctx).await?;
    let detection = &gathered.detection;
    progress.line(&format!(
        "{} changed file(s); {} affected unit(s), {} failed to render",
        detection.changed_files.len(),
        detection.affected.len() + detection.deleted.len(),
        detection.failed.len()
    ));

    // 3. The plan.
    let plan = decide(&ctx.trigger, &ctx.config, &gathered.state);
    progress.section("gitops-env: plan");
    progress.line(plan.to_table().trim_end());
    let mut notes = plan.notes.clone();
    notes.extend(gathered.detection.notes.iter().cloned());
    if until == Stop::Plan {
        return Ok(Run {
            plan,
            gathered,
            hold: None,
            units: Vec::new(),
            preview_namespace: None,
            notes,
            resolved: ctx.build.resolved(),
        });
    }

    // 4.–7. Per target: transform, diff, apply — unless the run holds.
    let acts = plan.steps.iter().any(|s| s.action != Action::DiffOnly);
    let hold = if let Some(newer) = gathered.pull.as_ref().and_then(|p| p.superseded_by.clone()) {
        Some(Hold::Superseded { newer })
    } else if plan.has_blocked_steps() {
        Some(Hold::Blocked)
    } else if until == Stop::Diff && acts {
        Some(Hold::DiffOnly)
    } else if ctx.options.dry_run && acts {
        Some(Hold::DryRun)
    } else {
        None
    };
    if let Some(hold) = &hold
        && *hold != Hold::DiffOnly
    {
        notes.push(hold.note());
    }
    let executed = execute::execute(ctx, &plan, &gathered, hold.as_ref(), progress).await;
    notes.extend(executed.notes);
    notes.dedup();
    Ok(Run {
        plan,
        gathered,
        hold,
        units: executed.units,
        preview_namespace: executed.preview_namespace,
        notes,
        resolved: ctx.build.resolved(),
    })
}

/// Posts or updates the run's sticky comment on its pull request (stage 8's one GitHub write
/// besides deployments). `Ok(None)`: there is nothing to comment on.
pub async fn publish_comment(
    ctx: &Context,
    run: &Run,
    report: &Report,
) -> Result<Option<crate::github::StickyOutcome>, String> {
    let (Some(github), Some(number)) = (&ctx.github, run.plan.pull_request) else {
        return Ok(None);
    };
    // A superseded run must not overwrite the comment: the newer commit's run owns it, and may
    // already have reported what it deployed.
    if !ctx.options.comment
        || report.units.is_empty()
        || matches!(run.hold, Some(Hold::Superseded { .. }))
    {
        return Ok(None);
    }
    let rendered = crate::report::comment_body(report);
    let marker = StickyMarker::from_line(&crate::report::comment_marker(&report.kind))
        .ok_or("the report's comment marker is not a valid sticky marker")?;
    github
        .client
        .upsert_sticky_comment(&github.repo, number, &marker, &rendered.body)
        .await
        .map(Some)
        .map_err(|err| format!("PR comment: {err}"))
}
