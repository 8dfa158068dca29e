//! Which two commits a change is measured between (PRODUCT §3), and the changed files between
//! them — also in shallow clones.
//!
//! The rules are a pure decision over a `History` (resolve, merge-base, is-ancestor):
//! a pull request compares its head with the merge-base of its base and head SHAs; a push compares
//! `after` with `before`, except that a new branch (all-zero `before`) uses the merge-base with
//! the integration branch and a forced push whose `before` is no longer an ancestor uses the
//! merge-base of `before` and `after`. Explicit revisions (the CLI) are compared as given.
//!
//! When the clone lacks a commit or the history between them, `changes` asks a `HistoryFetcher`
//! (the git CLI, see `deepen`) for more, a bounded number of times; then a `ChangedFilesSource`
//! (the GitHub API's PR files / compare); and failing both it returns `ShallowHistory`, which
//! names the `fetch-depth` to set. It never guesses a base.

use std::path::Path;

use serde::Serialize;

use super::{ChangedPath, CommitId, GitError, GitRepo};

/// What an event asks to compare, as revisions (full SHAs from webhooks, or any rev on the CLI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffRequest {
    /// A pull request's base and head SHAs.
    PullRequest { base: String, head: String },
    /// A push from `before` to `after`; `integration_branch` (e.g. `origin/develop`) is the
    /// fallback base for a new branch.
    Push { before: String, after: String, integration_branch: String },
    /// Compare exactly these two revisions.
    Explicit { base: String, head: String },
}

impl DiffRequest {
    /// The revision whose tree is the new side.
    pub fn head_rev(&self) -> &str {
        match self {
            Self::PullRequest { head, .. } | Self::Explicit { head, .. } => head,
            Self::Push { after, .. } => after,
        }
    }
}

/// Which rule of PRODUCT §3 chose the base, for the plan's reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum BaseRule {
    /// Merge-base of the pull request's base and head.
    PullRequestMergeBase,
    /// The push's `before`.
    PushBefore,
    /// New branch (all-zero `before`): merge-base with the integration branch.
    NewBranchMergeBase { integration_branch: String },
    /// Forced push (`before` not an ancestor of `after`): merge-base of the two.
    ForcedPushMergeBase { before: CommitId },
    /// The revisions given on the command line.
    Explicit,
}

/// The two commits to compare, both full SHAs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffBase {
    pub base: CommitId,
    pub head: CommitId,
    #[serde(flatten)]
    pub rule: BaseRule,
}

/// The ancestry questions the base rules ask; `GitRepo` answers them, tests may fake them.
pub trait History {
    fn resolve(&self, rev: &str) -> Result<CommitId, GitError>;
    fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>, GitError>;
    fn is_ancestor(&self, ancestor: &CommitId, descendant: &CommitId) -> Result<bool, GitError>;
}

impl History for GitRepo {
    fn resolve(&self, rev: &str) -> Result<CommitId, GitError> {
        GitRepo::resolve(self, rev)
    }
    fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>, GitError> {
        GitRepo::merge_base(self, a, b)
    }
    fn is_ancestor(&self, ancestor: &CommitId, descendant: &CommitId) -> Result<bool, GitError> {
        GitRepo::is_ancestor(self, ancestor, descendant)
    }
}

/// Why no diff base could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum DiffBaseError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{a} and {b} have no common history")]
    Unrelated { a: CommitId, b: CommitId },
    #[error(
        "the clone at {repo} lacks the history needed to compare {wanted}: {reason}. Fetch the full \
         history: set `fetch-depth: 0` on actions/checkout (or give the action a token so it can \
         ask the GitHub API for the changed files)"
    )]
    ShallowHistory { repo: String, wanted: String, reason: String },
    #[error("{source_name} could not list the changed files: {message}")]
    Fallback { source_name: String, message: String },
}

