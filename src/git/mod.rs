//! Read-only access to the user's git repository: resolving revisions to full SHAs, ancestry
//! (merge-base, is-ancestor), the paths changed between two commits, and reading a commit's tree
//! without checking it out (`GitTreeFs`).
//!
//! Built on `gix` (pure Rust), opened so that it works where the git CLI and libgit2 refuse: in a
//! scratch container, on a checkout owned by another user (the container-action situation: the
//! workspace belongs to the runner's user, the action runs as root). gix then opens the repository
//! with reduced trust — it ignores the repository's own config, which we never need to read
//! objects — instead of failing on `safe.directory`.
//!
//! This module never writes to the repository and never talks to the network; talking to
//! remotes is `fetch`'s job (gix, bounded), used by `deepen` to fill in a shallow clone's
//! missing history and by `remote_cache` to obtain kustomize's remote bases; choosing which
//! commits to compare is `diff_base`'s.

pub mod deepen;
pub mod diff_base;
pub mod fetch;
pub mod remote_cache;
mod tree_diff;
mod tree_fs;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

pub use tree_fs::GitTreeFs;

/// A full commit SHA (40 lowercase hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CommitId(String);

impl CommitId {
    /// Parses a full hex SHA; `None` for anything else (abbreviations included).
    pub fn parse(hex: &str) -> Option<Self> {
        gix::ObjectId::from_hex(hex.as_bytes()).ok().map(|id| Self(id.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// GitHub's "no commit" marker: the `before` of a push that created a branch.
    pub fn is_null(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }

    fn object_id(&self) -> gix::ObjectId {
        // Constructed only from a valid hex SHA, so this cannot fail.
        gix::ObjectId::from_hex(self.0.as_bytes())
            .unwrap_or_else(|_| gix::ObjectId::null(gix::hash::Kind::Sha1))
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<gix::ObjectId> for CommitId {
    fn from(id: gix::ObjectId) -> Self {
        Self(id.to_string())
    }
}

/// How one path changed between two commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Change {
    Added,
    Modified,
    Deleted,
    /// Content moved unchanged from `from` to the entry's path.
    Renamed {
        from: String,
    },
}

/// One entry of a commit-to-commit diff; paths are repository-relative and `/`-separated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChangedPath {
    pub path: String,
    #[serde(flatten)]
    pub change: Change,
}

impl ChangedPath {
    /// Every path this change touches: both sides of a rename.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let from = match &self.change {
            Change::Renamed { from } => Some(from.as_str()),
            _ => None,
        };
        std::iter::once(self.path.as_str()).chain(from)
    }
}

/// Why a git operation failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path}: not a git repository: {message}")]
    Open { path: PathBuf, message: String },
    #[error("revision {rev:?} does not resolve to a commit in {repo}: {message}")]
    UnknownRevision { repo: PathBuf, rev: String, message: String },
    #[error("commit {sha} is not in the repository {repo} (a shallow clone may lack it)")]
    MissingCommit { repo: PathBuf, sha: CommitId },
    #[error("history of {repo} is incomplete (shallow clone): {message}")]
    IncompleteHistory { repo: PathBuf, message: String },
    #[error("{repo}: reading {what}: {message}")]
    Read { repo: PathBuf, what: String, message: String },
}

/// An opened repository. Cheap to share between threads (`Sync`).
pub struct GitRepo {
    shared: gix::ThreadSafeRepository,
    /// Thread-local handles, reused: gix's `Repository` is `Send` but not `Sync`, and creating one
    /// per read is measurably slower than taking one from this pool.
    handles: Mutex<Vec<gix::Repository>>,
    path: PathBuf,
    is_shallow: bool,
}

impl fmt::Debug for GitRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitRepo")
            .field("path", &self.path)
            .field("is_shallow", &self.is_shallow)
            .finish()
    }
}

impl GitRepo {
    /// Opens the repository at `path` (its work tree or its git directory), without looking at
    /// parent directories, environment variables or the user's global git config.
    pub fn open(path: &Path) -> Result<Self, GitError> {
        let options = gix::open::Options::isolated();
        let shared = gix::ThreadSafeRepository::open_opts(path, options)
            .map_err(|err| GitError::Open { path: path.to_path_buf(), message: err.to_string() })?;
        let mut repo = shared.to_thread_local();
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        let is_shallow = repo.is_shallow().unwrap_or(false);
        Ok(Self { shared, handles: Mutex::new(vec![repo]), path: path.to_path_buf(), is_shallow })
    }

    /// The path the repository was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a shallow clone (some commits' parents are missing on purpose).
    pub fn is_shallow(&self) -> bool {
        self.is_shallow
    }

    /// Runs `f` with a thread-local handle borrowed from the pool.
    fn with_repo<T>(&self, f: impl FnOnce(&gix::Repository) -> T) -> T {
        let taken = self.handles.lock().map(|mut pool| pool.pop()).unwrap_or(None);
        let repo = taken.unwrap_or_else(|| {
            let mut repo = self.shared.to_thread_local();
            repo.object_cache_size_if_unset(4 * 1024 * 1024);
            repo
        });
        let out = f(&repo);
        if let Ok(mut pool) = self.handles.lock() {
            pool.push(repo);
        }
        out
    }

