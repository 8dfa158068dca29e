//! Affected units: which units a change between two commits reaches, exactly (PRODUCT §3).
//!
//! A unit is affected when a changed path is in its read set — every file and directory its build
//! touched (bases, components, patch files, generator inputs, replacement sources, probed
//! kustomization names, directories) — or when a changed path sits directly in a directory the
//! build touched (a file added to a resource directory changes its listing). Affected units are
//! then rendered on both sides, from the commits' trees without any checkout; those whose output
//! is byte-identical are reported as "touched, output unchanged" (a comment-only change), and a
//! unit that fails to render on either side is affected and failed — never silently dropped.
//!
//! Read sets are taken at head for every unit, and at base for the units found affected. The base
//! read set of a unit not matched at head cannot match either: the build is deterministic, so if
//! no path it read at head changed, it reads the very same paths, with the same answers, at base.
//!
//! This module decides and reports; it applies nothing, and it learns how to render and how to
//! read a kustomization through functions passed in (the kustomize crate in production).

pub mod units;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Write;
use std::path::Path;

use kustomize::fs::{file_name, parent};
use kustomize::{
    BuildError, DirEntry, EntryKind, FileSystem, FsError, LoadRestrictor, RecordingFs,
};
use rayon::prelude::*;
use serde::Serialize;

use crate::git::deepen;
use crate::git::diff_base::{
    self, ChangedFilesSource, Changes, ChangesSource, DiffBaseError, DiffRequest, FetchPolicy,
};
use crate::git::{ChangedPath, CommitId, GitError, GitRepo};
use crate::render::{Render, RenderFailure, Side};
use units::{DependencyScope, ReadKustomization, Unit, UnitError, UnitSelection};

/// Renders the unit at a directory of a file system (`crate::render::render_default` in
/// production; tests pass their own).
pub type RenderUnit<'a> = &'a (dyn Fn(&dyn FileSystem, &str) -> Render + Sync);

/// Why detection could not run at all (a unit that fails to render is a result, not this).
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("reading the tree of {commit}: {source}")]
    Tree { commit: CommitId, source: FsError },
    #[error("finding units at {side} ({commit}): {source}")]
    Units { side: &'static str, commit: CommitId, source: UnitError },
}

/// A unit that failed to render, with each side's typed error.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailedUnit {
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_text")]
    pub base_error: Option<BuildError>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_text")]
    pub head_error: Option<BuildError>,
}

impl FailedUnit {
    /// The failures, base side first.
    pub fn failures(&self) -> Vec<RenderFailure> {
        [(Side::Base, &self.base_error), (Side::Head, &self.head_error)]
            .into_iter()
            .filter_map(|(side, error)| Some(RenderFailure { side, error: error.clone()? }))
            .collect()
    }
}

fn as_text<S: serde::Serializer>(error: &Option<BuildError>, s: S) -> Result<S::Ok, S::Error> {
    match error {
        Some(error) => s.serialize_str(&error.to_string()),
        None => s.serialize_none(),
    }
}

/// Both sides' renders of an affected unit, for the diff stage (`None`: the unit does not exist on
/// that side, or that side was not rendered).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitRenders {
    pub base: Option<Render>,
    pub head: Option<Render>,
}

impl UnitRenders {
    /// The render of `side`.
    pub fn side(&self, side: Side) -> Option<&Render> {
        match side {
            Side::Base => self.base.as_ref(),
            Side::Head => self.head.as_ref(),
        }
    }

    /// The first failure, base side first.
    pub fn failure(&self) -> Option<RenderFailure> {
        [Side::Base, Side::Head].into_iter().find_map(|side| match self.side(side) {
            Some(Err(error)) => Some(RenderFailure { side, error: error.clone() }),
            _ => None,
        })
    }
}

