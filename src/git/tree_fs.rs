//! `GitTreeFs`: one commit's tree as a `kustomize::FileSystem`, read straight from the object
//! database — the base side of a change is rendered without checking anything out.
//!
//! Symlinks stored in the tree are followed the way a checkout would follow them, but only inside
//! the tree: an absolute target, or one that climbs above the repository root, is refused, and a
//! chain longer than 40 links is an error (a loop). Directory listings are cached per folder,
//! since a build of many units asks for the same folders again and again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use kustomize::fs::child;
use kustomize::{DirEntry, EntryKind, FileSystem, FsError};

use super::{CommitId, GitRepo};

/// How many symlinks one lookup may follow before it is treated as a loop (Linux's limit).
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeKind {
    Dir,
    File,
    Symlink,
    /// A submodule: its commit lives in another repository, so its content is unreadable here.
    Submodule,
}

#[derive(Clone, Debug)]
struct Item {
    name: String,
    kind: NodeKind,
    id: gix::ObjectId,
}

/// A path resolved to what it names (symlinks followed), with its canonical path.
#[derive(Clone, Debug)]
struct Node {
    path: String,
    kind: NodeKind,
    id: gix::ObjectId,
}

/// The repository a tree is read from: borrowed (the user's clone, opened for one run) or
/// shared (a remote's cached clone, whose tree outlives the call that fetched it).
enum RepoRef<'repo> {
    Borrowed(&'repo GitRepo),
    Shared(Arc<GitRepo>),
}

impl std::ops::Deref for RepoRef<'_> {
    type Target = GitRepo;
    fn deref(&self) -> &GitRepo {
        match self {
            RepoRef::Borrowed(repo) => repo,
            RepoRef::Shared(repo) => repo,
        }
    }
}

/// The tree of one commit, readable through the `FileSystem` trait.
pub struct GitTreeFs<'repo> {
    repo: RepoRef<'repo>,
    commit: CommitId,
    root: gix::ObjectId,
    listings: Mutex<HashMap<gix::ObjectId, Arc<Vec<Item>>>>,
    /// Paths already resolved: builds of many units probe the same paths (kustomization names,
    /// shared bases) over and over.
    resolved: Mutex<HashMap<String, Option<Node>>>,
}

impl fmt::Debug for GitTreeFs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitTreeFs")
            .field("repo", &self.repo.path())
            .field("commit", &self.commit)
            .finish()
    }
}

impl<'repo> GitTreeFs<'repo> {
    pub(super) fn new(repo: &'repo GitRepo, commit: CommitId, root: gix::ObjectId) -> Self {
        Self::over(RepoRef::Borrowed(repo), commit, root)
    }