/// Applies PRODUCT §3's rules. Pure: every fact comes from `history`. A missing commit or a
/// history cut short surfaces as `GitError::MissingCommit` / `IncompleteHistory` inside
/// `DiffBaseError::Git`, which `changes` answers by fetching more.
pub fn decide(request: &DiffRequest, history: &dyn History) -> Result<DiffBase, DiffBaseError> {
    let merge_base = |a: &CommitId, b: &CommitId| -> Result<CommitId, DiffBaseError> {
        history
            .merge_base(a, b)?
            .ok_or_else(|| DiffBaseError::Unrelated { a: a.clone(), b: b.clone() })
    };
    match request {
        DiffRequest::Explicit { base, head } => {
            let head = history.resolve(head)?;
            let base = history.resolve(base)?;
            Ok(DiffBase { base, head, rule: BaseRule::Explicit })
        }
        DiffRequest::PullRequest { base, head } => {
            let head = history.resolve(head)?;
            let base_tip = history.resolve(base)?;
            let base = merge_base(&base_tip, &head)?;
            Ok(DiffBase { base, head, rule: BaseRule::PullRequestMergeBase })
        }
        DiffRequest::Push { before, after, integration_branch } => {
            let head = history.resolve(after)?;
            if CommitId::parse(before).is_some_and(|sha| sha.is_null()) {
                let integration = history.resolve(integration_branch)?;
                let base = merge_base(&integration, &head)?;
                let rule =
                    BaseRule::NewBranchMergeBase { integration_branch: integration_branch.clone() };
                return Ok(DiffBase { base, head, rule });
            }
            let before = history.resolve(before)?;
            if history.is_ancestor(&before, &head)? {
                Ok(DiffBase { base: before, head, rule: BaseRule::PushBefore })
            } else {
                let base = merge_base(&before, &head)?;
                Ok(DiffBase { base, head, rule: BaseRule::ForcedPushMergeBase { before } })
            }
        }
    }
}

/// Fetches history the clone lacks (the git CLI against the clone's remote).
pub trait HistoryFetcher {
    /// Fetches the commits themselves (and `depth` commits behind each).
    fn fetch_commits(&self, commits: &[CommitId], depth: u32) -> Result<(), String>;
    /// Extends every shallow boundary by `by` commits.
    fn deepen(&self, by: u32) -> Result<(), String>;
}

/// A GitHub API listing hit its cap, so the list is incomplete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListingLimit {
    /// Which listing: e.g. "pull request files" (3,000 files) or "compare" (300 files).
    pub listing: String,
    pub limit: usize,
}

/// Changed files as an outside source (the GitHub API) computes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedChanges {
    /// The base the source compared against (for a PR, GitHub's merge-base).
    pub base: CommitId,
    pub files: Vec<ChangedPath>,
    /// Set when the listing was cut at its limit: the files are then only a subset.
    pub truncated: Option<ListingLimit>,
}

/// The fallback when git cannot answer: e.g. the GitHub API's PR files or compare endpoint.
pub trait ChangedFilesSource {
    /// A short name for messages ("the GitHub API").
    fn name(&self) -> String;
    fn changed_files(&self, request: &DiffRequest) -> Result<ListedChanges, String>;
}

/// Where the changed files came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum ChangesSource {
    /// Both commits are in the clone: the diff of their trees.
    Git,
    /// From an outside listing; the base commit may be absent from the clone, so its tree cannot
    /// be read.
    Listing { name: String, truncated: Option<ListingLimit> },
}

/// The outcome: which commits, which files, and how they were found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Changes {
    #[serde(flatten)]
    pub diff_base: DiffBase,
    pub files: Vec<ChangedPath>,
    #[serde(flatten)]
    pub source: ChangesSource,
    /// How many times history was fetched to get here.
    pub fetch_rounds: u32,
}

/// How hard `changes` tries to complete a shallow clone.
#[derive(Clone, Copy, Debug)]
pub struct FetchPolicy {
    /// Rounds of fetching before giving up; each round doubles the depth.
    pub max_rounds: u32,
    /// Depth of the first round.
    pub first_depth: u32,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        // 50, 100, … 1600: covers 3,150 commits of history in six round trips.
        Self { max_rounds: 6, first_depth: 50 }
    }
}