/// How a unit differs between the diff base and head: what the plan decides from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "error", rename_all = "kebab-case")]
pub enum ChangeKind {
    /// Exists on both sides, output differs.
    Modified,
    /// Exists only at head (or there is no base: everything is new).
    Added,
    /// Exists only at base.
    Deleted,
    /// Failed to render at base or head: the errors, for people.
    Failed(String),
}

/// A unit affected by the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitChange {
    pub unit: String,
    pub change: ChangeKind,
}

/// The answer: which units a change affects and why. Every list is sorted by unit path.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Detection {
    pub base: Option<CommitId>,
    pub head: Option<CommitId>,
    pub changed_files: Vec<ChangedPath>,
    /// Units to apply: their output changes, they are new, or they fail to render.
    pub affected: Vec<String>,
    /// Units whose read set a change touched but whose output is byte-identical.
    pub unchanged_output: Vec<String>,
    /// Affected units that failed to render on either side.
    pub failed: Vec<FailedUnit>,
    /// Units that exist only at head (also in `affected`).
    pub new: Vec<String>,
    /// Units that exist only at base (to tear down).
    pub deleted: Vec<String>,
    /// Per affected or unchanged-output unit, the changed paths that reached it.
    pub reasons: BTreeMap<String, Vec<String>>,
    /// Every unit at head, with its environment.
    pub units: Vec<Unit>,
    /// Caveats: e.g. a truncated changed-file listing, or a base tree that could not be read.
    pub notes: Vec<String>,
    /// Renders of the affected units, for the diff stage (not serialised).
    #[serde(skip)]
    pub renders: BTreeMap<String, UnitRenders>,
    /// The deleted units with their environments, as discovered at base (not serialised).
    #[serde(skip)]
    pub deleted_units: Vec<Unit>,
}

/// Tunables.
#[derive(Clone, Copy, Debug)]
pub struct DetectOptions {
    /// Render both sides of affected units and set aside those whose output did not change.
    pub refine: bool,
    /// Render (to take read sets) only the units whose dependency scope a change can reach.
    /// Sound only when the renderer restricts loads to kustomization directories (kustomize's
    /// default `rootonly`, as `render_with_kustomize` does); turn it off for `LoadRestrictor::None`.
    pub prune_by_scope: bool,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self { refine: true, prune_by_scope: true }
    }
}

/// Lends a borrowed file system to `RecordingFs`, which owns what it wraps.
#[derive(Debug)]
struct Lent<'a>(&'a dyn FileSystem);

impl FileSystem for Lent<'_> {
    fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
        self.0.read_file(path)
    }
    fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
        self.0.read_dir(path)
    }
    fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
        self.0.kind(path)
    }
    fn real_path(&self, path: &str) -> Result<Option<String>, FsError> {
        self.0.real_path(path)
    }
}

/// Renders `unit` on `fs` and returns the output with the paths it read.
fn render_recording(
    fs: &dyn FileSystem,
    unit: &str,
    render: RenderUnit<'_>,
) -> (Render, BTreeSet<String>) {
    let recording = RecordingFs::new(Lent(fs));
    let output = render(&recording, unit);
    (output, recording.read_set())
}

/// The changed paths, also as seen through symlinks: a build records the paths it asked for,
/// and a path through a link names the link's target.
#[derive(Debug, Default)]
struct ChangedSet {
    /// Path as a build may ask for it → the changed path it stands for (the reported reason).
    paths: BTreeMap<String, String>,
    /// Changed paths that are symlinks (at base or head): every path below them goes through them.
    links: BTreeSet<String>,
}

impl ChangedSet {
    fn new(changed: &BTreeSet<&str>, symlinks: &[(String, String)]) -> Self {
        let mut paths: BTreeMap<String, String> =
            changed.iter().map(|path| (path.to_string(), path.to_string())).collect();
        // Follow links onto changed targets; chains resolve in a few rounds (bounded for loops).
        for _ in 0..8 {
            let mut added = Vec::new();
            for (link, target) in symlinks {
                for (path, reason) in &paths {
                    if let Some(rest) = below(path, target) {
                        let alias =
                            if rest.is_empty() { link.clone() } else { format!("{link}/{rest}") };
                        if !paths.contains_key(&alias) {
                            added.push((alias, reason.clone()));
                        }
                    }
                }
            }
            if added.is_empty() {
                break;
            }
            paths.extend(added);
        }
        let links = symlinks
            .iter()
            .map(|(link, _)| link.as_str())
            .filter(|link| changed.contains(link))
            .map(str::to_string)
            .collect();
        Self { paths, links }
    }

    fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The changed paths that reach a build which read `read_set`: read themselves, created or
    /// removed directly inside a directory it touched, or a changed link it read through.
    fn reasons(&self, read_set: &BTreeSet<String>) -> Vec<String> {
        let mut why: BTreeSet<String> = self
            .paths
            .iter()
            .filter(|(path, _)| read_set.contains(path.as_str()) || read_set.contains(parent(path)))
            .map(|(_, reason)| reason.clone())
            .collect();
        for link in &self.links {
            if read_set.iter().any(|read| below(read, link).is_some()) {
                why.insert(link.clone());
            }
        }
        why.into_iter().collect()
    }

    /// Whether a change can be in the read set of a build confined to `scope`.
    fn may_reach(&self, scope: &DependencyScope) -> bool {
        !scope.complete
            || self.paths.keys().any(|path| scope.covers(path) || scope.covers(parent(path)))
            || self.links.iter().any(|link| {
                scope.dirs.iter().chain(&scope.targets).any(|inside| below(inside, link).is_some())
            })
    }
}

/// The part of `path` below `dir` (`""` when they are equal), if `path` is `dir` or inside it.
fn below<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    if dir.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(dir)?;
    if rest.is_empty() { Some(rest) } else { rest.strip_prefix('/') }
}

/// Decides which units `changes` affects in `repo`.
pub fn detect(
    repo: &GitRepo,
    changes: &Changes,
    selection: &UnitSelection,
    read: ReadKustomization<'_>,
    render: RenderUnit<'_>,
    options: DetectOptions,
) -> Result<Detection, DetectError> {
    let head = changes.diff_base.head.clone();
    let base = changes.diff_base.base.clone();
    let mut detection = Detection {
        base: Some(base.clone()),
        head: Some(head.clone()),
        changed_files: changes.files.clone(),
        ..Default::default()
    };

    let head_fs = repo.tree_fs(&head)?;
    let head_units = units::discover(&head_fs, selection, read)
        .map_err(|source| DetectError::Units { side: "head", commit: head.clone(), source })?;
    // The base tree is unreadable when the changed files came from a listing and the base commit
    // was never fetched: then there is no refinement and deleted units cannot be named.
    let base_fs = match repo.tree_fs(&base) {
        Ok(fs) => Some(fs),
        Err(GitError::MissingCommit { .. })
            if matches!(changes.source, ChangesSource::Listing { .. }) =>
        {
            detection.notes.push(format!(
                "base commit {base} is not in the clone: units are matched at head only and not \
                 compared with their base render; deleted units cannot be listed"
            ));
            None
        }
        Err(err) => return Err(err.into()),
    };
    let changed: BTreeSet<&str> = changes.files.iter().flat_map(ChangedPath::paths).collect();
    // Units and their include graph come from kustomization files alone: when none changed, the
    // base has the same units and there is nothing to discover again.
    let kustomizations_changed =
        changed.iter().any(|path| units::KUSTOMIZATION_FILE_NAMES.contains(&file_name(path)));
    let base_units =
        match &base_fs {
            Some(_) if !kustomizations_changed => Some(head_units.clone()),
            Some(fs) => Some(units::discover(fs, selection, read).map_err(|source| {
                DetectError::Units { side: "base", commit: base.clone(), source }
            })?),
            None => None,
        };

    let head_paths: BTreeSet<&str> =
        head_units.units.iter().map(|unit| unit.path.as_str()).collect();
    let base_paths: BTreeSet<&str> = base_units
        .iter()
        .flat_map(|found| found.units.iter().map(|unit| unit.path.as_str()))
        .collect();
    if base_units.is_some() {
        detection.new = head_paths.difference(&base_paths).map(|path| path.to_string()).collect();
        detection.deleted =
            base_paths.difference(&head_paths).map(|path| path.to_string()).collect();
        detection.deleted_units = base_units
            .iter()
            .flat_map(|found| found.units.iter())
            .filter(|unit| !head_paths.contains(unit.path.as_str()))
            .cloned()
            .collect();
    }
    detection.units = head_units.units.clone();

    let truncated = match &changes.source {
        ChangesSource::Listing { truncated: Some(limit), name } => {
            detection.notes.push(format!(
                "{name} returned at most {} files ({}): the list of changed files may be incomplete, \
                 so every unit is treated as affected",
                limit.limit, limit.listing
            ));
            true
        }
        _ => false,
    };
    let mut symlinks = head_fs
        .symlinks()
        .map_err(|err| DetectError::Tree { commit: head.clone(), source: err })?;
    if let Some(fs) = &base_fs {
        symlinks.extend(
            fs.symlinks().map_err(|err| DetectError::Tree { commit: base.clone(), source: err })?,
        );
    }
    let changed = ChangedSet::new(&changed, &symlinks);
    if changed.is_empty() {
        return Ok(detection);
    }

    // Phase 0: only units whose dependency scope a change reaches can have it in their read set.
    let prune = options.prune_by_scope && !truncated;
    let candidates: Vec<&Unit> = if prune {
        let mut known = head_units.kustomizations.clone();
        head_units
            .units
            .iter()
            .filter(|unit| {
                let is_new = base_units.is_some() && !base_paths.contains(unit.path.as_str());
                is_new
                    || changed
                        .may_reach(&units::dependency_scope(&head_fs, &unit.path, &mut known, read))
            })
            .collect()
    } else {
        head_units.units.iter().collect()
    };

    // Phase 1: each candidate, rendered at head through a recorder, gives its read set.
    let head_results: Vec<(&Unit, Render, Vec<String>)> = candidates
        .into_par_iter()
        .map(|unit| {
            let (output, read_set) = render_recording(&head_fs, &unit.path, render);
            let mut why = changed.reasons(&read_set);
            if truncated && why.is_empty() {
                why.push("(changed-file list truncated)".to_string());
            }
            (unit, output, why)
        })
        // Candidates: matched units, new units, and units failing at head — a build that stops
        // early has read only part of what it depends on, so its read set proves nothing.
        .filter(|(unit, output, why)| {
            !why.is_empty()
                || output.is_err()
                || (base_units.is_some() && !base_paths.contains(unit.path.as_str()))
        })
        .collect();

    // Phase 2: the base side of each candidate, then the comparison.
    let refine = options.refine && base_fs.is_some();
    let outcomes: Vec<(String, Vec<String>, UnitRenders)> = head_results
        .into_par_iter()
        .map(|(unit, head_output, mut why)| {
            let exists_at_base = base_paths.contains(unit.path.as_str());
            let unmatched_failure = why.is_empty() && head_output.is_err();
            let base_output = match (&base_fs, exists_at_base && (refine || unmatched_failure)) {
                (Some(fs), true) => {
                    let (output, read_set) = render_recording(fs, &unit.path, render);
                    why.extend(changed.reasons(&read_set));
                    why.sort();
                    why.dedup();
                    Some(output)
                }
                _ => None,
            };
            (unit.path.clone(), why, UnitRenders { base: base_output, head: Some(head_output) })
        })
        .collect();

    for (unit, why, renders) in outcomes {
        let is_new = detection.new.contains(&unit);
        if let (true, false, Some(Err(base_error)), Some(Err(head_error))) =
            (why.is_empty(), is_new, &renders.base, &renders.head)
            && base_error == head_error
        {
            // Broken before and after, the same way, and nothing it read changed: this change did
            // not touch it. Said, not hidden, and not blamed on this change.
            detection
                .notes
                .push(format!("{unit} fails to render at both sides, unchanged: {head_error}"));
            continue;
        }
        let base_error = renders.base.as_ref().and_then(|result| result.as_ref().err().cloned());
        let head_error = renders.head.as_ref().and_then(|result| result.as_ref().err().cloned());
        let failed = base_error.is_some() || head_error.is_some();
        if failed {
            detection.failed.push(FailedUnit { unit: unit.clone(), base_error, head_error });
        }
        let unchanged =
            !failed && !is_new && renders.base.is_some() && renders.base == renders.head;
        if !why.is_empty() {
            detection.reasons.insert(unit.clone(), why);
        }
        if unchanged {
            detection.unchanged_output.push(unit);
        } else {
            detection.affected.push(unit.clone());
            detection.renders.insert(unit, renders);
        }
    }
    detection.affected.sort();
    detection.unchanged_output.sort();
    detection.failed.sort_by(|a, b| a.unit.cmp(&b.unit));
    Ok(detection)
}