    /// Resolves `rev` (a SHA, abbreviated SHA, branch, tag, `origin/x`, `HEAD~2`…) to the full SHA
    /// of the commit it names. A full SHA that is not in the object database is `MissingCommit`,
    /// which callers treat as "fetch more history".
    pub fn resolve(&self, rev: &str) -> Result<CommitId, GitError> {
        if let Some(sha) = CommitId::parse(rev) {
            return if self.has_commit(&sha) {
                Ok(sha)
            } else {
                Err(GitError::MissingCommit { repo: self.path.clone(), sha })
            };
        }
        self.with_repo(|repo| {
            let unknown = |message: String| GitError::UnknownRevision {
                repo: self.path.clone(),
                rev: rev.to_string(),
                message,
            };
            let id = repo.rev_parse_single(rev).map_err(|err| unknown(err.to_string()))?;
            let commit = id
                .object()
                .and_then(|object| object.peel_to_commit())
                .map_err(|err| unknown(err.to_string()))?;
            Ok(CommitId::from(commit.id))
        })
    }

    /// Whether the commit is present in the object database.
    pub fn has_commit(&self, sha: &CommitId) -> bool {
        self.with_repo(|repo| {
            matches!(repo.try_find_object(sha.object_id()), Ok(Some(object)) if object.kind == gix::object::Kind::Commit)
        })
    }

    /// The best common ancestor of `a` and `b`, or `None` when they share no history. In a shallow
    /// clone "no common history" may only mean "not fetched yet": that is `IncompleteHistory`.
    pub fn merge_base(&self, a: &CommitId, b: &CommitId) -> Result<Option<CommitId>, GitError> {
        for sha in [a, b] {
            if !self.has_commit(sha) {
                return Err(GitError::MissingCommit { repo: self.path.clone(), sha: sha.clone() });
            }
        }
        let found = self.with_repo(|repo| {
            repo.merge_base(a.object_id(), b.object_id())
                .map(|id| id.map(|id| CommitId::from(id.detach())))
        });
        match found {
            Ok(Some(base)) => Ok(Some(base)),
            Ok(None) if self.is_shallow => Err(GitError::IncompleteHistory {
                repo: self.path.clone(),
                message: format!("no common ancestor of {a} and {b} among the fetched commits"),
            }),
            Ok(None) => Ok(None),
            // A traversal that runs into a missing parent is the shallow boundary.
            Err(err) if self.is_shallow => Err(GitError::IncompleteHistory {
                repo: self.path.clone(),
                message: err.to_string(),
            }),
            Err(err) => Err(GitError::Read {
                repo: self.path.clone(),
                what: format!("merge-base of {a} and {b}"),
                message: err.to_string(),
            }),
        }
    }

    /// Whether `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(
        &self,
        ancestor: &CommitId,
        descendant: &CommitId,
    ) -> Result<bool, GitError> {
        if ancestor == descendant {
            return Ok(self.has_commit(ancestor));
        }
        Ok(self.merge_base(ancestor, descendant)?.as_ref() == Some(ancestor))
    }

    /// The paths that differ between the trees of `base` and `head`, sorted by path. Files whose
    /// content moved unchanged are reported as renames; a file moved and edited is a deletion plus
    /// an addition (both paths are reported either way, which is what change detection needs).
    pub fn changed_paths(
        &self,
        base: &CommitId,
        head: &CommitId,
    ) -> Result<Vec<ChangedPath>, GitError> {
        self.with_repo(|repo| {
            let base_tree = self.commit_tree(repo, base)?;
            let head_tree = self.commit_tree(repo, head)?;
            tree_diff::diff_trees(repo, base_tree, head_tree).map_err(|message| GitError::Read {
                repo: self.path.clone(),
                what: format!("the diff of {base}..{head}"),
                message,
            })
        })
    }

    /// The file system of `commit`'s tree, read from the object database.
    pub fn tree_fs(&self, commit: &CommitId) -> Result<GitTreeFs<'_>, GitError> {
        let tree = self.with_repo(|repo| self.commit_tree(repo, commit))?;
        Ok(GitTreeFs::new(self, commit.clone(), tree))
    }

    /// `tree_fs` for a repository shared behind an `Arc`: the tree keeps the repository alive.
    pub fn shared_tree_fs(
        repo: &std::sync::Arc<Self>,
        commit: &CommitId,
    ) -> Result<GitTreeFs<'static>, GitError> {
        let tree = repo.with_repo(|handle| repo.commit_tree(handle, commit))?;
        Ok(GitTreeFs::shared(repo.clone(), commit.clone(), tree))
    }

    fn commit_tree(
        &self,
        repo: &gix::Repository,
        commit: &CommitId,
    ) -> Result<gix::ObjectId, GitError> {
        let found = repo.try_find_object(commit.object_id()).map_err(|err| GitError::Read {
            repo: self.path.clone(),
            what: format!("commit {commit}"),
            message: err.to_string(),
        })?;
        let Some(object) = found else {
            return Err(GitError::MissingCommit { repo: self.path.clone(), sha: commit.clone() });
        };
        let commit_object = object.try_into_commit().map_err(|err| GitError::Read {
            repo: self.path.clone(),
            what: format!("commit {commit}"),
            message: err.to_string(),
        })?;
        commit_object.tree_id().map(|id| id.detach()).map_err(|err| GitError::Read {
            repo: self.path.clone(),
            what: format!("the tree of {commit}"),
            message: err.to_string(),
        })
    }
}