/// Decides the diff base for `request` in the repository at `path` and lists the changed files,
/// fetching missing history through `fetcher` and, when that is impossible or not enough, asking
/// `fallback`. Returns the (re)opened repository with the changes, since fetching replaces the
/// object database the first handle saw.
pub fn changes(
    path: &Path,
    request: &DiffRequest,
    fetcher: Option<&dyn HistoryFetcher>,
    fallback: Option<&dyn ChangedFilesSource>,
    policy: FetchPolicy,
) -> Result<(GitRepo, Changes), DiffBaseError> {
    let mut repo = GitRepo::open(path)?;
    let mut rounds = 0;
    let mut depth = policy.first_depth;
    let last_reason = loop {
        let reason = match decide(request, &repo) {
            Ok(diff_base) => {
                let files = repo.changed_paths(&diff_base.base, &diff_base.head)?;
                let changes =
                    Changes { diff_base, files, source: ChangesSource::Git, fetch_rounds: rounds };
                return Ok((repo, changes));
            }
            Err(DiffBaseError::Git(GitError::MissingCommit { sha, .. })) => {
                (format!("commit {sha} is missing"), Some(sha))
            }
            Err(DiffBaseError::Git(GitError::IncompleteHistory { message, .. })) => (message, None),
            // An unknown branch name in a shallow single-branch clone may just be unfetched.
            Err(DiffBaseError::Git(GitError::UnknownRevision { rev, message, .. }))
                if repo.is_shallow() =>
            {
                (format!("revision {rev:?} is unknown: {message}"), None)
            }
            Err(other) => return Err(other),
        };
        let (reason, missing) = reason;
        let Some(fetcher) = fetcher.filter(|_| rounds < policy.max_rounds) else { break reason };
        let fetched = match &missing {
            Some(sha) => fetcher.fetch_commits(std::slice::from_ref(sha), depth),
            None => fetcher.deepen(depth),
        };
        if let Err(message) = fetched {
            break format!("{reason}; fetching more history failed: {message}");
        }
        rounds += 1;
        depth = depth.saturating_mul(2);
        repo = GitRepo::open(path)?;
    };
    let Some(fallback) = fallback else {
        return Err(DiffBaseError::ShallowHistory {
            repo: path.display().to_string(),
            wanted: describe(request),
            reason: last_reason,
        });
    };
    let listed = fallback
        .changed_files(request)
        .map_err(|message| DiffBaseError::Fallback { source_name: fallback.name(), message })?;
    let head = repo.resolve(request.head_rev())?;
    let changes = Changes {
        diff_base: DiffBase { base: listed.base, head, rule: rule_without_history(request) },
        files: listed.files,
        source: ChangesSource::Listing { name: fallback.name(), truncated: listed.truncated },
        fetch_rounds: rounds,
    };
    Ok((repo, changes))
}

/// The rule an outside listing applies: GitHub compares a PR against the merge-base, a push
/// against `before` (the compare endpoint's `before...after`).
fn rule_without_history(request: &DiffRequest) -> BaseRule {
    match request {
        DiffRequest::PullRequest { .. } => BaseRule::PullRequestMergeBase,
        DiffRequest::Push { .. } => BaseRule::PushBefore,
        DiffRequest::Explicit { .. } => BaseRule::Explicit,
    }
}