/// Why `detect_request` failed: choosing the commits, or reading them.
#[derive(Debug, thiserror::Error)]
pub enum DetectRunError {
    #[error(transparent)]
    DiffBase(#[from] DiffBaseError),
    #[error(transparent)]
    Detect(#[from] DetectError),
}

impl DetectRunError {
    /// Whether the user's input is at fault: revisions that do not resolve, a folder that is
    /// not a repository, a clone without the history asked for, a unit glob that does not parse.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            DetectRunError::DiffBase(
                DiffBaseError::Git(
                    GitError::Open { .. }
                        | GitError::UnknownRevision { .. }
                        | GitError::MissingCommit { .. },
                ) | DiffBaseError::ShallowHistory { .. }
                    | DiffBaseError::Unrelated { .. },
            ) | DetectRunError::Detect(DetectError::Units {
                source: UnitError::BadGlob { .. },
                ..
            })
        )
    }
}

/// The whole of change detection for an event, as `plan` and the action call it: picks the diff
/// base (PRODUCT §3), fetches missing history from `remote` (gix; the git CLI as a fallback
/// when present) when the clone is shallow (else asks `fallback`, e.g. the GitHub API), then
/// detects with `render` (the run's `Renderer`), whose builds restrict loads with
/// `load_restrictor`. Scope pruning is used only under `rootonly`, the one it is sound for.
#[allow(clippy::too_many_arguments)]
pub fn detect_request(
    repo_path: &Path,
    request: &DiffRequest,
    selection: &UnitSelection,
    remote: &str,
    fallback: Option<&dyn ChangedFilesSource>,
    render: RenderUnit<'_>,
    load_restrictor: LoadRestrictor,
    options: DetectOptions,
) -> Result<Detection, DetectRunError> {
    let fetcher = deepen::detect(repo_path, remote);
    let fetcher = fetcher.as_deref();
    let (repo, changes) =
        diff_base::changes(repo_path, request, fetcher, fallback, FetchPolicy::default())?;
    let options = DetectOptions {
        prune_by_scope: options.prune_by_scope && load_restrictor == LoadRestrictor::RootOnly,
        ..options
    };
    Ok(detect(&repo, &changes, selection, &units::read_kustomization, render, options)?)
}

