//! Stage 2: what happened and what is there now — the pull request as GitHub reports it now,
//! the previews that exist in the cluster, and what the change affects (detection). Together
//! they are the `plan::State` the plan is decided from.
//!
//! Everything here reads; nothing writes. The edges it reads through are `github`, `cluster`
//! and `git` (via `detect`).

use std::collections::BTreeMap;

use crate::cluster::{Cluster, ClusterError};
use crate::config::Config;
use crate::detect::units::{self, UnitSelection};
use crate::detect::{DetectOptions, DetectRunError, Detection, UnitChange, UnitRenders};
use crate::git::diff_base::{
    ChangedFilesSource, DiffBaseError, DiffRequest, ListedChanges, ListingLimit,
};
use crate::git::{Change, ChangedPath, CommitId, GitRepo};
use crate::github::{GitHubClient, PullState, RepoName};
use crate::plan::{ExistingPreview, PreviewRef, PullRequestState, State, Trigger};
use crate::preview::PreviewRecord;
use crate::runner::event::Event;

use super::PipelineError;
use super::context::{Context, Revisions};

/// What stage 2 found.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The event's pull request, as it is now.
    pub pull: Option<CurrentPull>,
    /// What the change affects, with both sides' renders of the affected units.
    pub detection: Detection,
    /// The previews found in the cluster (for a sweep or a teardown), as recorded there.
    pub preview_records: Vec<PreviewRecord>,
    pub state: State,
}

/// The pull request of the event, as it is now.
#[derive(Clone, Debug)]
pub struct CurrentPull {
    pub state: PullRequestState,
    pub base_sha: String,
    pub head_sha: String,
    /// The commit a merged pull request produced on its base branch.
    pub merge_commit_sha: Option<String>,
    /// The head moved past the commit this run was started for: the newer head.
    pub superseded_by: Option<String>,
}

/// Gathers the state `ctx.trigger` is decided from.
pub async fn gather(ctx: &Context) -> Result<Gathered, PipelineError> {
    let event = match &ctx.trigger {
        Trigger::Event(event) => Some(event),
        _ => None,
    };
    let pull = match event {
        Some(event) => {
            current_pull_request(event, ctx.github.as_ref().map(|g| (&g.client, &g.repo)))
                .await
                .map_err(|err| PipelineError::Failed(format!("reading the pull request: {err}")))?
        }
        None => None,
    };
    let wants_previews = matches!(ctx.trigger, Trigger::Sweep | Trigger::Teardown(_))
        || matches!(event, Some(Event::Schedule));
    let (previews, preview_records) = if wants_previews {
        existing_previews(ctx).await.map_err(PipelineError::Failed)?
    } else {
        (Vec::new(), Vec::new())
    };
    let detection = detection(ctx, event, pull.as_ref()).await?;
    let state = State {
        pull_request: pull.as_ref().map(|p| p.state.clone()),
        previews,
        changes: changes_by_environment(&ctx.config, &detection),
        now: u64::try_from(ctx.now.0).unwrap_or(0),
    };
    Ok(Gathered { pull, detection, preview_records, state })
}

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

/// What the trigger's change affects. Events that change nothing (deletions, schedules, closed
/// PRs) detect nothing; a deploy on demand treats every unit of the checkout as new.
async fn detection(
    ctx: &Context,
    event: Option<&Event>,
    pull: Option<&CurrentPull>,
) -> Result<Detection, PipelineError> {
    let request = match (&ctx.revisions, &ctx.trigger) {
        (_, Trigger::Sweep | Trigger::Teardown(_)) => return Ok(Detection::default()),
        (Revisions::WorkTree, _) => return everything_new(ctx),
        (Revisions::Between { base, head }, _) => {
            DiffRequest::Explicit { base: base.clone(), head: head.clone() }
        }
        (Revisions::FromEvent, _) => match event.and_then(|e| event_request(ctx, e, pull)) {
            Some(EventChange::Compare(request)) => request,
            Some(EventChange::EverythingNew) => return everything_new(ctx),
            None => return Ok(Detection::default()),
        },
    };
    let mut detected = detect(ctx, &request, None);
    // A clone too shallow to compare: GitHub's listing of the changed files stands in.
    if let (Err(DetectRunError::DiffBase(DiffBaseError::ShallowHistory { .. })), Some(github)) =
        (&detected, &ctx.github)
    {
        let (base, head) = compared_revisions(ctx, &request);
        detected = match github_listing(&github.client, &github.repo, &base, &head).await {
            Ok(listing) => detect(ctx, &request, Some(&listing)),
            Err(err) => {
                let message = detected.as_ref().err().map(ToString::to_string).unwrap_or_default();
                return Err(PipelineError::Failed(format!(
                    "{message}; the GitHub API could not list the changes either: {err}"
                )));
            }
        };
    }
    let mut detection = detected.map_err(|err| match &ctx.revisions {
        // Revisions typed by hand; an event's commits missing from the clone is a failure.
        Revisions::Between { .. } if err.is_bad_input() => PipelineError::BadInput(err.to_string()),
        _ => PipelineError::Failed(err.to_string()),
    })?;
    if !ctx.options.images.is_empty() {
        add_units_using_overridden_images(ctx, &mut detection).map_err(PipelineError::Failed)?;
    }
    Ok(detection)
}

