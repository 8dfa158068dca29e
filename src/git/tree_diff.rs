//! The paths that differ between two trees, found by walking both in step and descending only
//! into sub-trees whose ids differ (unchanged folders cost one comparison, however large).
//!
//! Renames are paired by identical content (same blob id and kind), as git does before it tries
//! similarity: an edited move stays a deletion plus an addition. Change detection needs both paths
//! of a move either way; similarity scoring would cost blob diffs for no gain here.

use std::collections::{BTreeMap, HashMap};

use super::{Change, ChangedPath};

/// One side's entry at a path.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: gix::ObjectId,
    mode: gix::object::tree::EntryMode,
}

pub(super) fn diff_trees(
    repo: &gix::Repository,
    base: gix::ObjectId,
    head: gix::ObjectId,
) -> Result<Vec<ChangedPath>, String> {
    let mut added = Vec::new();
    let mut deleted = Vec::new();
    let mut out = Vec::new();
    walk(repo, "", Some(base), Some(head), &mut added, &mut deleted, &mut out)?;
    pair_renames(added, deleted, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn entries(
    repo: &gix::Repository,
    tree: Option<gix::ObjectId>,
) -> Result<BTreeMap<String, Entry>, String> {
    let Some(tree) = tree else { return Ok(BTreeMap::new()) };
    let tree = repo.find_tree(tree).map_err(|err| err.to_string())?;
    let decoded = tree.decode().map_err(|err| err.to_string())?;
    Ok(decoded
        .entries
        .iter()
        .map(|entry| {
            (entry.filename.to_string(), Entry { id: entry.oid.to_owned(), mode: entry.mode })
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn walk(
    repo: &gix::Repository,
    prefix: &str,
    base: Option<gix::ObjectId>,
    head: Option<gix::ObjectId>,
    added: &mut Vec<(String, Entry)>,
    deleted: &mut Vec<(String, Entry)>,
    out: &mut Vec<ChangedPath>,
) -> Result<(), String> {
    let base_entries = entries(repo, base)?;
    let head_entries = entries(repo, head)?;
    let mut names: Vec<&String> = base_entries.keys().chain(head_entries.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let old = base_entries.get(name).copied();
        let new = head_entries.get(name).copied();
        if old == new {
            continue;
        }
        let old_tree = old.filter(|e| e.mode.is_tree()).map(|e| e.id);
        let new_tree = new.filter(|e| e.mode.is_tree()).map(|e| e.id);
        if old_tree.is_some() || new_tree.is_some() {
            // Descend; a file replaced by a folder (or the reverse) is a deletion plus additions.
            walk(repo, &path, old_tree, new_tree, added, deleted, out)?;
        }
        let old_file = old.filter(|e| !e.mode.is_tree());
        let new_file = new.filter(|e| !e.mode.is_tree());
        match (old_file, new_file) {
            (Some(_), Some(_)) => out.push(ChangedPath { path, change: Change::Modified }),
            (Some(entry), None) => deleted.push((path, entry)),
            (None, Some(entry)) => added.push((path, entry)),
            (None, None) => {}
        }
    }
    Ok(())
}

/// Pairs each added path with a deleted path of identical content; the rest stay additions and
/// deletions. Deterministic: candidates are taken in path order.
fn pair_renames(
    added: Vec<(String, Entry)>,
    deleted: Vec<(String, Entry)>,
    out: &mut Vec<ChangedPath>,
) {
    let mut deleted_by_content: HashMap<Entry, Vec<String>> = HashMap::new();
    for (path, entry) in deleted.into_iter().rev() {
        deleted_by_content.entry(entry).or_default().push(path);
    }
    for (path, entry) in added {
        let from = deleted_by_content.get_mut(&entry).and_then(Vec::pop);
        let change = match from {
            Some(from) => Change::Renamed { from },
            None => Change::Added,
        };
        out.push(ChangedPath { path, change });
    }
    for (_, paths) in deleted_by_content {
        out.extend(paths.into_iter().map(|path| ChangedPath { path, change: Change::Deleted }));
    }
}

impl std::hash::Hash for Entry {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
        self.mode.value().hash(state);
    }
}