impl Detection {
    /// The plan's view: per environment, each unit to act on and how it changed (failed first
    /// wins over added or modified). Units whose environment is unknown (a glob without `{env}`
    /// outside any `overlays/` folder) are listed under the empty name.
    pub fn changes_by_environment(&self) -> BTreeMap<String, Vec<UnitChange>> {
        let environment_of = |path: &str| {
            self.units
                .iter()
                .chain(&self.deleted_units)
                .find(|unit| unit.path == path)
                .and_then(|unit| unit.environment.clone())
                .unwrap_or_default()
        };
        let mut out: BTreeMap<String, Vec<UnitChange>> = BTreeMap::new();
        for unit in &self.affected {
            let change =
                if let Some(failed) = self.failed.iter().find(|failed| failed.unit == *unit) {
                    let text: Vec<String> = failed
                        .failures()
                        .iter()
                        .map(|f| format!("{}: {}", f.side.as_str(), f.error))
                        .collect();
                    ChangeKind::Failed(text.join("; "))
                } else if self.new.contains(unit) {
                    ChangeKind::Added
                } else {
                    ChangeKind::Modified
                };
            out.entry(environment_of(unit))
                .or_default()
                .push(UnitChange { unit: unit.clone(), change });
        }
        for unit in &self.deleted {
            out.entry(environment_of(unit))
                .or_default()
                .push(UnitChange { unit: unit.clone(), change: ChangeKind::Deleted });
        }
        for changes in out.values_mut() {
            changes.sort_by(|a, b| a.unit.cmp(&b.unit));
        }
        out
    }

