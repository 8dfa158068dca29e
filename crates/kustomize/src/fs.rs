//! The only way the build touches files.
//!
//! Paths are repository-relative, `/`-separated and normalised (no `.`, no `..`, no leading `/`;
//! the empty string is the root). Implementations confine every access to their root: the disk
//! implementation refuses symlinks that lead outside it, a git-tree implementation reads blobs of
//! one commit. Because every read goes through this trait, a wrapper can record the read set of a
//! build — the files and directories it depended on — which change detection relies on.

use std::fmt;

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Dir,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

/// Why a file-system access failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: is a directory")]
    IsADirectory { path: String },
    #[error("{path}: not a directory")]
    NotADirectory { path: String },
    #[error("{path}: refused: {reason}")]
    OutsideRoot { path: String, reason: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Read-only access to a tree of files rooted somewhere (a checkout, a commit, memory).
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// The contents of the file at `path`.
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError>;
    /// The entries of the directory at `path`, sorted by name.
    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError>;
    /// What `path` names, or `None` when nothing is there.
    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError>;
}