    /// A tree that owns its share of the repository (`'static`, so it can be handed out as an
    /// `Arc<dyn FileSystem>`).
    pub(super) fn shared(
        repo: Arc<GitRepo>,
        commit: CommitId,
        root: gix::ObjectId,
    ) -> GitTreeFs<'static> {
        GitTreeFs::over(RepoRef::Shared(repo), commit, root)
    }

    fn over(repo: RepoRef<'repo>, commit: CommitId, root: gix::ObjectId) -> Self {
        Self {
            repo,
            commit,
            root,
            listings: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
        }
    }

    /// The commit whose tree this is.
    pub fn commit(&self) -> &CommitId {
        &self.commit
    }

    fn io_error(&self, path: &str, message: impl fmt::Display) -> FsError {
        FsError::Io {
            path: path.to_string(),
            message: format!("commit {}: {message}", self.commit),
        }
    }

    /// The entries of the tree object `tree`, cached by id (identical folders share one listing).
    fn listing(&self, tree: gix::ObjectId, path: &str) -> Result<Arc<Vec<Item>>, FsError> {
        if let Some(found) = self.listings.lock().ok().and_then(|cache| cache.get(&tree).cloned()) {
            return Ok(found);
        }
        let items = self.repo.with_repo(|repo| -> Result<Vec<Item>, String> {
            let tree = repo.find_tree(tree).map_err(|err| err.to_string())?;
            let decoded = tree.decode().map_err(|err| err.to_string())?;
            Ok(decoded
                .entries
                .iter()
                .map(|entry| {
                    let kind = if entry.mode.is_tree() {
                        NodeKind::Dir
                    } else if entry.mode.is_link() {
                        NodeKind::Symlink
                    } else if entry.mode.is_commit() {
                        NodeKind::Submodule
                    } else {
                        NodeKind::File
                    };
                    Item { name: entry.filename.to_string(), kind, id: entry.oid.to_owned() }
                })
                .collect())
        });
        // Sorted by plain name (git orders folders as if they ended in `/`), so lookups in large
        // folders can binary-search.
        let items = items.map(|mut items| {
            items.sort_by(|a, b| a.name.cmp(&b.name));
            items
        });
        let items = Arc::new(items.map_err(|message| self.io_error(path, message))?);
        if let Ok(mut cache) = self.listings.lock() {
            cache.insert(tree, items.clone());
        }
        Ok(items)
    }

    fn blob(&self, id: gix::ObjectId, path: &str) -> Result<Vec<u8>, FsError> {
        self.repo
            .with_repo(|repo| repo.find_blob(id).map(|blob| blob.detach().data))
            .map_err(|err| self.io_error(path, err))
    }

    /// Every symlink in the tree that resolves inside it, as (link path, canonical target path).
    /// Change detection uses it to see a change to `target/x` as a change to `link/x` too: a build
    /// records the paths it asked for, which may go through links.
    pub fn symlinks(&self) -> Result<Vec<(String, String)>, FsError> {
        let mut links = Vec::new();
        let mut queue = std::collections::VecDeque::from([(String::new(), self.root)]);
        while let Some((dir, tree)) = queue.pop_front() {
            for item in self.listing(tree, &dir)?.iter() {
                let path = child(&dir, &item.name);
                match item.kind {
                    NodeKind::Dir => queue.push_back((path, item.id)),
                    NodeKind::Symlink => {
                        // A dangling, looping or escaping link reads as an error at build time;
                        // it aliases nothing.
                        if let Ok(Some(target)) = self.resolve(&path) {
                            links.push((path, target.path));
                        }
                    }
                    NodeKind::File | NodeKind::Submodule => {}
                }
            }
        }
        Ok(links)
    }

    /// Resolves `path`, following symlinks in every component (including the last, as `stat`
    /// does). `Ok(None)` when nothing is there, or when a component is a file used as a folder.
    fn resolve(&self, path: &str) -> Result<Option<Node>, FsError> {
        if let Some(known) = self.resolved.lock().ok().and_then(|cache| cache.get(path).cloned()) {
            return Ok(known);
        }
        let node = self.resolve_uncached(path)?;
        if let Ok(mut cache) = self.resolved.lock() {
            cache.insert(path.to_string(), node.clone());
        }
        Ok(node)
    }

    fn resolve_uncached(&self, path: &str) -> Result<Option<Node>, FsError> {
        let mut pending = normalize(path)
            .ok_or_else(|| outside(path, "the path climbs above the repository root"))?;
        let mut hops = 0;
        'restart: loop {
            let parts: Vec<&str> = pending.split('/').filter(|part| !part.is_empty()).collect();
            let mut dir_path = String::new();
            let mut dir_tree = self.root;
            for (index, part) in parts.iter().enumerate() {
                let listing = self.listing(dir_tree, &dir_path)?;
                let Ok(at) = listing.binary_search_by(|item| item.name.as_str().cmp(part)) else {
                    return Ok(None);
                };
                let item = &listing[at];
                let child_path = child(&dir_path, part);
                if item.kind == NodeKind::Symlink {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(self.io_error(path, "too many levels of symbolic links"));
                    }
                    let target = self.blob(item.id, &child_path)?;
                    let target = String::from_utf8(target)
                        .map_err(|_| self.io_error(&child_path, "symlink target is not UTF-8"))?;
                    if target.starts_with('/') {
                        return Err(outside(
                            path,
                            &format!("symlink {child_path} points to absolute path {target}"),
                        ));
                    }
                    let rest = parts[index + 1..].join("/");
                    let joined = [dir_path.as_str(), target.as_str(), rest.as_str()]
                        .iter()
                        .filter(|segment| !segment.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("/");
                    pending = normalize(&joined).ok_or_else(|| {
                        outside(
                            path,
                            &format!("symlink {child_path} -> {target} leaves the repository"),
                        )
                    })?;
                    continue 'restart;
                }
                if index + 1 == parts.len() {
                    return Ok(Some(Node { path: child_path, kind: item.kind, id: item.id }));
                }
                if item.kind != NodeKind::Dir {
                    return Ok(None);
                }
                dir_path = child_path;
                dir_tree = item.id;
            }
            return Ok(Some(Node { path: String::new(), kind: NodeKind::Dir, id: self.root }));
        }
    }
}

