//! The fake's state as plain data: repositories' pull requests, comparisons, issue comments,
//! deployments and their statuses, tokens and the faults queued for the next requests.
//!
//! Tests build it through `FakeGitHub`'s setters and read it back through its getters; the
//! endpoints in `endpoints` mutate it. It knows nothing about HTTP.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Whether a pull request is open or closed (GitHub's `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullState {
    Open,
    Closed,
}

/// A pull request as the fake serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    pub number: u64,
    pub state: PullState,
    pub merged: bool,
    pub draft: bool,
    pub title: String,
    /// The login that opened it.
    pub author: String,
    pub head_ref: String,
    pub head_sha: String,
    /// `owner/name` of the head repository when it differs from the base one (a fork); `None`
    /// for a branch of the same repository.
    pub head_repo: Option<String>,
    pub base_ref: String,
    pub base_sha: String,
    /// The commit a merge made on the base branch; `None` (while `merged`) means the head
    /// commit itself (a fast-forward or rebase merge).
    pub merge_commit_sha: Option<String>,
    pub labels: Vec<String>,
    /// Changed files, in the order GitHub lists them.
    pub files: Vec<ChangedFile>,
}

impl Pull {
    /// An open pull request from `head_ref` at `head_sha` into `base_ref` at `base_sha`.
    pub fn open(
        number: u64,
        head_ref: &str,
        head_sha: &str,
        base_ref: &str,
        base_sha: &str,
    ) -> Pull {
        Pull {
            number,
            state: PullState::Open,
            merged: false,
            draft: false,
            title: format!("Pull request {number}"),
            author: "octocat".to_string(),
            head_ref: head_ref.to_string(),
            head_sha: head_sha.to_string(),
            head_repo: None,
            base_ref: base_ref.to_string(),
            base_sha: base_sha.to_string(),
            merge_commit_sha: None,
            labels: Vec::new(),
            files: Vec::new(),
        }
    }

    /// This pull request as a draft.
    pub fn draft(mut self) -> Pull {
        self.draft = true;
        self
    }

    /// This pull request, closed and merged by commit `merge_commit_sha` on the base branch.
    pub fn merged_as(mut self, merge_commit_sha: &str) -> Pull {
        self.state = PullState::Closed;
        self.merged = true;
        self.merge_commit_sha = Some(merge_commit_sha.to_string());
        self
    }

    /// The merge commit, when merged.
    pub fn merge_commit(&self) -> Option<&str> {
        self.merged.then(|| self.merge_commit_sha.as_deref().unwrap_or(&self.head_sha))
    }
}

/// A user's role on a repository, as GitHub names them (`role_name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    /// `role_name` in GitHub's answer.
    pub fn role_name(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read => "read",
            Permission::Triage => "triage",
            Permission::Write => "write",
            Permission::Maintain => "maintain",
            Permission::Admin => "admin",
        }
    }

    /// `permission` in GitHub's answer: the legacy level (`maintain` reads as `write`,
    /// `triage` as `read`).
    pub fn legacy(self) -> &'static str {
        match self {
            Permission::None => "none",
            Permission::Read | Permission::Triage => "read",
            Permission::Write | Permission::Maintain => "write",
            Permission::Admin => "admin",
        }
    }
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads and writes (comments, deployments, statuses, labels).
    ReadWrite,
    /// Reads only, like the `GITHUB_TOKEN` of a pull request from a fork: every write is
    /// `403 Resource not accessible by integration` (by personal access token, for users).
    ReadOnly,
}

/// One file of a pull request or comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub filename: String,
    /// `added`, `removed`, `modified`, `renamed`, `copied`, `changed` or `unchanged`.
    pub status: String,
    pub previous_filename: Option<String>,
    pub additions: u64,
    pub deletions: u64,
}

impl ChangedFile {
    /// A file with `status` and one added line.
    pub fn new(filename: &str, status: &str) -> ChangedFile {
        ChangedFile {
            filename: filename.to_string(),
            status: status.to_string(),
            previous_filename: None,
            additions: 1,
            deletions: 0,
        }
    }
}

/// The answer to `GET /repos/{o}/{r}/compare/{base}...{head}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// `ahead`, `behind`, `diverged` or `identical`.
    pub status: String,
    pub ahead_by: u64,
    pub behind_by: u64,
    pub merge_base_sha: String,
    /// SHAs of the commits on head not on base, oldest first.
    pub commits: Vec<String>,
    pub files: Vec<ChangedFile>,
}

