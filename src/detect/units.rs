//! Units: the directories rendered and applied as a whole (PRODUCT §2), found in any file system
//! (a checkout on disk, or a commit's tree).
//!
//! Default discovery looks at each environment's tree — `<root>/overlays/<env>/` and the other
//! common layout `<root>/<app>/overlays/<env>/` — and takes the roots of the include graph inside
//! it: the kustomizations that no other kustomization of that tree includes. So
//! `apps/overlays/testing/` is the unit when its kustomization lists every app, and
//! `apps/overlays/testing/<app>/` are the units when each app stands alone. Explicit globs
//! (`--units`, config) override discovery: `{env}` in a glob stands for each environment, and `**`
//! makes every kustomization directory a unit.
//!
//! This module decides *which* directories are units; it does not render them. It learns a
//! directory's includes through `ReadKustomization`, so it does not depend on how kustomizations
//! are parsed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use kustomize::fs::child;
use kustomize::{EntryKind, FileSystem, FsError};
use rayon::prelude::*;
use serde::Serialize;

/// A unit: a kustomization directory, repository-relative, and the environment it belongs to
/// when the layout or the glob says so.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Unit {
    pub path: String,
    pub environment: Option<String>,
}

/// What discovery needs to know about one kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KustomizationInfo {
    /// `resources`, `bases`, `components`, `generators`, `transformers` and `validators` entries
    /// as written (relative to the directory): everything that can name another kustomization.
    pub includes: Vec<String>,
    /// `kind: Component`: never a unit of its own (kustomize cannot build it alone).
    pub is_component: bool,
    /// Other paths the build reads that may lie outside the directory (relative to it): each
    /// helm chart's folder under chartHome, its values file and additional values files.
    pub reads: Vec<String>,
    /// Set when the kustomization names helm charts in a way these paths cannot be told from
    /// (it does not parse): the scope is then unknown, and the unit is rendered.
    pub unknown_reads: bool,
}

/// Reads the kustomization in a directory: `Ok(None)` when the directory has none.
pub type ReadKustomization<'a> =
    &'a (dyn Fn(&dyn FileSystem, &str) -> Result<Option<KustomizationInfo>, String> + Sync);

/// How units are chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitSelection {
    /// Top folders holding `overlays/` (PRODUCT's roots). `None`: every top-level folder that has
    /// `overlays/` or `*/overlays/`.
    pub roots: Option<Vec<String>>,
    /// Environment names. `None`: every folder name found right under an `overlays/` folder.
    pub environments: Option<Vec<String>>,
    /// Explicit globs (repository-relative directories); when non-empty they replace discovery.
    pub globs: Vec<String>,
}

impl UnitSelection {
    /// The units the settings deploy: their roots, the overlay folders of their environments,
    /// and their unit globs.
    pub fn for_config(config: &crate::config::Config) -> UnitSelection {
        let mut environments: Vec<String> =
            config.environments.iter().map(|env| env.overlay.clone()).collect();
        environments.sort();
        environments.dedup();
        UnitSelection {
            roots: Some(config.roots.iter().map(|root| root.path.clone()).collect()),
            environments: Some(environments),
            globs: config.units.clone(),
        }
    }
}

/// Why discovery failed (a bad glob or an unreadable tree; a broken kustomization is reported
/// beside the units instead, since its render will fail visibly).
#[derive(Debug, thiserror::Error)]
pub enum UnitError {
    #[error("unit glob {glob:?} is invalid: {message}")]
    BadGlob { glob: String, message: String },
    #[error("listing the repository: {0}")]
    Fs(#[from] FsError),
}

/// Units found, with the kustomizations that could not be read while finding them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// Sorted by path.
    pub units: Vec<Unit>,
    /// (directory, error) for kustomizations discovery could not read; such a directory is
    /// treated as including nothing, so it stays a unit and its render reports the error.
    pub unreadable: Vec<(String, String)>,
    /// Every directory discovery looked at, with its kustomization (`None`: it has none), so
    /// `dependency_scope` need not read them again.
    pub kustomizations: BTreeMap<String, Option<KustomizationInfo>>,
}