impl FileSystem for GitTreeFs<'_> {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        match self.resolve(path)? {
            None => Err(FsError::NotFound { path: path.to_string() }),
            Some(node) => match node.kind {
                NodeKind::File => self.blob(node.id, path),
                NodeKind::Dir | NodeKind::Submodule => {
                    Err(FsError::IsADirectory { path: path.to_string() })
                }
                NodeKind::Symlink => Err(self.io_error(path, "unresolved symlink")),
            },
        }
    }

    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        let node =
            self.resolve(path)?.ok_or_else(|| FsError::NotFound { path: path.to_string() })?;
        match node.kind {
            NodeKind::Dir => {}
            NodeKind::Submodule => {
                return Err(
                    self.io_error(path, "a submodule: its files are not in this repository")
                );
            }
            NodeKind::File | NodeKind::Symlink => {
                return Err(FsError::NotADirectory { path: path.to_string() });
            }
        }
        let listing = self.listing(node.id, &node.path)?;
        let mut entries = Vec::with_capacity(listing.len());
        for item in listing.iter() {
            let kind = match item.kind {
                NodeKind::Dir | NodeKind::Submodule => EntryKind::Dir,
                NodeKind::File => EntryKind::File,
                // Listed as what it points to; a dangling link is listed as a file, which then
                // fails to read with a clear error instead of silently vanishing.
                NodeKind::Symlink => match self.resolve(&child(&node.path, &item.name)) {
                    Ok(Some(target))
                        if matches!(target.kind, NodeKind::Dir | NodeKind::Submodule) =>
                    {
                        EntryKind::Dir
                    }
                    _ => EntryKind::File,
                },
            };
            entries.push(DirEntry { name: item.name.clone(), kind });
        }
        Ok(entries)
    }

    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
        Ok(self.resolve(path)?.map(|node| match node.kind {
            NodeKind::Dir | NodeKind::Submodule => EntryKind::Dir,
            NodeKind::File | NodeKind::Symlink => EntryKind::File,
        }))
    }

    /// The canonical path `resolve` found: the loader's restrictor checks it, so a link that
    /// stays in the tree but leaves its kustomization's folder is refused as on disk.
    fn real_path(&self, path: &str) -> Result<Option<String>, FsError> {
        Ok(self.resolve(path)?.map(|node| node.path))
    }
}

fn outside(path: &str, reason: &str) -> FsError {
    FsError::OutsideRoot { path: path.to_string(), reason: reason.to_string() }
}

/// Removes `.` and empty segments and applies `..`; `None` when `..` climbs above the root.
fn normalize(path: &str) -> Option<String> {
    kustomize::fs::join("", path).ok()
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalize_applies_dot_dot_and_refuses_climbing_out() {
        assert_eq!(normalize("a/./b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalize("").as_deref(), Some(""));
        assert_eq!(normalize("a/../.."), None);
    }
}
