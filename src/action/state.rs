//! The state the plan is decided from, gathered from the edges: the pull request as GitHub
//! reports it now, the previews that exist in the cluster, and what the change affects.

use crate::actions::event::Event;
use crate::cluster::Cluster;
use crate::detect::DetectRunError;
use crate::detect::{DetectOptions, Detection, render_with_kustomize};
use crate::git::diff_base::{
    ChangedFilesSource, DiffBaseError, DiffRequest, ListedChanges, ListingLimit,
};
use crate::git::{Change, ChangedPath, CommitId};
use crate::github::{GitHubClient, PullState, RepoName};
use crate::pipeline;
use crate::plan::{ExistingPreview, PreviewRef, PullRequestState};
use crate::units;

use super::Setup;

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

/// Reads the event's pull request: from GitHub when a token is given (the truth now), else from
/// the payload (the truth when the event fired).
pub async fn current_pull_request(
    event: &Event,
    github: Option<&GitHubClient>,
    repo: &RepoName,
) -> Result<Option<CurrentPull>, String> {
    let (number, from_event) = match event {
        Event::PullRequest(e) => (e.number, Some(e)),
        Event::IssueComment(e) if e.is_on_pull_request() => (e.issue.number, None),
        _ => return Ok(None),
    };
    let merge_commit_sha = from_event.and_then(|e| e.pull_request.merge_commit_sha.clone());
    let Some(github) = github else {
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

/// What the event's change affects. Events that change nothing (deletions, schedules, closed
/// PRs) detect nothing; `workflow_dispatch` treats every unit of the checkout as new.
/// Why detection could not run.
#[derive(Debug)]
pub enum DetectFailure {
    /// The clone lacks the history and fetching more did not help: the GitHub API's listing of
    /// the changed files between `base` and `head` may stand in for it.
    NeedsListing {
        base: String,
        head: String,
        message: String,
    },
    Other(String),
}

impl std::fmt::Display for DetectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DetectFailure::NeedsListing { message, .. } | DetectFailure::Other(message) => {
                f.write_str(message)
            }
        }
    }
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
pub async fn github_listing(
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

pub fn detect(
    setup: &Setup,
    pull: Option<&CurrentPull>,
    listing: Option<&GitHubListing>,
) -> Result<Detection, DetectFailure> {
    let selection = pipeline::unit_selection(&setup.config);
    let request = match &setup.event {
        Event::Push(push) if push.branch().is_some() && !push.is_deletion() => DiffRequest::Push {
            before: push.before.clone(),
            after: push.after.clone(),
            integration_branch: integration_rev(setup),
        },
        Event::PullRequest(_) | Event::IssueComment(_) => {
            let Some(pull) = pull else { return Ok(Detection::default()) };
            if pull.state.open {
                DiffRequest::PullRequest {
                    base: pull.base_sha.clone(),
                    head: pull.head_sha.clone(),
                }
            } else if pull.state.merged {
                let head = pull.merge_commit_sha.clone().unwrap_or_else(|| pull.head_sha.clone());
                DiffRequest::PullRequest { base: pull.base_sha.clone(), head }
            } else {
                return Ok(Detection::default());
            }
        }
        Event::WorkflowDispatch(_) => {
            let fs = kustomize::DiskFs::new(setup.repo_path())
                .map_err(|err| DetectFailure::Other(err.to_string()))?;
            return crate::detect::everything_new(
                &fs,
                &selection,
                &units::read_kustomization,
                &render_with_kustomize,
            )
            .map_err(|err| DetectFailure::Other(err.to_string()));
        }
        _ => return Ok(Detection::default()),
    };
    let detected = crate::detect::detect_request(
        setup.repo_path(),
        &request,
        &selection,
        "origin",
        listing.map(|l| l as &dyn ChangedFilesSource),
        &kustomize::BuildOptions::default(),
        DetectOptions::default(),
    );
    let mut detection = match detected {
        Ok(detection) => detection,
        Err(DetectRunError::DiffBase(DiffBaseError::ShallowHistory { .. }))
            if listing.is_none() =>
        {
            let (base, head) = match &request {
                DiffRequest::PullRequest { base, head } | DiffRequest::Explicit { base, head } => {
                    (base.clone(), head.clone())
                }
                DiffRequest::Push { before, after, .. } => {
                    // A new branch is compared with the integration branch, as git would be.
                    let base = if before.chars().all(|c| c == '0') {
                        setup.config.integration_branch().to_owned()
                    } else {
                        before.clone()
                    };
                    (base, after.clone())
                }
            };
            let message = detected_message(&request, setup);
            return Err(DetectFailure::NeedsListing { base, head, message });
        }
        Err(err) => return Err(DetectFailure::Other(err.to_string())),
    };
    if !setup.options.images.is_empty() {
        add_units_using_overridden_images(setup, &mut detection).map_err(DetectFailure::Other)?;
    }
    Ok(detection)
}

fn detected_message(request: &DiffRequest, setup: &Setup) -> String {
    format!(
        "the clone at {} lacks the history to compare {request:?}, and fetching more did not help; \
         use actions/checkout with `fetch-depth: 0`",
        setup.repo_path().display()
    )
}

/// Units that run an image the `images` input overrides are affected even when their manifests
/// did not change: the workflow has just built that image from the change, and the environment
/// (a preview above all) must run it. Their render is the same on both sides, so their diff is
/// empty and the reason says why they are deployed.
fn add_units_using_overridden_images(
    setup: &Setup,
    detection: &mut Detection,
) -> Result<(), String> {
    let Some(head) = detection.head.clone() else { return Ok(()) };
    let repo = crate::git::GitRepo::open(setup.repo_path()).map_err(|err| err.to_string())?;
    let fs = repo.tree_fs(&head).map_err(|err| err.to_string())?;
    let candidates: Vec<String> = detection
        .units
        .iter()
        .map(|unit| unit.path.clone())
        .filter(|unit| !detection.affected.contains(unit))
        .collect();
    for unit in candidates {
        // A unit that does not render was not touched by the change: detection reports it.
        let Ok(text) = render_with_kustomize(&fs, &unit) else { continue };
        let Ok(mut objects) = pipeline::objects(&text, &unit) else { continue };
        let report =
            crate::image_override::apply_image_overrides(&mut objects, &setup.options.images);
        if report.matches.iter().all(|&count| count == 0) {
            continue;
        }
        detection.affected.push(unit.clone());
        detection
            .reasons
            .insert(unit.clone(), vec!["the images input overrides an image it runs".into()]);
        detection.renders.insert(
            unit,
            crate::detect::UnitRenders { base: Some(Ok(text.clone())), head: Some(Ok(text)) },
        );
    }
    detection.affected.sort();
    Ok(())
}

/// The integration branch as a revision: the remote-tracking branch of a CI checkout, else the
/// local branch (a clone made without a remote, as in local runs).
fn integration_rev(setup: &Setup) -> String {
    let branch = setup.config.integration_branch();
    let remote = format!("origin/{branch}");
    match crate::git::GitRepo::open(setup.repo_path()) {
        Ok(repo) if repo.resolve(&remote).is_err() && repo.resolve(branch).is_ok() => {
            branch.to_owned()
        }
        _ => remote,
    }
}

/// The previews of this repository in the preview environment's cluster, with what GitHub says
/// of their pull requests.
pub async fn existing_previews(
    setup: &Setup,
    _pull: Option<&CurrentPull>,
) -> Result<Vec<ExistingPreview>, String> {
    let slot = setup.config.preview_environment().cluster;
    let target = setup.cluster(slot)?;
    let cluster = Cluster::connect(target, crate::cluster::RetryPolicy::default())
        .await
        .map_err(|err| err.to_string())?;
    let repository = setup.repo.to_string();
    let records = cluster.previews(None, Some(&repository)).await.map_err(|err| err.to_string())?;
    let mut previews = Vec::new();
    for (record, _) in records {
        let named_by_pr = record.pull_request.is_some_and(|n| record.slug == format!("pr-{n}"));
        let pr_open = match (record.pull_request, &setup.github) {
            (Some(number), Some(github)) => match github.pull_request(&setup.repo, number).await {
                Ok(pr) => Some(pr.state == PullState::Open),
                Err(err) if err.status() == Some(404) => Some(false),
                Err(err) => return Err(format!("pull request #{number}: {err}")),
            },
            _ => None,
        };
        previews.push(ExistingPreview {
            preview: PreviewRef {
                branch: record.branch.clone().unwrap_or_else(|| record.slug.clone()),
                pr: record.pull_request,
                fork: named_by_pr,
            },
            expires_at: record.expires_at.map(|t| u64::try_from(t.0).unwrap_or(0)),
            pr_open,
            branch_exists: None,
        });
    }
    Ok(previews)
}