enum EventChange {
    Compare(DiffRequest),
    EverythingNew,
}

/// The commits an event asks to compare (PRODUCT §3).
fn event_request(ctx: &Context, event: &Event, pull: Option<&CurrentPull>) -> Option<EventChange> {
    match event {
        Event::Push(push) if push.branch().is_some() && !push.is_deletion() => {
            Some(EventChange::Compare(DiffRequest::Push {
                before: push.before.clone(),
                after: push.after.clone(),
                integration_branch: integration_rev(ctx),
            }))
        }
        Event::PullRequest(_) | Event::IssueComment(_) => {
            let pull = pull?;
            if pull.state.open {
                Some(EventChange::Compare(DiffRequest::PullRequest {
                    base: pull.base_sha.clone(),
                    head: pull.head_sha.clone(),
                }))
            } else if pull.state.merged {
                let head = pull.merge_commit_sha.clone().unwrap_or_else(|| pull.head_sha.clone());
                Some(EventChange::Compare(DiffRequest::PullRequest {
                    base: pull.base_sha.clone(),
                    head,
                }))
            } else {
                None
            }
        }
        Event::WorkflowDispatch(_) => Some(EventChange::EverythingNew),
        _ => None,
    }
}

fn detect(
    ctx: &Context,
    request: &DiffRequest,
    listing: Option<&GitHubListing>,
) -> Result<Detection, DetectRunError> {
    crate::detect::detect_request(
        &ctx.repo,
        request,
        &UnitSelection::for_config(&ctx.config),
        &ctx.options.remote,
        listing.map(|l| l as &dyn ChangedFilesSource),
        &|fs: &dyn kustomize::FileSystem, dir: &str| ctx.build.render(fs, dir),
        ctx.build.load_restrictor(),
        DetectOptions::default(),
    )
}

/// Every unit of the work tree, new (no diff base).
fn everything_new(ctx: &Context) -> Result<Detection, PipelineError> {
    let fs = kustomize::DiskFs::new(&ctx.repo).map_err(|err| {
        PipelineError::BadInput(format!("repository {}: {err}", ctx.repo.display()))
    })?;
    let render = |fs: &dyn kustomize::FileSystem, dir: &str| ctx.build.render(fs, dir);
    crate::detect::everything_new(
        &fs,
        &UnitSelection::for_config(&ctx.config),
        &units::read_kustomization,
        &render,
    )
    .map_err(|err| PipelineError::BadInput(format!("repository {}: {err}", ctx.repo.display())))
}

/// The two revisions GitHub's compare API is asked about when the clone cannot say.
fn compared_revisions(ctx: &Context, request: &DiffRequest) -> (String, String) {
    match request {
        DiffRequest::PullRequest { base, head } | DiffRequest::Explicit { base, head } => {
            (base.clone(), head.clone())
        }
        DiffRequest::Push { before, after, .. } => {
            // A new branch is compared with the integration branch, as git would be.
            let base = if before.chars().all(|c| c == '0') {
                ctx.config.integration_branch().to_owned()
            } else {
                before.clone()
            };
            (base, after.clone())
        }
    }
}