/// Finds the units of `fs` per `selection`.
pub fn discover(
    fs: &dyn FileSystem,
    selection: &UnitSelection,
    read: ReadKustomization<'_>,
) -> Result<Discovery, UnitError> {
    let mut walker = Walker { fs, read, infos: BTreeMap::new(), unreadable: BTreeMap::new() };
    let units = if selection.globs.is_empty() {
        walker.discover_by_layout(selection)?
    } else {
        walker.discover_by_globs(selection)?
    };
    let mut units: Vec<Unit> = units.into_iter().collect();
    units.sort();
    units.dedup_by(|a, b| a.path == b.path);
    Ok(Discovery {
        units,
        unreadable: walker.unreadable.into_iter().collect(),
        kustomizations: walker.infos,
    })
}

/// Where a unit's build can read, found from kustomization files alone (no render): the
/// kustomization directories it includes, transitively, and every path an include entry names.
///
/// With kustomize's default load restrictor (`rootonly`) a build reads files only inside the
/// kustomization directories it loads, and probes the paths its entries name; so every path in
/// its read set is inside one of `dirs` or `targets`. Change detection uses this to render only
/// the units a change can reach. `complete` is false when some kustomization could not be read:
/// the scope is then unknown and the unit must be rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DependencyScope {
    pub dirs: BTreeSet<String>,
    pub targets: BTreeSet<String>,
    pub complete: bool,
}

impl DependencyScope {
    /// Whether `path` is inside the scope (a directory or target, or below one).
    pub fn covers(&self, path: &str) -> bool {
        let within = |root: &String| {
            root.is_empty()
                || path == root
                || (path.starts_with(root.as_str())
                    && path.as_bytes().get(root.len()) == Some(&b'/'))
        };
        self.dirs.iter().any(within) || self.targets.iter().any(within)
    }
}

/// The dependency scope of the unit at `unit`, reading kustomizations through `known` first.
pub fn dependency_scope(
    fs: &dyn FileSystem,
    unit: &str,
    known: &mut BTreeMap<String, Option<KustomizationInfo>>,
    read: ReadKustomization<'_>,
) -> DependencyScope {
    let mut scope = DependencyScope { complete: true, ..Default::default() };
    let mut queue = VecDeque::from([unit.to_string()]);
    while let Some(dir) = queue.pop_front() {
        if !scope.dirs.insert(dir.clone()) {
            continue;
        }
        let info = match known.get(&dir) {
            Some(info) => info.clone(),
            None => {
                let info = match read(fs, &dir) {
                    Ok(info) => info,
                    Err(_) => {
                        scope.complete = false;
                        None
                    }
                };
                known.insert(dir.clone(), info.clone());
                info
            }
        };
        let Some(info) = info else { continue };
        for entry in &info.includes {
            // Remote entries are the remote cache's; only local paths matter here.
            if let Some(target) = resolve_include(&dir, entry) {
                scope.targets.insert(target.clone());
                if fs.kind(&target).ok().flatten() == Some(EntryKind::Dir) {
                    queue.push_back(target);
                }
            }
        }
        scope.targets.extend(info.reads.iter().filter_map(|path| resolve_include(&dir, path)));
        if info.unknown_reads {
            scope.complete = false;
        }
    }
    scope
}

struct Walker<'a> {
    fs: &'a dyn FileSystem,
    read: ReadKustomization<'a>,
    /// Kustomization directories seen so far (None: not a kustomization directory).
    infos: BTreeMap<String, Option<KustomizationInfo>>,
    unreadable: BTreeMap<String, String>,
}

