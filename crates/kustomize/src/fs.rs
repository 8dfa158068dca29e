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

/// Joins `relative` (as written in a kustomization: `/`-separated, may hold `.` and `..`) onto
/// the repository-relative directory `dir`, normalising the result.
///
/// Absolute paths and paths that climb above the root are refused: a build may only see what
/// its file system's root holds.
pub fn join(dir: &str, relative: &str) -> Result<String, FsError> {
    if relative.starts_with('/') {
        return Err(FsError::OutsideRoot {
            path: relative.to_owned(),
            reason: "absolute paths are not allowed".into(),
        });
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(FsError::OutsideRoot {
                        path: child(dir, relative),
                        reason: "the path leaves the root".into(),
                    });
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// The directory holding `path` (the root's parent is the root).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(index) => &path[..index],
        None => "",
    }
}

/// The last component of `path`.
pub fn file_name(path: &str) -> &str {
    match path.rfind('/') {
        Some(index) => &path[index + 1..],
        None => path,
    }
}

/// `path` relative to the directory `base` (both normalised), with `..` where needed.
pub fn relative_to(path: &str, base: &str) -> String {
    let path_parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let base_parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    let common = path_parts.iter().zip(&base_parts).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; base_parts.len() - common];
    parts.extend(&path_parts[common..]);
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// Whether `path` is `dir` itself or lies below it.
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// `dir/name` without normalising (`name` alone at the root): for names read from a listing.
pub fn child(dir: &str, relative: &str) -> String {
    if dir.is_empty() { relative.to_owned() } else { format!("{dir}/{relative}") }
}

/// Checks that `path` is in the normalised form every implementation expects.
fn check_normalised(path: &str) -> Result<(), FsError> {
    let bad = path.starts_with('/')
        || path.ends_with('/')
        || path
            .split('/')
            .any(|part| part == "." || part == ".." || (part.is_empty() && !path.is_empty()));
    if bad {
        return Err(FsError::OutsideRoot {
            path: path.to_owned(),
            reason: "not a normalised repository-relative path".into(),
        });
    }
    Ok(())
}

/// A directory on disk, every access confined to it.
///
/// Symlinks are followed only while they stay inside the root: the canonical form of every path
/// must lie below the canonical root, so a link to `/etc` or to `../other-repo` is refused.
#[derive(Debug, Clone)]
pub struct DiskFs {
    root: std::path::PathBuf,
}

impl DiskFs {
    /// A file system over the directory `root`, which must exist.
    pub fn new(root: impl AsRef<std::path::Path>) -> Result<Self, FsError> {
        let root = root.as_ref();
        let canonical = root.canonicalize().map_err(|err| FsError::Io {
            path: root.display().to_string(),
            message: err.to_string(),
        })?;
        Ok(DiskFs { root: canonical })
    }