/// Units that run an image the `images` input overrides are affected even when their manifests
/// did not change: the workflow has just built that image from the change, and the environment
/// (a preview above all) must run it. Their render is the same on both sides; the diff of the
/// target's objects (images applied at head only) shows the new image.
fn add_units_using_overridden_images(
    ctx: &Context,
    detection: &mut Detection,
) -> Result<(), String> {
    let Some(head) = detection.head.clone() else { return Ok(()) };
    let repo = GitRepo::open(&ctx.repo).map_err(|err| err.to_string())?;
    let fs = repo.tree_fs(&head).map_err(|err| err.to_string())?;
    let candidates: Vec<String> = detection
        .units
        .iter()
        .map(|unit| unit.path.clone())
        .filter(|unit| !detection.affected.contains(unit))
        .collect();
    for unit in candidates {
        // A unit that does not render was not touched by the change: detection reports it.
        let Ok(rendered) = ctx.build.render(&fs, &unit) else { continue };
        let mut objects = rendered.objects.clone();
        let report =
            crate::render::images::apply_image_overrides(&mut objects, &ctx.options.images);
        if report.matches.iter().all(|&count| count == 0) {
            continue;
        }
        detection.affected.push(unit.clone());
        detection
            .reasons
            .insert(unit.clone(), vec!["the images input overrides an image it runs".into()]);
        detection.renders.insert(
            unit,
            UnitRenders { base: Some(Ok(rendered.clone())), head: Some(Ok(rendered)) },
        );
    }
    detection.affected.sort();
    Ok(())
}

/// The integration branch as a revision: the remote-tracking branch of a CI checkout, else the
/// local branch (a clone made without a remote, as in local runs).
fn integration_rev(ctx: &Context) -> String {
    let branch = ctx.config.integration_branch();
    let remote = format!("{}/{branch}", ctx.options.remote);
    match GitRepo::open(&ctx.repo) {
        Ok(repo) if repo.resolve(&remote).is_err() && repo.resolve(branch).is_ok() => {
            branch.to_owned()
        }
        _ => remote,
    }
}

/// Reads the event's pull request: from GitHub when a token is given (the truth now), else from
/// the payload (the truth when the event fired).
pub async fn current_pull_request(
    event: &Event,
    github: Option<(&GitHubClient, &RepoName)>,
) -> Result<Option<CurrentPull>, String> {
    let (number, from_event) = match event {
        Event::PullRequest(e) => (e.number, Some(e)),
        Event::IssueComment(e) if e.is_on_pull_request() => (e.issue.number, None),
        _ => return Ok(None),
    };
    let merge_commit_sha = from_event.and_then(|e| e.pull_request.merge_commit_sha.clone());
    let Some((github, repo)) = github else {
        let Some(e) = from_event else {
            return Err(
                "a comment command needs the `github-token` input to read its pull request".into(),
            );
        };
        let pr = &e.pull_request;
        return Ok(Some(CurrentPull {
            state: PullRequestState {
                number,
                open: pr.state == "open",
                merged: pr.is_merged(),
                head_branch: pr.head.branch.clone(),
                base_branch: pr.base.branch.clone(),
                fork: e.is_fork(),
                labels: pr.labels.iter().map(|l| l.name.clone()).collect(),
            },
            base_sha: pr.base.sha.clone(),
            head_sha: pr.head.sha.clone(),
            merge_commit_sha,
            superseded_by: None,
        }));
    };
    let now = github.pull_request(repo, number).await.map_err(|err| err.to_string())?;
    let open = now.state == PullState::Open;
    // Only an open PR can be superseded; a closed one is torn down whatever its head.
    let event_head = from_event.map(|e| e.pull_request.head.sha.clone());
    let superseded_by = match &event_head {
        Some(head) if open && *head != now.head.sha => Some(now.head.sha.clone()),
        _ => None,
    };
    Ok(Some(CurrentPull {
        state: PullRequestState {
            number,
            open,
            merged: now.merged,
            head_branch: now.head.git_ref.clone(),
            base_branch: now.base.git_ref.clone(),
            fork: now.is_fork(),
            labels: now.labels.clone(),
        },
        base_sha: from_event
            .map_or_else(|| now.base.sha.clone(), |e| e.pull_request.base.sha.clone()),
        head_sha: event_head.unwrap_or_else(|| now.head.sha.clone()),
        merge_commit_sha,
        superseded_by,
    }))
}