/// An issue or pull request comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub issue_number: u64,
    pub body: String,
    pub author: String,
    /// Whether the author is a bot account (GitHub's user `type` `Bot`).
    pub author_is_bot: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A deployment and its statuses (oldest first).
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: u64,
    pub sha: String,
    pub git_ref: String,
    pub task: String,
    pub environment: String,
    pub description: Option<String>,
    pub transient_environment: bool,
    pub production_environment: bool,
    /// As sent; GitHub's default is `true` when omitted.
    pub auto_merge: bool,
    /// As sent; `None` when omitted (GitHub then checks every status context).
    pub required_contexts: Option<Vec<String>>,
    pub payload: serde_json::Value,
    pub creator: String,
    pub created_at: String,
    pub statuses: Vec<DeploymentStatus>,
}

/// One status of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentStatus {
    pub id: u64,
    pub state: String,
    pub description: String,
    pub environment: String,
    pub environment_url: String,
    pub log_url: String,
    pub creator: String,
    pub created_at: String,
}

/// Who a token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A user (personal access token): `GET /user` answers with this login.
    User(String),
    /// A GitHub App installation token (like `GITHUB_TOKEN`): `GET /user` is forbidden, and what
    /// it writes is authored by this bot login (e.g. `github-actions[bot]`).
    App(String),
}

impl Identity {
    pub fn login(&self) -> &str {
        match self {
            Identity::User(login) | Identity::App(login) => login,
        }
    }
}

/// A failure to answer the next request with, instead of serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The primary rate limit is used up: 403 with `x-ratelimit-remaining: 0` and
    /// `x-ratelimit-reset` this far in the future.
    RateLimit { reset_in: Duration },
    /// A secondary rate limit: `status` (403 or 429) with `retry-after` in seconds.
    SecondaryRateLimit { status: u16, retry_after_secs: u64 },
    /// A server error with this status (500, 502, 503...).
    ServerError(u16),
}

/// A request the fake received, with the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// The operationId it matched, if any.
    pub operation_id: Option<String>,
    pub status: u16,
}

/// Everything stored for one repository.
#[derive(Debug, Default)]
pub struct Repository {
    pub pulls: BTreeMap<u64, Pull>,
    /// Keyed by the `basehead` path parameter, `base...head`.
    pub comparisons: BTreeMap<String, Comparison>,
    pub comments: Vec<Comment>,
    pub deployments: Vec<Deployment>,
    /// Branches added by tests, name → head SHA.
    pub branches: BTreeMap<String, String>,
    /// Branches deleted by tests: gone even if a pull request still names them.
    pub deleted_branches: std::collections::BTreeSet<String>,
    /// Roles of users on this repository.
    pub permissions: BTreeMap<String, Permission>,
}

impl Repository {
    /// The head SHA of a branch, if it exists: added by a test, or named by a pull request of
    /// this repository (its head or base), and not deleted since.
    pub fn branch(&self, name: &str) -> Option<String> {
        if self.deleted_branches.contains(name) {
            return None;
        }
        if let Some(sha) = self.branches.get(name) {
            return Some(sha.clone());
        }
        self.pulls.values().rev().find_map(|pull| {
            if pull.head_repo.is_none() && pull.head_ref == name {
                Some(pull.head_sha.clone())
            } else if pull.base_ref == name {
                Some(pull.base_sha.clone())
            } else {
                None
            }
        })
    }
}

/// The whole state behind one fake server.
#[derive(Debug, Default)]
pub struct State {
    /// Keyed by `owner/name`, lower-cased (GitHub's names are case-insensitive).
    pub repositories: BTreeMap<String, Repository>,
    pub tokens: BTreeMap<String, Identity>,
    /// Tokens limited to reads (absent: read and write).
    pub read_only: std::collections::BTreeSet<String>,
    pub faults: VecDeque<Fault>,
    pub requests: Vec<RecordedRequest>,
    pub violations: Vec<String>,
    /// Source of ids for comments, deployments and statuses.
    pub next_id: u64,
    /// Seconds since the fake's epoch; advances on every write so timestamps order writes.
    pub clock: u64,
    /// Requests served in the current rate-limit window (for the `x-ratelimit-*` headers).
    pub used: u64,
}

impl State {
    pub fn new() -> State {
        State { next_id: 1000, ..State::default() }
    }

    pub fn allocate_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh timestamp, one second after the previous one.
    pub fn tick(&mut self) -> String {
        self.clock += 1;
        timestamp(FAKE_EPOCH + self.clock)
    }
}

/// 2026-01-01T00:00:00Z: fake timestamps are deterministic, not wall-clock.
const FAKE_EPOCH: u64 = 1_767_225_600;

/// Formats Unix seconds as RFC 3339 UTC (`2026-01-01T00:00:01Z`).
pub fn timestamp(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let seconds_of_day = unix_seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(FAKE_EPOCH), "2026-01-01T00:00:00Z");
        assert_eq!(timestamp(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
    }
}
