//! Pull requests, their changed files, and comparisons of two commits, read from GitHub.
//!
//! It owns turning GitHub's JSON into the few facts the planner needs (open or closed, merged,
//! head and base SHAs and repositories, fork or not, labels, changed paths) and knowing GitHub's
//! listing limits. It decides nothing: whether a fork may deploy is the plan's call.
//!
//! Limits (GitHub's, not ours): a pull request's file list stops at 3,000 files and a comparison
//! lists at most 300; both come back flagged `truncated` so that callers fall back to the git
//! history, which has no limit. A push event finds its pull request by branch
//! ([`GitHubClient::open_pull_requests_for_branch`]) or by commit.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use super::GitHubError;
use super::client::{GitHubClient, encode};

/// GitHub lists at most this many files of a pull request.
pub const PULL_FILES_LIMIT: usize = 3000;
/// GitHub's compare endpoint lists at most this many files.
pub const COMPARE_FILES_LIMIT: usize = 300;
/// Pull requests read per listing at most (100 per page); more open pull requests for one
/// branch or commit than this is not a situation the action has to handle.
const MAX_PULL_PAGES: usize = 5;

/// A repository, `owner/name` (as in `GITHUB_REPOSITORY`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl FromStr for RepoName {
    type Err = GitHubError;

    fn from_str(text: &str) -> Result<RepoName, GitHubError> {
        let valid = |part: &str| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match text.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => {
                Ok(RepoName { owner: owner.to_string(), name: name.to_string() })
            }
            _ => Err(GitHubError::InvalidRepository(text.to_string())),
        }
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl RepoName {
    /// `/repos/{owner}/{name}`.
    pub(super) fn api_path(&self) -> String {
        format!("/repos/{}/{}", encode(&self.owner), encode(&self.name))
    }
}

/// Open or closed, as GitHub reports it (a merged pull request is closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PullState {
    Open,
    Closed,
}

/// One side (head or base) of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSide {
    /// The branch name, e.g. `feat/login`.
    pub git_ref: String,
    pub sha: String,
    /// `owner/name` of the repository the branch lives in; `None` when it was deleted (a fork
    /// removed after opening the pull request).
    pub repo: Option<String>,
}

/// The facts about a pull request the action uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub state: PullState,
    pub merged: bool,
    pub draft: bool,
    pub title: String,
    pub author: String,
    pub head: PullSide,
    pub base: PullSide,
    pub labels: Vec<String>,
}

impl PullRequest {
    /// True when the head branch is not in the base repository (or its repository is gone):
    /// such code must never be deployed without a maintainer's opt-in.
    pub fn is_fork(&self) -> bool {
        match (&self.head.repo, &self.base.repo) {
            (Some(head), Some(base)) => !head.eq_ignore_ascii_case(base),
            _ => true,
        }
    }

    /// Whether the pull request carries `label` (GitHub label names are case-insensitive).
    pub fn has_label(&self, label: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(label))
    }
}

/// A file changed by a pull request or between two commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: String,
    /// The old path of a renamed file.
    pub previous_path: Option<String>,
}

/// Changed files, and whether GitHub's limit cut the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFiles {
    pub files: Vec<ChangedFile>,
    /// True when the list may be incomplete (it reached GitHub's limit): use git instead.
    pub truncated: bool,
}

/// The comparison of two commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// `ahead`, `behind`, `diverged` or `identical`.
    pub status: String,
    pub ahead_by: u64,
    pub behind_by: u64,
    pub merge_base_sha: String,
    pub files: ChangedFiles,
}

#[derive(Deserialize)]
struct PullJson {
    number: u64,
    state: PullState,
    /// Only in the full pull request; lists carry `merged_at` alone.
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    draft: bool,
    title: String,
    user: Option<UserJson>,
    head: SideJson,
    base: SideJson,
    #[serde(default)]
    labels: Vec<LabelJson>,
}

#[derive(Debug, Deserialize)]
pub(super) struct UserJson {
    pub login: String,
}

#[derive(Deserialize)]
struct SideJson {
    #[serde(rename = "ref")]
    git_ref: String,
    sha: String,
    repo: Option<RepoJson>,
}

#[derive(Deserialize)]
struct RepoJson {
    full_name: String,
}

#[derive(Deserialize)]
struct LabelJson {
    name: String,
}

#[derive(Deserialize)]
struct FileJson {
    filename: String,
    status: String,
    previous_filename: Option<String>,
}

#[derive(Deserialize)]
struct ComparisonJson {
    status: String,
    ahead_by: u64,
    behind_by: u64,
    merge_base_commit: CommitJson,
    #[serde(default)]
    files: Vec<FileJson>,
}

#[derive(Deserialize)]
struct CommitJson {
    sha: String,
}

impl From<FileJson> for ChangedFile {
    fn from(file: FileJson) -> ChangedFile {
        ChangedFile {
            path: file.filename,
            status: file.status,
            previous_path: file.previous_filename,
        }
    }
}