impl Walker<'_> {
    fn info(&mut self, dir: &str) -> Option<KustomizationInfo> {
        if let Some(known) = self.infos.get(dir) {
            return known.clone();
        }
        let info = match (self.read)(self.fs, dir) {
            Ok(info) => info,
            Err(message) => {
                self.unreadable.insert(dir.to_string(), message);
                Some(KustomizationInfo::default())
            }
        };
        self.infos.insert(dir.to_string(), info.clone());
        info
    }

    /// Reads the kustomizations of `dirs` not read yet, in parallel: parsing them is most of
    /// discovery's time in a repository with thousands of units.
    fn prefetch(&mut self, dirs: &[String]) {
        let missing: Vec<&String> =
            dirs.iter().filter(|dir| !self.infos.contains_key(*dir)).collect();
        let (fs, read) = (self.fs, self.read);
        let results: Vec<(&String, Result<Option<KustomizationInfo>, String>)> =
            missing.into_par_iter().map(|dir| (dir, read(fs, dir))).collect();
        for (dir, result) in results {
            let info = match result {
                Ok(info) => info,
                Err(message) => {
                    self.unreadable.insert(dir.clone(), message);
                    Some(KustomizationInfo::default())
                }
            };
            self.infos.insert(dir.clone(), info);
        }
    }

    fn subdirs(&self, dir: &str) -> Result<Vec<String>, FsError> {
        match self.fs.kind(dir)? {
            Some(EntryKind::Dir) => {}
            _ => return Ok(Vec::new()),
        }
        Ok(self
            .fs
            .read_dir(dir)?
            .into_iter()
            // Hidden folders (.git, .github) never hold units.
            .filter(|entry| entry.kind == EntryKind::Dir && !entry.name.starts_with('.'))
            .map(|entry| child(dir, &entry.name))
            .collect())
    }

    /// Every directory at or below `dir`, `dir` first.
    fn all_dirs(&self, dir: &str) -> Result<Vec<String>, FsError> {
        let mut out = Vec::new();
        let mut queue = VecDeque::from([dir.to_string()]);
        while let Some(next) = queue.pop_front() {
            queue.extend(self.subdirs(&next)?);
            out.push(next);
        }
        Ok(out)
    }

    /// The environment trees (`<root>/overlays/<env>` and `<root>/<app>/overlays/<env>`), each with
    /// its environment name.
    fn environment_trees(
        &self,
        selection: &UnitSelection,
    ) -> Result<Vec<(String, String)>, FsError> {
        let roots = match &selection.roots {
            Some(roots) => roots.clone(),
            None => self.subdirs("")?,
        };
        let mut overlay_folders = Vec::new();
        for root in roots {
            let direct = child(&root, "overlays");
            if self.fs.kind(&direct)? == Some(EntryKind::Dir) {
                overlay_folders.push(direct);
            }
            for app in self.subdirs(&root)? {
                let name = file_name(&app);
                if name == "overlays" || name == "base" {
                    continue;
                }
                let nested = child(&app, "overlays");
                if self.fs.kind(&nested)? == Some(EntryKind::Dir) {
                    overlay_folders.push(nested);
                }
            }
        }
        let mut trees = Vec::new();
        for overlays in overlay_folders {
            for env_dir in self.subdirs(&overlays)? {
                let env = file_name(&env_dir).to_string();
                let wanted = selection.environments.as_ref().is_none_or(|envs| envs.contains(&env));
                if wanted {
                    trees.push((env_dir, env));
                }
            }
        }
        Ok(trees)
    }

    fn discover_by_layout(
        &mut self,
        selection: &UnitSelection,
    ) -> Result<BTreeSet<Unit>, UnitError> {
        let mut units = BTreeSet::new();
        for (tree, env) in self.environment_trees(selection)? {
            for path in self.graph_roots(&tree)? {
                units.insert(Unit { path, environment: Some(env.clone()) });
            }
        }
        Ok(units)
    }

    /// The kustomization directories under `tree` that no other kustomization under `tree`
    /// includes. Directories caught in an include cycle (unreachable from any root) are kept too,
    /// so their render fails visibly instead of the unit vanishing.
    fn graph_roots(&mut self, tree: &str) -> Result<Vec<String>, UnitError> {
        let mut nodes: BTreeMap<String, KustomizationInfo> = BTreeMap::new();
        let dirs = self.all_dirs(tree)?;
        self.prefetch(&dirs);
        for dir in dirs {
            if let Some(info) = self.info(&dir) {
                nodes.insert(dir, info);
            }
        }
        let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let mut included: BTreeSet<String> = BTreeSet::new();
        for (dir, info) in &nodes {
            for entry in &info.includes {
                let Some(target) = resolve_include(dir, entry) else { continue };
                if target != *dir && nodes.contains_key(&target) {
                    included.insert(target.clone());
                    edges.entry(dir.as_str()).or_default().push(target);
                }
            }
        }
        let roots: Vec<String> =
            nodes.keys().filter(|dir| !included.contains(*dir)).cloned().collect();
        let mut reached: BTreeSet<String> = BTreeSet::new();
        let mut queue: VecDeque<String> = roots.iter().cloned().collect();
        while let Some(next) = queue.pop_front() {
            if reached.insert(next.clone()) {
                queue.extend(edges.get(next.as_str()).into_iter().flatten().cloned());
            }
        }
        let mut units: Vec<String> = roots;
        units.extend(nodes.keys().filter(|dir| !reached.contains(*dir)).cloned());
        units.retain(|dir| !nodes[dir].is_component);
        Ok(units)
    }

    fn discover_by_globs(
        &mut self,
        selection: &UnitSelection,
    ) -> Result<BTreeSet<Unit>, UnitError> {
        let all_dirs = self.all_dirs("")?;
        let environments = match &selection.environments {
            Some(envs) => envs.clone(),
            None => environments_in(&all_dirs),
        };
        // One compiled set per environment ({env} substituted), plus one for env-free globs.
        let mut sets: Vec<(Option<String>, GlobSet)> = Vec::new();
        let (with_env, without_env): (Vec<&String>, Vec<&String>) =
            selection.globs.iter().partition(|glob| glob.contains("{env}"));
        if !without_env.is_empty() {
            sets.push((
                None,
                compile(without_env.iter().map(|glob| (glob.to_string(), glob.as_str())))?,
            ));
        }
        if !with_env.is_empty() {
            for env in &environments {
                let expanded =
                    with_env.iter().map(|glob| (glob.replace("{env}", env), glob.as_str()));
                sets.push((Some(env.clone()), compile(expanded)?));
            }
        }
        let matched: Vec<(String, Option<String>)> = all_dirs
            .into_iter()
            .filter_map(|dir| {
                let (env, _) = sets.iter().find(|(_, set)| set.is_match(&dir))?;
                Some((dir, env.clone()))
            })
            .collect();
        self.prefetch(&matched.iter().map(|(dir, _)| dir.clone()).collect::<Vec<_>>());
        let mut units = BTreeSet::new();
        for (dir, env) in matched {
            let Some(info) = self.info(&dir) else { continue };
            if info.is_component {
                continue;
            }
            let environment = env.or_else(|| environment_of(&dir));
            units.insert(Unit { path: dir, environment });
        }
        Ok(units)
    }
}