    /// The JSON form (stable: every list and map sorted).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"))
    }

    /// A short human-readable report.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let sha = |id: &Option<CommitId>| {
            id.as_ref().map_or_else(|| "(none)".to_string(), CommitId::to_string)
        };
        writeln!(out, "base {}", sha(&self.base))?;
        writeln!(out, "head {}", sha(&self.head))?;
        writeln!(out, "changed files: {}", self.changed_files.len())?;
        for file in &self.changed_files {
            writeln!(out, "  {}", ChangeLine(file))?;
        }
        let section = |out: &mut dyn Write,
                       title: &str,
                       units: &[String],
                       why: bool|
         -> std::io::Result<()> {
            writeln!(out, "{title}: {}", units.len())?;
            for unit in units {
                match self.reasons.get(unit).filter(|_| why) {
                    Some(why) => writeln!(out, "  {unit}  <- {}", why.join(", "))?,
                    None => writeln!(out, "  {unit}")?,
                }
            }
            Ok(())
        };
        section(out, "affected", &self.affected, true)?;
        section(out, "touched, output unchanged", &self.unchanged_output, true)?;
        writeln!(out, "failed: {}", self.failed.len())?;
        for failed in &self.failed {
            for (side, error) in [("base", &failed.base_error), ("head", &failed.head_error)] {
                if let Some(error) = error {
                    writeln!(out, "  {} ({side}): {error}", failed.unit)?;
                }
            }
        }
        section(out, "new", &self.new, false)?;
        section(out, "deleted", &self.deleted, false)?;
        for note in &self.notes {
            writeln!(out, "note: {note}")?;
        }
        Ok(())
    }
}

/// `M path`, `A path`, `D path` or `R from -> to`, as `git diff --name-status` shows them.
struct ChangeLine<'a>(&'a ChangedPath);

impl fmt::Display for ChangeLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::git::Change;
        match &self.0.change {
            Change::Added => write!(f, "A {}", self.0.path),
            Change::Modified => write!(f, "M {}", self.0.path),
            Change::Deleted => write!(f, "D {}", self.0.path),
            Change::Renamed { from } => write!(f, "R {from} -> {}", self.0.path),
        }
    }
}