/// The changed files as GitHub's compare endpoint listed them, fetched before detection asks:
/// detection is synchronous and the GitHub client is not.
#[derive(Debug)]
pub struct GitHubListing(ListedChanges);

impl ChangedFilesSource for GitHubListing {
    fn name(&self) -> String {
        "the GitHub API (compare)".into()
    }

    fn changed_files(&self, _request: &DiffRequest) -> Result<ListedChanges, String> {
        Ok(self.0.clone())
    }
}

/// Lists what changed between `base` and `head` through GitHub, for a clone too shallow to say.
async fn github_listing(
    github: &GitHubClient,
    repo: &RepoName,
    base: &str,
    head: &str,
) -> Result<GitHubListing, String> {
    let comparison = github.compare(repo, base, head).await.map_err(|err| err.to_string())?;
    let merge_base = CommitId::parse(&comparison.merge_base_sha).ok_or_else(|| {
        format!("GitHub's compare gave no usable merge base ({:?})", comparison.merge_base_sha)
    })?;
    let files = comparison
        .files
        .files
        .iter()
        .map(|file| ChangedPath {
            path: file.path.clone(),
            change: match (file.status.as_str(), &file.previous_path) {
                ("added", _) => Change::Added,
                ("removed", _) => Change::Deleted,
                ("renamed", Some(from)) => Change::Renamed { from: from.clone() },
                _ => Change::Modified,
            },
        })
        .collect();
    let truncated = comparison.files.truncated.then(|| ListingLimit {
        listing: "compare".into(),
        limit: crate::github::COMPARE_FILES_LIMIT,
    });
    Ok(GitHubListing(ListedChanges { base: merge_base, files, truncated }))
}

/// The previews of this repository in the preview environment's cluster, with what GitHub says
/// of their pull requests.
async fn existing_previews(
    ctx: &Context,
) -> Result<(Vec<ExistingPreview>, Vec<PreviewRecord>), String> {
    let slot = ctx.config.preview_environment().cluster;
    let cluster = ctx.clusters.connect(slot).await.map_err(|err| err.to_string())?;
    let records = preview_records(&cluster, ctx.repository.as_deref())
        .await
        .map_err(|err| err.to_string())?;
    let mut previews = Vec::new();
    for (record, namespace) in &records {
        let named_by_pr = record.pull_request.is_some_and(|n| record.slug == format!("pr-{n}"));
        let pr_open = match (record.pull_request, &ctx.github) {
            (Some(number), Some(github)) => {
                match github.client.pull_request(&github.repo, number).await {
                    Ok(pr) => Some(pr.state == PullState::Open),
                    Err(err) if err.status() == Some(404) => Some(false),
                    Err(err) => return Err(format!("pull request #{number}: {err}")),
                }
            }
            _ => None,
        };
        let created = namespace["metadata"]["creationTimestamp"].as_str();
        let expires_at = match ctx.options.sweep_ttl {
            Some(ttl) => record
                .created_at
                .or_else(|| created.and_then(|c| crate::timestamp::Timestamp::parse(c).ok()))
                .map(|created| created.plus(ttl)),
            None => record.expires_at,
        };
        previews.push(ExistingPreview {
            preview: PreviewRef {
                branch: record.branch.clone().unwrap_or_else(|| record.slug.clone()),
                pr: record.pull_request,
                fork: named_by_pr,
            },
            slug: record.slug.clone(),
            expires_at: expires_at.map(|t| u64::try_from(t.0).unwrap_or(0)),
            pr_open,
            branch_exists: None,
        });
    }
    Ok((previews, records.into_iter().map(|(record, _)| record).collect()))
}

/// The preview namespaces of `repository` (every repository's, when `None`), not already being
/// deleted.
async fn preview_records(
    cluster: &Cluster,
    repository: Option<&str>,
) -> Result<Vec<(PreviewRecord, serde_json::Value)>, ClusterError> {
    Ok(cluster
        .previews(None, repository)
        .await?
        .into_iter()
        .filter(|(_, namespace)| !namespace["metadata"]["deletionTimestamp"].is_string())
        .collect())
}