/// The file names kustomize accepts for a kustomization, in its order of preference.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Reads the kustomization in `dir` far enough for discovery: its kind and the entries that can
/// name other kustomizations. Two kustomization files in one directory is an error, as in
/// kustomize.
pub fn read_kustomization(
    fs: &dyn FileSystem,
    dir: &str,
) -> Result<Option<KustomizationInfo>, String> {
    let mut found = Vec::new();
    for name in KUSTOMIZATION_FILE_NAMES {
        let path = child(dir, name);
        if fs.kind(&path).map_err(|err| err.to_string())? == Some(EntryKind::File) {
            found.push(path);
        }
    }
    let file = match found.as_slice() {
        [] => return Ok(None),
        [file] => file,
        [first, second, ..] => {
            return Err(format!("{dir}: found multiple kustomization files: {first} and {second}"));
        }
    };
    let bytes = fs.read_file(file).map_err(|err| err.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{file}: not UTF-8"))?;
    let document = kustomize::yaml::parse_document(&text, file).map_err(|err| err.to_string())?;
    let Some(map) = document.as_map() else {
        // An empty file is an empty kustomization.
        return Ok(Some(KustomizationInfo::default()));
    };
    let mut includes = Vec::new();
    for field in ["resources", "bases", "components", "generators", "transformers", "validators"] {
        let Some(value) = map.get(field) else { continue };
        if matches!(value, kustomize::Value::Null) {
            continue;
        }
        let Some(entries) = value.as_seq() else {
            return Err(format!("{file}: {field} must be a list"));
        };
        for entry in entries {
            let Some(entry) = entry.as_str() else {
                return Err(format!("{file}: {field} entries must be strings"));
            };
            includes.push(entry.to_string());
        }
    }
    let is_component = map.get("kind").and_then(kustomize::Value::as_str) == Some("Component");
    let mut reads = Vec::new();
    let mut unknown_reads = false;
    if HELM_FIELDS.iter().any(|field| map.contains_key(*field)) {
        match kustomize::kustomization::parse(&document, file) {
            Ok(k) => reads.extend(helm_reads(k.helm_globals.as_ref(), &k.helm_charts)),
            Err(_) => unknown_reads = true,
        }
    }
    for entry in map.get("generators").and_then(kustomize::Value::as_seq).into_iter().flatten() {
        match entry.as_str().map(|entry| plugin_helm_reads(fs, dir, file, entry)) {
            Some(Ok(found)) => reads.extend(found),
            _ => unknown_reads = true,
        }
    }
    Ok(Some(KustomizationInfo { includes, is_component, reads, unknown_reads }))
}

/// What a `generators` entry that configures the builtin `HelmChartInflationGenerator` reads
/// (nothing for other generators and for directories); `Err` when it cannot be told.
fn plugin_helm_reads(
    fs: &dyn FileSystem,
    dir: &str,
    file: &str,
    entry: &str,
) -> Result<Vec<String>, ()> {
    // An entry is an inline configuration (kustomize: it holds a line break) or a path.
    let text = if entry.contains('\n') {
        entry.to_owned()
    } else {
        let Some(path) = resolve_include(dir, entry) else { return Ok(Vec::new()) };
        match fs.kind(&path).map_err(|_| ())? {
            Some(EntryKind::File) => {}
            // A kustomization whose output is the configurations: not read here.
            Some(EntryKind::Dir) => return Err(()),
            _ => return Ok(Vec::new()),
        }
        String::from_utf8(fs.read_file(&path).map_err(|_| ())?).map_err(|_| ())?
    };
    let mut reads = Vec::new();
    for config in kustomize::yaml::parse_documents(&text, file).map_err(|_| ())? {
        let field = |name: &str| config.get_path(&[name]).and_then(kustomize::Value::as_str);
        if (field("apiVersion"), field("kind")) == (Some("builtin"), Some(PLUGIN_HELM_KIND)) {
            let (globals, chart) =
                kustomize::kustomization::plugin_helm_chart(&config, file).map_err(|_| ())?;
            reads.extend(helm_reads(Some(&globals), std::slice::from_ref(&chart)));
        }
    }
    Ok(reads)
}

/// The builtin generator that inflates a chart from a `generators` entry.
const PLUGIN_HELM_KIND: &str = "HelmChartInflationGenerator";

/// The kustomization fields that make a build read helm charts and values files.
const HELM_FIELDS: [&str; 3] = ["helmCharts", "helmGlobals", "helmChartInflationGenerator"];

/// What helm charts read, relative to their kustomization's directory, as the inflator
/// finds them: the chart under chartHome (for a pinned chart of a repository, in its
/// `<name>-<version>` folder), the values file, the additional values files.
fn helm_reads(
    globals: Option<&kustomize::kustomization::HelmGlobals>,
    charts: &[kustomize::kustomization::HelmChart],
) -> Vec<String> {
    let chart_home = globals
        .map(|globals| globals.chart_home.as_str())
        .filter(|home| !home.is_empty())
        .unwrap_or(kustomize::helm::DEFAULT_CHART_HOME);
    let mut reads = Vec::new();
    for chart in charts {
        if chart.name.is_empty() {
            continue;
        }
        reads.push(format!("{chart_home}/{}", chart.name));
        if !chart.version.is_empty() {
            reads.push(format!("{chart_home}/{}-{}/{}", chart.name, chart.version, chart.name));
        }
        reads.extend(
            std::iter::once(&chart.values_file)
                .chain(&chart.additional_values_files)
                .filter(|path| !path.is_empty())
                .cloned(),
        );
    }
    reads
}

fn compile<'g>(globs: impl Iterator<Item = (String, &'g str)>) -> Result<GlobSet, UnitError> {
    let mut builder = GlobSetBuilder::new();
    for (glob, written) in globs {
        let trimmed = glob.trim_matches('/');
        let bad = |err: globset::Error| UnitError::BadGlob {
            glob: written.to_string(),
            message: err.to_string(),
        };
        // `*` stays inside one folder; `**` crosses folders (and matches the root itself).
        builder.add(GlobBuilder::new(trimmed).literal_separator(true).build().map_err(bad)?);
        if trimmed == "**" {
            builder.add(GlobBuilder::new("").build().map_err(bad)?);
        }
    }
    builder
        .build()
        .map_err(|err| UnitError::BadGlob { glob: "(set)".into(), message: err.to_string() })
}

