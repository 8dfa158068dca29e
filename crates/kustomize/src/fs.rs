//! The only way the build touches files.
//!
//! Paths are repository-relative, `/`-separated and normalised (no `.`, no `..`, no leading `/`;
//! the empty string is the root). Implementations confine every access to their root: the disk
//! implementation refuses symlinks that lead outside it (and the `.git` folder), a git-tree
//! implementation reads blobs of one commit. Each tells where a path really is (`real_path`,
//! symlinks followed), which the loader's restrictor checks. Because every read goes through this trait, a wrapper can record the read set of a
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
    /// Where `path` really is: its canonical path, every symlink in it followed (`None` when
    /// nothing is there). The load restrictor checks this path, as kustomize checks a path
    /// after evaluating its symlinks; a file system without symlinks answers `path` itself.
    /// Required rather than defaulted, so that no file system with links (or wrapper of one)
    /// can forget it and let a link carry a build out of its kustomization's directory.
    fn real_path(&self, path: &str) -> Result<Option<String>, FsError>;
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

/// A directory on disk, every access confined to it, read once.
///
/// Symlinks are followed only while they stay inside the root: the canonical form of every path
/// must lie below the canonical root, so a link to `/etc` or to `../other-repo` is refused. The
/// repository's `.git` folder (anywhere in the tree, also through a link) is never read: it
/// holds credentials (`http.extraheader`, remote URLs with tokens) and is no part of the tree a
/// commit has, which is what a build may see.
///
/// The instance is a snapshot: each path is resolved once (one `lstat` per path component, the
/// parent's answer reused; a full `realpath` only for the links themselves), each file is read
/// once and each directory listed once; the answers are kept for the life of the value and
/// shared by its clones and by every thread (renders run in parallel). A file changed on disk
/// after it was first read is not seen by the same instance: make a new one per run.
#[derive(Clone)]
pub struct DiskFs {
    root: std::path::PathBuf,
    cache: std::sync::Arc<DiskCache>,
}

/// What a `DiskFs` has learned so far.
#[derive(Default)]
struct DiskCache {
    /// Requested (normalised) path → what it names.
    resolved: std::sync::RwLock<std::collections::HashMap<String, Resolution>>,
    /// Canonical path → contents.
    files: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<[u8]>>>,
    /// Canonical path → sorted listing.
    listings: std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<[DirEntry]>>>,
}

/// A path resolved on disk.
#[derive(Clone, Debug)]
enum Resolution {
    /// Nothing there: no entry, a dangling link, or a file used as a folder.
    Missing,
    /// `real` is the canonical repository-relative path, free of symlinks.
    Found { real: String, kind: EntryKind },
    /// Refused or unreadable (kept as the error the first request got, with its path).
    Failed(FsError),
}

/// Reads a lock even when a panicking thread poisoned it: the maps only ever hold complete
/// answers, inserted in one step.
fn read_lock<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write_lock<T>(lock: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The name under which git keeps a repository's metadata and credentials.
const GIT_DIR: &str = ".git";

impl fmt::Debug for DiskFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiskFs").field("root", &self.root).finish_non_exhaustive()
    }
}

impl DiskFs {
    /// A file system over the directory `root`, which must exist.
    pub fn new(root: impl AsRef<std::path::Path>) -> Result<Self, FsError> {
        let root = root.as_ref();
        let canonical = root.canonicalize().map_err(|err| FsError::Io {
            path: root.display().to_string(),
            message: err.to_string(),
        })?;
        Ok(DiskFs { root: canonical, cache: Default::default() })
    }

    /// The canonical directory this file system is confined to.
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// What `path` names after following symlinks, answered once per path.
    fn resolve(&self, path: &str) -> Result<(String, EntryKind), Option<FsError>> {
        let known = read_lock(&self.cache.resolved).get(path).cloned();
        let resolution = match known {
            Some(known) => known,
            None => {
                let fresh = self.resolve_uncached(path);
                write_lock(&self.cache.resolved).insert(path.to_owned(), fresh.clone());
                fresh
            }
        };
        match resolution {
            Resolution::Found { real, kind } => Ok((real, kind)),
            Resolution::Missing => Err(None),
            Resolution::Failed(err) => Err(Some(err)),
        }
    }