/// Detection without a diff base: every unit of `fs` is new, rendered once.
pub fn everything_new(
    fs: &dyn FileSystem,
    selection: &UnitSelection,
    read: ReadKustomization<'_>,
    render: RenderUnit<'_>,
) -> Result<Detection, UnitError> {
    let discovery = units::discover(fs, selection, read)?;
    let renders: Vec<(String, Render)> = discovery
        .units
        .par_iter()
        .map(|unit| (unit.path.clone(), render(fs, &unit.path)))
        .collect();
    let mut detection = Detection { units: discovery.units.clone(), ..Detection::default() };
    for (unit, rendered) in renders {
        if let Err(error) = &rendered {
            detection.failed.push(FailedUnit {
                unit: unit.clone(),
                base_error: None,
                head_error: Some(error.clone()),
            });
        }
        detection.affected.push(unit.clone());
        detection.new.push(unit.clone());
        detection.renders.insert(unit, UnitRenders { base: None, head: Some(rendered) });
    }
    Ok(detection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_path_reaches_a_build_that_read_it_or_listed_its_folder() {
        let read_set: BTreeSet<String> = [
            "apps/base/web",
            "apps/base/web/deploy.yaml",
            "apps/overlays/testing/kustomization.yaml",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let changed: BTreeSet<&str> = [
            "apps/base/web/deploy.yaml",
            "apps/base/web/new.yaml",
            "apps/base/web/sub/deep.yaml",
            "docs/readme.md",
        ]
        .into_iter()
        .collect();
        let changed = ChangedSet::new(&changed, &[]);
        assert_eq!(
            changed.reasons(&read_set),
            ["apps/base/web/deploy.yaml", "apps/base/web/new.yaml"]
        );
    }

    #[test]
    fn a_change_behind_a_symlink_reaches_the_build_that_read_through_the_link() {
        let read_set: BTreeSet<String> = ["apps/web/config.env", "apps/shared-link/x.yaml"]
            .into_iter()
            .map(String::from)
            .collect();
        let links = [
            ("apps/web/config.env".to_string(), "shared/config.env".to_string()),
            ("apps/shared-link".to_string(), "shared".to_string()),
        ];
        let changed =
            ChangedSet::new(&["shared/config.env", "shared/x.yaml"].into_iter().collect(), &links);
        assert_eq!(changed.reasons(&read_set), ["shared/config.env", "shared/x.yaml"]);
        let retargeted = ChangedSet::new(&["apps/shared-link"].into_iter().collect(), &links);
        assert_eq!(retargeted.reasons(&read_set), ["apps/shared-link"]);
    }

    #[test]
    fn the_scope_check_lets_through_every_change_a_read_set_could_hold() {
        let scope = DependencyScope {
            dirs: ["apps/overlays/testing/web", "apps/base/web"]
                .into_iter()
                .map(String::from)
                .collect(),
            targets: ["apps/base/web", "apps/overlays/testing/web/missing.yaml"]
                .into_iter()
                .map(String::from)
                .collect(),
            complete: true,
        };
        let reaches = |paths: &[&str]| {
            ChangedSet::new(&paths.iter().copied().collect(), &[]).may_reach(&scope)
        };
        assert!(reaches(&["apps/base/web/deployment.yaml"]));
        assert!(reaches(&["apps/overlays/testing/web/missing.yaml"]));
        assert!(!reaches(&["apps/base/db/statefulset.yaml", "README.md"]));
        assert!(!reaches(&["apps/base/webby/x.yaml"]));
        assert!(
            ChangedSet::new(&["README.md"].into_iter().collect(), &[])
                .may_reach(&DependencyScope { complete: false, ..scope.clone() })
        );
    }

    #[test]
    fn everything_is_new_without_a_base() {
        let fs = kustomize::MemoryFs::new()
            .with("apps/overlays/testing/web/kustomization.yaml", "resources: [cm.yaml]\n")
            .with(
                "apps/overlays/testing/web/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n",
            )
            .with("apps/overlays/testing/bad/kustomization.yaml", "resources: [missing.yaml]\n");
        let selection = UnitSelection::for_config(&crate::config::Config::default());
        let detection = everything_new(
            &fs,
            &selection,
            &units::read_kustomization,
            &crate::render::render_default,
        )
        .unwrap();
        assert_eq!(detection.new, ["apps/overlays/testing/bad", "apps/overlays/testing/web"]);
        assert_eq!(detection.failed.len(), 1);
        assert_eq!(detection.failed[0].unit, "apps/overlays/testing/bad");
        let rendered =
            detection.renders["apps/overlays/testing/web"].head.clone().unwrap().unwrap();
        assert!(rendered.yaml.contains("kind: ConfigMap"));
    }
}