fn describe(request: &DiffRequest) -> String {
    match request {
        DiffRequest::PullRequest { base, head } => format!("pull request {base}...{head}"),
        DiffRequest::Push { before, after, .. } => format!("push {before}..{after}"),
        DiffRequest::Explicit { base, head } => format!("{base}..{head}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    /// A commit graph in memory: each commit lists its parents; `None` parents mark a shallow cut.
    struct FakeHistory {
        parents: HashMap<&'static str, Vec<&'static str>>,
        refs: HashMap<&'static str, &'static str>,
    }

    fn sha(name: &str) -> CommitId {
        let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
        CommitId::parse(&format!("{hex:0<40}")).expect("valid sha")
    }

    impl FakeHistory {
        fn ancestors(&self, name: &str) -> Vec<&'static str> {
            let mut seen = Vec::new();
            let mut stack = vec![self.key(name)];
            while let Some(next) = stack.pop() {
                if !seen.contains(&next) {
                    seen.push(next);
                    stack.extend(self.parents[next].iter().copied());
                }
            }
            seen
        }
        fn key(&self, name: &str) -> &'static str {
            self.parents.keys().find(|key| **key == name).copied().expect("known commit")
        }
        fn name_of(&self, id: &CommitId) -> Option<&'static str> {
            self.parents.keys().find(|key| sha(key) == *id).copied()
        }
    }

    impl History for FakeHistory {
        fn resolve(&self, rev: &str) -> Result<CommitId, GitError> {
            let name = self.refs.get(rev).copied().unwrap_or(rev);
            if self.parents.contains_key(name) {
                return Ok(sha(name));
            }
            if let Some(id) = CommitId::parse(rev) {
                return Err(GitError::MissingCommit { repo: PathBuf::from("fake"), sha: id });
            }
            Err(GitError::UnknownRevision {
                repo: PathBuf::from("fake"),
                rev: rev.into(),
                message: "unknown".into(),
            })
        }
        fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>, GitError> {
            let (a, b) = (self.name_of(a).expect("a"), self.name_of(b).expect("b"));
            let of_b = self.ancestors(b);
            // Good enough for the linear-ish graphs below: the first common ancestor walking a.
            Ok(self.ancestors(a).into_iter().find(|c| of_b.contains(c)).map(sha))
        }
        fn is_ancestor(
            &self,
            ancestor: &CommitId,
            descendant: &CommitId,
        ) -> Result<bool, GitError> {
            let (a, d) = (self.name_of(ancestor).expect("a"), self.name_of(descendant).expect("d"));
            Ok(self.ancestors(d).contains(&a))
        }
    }

    /// main: r - m1 ; feature: m1 - f1 - f2 ; rewritten: m1 - g1 (f1, f2 dropped by a force push)
    fn graph() -> FakeHistory {
        let parents = HashMap::from([
            ("r", vec![]),
            ("m1", vec!["r"]),
            ("m2", vec!["m1"]),
            ("f1", vec!["m1"]),
            ("f2", vec!["f1"]),
            ("g1", vec!["m1"]),
        ]);
        FakeHistory { parents, refs: HashMap::from([("develop", "m2")]) }
    }

    #[test]
    fn pull_request_compares_with_the_merge_base_not_the_base_tip() {
        let request = DiffRequest::PullRequest { base: "m2".into(), head: "f2".into() };
        let decided = decide(&request, &graph()).unwrap();
        assert_eq!((decided.base, decided.head), (sha("m1"), sha("f2")));
        assert_eq!(decided.rule, BaseRule::PullRequestMergeBase);
    }

    #[test]
    fn push_compares_with_before() {
        let request = DiffRequest::Push {
            before: "f1".into(),
            after: "f2".into(),
            integration_branch: "develop".into(),
        };
        let decided = decide(&request, &graph()).unwrap();
        assert_eq!(decided.base, sha("f1"));
        assert_eq!(decided.rule, BaseRule::PushBefore);
    }

    #[test]
    fn new_branch_uses_the_merge_base_with_the_integration_branch() {
        let zero = "0".repeat(40);
        let request = DiffRequest::Push {
            before: zero,
            after: "f2".into(),
            integration_branch: "develop".into(),
        };
        let decided = decide(&request, &graph()).unwrap();
        assert_eq!(decided.base, sha("m1"));
        assert_eq!(
            decided.rule,
            BaseRule::NewBranchMergeBase { integration_branch: "develop".into() }
        );
    }

    #[test]
    fn forced_push_uses_the_merge_base_of_before_and_after() {
        let request = DiffRequest::Push {
            before: "f2".into(),
            after: "g1".into(),
            integration_branch: "develop".into(),
        };
        let decided = decide(&request, &graph()).unwrap();
        assert_eq!(decided.base, sha("m1"));
        assert_eq!(decided.rule, BaseRule::ForcedPushMergeBase { before: sha("f2") });
    }

    #[test]
    fn a_missing_before_is_reported_as_missing_never_guessed() {
        let missing = "ab".repeat(20);
        let request = DiffRequest::Push {
            before: missing,
            after: "f2".into(),
            integration_branch: "develop".into(),
        };
        let err = decide(&request, &graph()).unwrap_err();
        assert!(matches!(err, DiffBaseError::Git(GitError::MissingCommit { .. })), "{err}");
    }
}