    /// The canonical directory this file system is confined to.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// The on-disk location of `path` after following symlinks, or `None` when nothing is there.
    fn resolve(&self, path: &str) -> Result<Option<std::path::PathBuf>, FsError> {
        check_normalised(path)?;
        let joined = if path.is_empty() { self.root.clone() } else { self.root.join(path) };
        match joined.canonicalize() {
            Ok(canonical) if canonical.starts_with(&self.root) => Ok(Some(canonical)),
            Ok(_) => Err(FsError::OutsideRoot {
                path: path.to_owned(),
                reason: "a symlink leads outside the root".into(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(FsError::Io { path: path.to_owned(), message: err.to_string() }),
        }
    }
}

impl FileSystem for DiskFs {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let Some(real) = self.resolve(path)? else {
            return Err(FsError::NotFound { path: path.to_owned() });
        };
        if real.is_dir() {
            return Err(FsError::IsADirectory { path: path.to_owned() });
        }
        std::fs::read(&real)
            .map_err(|err| FsError::Io { path: path.to_owned(), message: err.to_string() })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let Some(real) = self.resolve(path)? else {
            return Err(FsError::NotFound { path: path.to_owned() });
        };
        if !real.is_dir() {
            return Err(FsError::NotADirectory { path: path.to_owned() });
        }
        let io_error =
            |err: std::io::Error| FsError::Io { path: path.to_owned(), message: err.to_string() };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let child = if path.is_empty() { name.clone() } else { format!("{path}/{name}") };
            // Entries whose symlinks leave the root or dangle are left out of listings.
            if let Ok(Some(target)) = self.resolve(&child) {
                let kind = if target.is_dir() { EntryKind::Dir } else { EntryKind::File };
                entries.push(DirEntry { name, kind });
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
        Ok(self
            .resolve(path)?
            .map(|real| if real.is_dir() { EntryKind::Dir } else { EntryKind::File }))
    }
}

/// Files held in memory, for tests and for trees read from elsewhere (a git commit).
///
/// Directories exist implicitly: every ancestor of a file is one.
#[derive(Debug, Clone, Default)]
pub struct MemoryFs {
    files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemoryFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the file at the normalised path `path`.
    pub fn insert(&mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), contents.into());
    }

    /// Builder form of [`MemoryFs::insert`].
    pub fn with(mut self, path: impl Into<String>, contents: impl Into<Vec<u8>>) -> Self {
        self.insert(path, contents);
        self
    }

    fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return true;
        }
        let prefix = format!("{path}/");
        self.files.range(prefix.clone()..).next().is_some_and(|(name, _)| name.starts_with(&prefix))
    }
}