/// Folder names found right under an `overlays/` folder: the environments the repository has.
fn environments_in(dirs: &[String]) -> Vec<String> {
    let found: BTreeSet<String> = dirs.iter().filter_map(|dir| environment_of(dir)).collect();
    found.into_iter().collect()
}

/// The folder after the last `overlays/` in `dir`, if any: the environment (overlay folder) a
/// unit of the default layouts belongs to.
pub fn environment_of(dir: &str) -> Option<String> {
    let parts: Vec<&str> = dir.split('/').collect();
    let at = parts.iter().rposition(|part| *part == "overlays")?;
    parts.get(at + 1).map(|env| env.to_string())
}

/// The directory an include entry names, when it is a local path inside the repository.
fn resolve_include(dir: &str, entry: &str) -> Option<String> {
    if entry.contains("://") || entry.starts_with("git@") || entry.starts_with('/') {
        return None;
    }
    kustomize::fs::join(dir, entry).ok()
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn selection_follows_roots_and_overlays() {
        let selection = super::UnitSelection::for_config(&crate::config::Config::default());
        assert_eq!(selection.roots.unwrap(), ["apps", "infrastructure"]);
        assert_eq!(selection.environments.unwrap(), ["production", "testing"]);
    }

    use std::collections::BTreeMap;

    use kustomize::DirEntry;

    use super::*;

    /// Directories with optional kustomizations; a kustomization is written as its include list,
    /// one entry per line (`component` on the first line marks a Component).
    #[derive(Debug, Default)]
    struct Tree {
        files: BTreeMap<String, String>,
    }

    impl Tree {
        fn with(mut self, dir: &str, includes: &[&str]) -> Self {
            self.files.insert(child(dir, "kustomization.yaml"), includes.join("\n"));
            self
        }
        fn with_file(mut self, path: &str) -> Self {
            self.files.insert(path.to_string(), String::new());
            self
        }
    }

    impl FileSystem for Tree {
        fn read_file(&self, path: &str) -> Result<Vec<u8>, FsError> {
            self.files
                .get(path)
                .map(|s| s.clone().into_bytes())
                .ok_or(FsError::NotFound { path: path.into() })
        }
        fn read_dir(&self, path: &str) -> Result<Vec<DirEntry>, FsError> {
            let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
            let mut entries: BTreeMap<String, EntryKind> = BTreeMap::new();
            for file in self.files.keys() {
                if let Some(rest) = file.strip_prefix(&prefix) {
                    match rest.split_once('/') {
                        Some((dir, _)) => entries.insert(dir.to_string(), EntryKind::Dir),
                        None => entries.insert(rest.to_string(), EntryKind::File),
                    };
                }
            }
            Ok(entries.into_iter().map(|(name, kind)| DirEntry { name, kind }).collect())
        }
        fn kind(&self, path: &str) -> Result<Option<EntryKind>, FsError> {
            if self.files.contains_key(path) {
                return Ok(Some(EntryKind::File));
            }
            let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
            Ok(self.files.keys().any(|f| f.starts_with(&prefix)).then_some(EntryKind::Dir))
        }
        fn real_path(&self, path: &str) -> Result<Option<String>, FsError> {
            Ok(self.kind(path)?.map(|_| path.to_string()))
        }
    }

    fn read(fs: &dyn FileSystem, dir: &str) -> Result<Option<KustomizationInfo>, String> {
        match fs.read_file(&child(dir, "kustomization.yaml")) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|e| e.to_string())?;
                if text == "broken" {
                    return Err("broken kustomization".into());
                }
                let mut includes: Vec<String> = text.lines().map(str::to_string).collect();
                let is_component = includes.first().is_some_and(|l| l == "component");
                if is_component {
                    includes.remove(0);
                }
                Ok(Some(KustomizationInfo { includes, is_component, ..Default::default() }))
            }
            Err(_) => Ok(None),
        }
    }

    fn paths(tree: &Tree, selection: &UnitSelection) -> Vec<(String, Option<String>)> {
        discover(tree, selection, &read)
            .unwrap()
            .units
            .into_iter()
            .map(|u| (u.path, u.environment))
            .collect()
    }

    fn unit(path: &str, env: &str) -> (String, Option<String>) {
        (path.to_string(), Some(env.to_string()))
    }

    #[test]
    fn an_environment_folder_listing_every_app_is_the_one_unit() {
        let tree = Tree::default()
            .with("apps/base/web", &["deploy.yaml"])
            .with("apps/overlays/testing", &["web", "db"])
            .with("apps/overlays/testing/web", &["../../../base/web"])
            .with("apps/overlays/testing/db", &[]);
        assert_eq!(
            paths(&tree, &UnitSelection::default()),
            vec![unit("apps/overlays/testing", "testing")]
        );
    }

    #[test]
    fn per_app_overlays_are_units_when_the_environment_folder_has_no_kustomization() {
        let tree = Tree::default()
            .with("apps/base/web", &["deploy.yaml"])
            .with("apps/overlays/production/web", &["../../../base/web", "extra"])
            .with("apps/overlays/production/web/extra", &[])
            .with("apps/overlays/production/db", &[])
            .with("infrastructure/overlays/production", &["../../base"])
            .with("infrastructure/base", &[]);
        assert_eq!(
            paths(&tree, &UnitSelection::default()),
            vec![
                unit("apps/overlays/production/db", "production"),
                unit("apps/overlays/production/web", "production"),
                unit("infrastructure/overlays/production", "production"),
            ]
        );
    }

    #[test]
    fn the_app_first_layout_is_discovered_and_environments_can_be_restricted() {
        let tree = Tree::default()
            .with("apps/web/base", &[])
            .with("apps/web/overlays/testing", &["../../base"])
            .with("apps/web/overlays/production", &["../../base"])
            .with_file("apps/README.md");
        let selection =
            UnitSelection { environments: Some(vec!["testing".into()]), ..Default::default() };
        assert_eq!(paths(&tree, &selection), vec![unit("apps/web/overlays/testing", "testing")]);
        let selection =
            UnitSelection { roots: Some(vec!["infrastructure".into()]), ..Default::default() };
        assert!(paths(&tree, &selection).is_empty());
    }

    #[test]
    fn components_are_never_units_and_cycles_still_surface() {
        let tree = Tree::default()
            .with("apps/overlays/testing/web", &["../shared-component"])
            .with("apps/overlays/testing/shared-component", &["component"])
            .with("apps/overlays/testing/lonely-component", &["component"])
            .with("apps/overlays/testing/a", &["../b"])
            .with("apps/overlays/testing/b", &["../a"]);
        assert_eq!(
            paths(&tree, &UnitSelection::default()),
            vec![
                unit("apps/overlays/testing/a", "testing"),
                unit("apps/overlays/testing/b", "testing"),
                unit("apps/overlays/testing/web", "testing"),
            ]
        );
    }

    #[test]
    fn an_unreadable_kustomization_stays_a_unit_and_is_reported() {
        let mut tree = Tree::default().with("apps/overlays/testing/web", &[]);
        tree.files
            .insert("apps/overlays/testing/broken/kustomization.yaml".into(), "broken".into());
        let found = discover(&tree, &UnitSelection::default(), &read).unwrap();
        let paths: Vec<&str> = found.units.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, ["apps/overlays/testing/broken", "apps/overlays/testing/web"]);
        assert_eq!(
            found.unreadable,
            vec![("apps/overlays/testing/broken".into(), "broken kustomization".into())]
        );
    }

    #[test]
    fn globs_override_discovery_with_env_substitution() {
        let tree = Tree::default()
            .with("clusters/home/testing", &[])
            .with("clusters/home/production", &[])
            .with("clusters/home/testing/inner", &[])
            .with("apps/overlays/staging/web", &[]);
        let selection = UnitSelection {
            environments: Some(vec!["testing".into()]),
            globs: vec!["clusters/*/{env}".into()],
            ..Default::default()
        };
        assert_eq!(paths(&tree, &selection), vec![unit("clusters/home/testing", "testing")]);
    }

    #[test]
    fn double_star_makes_every_kustomization_directory_a_unit() {
        let tree = Tree::default()
            .with("", &[])
            .with("apps/base/web", &[])
            .with("apps/overlays/staging/web", &["../../../base/web"])
            .with_file("docs/readme.md");
        let selection = UnitSelection { globs: vec!["**".into()], ..Default::default() };
        assert_eq!(
            paths(&tree, &selection),
            vec![
                (String::new(), None),
                ("apps/base/web".to_string(), None),
                unit("apps/overlays/staging/web", "staging"),
            ]
        );
    }

    #[test]
    fn a_bad_glob_is_an_error_naming_it() {
        let tree = Tree::default().with("a", &[]);
        let selection = UnitSelection { globs: vec!["apps/[".into()], ..Default::default() };
        let err = discover(&tree, &selection, &read).unwrap_err();
        assert!(err.to_string().contains("apps/["), "{err}");
    }

    #[test]
    fn the_scope_holds_charts_and_values_files_wherever_chart_home_points() {
        let fs = kustomize::MemoryFs::new()
            .with(
                "apps/overlays/testing/notes/kustomization.yaml",
                "helmGlobals:\n  chartHome: ../../../../charts\nhelmCharts:\n- name: notes\n  \
                 valuesFile: ../../../../values/notes.yaml\n  additionalValuesFiles: [../extra.yaml]\n\
                 - name: cache\n  repo: https://charts.example\n  version: 1.2.0\n",
            )
            .with("charts/notes/Chart.yaml", "name: notes\n")
            .with(
                "apps/overlays/testing/plugin/kustomization.yaml",
                "generators: [chart.yaml]\n",
            )
            .with(
                "apps/overlays/testing/plugin/chart.yaml",
                "apiVersion: builtin\nkind: HelmChartInflationGenerator\nmetadata:\n  name: x\n\
                 name: notes\nchartHome: ../../../../charts\n",
            )
            .with("apps/overlays/testing/broken/kustomization.yaml", "helmCharts: {}\n");
        let scope =
            |unit: &str| dependency_scope(&fs, unit, &mut BTreeMap::new(), &read_kustomization);
        let notes = scope("apps/overlays/testing/notes");
        assert!(notes.complete);
        for path in [
            "charts/notes/templates/deployment.yaml",
            "values/notes.yaml",
            "apps/overlays/testing/extra.yaml",
            "charts/cache-1.2.0/cache/Chart.yaml",
        ] {
            assert!(notes.covers(path), "{path} not in {notes:?}");
        }
        assert!(!notes.covers("charts/other/Chart.yaml"));
        assert!(scope("apps/overlays/testing/plugin").covers("charts/notes/values.yaml"));
        // A helm field that does not parse: the scope is unknown, so the unit is rendered.
        assert!(!scope("apps/overlays/testing/broken").complete);
    }

    #[test]
    fn read_kustomization_collects_resources_bases_and_components() {
        let fs = kustomize::MemoryFs::new()
            .with(
                "a/kustomization.yaml",
                "resources:\n- ../base\n- deploy.yaml\nbases: [../old]\ncomponents:\n- ../comp\n",
            )
            .with(
                "comp/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
            )
            .with("empty/Kustomization", "")
            .with("two/kustomization.yaml", "")
            .with("two/kustomization.yml", "")
            .with("bad/kustomization.yaml", "resources: deploy.yaml\n");
        let info = read_kustomization(&fs, "a").unwrap().unwrap();
        assert_eq!(info.includes, ["../base", "deploy.yaml", "../old", "../comp"]);
        assert!(!info.is_component);
        assert!(read_kustomization(&fs, "comp").unwrap().unwrap().is_component);
        assert_eq!(read_kustomization(&fs, "empty").unwrap(), Some(KustomizationInfo::default()));
        assert_eq!(read_kustomization(&fs, "nothing").unwrap(), None);
        assert!(
            read_kustomization(&fs, "two").unwrap_err().contains("multiple kustomization files")
        );
        assert!(read_kustomization(&fs, "bad").unwrap_err().contains("resources must be a list"));
    }
}