impl From<PullJson> for PullRequest {
    fn from(pull: PullJson) -> PullRequest {
        PullRequest {
            number: pull.number,
            state: pull.state,
            merged: pull.merged || pull.merged_at.is_some(),
            draft: pull.draft,
            title: pull.title,
            author: pull.user.map(|u| u.login).unwrap_or_default(),
            head: pull.head.into(),
            base: pull.base.into(),
            labels: pull.labels.into_iter().map(|l| l.name).collect(),
        }
    }
}

impl From<SideJson> for PullSide {
    fn from(side: SideJson) -> PullSide {
        PullSide { git_ref: side.git_ref, sha: side.sha, repo: side.repo.map(|r| r.full_name) }
    }
}

impl GitHubClient {
    /// `GET /repos/{owner}/{repo}/pulls/{number}`.
    pub async fn pull_request(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<PullRequest, GitHubError> {
        let pull: PullJson = self.get_json(&format!("{}/pulls/{number}", repo.api_path())).await?;
        Ok(pull.into())
    }

    /// The open pull requests whose head is `branch` of `repo` itself (not of a fork), newest
    /// first: how a push event finds its pull request.
    pub async fn open_pull_requests_for_branch(
        &self,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let path = format!(
            "{}/pulls?state=open&head={}&per_page=100",
            repo.api_path(),
            encode(&format!("{}:{branch}", repo.owner))
        );
        let listing = self.get_pages::<PullJson>(&path, MAX_PULL_PAGES).await?;
        Ok(listing.items.into_iter().map(PullRequest::from).collect())
    }

    /// The pull requests associated with commit `sha` (open ones whose head it is, or merged
    /// ones that brought it in).
    pub async fn pull_requests_for_commit(
        &self,
        repo: &RepoName,
        sha: &str,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let path = format!("{}/commits/{}/pulls?per_page=100", repo.api_path(), encode(sha));
        let listing = self.get_pages::<PullJson>(&path, MAX_PULL_PAGES).await?;
        Ok(listing.items.into_iter().map(PullRequest::from).collect())
    }

    /// Every file a pull request changes (all pages), up to GitHub's 3,000-file limit.
    pub async fn pull_request_files(
        &self,
        repo: &RepoName,
        number: u64,
    ) -> Result<ChangedFiles, GitHubError> {
        let path = format!("{}/pulls/{number}/files?per_page=100", repo.api_path());
        let listing = self.get_pages::<FileJson>(&path, PULL_FILES_LIMIT / 100).await?;
        let truncated = listing.truncated || listing.items.len() >= PULL_FILES_LIMIT;
        Ok(ChangedFiles {
            files: listing.items.into_iter().map(ChangedFile::from).collect(),
            truncated,
        })
    }

    /// Compares `base` with `head` (SHAs or branch names): merge base and changed files, up to
    /// GitHub's 300-file limit.
    pub async fn compare(
        &self,
        repo: &RepoName,
        base: &str,
        head: &str,
    ) -> Result<Comparison, GitHubError> {
        // One page of commits is enough: we read the merge base and the files, not the commits.
        let path =
            format!("{}/compare/{}...{}?per_page=1", repo.api_path(), encode(base), encode(head));
        let comparison: ComparisonJson = self.get_json(&path).await?;
        let truncated = comparison.files.len() >= COMPARE_FILES_LIMIT;
        Ok(Comparison {
            status: comparison.status,
            ahead_by: comparison.ahead_by,
            behind_by: comparison.behind_by,
            merge_base_sha: comparison.merge_base_commit.sha,
            files: ChangedFiles {
                files: comparison.files.into_iter().map(ChangedFile::from).collect(),
                truncated,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_parse_and_print() {
        let repo: RepoName = "octo-org/my.repo_1".parse().unwrap();
        assert_eq!(repo.to_string(), "octo-org/my.repo_1");
        assert_eq!(repo.api_path(), "/repos/octo-org/my.repo_1");
        for bad in ["", "octo", "/repo", "octo/", "octo/re po", "a/b/c"] {
            let err = bad.parse::<RepoName>().unwrap_err();
            assert!(err.to_string().contains("expected OWNER/NAME"), "{bad}: {err}");
        }
    }

    #[test]
    fn forks_are_recognised_including_deleted_ones() {
        let side = |repo: Option<&str>| PullSide {
            git_ref: "x".into(),
            sha: "s".into(),
            repo: repo.map(str::to_string),
        };
        let mut pull = PullRequest {
            number: 1,
            state: PullState::Open,
            merged: false,
            draft: false,
            title: String::new(),
            author: String::new(),
            head: side(Some("Octo/App")),
            base: side(Some("octo/app")),
            labels: vec!["Preview".into()],
        };
        assert!(!pull.is_fork());
        assert!(pull.has_label("preview"));
        pull.head = side(Some("someone/app"));
        assert!(pull.is_fork());
        pull.head = side(None);
        assert!(pull.is_fork());
    }
}