    /// Resolves the parent (from the cache when it can), then looks at the last component
    /// alone: the parent's canonical path holds no links, so only the component itself can be
    /// one.
    fn resolve_uncached(&self, path: &str) -> Resolution {
        if let Err(err) = check_normalised(path) {
            return Resolution::Failed(err);
        }
        if path.is_empty() {
            return Resolution::Found { real: String::new(), kind: EntryKind::Dir };
        }
        let real_parent = match self.resolve(parent(path)) {
            Ok((real, EntryKind::Dir)) => real,
            Ok((_, EntryKind::File)) | Err(None) => return Resolution::Missing,
            Err(Some(err)) => return Resolution::Failed(with_path(err, path)),
        };
        let name = file_name(path);
        if name == GIT_DIR {
            return Resolution::Failed(git_dir_refused(path));
        }
        let real = child(&real_parent, name);
        let on_disk = self.root.join(&real);
        let io_error =
            |err: std::io::Error| FsError::Io { path: path.to_owned(), message: err.to_string() };
        let metadata = match std::fs::symlink_metadata(&on_disk) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Resolution::Missing,
            Err(err) => return Resolution::Failed(io_error(err)),
        };
        if !metadata.file_type().is_symlink() {
            let kind = if metadata.is_dir() { EntryKind::Dir } else { EntryKind::File };
            return Resolution::Found { real, kind };
        }
        let target = match on_disk.canonicalize() {
            Ok(target) => target,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Resolution::Missing,
            Err(err) => return Resolution::Failed(io_error(err)),
        };
        let Ok(inside) = target.strip_prefix(&self.root) else {
            return Resolution::Failed(FsError::OutsideRoot {
                path: path.to_owned(),
                reason: "a symlink leads outside the root".into(),
            });
        };
        let Some(real) = inside.to_str().map(|text| text.replace(std::path::MAIN_SEPARATOR, "/"))
        else {
            return Resolution::Failed(io_error(std::io::Error::other("link target is not UTF-8")));
        };
        if real.split('/').any(|part| part == GIT_DIR) {
            return Resolution::Failed(git_dir_refused(path));
        }
        match std::fs::metadata(&target) {
            Ok(metadata) => {
                let kind = if metadata.is_dir() { EntryKind::Dir } else { EntryKind::File };
                Resolution::Found { real, kind }
            }
            Err(err) => Resolution::Failed(io_error(err)),
        }
    }

    fn found(&self, path: &str) -> Result<(String, EntryKind), FsError> {
        self.resolve(path)
            .map_err(|err| err.unwrap_or_else(|| FsError::NotFound { path: path.to_owned() }))
    }

    /// The sorted listing of the canonical directory `real`.
    fn listing(&self, real: &str, path: &str) -> Result<std::sync::Arc<[DirEntry]>, FsError> {
        let known = read_lock(&self.cache.listings).get(real).cloned();
        if let Some(known) = known {
            return Ok(known);
        }
        let io_error =
            |err: std::io::Error| FsError::Io { path: path.to_owned(), message: err.to_string() };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(self.root.join(real)).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            if name == GIT_DIR {
                continue;
            }
            let file_type = entry.file_type().map_err(io_error)?;
            let kind = if file_type.is_symlink() {
                // Entries whose symlinks leave the root or dangle are left out of listings.
                match self.resolve(&child(real, &name)) {
                    Ok((_, kind)) => kind,
                    Err(_) => continue,
                }
            } else if file_type.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File
            };
            entries.push(DirEntry { name, kind });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let entries: std::sync::Arc<[DirEntry]> = entries.into();
        write_lock(&self.cache.listings).insert(real.to_owned(), entries.clone());
        Ok(entries)
    }
}

/// `err` as the answer for `path` (a failure of a parent is the failure of its children).
fn with_path(err: FsError, path: &str) -> FsError {
    match err {
        FsError::OutsideRoot { reason, .. } => {
            FsError::OutsideRoot { path: path.to_owned(), reason }
        }
        FsError::Io { message, .. } => FsError::Io { path: path.to_owned(), message },
        other => other,
    }
}

fn git_dir_refused(path: &str) -> FsError {
    FsError::OutsideRoot {
        path: path.to_owned(),
        reason: "the repository's .git folder is never read".into(),
    }
}

impl FileSystem for DiskFs {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let (real, kind) = self.found(path)?;
        if kind == EntryKind::Dir {
            return Err(FsError::IsADirectory { path: path.to_owned() });
        }
        let known = read_lock(&self.cache.files).get(&real).cloned();
        if let Some(known) = known {
            return Ok(known.to_vec());
        }
        let bytes = std::fs::read(self.root.join(&real))
            .map_err(|err| FsError::Io { path: path.to_owned(), message: err.to_string() })?;
        write_lock(&self.cache.files).insert(real, bytes.as_slice().into());
        Ok(bytes)
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let (real, kind) = self.found(path)?;
        if kind != EntryKind::Dir {
            return Err(FsError::NotADirectory { path: path.to_owned() });
        }
        Ok(self.listing(&real, path)?.to_vec())
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
        match self.resolve(path) {
            Ok((_, kind)) => Ok(Some(kind)),
            Err(None) => Ok(None),
            Err(Some(err)) => Err(err),
        }
    }

    fn real_path(&self, path: &str) -> Result<Option<String>, FsError> {
        match self.resolve(path) {
            Ok((real, _)) => Ok(Some(real)),
            Err(None) => Ok(None),
            Err(Some(err)) => Err(err),
        }
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

    fn real_path(&self, path: &str) -> Result<Option<String>, FsError> {
        Ok(self.kind(path)?.map(|_| path.to_owned()))
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

    fn real_path(&self, path: &str) -> Result<Option<String>, FsError> {
        self.record(path);
        self.inner.real_path(path)
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