impl FileSystem for MemoryFs {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        check_normalised(path)?;
        match self.files.get(path) {
            Some(contents) => Ok(contents.clone()),
            None if self.is_dir(path) => Err(FsError::IsADirectory { path: path.to_owned() }),
            None => Err(FsError::NotFound { path: path.to_owned() }),
        }
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        check_normalised(path)?;
        if self.files.contains_key(path) {
            return Err(FsError::NotADirectory { path: path.to_owned() });
        }
        if !self.is_dir(path) {
            return Err(FsError::NotFound { path: path.to_owned() });
        }
        let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
        let mut entries: Vec<DirEntry> = Vec::new();
        for name in self.files.keys().filter(|name| name.starts_with(&prefix)) {
            let rest = &name[prefix.len()..];
            let entry = match rest.split_once('/') {
                Some((dir, _)) => DirEntry { name: dir.to_owned(), kind: EntryKind::Dir },
                None => DirEntry { name: rest.to_owned(), kind: EntryKind::File },
            };
            if entries.last() != Some(&entry) {
                entries.push(entry);
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        entries.dedup();
        Ok(entries)
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
        check_normalised(path)?;
        if self.files.contains_key(path) {
            Ok(Some(EntryKind::File))
        } else if self.is_dir(path) {
            Ok(Some(EntryKind::Dir))
        } else {
            Ok(None)
        }
    }
}

/// Wraps a file system and remembers every path the build touched: files read, directories
/// listed and paths whose existence was checked (a probe that found nothing still counts: a
/// file created there later changes the build).
#[derive(Debug)]
pub struct RecordingFs<F> {
    inner: F,
    touched: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl<F: FileSystem> RecordingFs<F> {
    pub fn new(inner: F) -> Self {
        RecordingFs { inner, touched: std::sync::Mutex::new(Default::default()) }
    }

    /// Every path touched so far, sorted.
    pub fn read_set(&self) -> std::collections::BTreeSet<String> {
        self.lock().clone()
    }

    /// The wrapped file system.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    fn record(&self, path: &str) {
        self.lock().insert(path.to_owned());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        // A poisoned set is still a valid set of strings: keep recording.
        self.touched.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<F: FileSystem> FileSystem for RecordingFs<F> {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        self.record(path);
        self.inner.read_file(path)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        self.record(path);
        self.inner.read_dir(path)
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
        self.record(path);
        self.inner.kind(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_normalises_and_refuses_escapes() {
        assert_eq!(join("a/b", "../c/./d").unwrap(), "a/c/d");
        assert_eq!(join("", "x.yaml").unwrap(), "x.yaml");
        assert_eq!(join("a", "..").unwrap(), "");
        assert!(matches!(join("a", "../.."), Err(FsError::OutsideRoot { .. })));
        assert!(matches!(join("a", "/etc/passwd"), Err(FsError::OutsideRoot { .. })));
    }

    #[test]
    fn relative_to_climbs_and_descends() {
        assert_eq!(relative_to("base/x.yaml", "prod"), "../base/x.yaml");
        assert_eq!(relative_to("prod/kustomization.yaml", "prod"), "kustomization.yaml");
        assert_eq!(relative_to("a/b", "a/b"), ".");
        assert_eq!(relative_to("x.yaml", ""), "x.yaml");
    }

    #[test]
    fn is_within_respects_component_boundaries() {
        assert!(is_within("a/b/c", "a/b"));
        assert!(is_within("a/b", "a/b"));
        assert!(!is_within("a/bc", "a/b"));
        assert!(is_within("anything", ""));
    }

    #[test]
    fn memory_fs_lists_implicit_directories() {
        let fs = MemoryFs::new().with("a/b.yaml", "x").with("a/c/d.yaml", "y").with("e", "z");
        let names: Vec<_> =
            fs.read_dir("a").unwrap().into_iter().map(|e| (e.name, e.kind)).collect();
        assert_eq!(names, vec![("b.yaml".into(), EntryKind::File), ("c".into(), EntryKind::Dir)]);
        assert_eq!(fs.kind("a/c").unwrap(), Some(EntryKind::Dir));
        assert_eq!(fs.kind("missing").unwrap(), None);
        assert!(matches!(fs.read_file("a"), Err(FsError::IsADirectory { .. })));
        assert!(matches!(fs.read_file("a/../e"), Err(FsError::OutsideRoot { .. })));
    }

    #[test]
    fn recording_fs_remembers_reads_listings_and_probes() {
        let fs = RecordingFs::new(MemoryFs::new().with("a/k.yaml", "x"));
        fs.read_file("a/k.yaml").unwrap();
        fs.read_dir("a").unwrap();
        assert_eq!(fs.kind("a/missing").unwrap(), None);
        let set: Vec<_> = fs.read_set().into_iter().collect();
        assert_eq!(set, vec!["a", "a/k.yaml", "a/missing"]);
    }

    #[cfg(unix)]
    #[test]
    fn disk_fs_follows_inner_symlinks_and_refuses_outer_ones() {
        let scratch = std::env::temp_dir().join(format!("kustomize-diskfs-{}", std::process::id()));
        let root = scratch.join("root");
        std::fs::create_dir_all(root.join("dir")).unwrap();
        std::fs::write(root.join("dir/file.yaml"), "a: 1\n").unwrap();
        std::fs::write(scratch.join("secret"), "no").unwrap();
        std::os::unix::fs::symlink("dir/file.yaml", root.join("inner-link")).unwrap();
        std::os::unix::fs::symlink("../secret", root.join("outer-link")).unwrap();
        let fs = DiskFs::new(&root).unwrap();
        assert_eq!(fs.read_file("inner-link").unwrap(), b"a: 1\n");
        assert!(matches!(fs.read_file("outer-link"), Err(FsError::OutsideRoot { .. })));
        assert!(matches!(fs.read_file("../secret"), Err(FsError::OutsideRoot { .. })));
        assert_eq!(fs.kind("dir").unwrap(), Some(EntryKind::Dir));
        assert_eq!(fs.kind("nothing").unwrap(), None);
        let listed: Vec<_> = fs.read_dir("").unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(listed, vec!["dir", "inner-link"]);
        std::fs::remove_dir_all(&scratch).unwrap();
    }
}
