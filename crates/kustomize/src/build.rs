//! THE pipeline: `kustomize build`, step for step in kustomize's order.
//!
//! For one kustomization (`accumulate`): resources (files, multi-document files, `List`s and
//! nested kustomization directories, each built on its own first) → transformer configurations
//! (`configurations`, `crds`) → generators (`configMapGenerator`, `secretGenerator`,
//! `generators`) → components (each applied to everything accumulated so far) → builtin
//! transformers in kustomize's fixed order (strategic-merge patches, patches, namespace,
//! prefix, suffix, labels, annotations, JSON 6902 patches, replicas, images, replacements) →
//! `transformers` entries → vars collected. Then, once, at the top (`build`): hash suffixes →
//! name-reference fix-ups → vars resolved → local-config objects dropped → sort.
//!
//! The order matters and is kustomize's: names must be final (prefix, suffix, hash) before
//! references are fixed, and hashes are computed on the transformed content.
//!
//! The patch and replacement algorithms live in `patch` (`patch::stage` is their glue) and
//! `transform::replacements`; legacy vars in `transform::vars`.

use std::cell::RefCell;

use crate::error::BuildError;
use crate::field_specs::{FieldSpec, TransformerConfig};
use crate::fs::{self, FileSystem};
use crate::generate::{self, GeneratorKind};
use crate::helm::{self, ChartUse, Helm};
use crate::kustomization::{
    GeneratorArgs, ImageEntry, Kustomization, KustomizationKind, LabelEntry, ReplicaEntry,
};
use crate::limits;
use crate::loader::{self, LoadRestrictor, Loader, Target};
use crate::patch::stage;
use crate::remote::{self, GitTarget, RemoteErrorKind, RemoteLoader};
use crate::resource::{Behavior, Provenance, ResMap, Resource};
use crate::transform::vars::{self, VarDefinition};
use crate::transform::{
    hash_suffix, images, labels, name_affix, name_references, namespace, replicas, sort,
};
use crate::value::{Map, Value};

/// How to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    pub load_restrictor: LoadRestrictor,
    /// Obtains remote targets (git repositories, http(s) files); without one they are refused
    /// with `BuildError::Unsupported`.
    pub remote: Option<std::sync::Arc<dyn RemoteLoader>>,
    /// Inflate `helmCharts` with this helm (`--enable-helm`); `None` refuses them, as kustomize
    /// does without `--enable-helm`. Share one `Helm` between the builds of a run.
    pub helm: Option<Helm>,
}

/// What a build made: the objects, and what it used that the caller may want to report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildOutput {
    /// The rendered objects, in output order.
    pub objects: Vec<Value>,
    /// The helm charts inflated, in build order (with the version each resolved to).
    pub charts: Vec<ChartUse>,
}

/// Builds the kustomization in `dir` (repository-relative) and returns the rendered objects in
/// output order.
///
/// The build runs on a thread of its own with a stack of `limits::BUILD_STACK_BYTES`, so that
/// what a repository can make deep (a chain of thousands of kustomizations, documents nested
/// as deep as kubectl allows) never exhausts the caller's stack, whatever thread calls.
pub fn build(
    fs: &dyn FileSystem,
    dir: &str,
    options: &BuildOptions,
) -> Result<Vec<Value>, BuildError> {
    build_output(fs, dir, options).map(|output| output.objects)
}

/// `build`, also returning what the build used (`BuildOutput`). Like `build`, it runs on a
/// thread with a `limits::BUILD_STACK_BYTES` stack.
pub fn build_output(
    fs: &dyn FileSystem,
    dir: &str,
    options: &BuildOptions,
) -> Result<BuildOutput, BuildError> {
    limits::on_build_stack(|| build_here(fs, dir, options))
}

fn build_here(
    fs: &dyn FileSystem,
    dir: &str,
    options: &BuildOptions,
) -> Result<BuildOutput, BuildError> {
    let dir = fs::join("", dir).map_err(|e| BuildError::fs(dir, e))?;
    let loader = Loader::new(fs, options.load_restrictor);
    // kustomize builds the directory where its links lead: entries are relative to it.
    let dir = loader.real_dir(&dir)?;
    let kustomization = loader.load_kustomization(&dir)?;
    let charts = RefCell::new(Vec::new());
    // kustomize tracks provenance whenever the top kustomization has any `buildMetadata`
    // (nested kustomizations inherit the top's setting).
    let ctx = Context {
        loader,
        provenance_root: (!kustomization.build_metadata.is_empty()).then_some(dir.as_str()),
        remote: options.remote.as_deref(),
        within: None,
        helm: options.helm.as_ref(),
        charts: &charts,
        visited: None,
        nesting: 0,
    };
    let mut accumulated = Accumulator::new();
    accumulate(&ctx, &dir, &kustomization, &mut accumulated)?;
    let file = kustomization.file.as_str();

    let mut resources = accumulated.resources.into_vec();
    check_output_limits(&resources, file)?;
    hash_suffix::add_hash_suffixes(&mut resources);
    name_references::fix_name_references(&mut resources, &accumulated.config.name_reference)
        .map_err(|m| BuildError::transform(file, "nameReference", m))?;
    resolve_vars(&mut resources, &accumulated.vars, &accumulated.config, file)?;
    resources.retain(|resource| resource.annotation(LOCAL_CONFIG_ANNOTATION) != Some("true"));
    apply_sort(&mut resources, &kustomization)?;
    if kustomization.build_metadata.iter().any(|option| option == "managedByLabel") {
        let label = [(MANAGED_BY_LABEL.to_owned(), format!("kustomize-{KUSTOMIZE_VERSION}"))];
        labels::set_pairs(&mut resources, &label, &[FieldSpec::any_kind("metadata/labels", true)])
            .map_err(|m| BuildError::transform(file, "buildMetadata", m))?;
    }
    let wants = |option: &str| kustomization.build_metadata.iter().any(|o| o == option);
    let (origins, transformations) = (wants("originAnnotations"), wants("transformerAnnotations"));
    for resource in &mut resources {
        write_provenance(resource, origins, transformations);
        stringify_annotations(resource);
        drop_empty_annotations(resource);
    }
    Ok(BuildOutput {
        objects: resources.into_iter().map(|resource| resource.value).collect(),
        charts: charts.into_inner(),
    })
}

/// The bounds on what a build returns: no object nests deeper than kubectl renders, and all
/// objects together weigh at most `limits::MAX_OUTPUT_BYTES` (transformers may have grown
/// them since they were counted in).
fn check_output_limits(resources: &[Resource], file: &str) -> Result<(), BuildError> {
    let mut total = 0usize;
    for resource in resources {
        let exceeded = |limit| BuildError::LimitExceeded {
            file: resource.source.clone(),
            limit,
            what: format!("object {}", resource.id()),
        };
        if limits::depth(&resource.value) > limits::MAX_DEPTH {
            return Err(exceeded(crate::error::Limit::Depth));
        }
        let weight = limits::weight(&resource.value);
        if weight > limits::MAX_OBJECT_BYTES {
            return Err(exceeded(crate::error::Limit::ObjectBytes));
        }
        total = total.saturating_add(weight);
    }
    if total > limits::MAX_OUTPUT_BYTES {
        return Err(BuildError::LimitExceeded {
            file: file.to_owned(),
            limit: crate::error::Limit::OutputBytes,
            what: "the objects of this build".into(),
        });
    }
    Ok(())
}

/// Prints tracked provenance as kustomize's annotations, when asked for.
fn write_provenance(resource: &mut Resource, origins: bool, transformations: bool) {
    let mut annotations = Vec::new();
    if origins && let Some(origin) = &resource.origin {
        annotations.push((ORIGIN_ANNOTATION, origin.to_annotation()));
    }
    if transformations && !resource.transformations.is_empty() {
        annotations.push((
            TRANSFORMATIONS_ANNOTATION,
            Provenance::list_to_annotation(&resource.transformations),
        ));
    }
    for (key, text) in annotations {
        let metadata = resource.metadata_mut();
        let entry =
            metadata.entry("annotations".to_owned()).or_insert_with(|| Value::Map(Map::new()));
        if !matches!(entry, Value::Map(_)) {
            *entry = Value::Map(Map::new());
        }
        if let Value::Map(map) = entry {
            map.insert(key.to_owned(), Value::String(text));
        }
    }
}

/// One build: how files are read, whether provenance is tracked, and helm.
#[derive(Debug, Clone, Copy)]
struct Context<'a> {
    loader: Loader<'a>,
    /// The directory being built, when provenance is tracked (paths in origins are relative
    /// to it; inside a remote repository, to the repository's root).
    provenance_root: Option<&'a str>,
    /// Fetches remote targets, when the caller configured it.
    remote: Option<&'a dyn RemoteLoader>,
    /// The remote repository the kustomization being built comes from (innermost first), for
    /// cycle detection and origins; `None` for the caller's own tree.
    within: Option<&'a RemoteFrame<'a>>,
    helm: Option<&'a Helm>,
    /// The charts inflated so far.
    charts: &'a RefCell<Vec<ChartUse>>,
    /// The kustomization directories being built in this file system, innermost first
    /// (kustomize's loader `referrer` chain), for cycle detection.
    visited: Option<&'a Visited<'a>>,
    /// How many kustomizations enclose the current one, remote ones included.
    nesting: usize,
}

/// One kustomization directory on the way from the top kustomization (or the root of the
/// remote repository being built) to the current one.
#[derive(Debug)]
struct Visited<'a> {
    dir: &'a str,
    outer: Option<&'a Visited<'a>>,
}

/// One remote repository on the way from the top kustomization to the current one.
#[derive(Debug)]
struct RemoteFrame<'a> {
    target: &'a GitTarget,
    outer: Option<&'a RemoteFrame<'a>>,
}

impl Context<'_> {
    /// kustomize's `errIfArgEqualOrHigher`: building `candidate` (named in `file`) would loop
    /// when any kustomization directory on the way here lies in or below it. Checked before
    /// the candidate is loaded, so a cycle of any length ends at its first repetition.
    fn refuse_cycle(&self, file: &str, candidate: &str) -> Result<(), BuildError> {
        let mut visited = self.visited;
        while let Some(frame) = visited {
            if fs::is_within(frame.dir, candidate) {
                return Err(BuildError::Cycle {
                    file: file.to_owned(),
                    dir: loader::display_dir(frame.dir),
                    target: loader::display_dir(candidate),
                });
            }
            visited = frame.outer;
        }
        Ok(())
    }

    /// `path` as an origin path, when provenance is tracked.
    fn provenance_path(&self, path: &str) -> Option<String> {
        self.provenance_root.map(|root| fs::relative_to(path, root))
    }

    /// The origin of objects read from `path`, when provenance is tracked.
    fn origin(&self, path: &str) -> Option<Provenance> {
        let path = self.provenance_path(path)?;
        Some(self.in_repo(Provenance { path, ..Provenance::default() }))
    }

    /// `provenance` with the remote repository (and ref) it comes from, as kustomize's
    /// `Origin.Append` records a repository URL.
    fn in_repo(&self, mut provenance: Provenance) -> Provenance {
        if let Some(frame) = self.within {
            provenance.repo = frame.target.clone_url();
            provenance.git_ref = frame.target.git_ref.clone().unwrap_or_default();
        }
        provenance
    }

    /// Records that a builtin transformer configured in `file` ran over `resources`, as
    /// kustomize's `AddTransformerAnnotation` (an object without an origin takes it as one).
    fn record_builtin(&self, resources: &mut [Resource], file: &str, kind: &str, times: usize) {
        let Some(configured_in) = self.provenance_path(file) else { return };
        let by = self.in_repo(Provenance {
            configured_in,
            configured_by: Some(["builtin".into(), kind.into(), String::new(), String::new()]),
            ..Provenance::default()
        });
        for _ in 0..times {
            record_transformation(resources, &by);
        }
    }
}

fn record_transformation(resources: &mut [Resource], by: &Provenance) {
    for resource in resources.iter_mut() {
        if resource.origin.is_none() {
            resource.origin = Some(by.clone());
        } else {
            resource.transformations.push(by.clone());
        }
    }
}

/// The provenance of objects made or changed by a plugin configuration object (kustomize's
/// `OriginFromCustomPlugin`): configured in the file the configuration came from.
fn plugin_provenance(config: &Resource) -> Option<Provenance> {
    let origin = config.origin.as_ref()?;
    Some(Provenance {
        repo: origin.repo.clone(),
        git_ref: origin.git_ref.clone(),
        configured_in: origin.path.clone(),
        configured_by: Some([
            config.api_version().to_owned(),
            config.kind().to_owned(),
            config.name().to_owned(),
            config.namespace().to_owned(),
        ]),
        ..Provenance::default()
    })
}

/// kustomize rewrites every annotation as a string when it strips its build annotations at the
/// end, so `port: 8080` in annotations prints as `port: "8080"` (labels keep their type).
fn stringify_annotations(resource: &mut Resource) {
    let Some(Value::Map(annotations)) = resource.value.get_path_mut(&["metadata", "annotations"])
    else {
        return;
    };
    for value in annotations.values_mut() {
        if !matches!(value, Value::String(_))
            && let Some(text) = crate::resource::scalar_text(value)
        {
            *value = Value::String(text);
        }
    }
}

/// kustomize tags every object with internal annotations while it builds and strips them at
/// the end; writing the stripped map back removes an `annotations` field that is empty or null
/// (labels are untouched).
fn drop_empty_annotations(resource: &mut Resource) {
    let Some(metadata) = resource.value.get_path_mut(&["metadata"]).and_then(Value::as_map_mut)
    else {
        return;
    };
    let empty = match metadata.get("annotations") {
        Some(Value::Null) => true,
        Some(Value::Map(annotations)) => annotations.is_empty(),
        _ => false,
    };
    if empty {
        metadata.shift_remove("annotations");
    }
}

/// Builds and prints as `kubectl kustomize` does.
pub fn build_yaml(
    fs: &dyn FileSystem,
    dir: &str,
    options: &BuildOptions,
) -> Result<String, BuildError> {
    limits::on_build_stack(|| {
        let output = build_here(fs, dir, options)?;
        Ok(crate::yaml::emit_documents(&output.objects))
    })
}

/// Objects carrying this annotation with value "true" are dropped from the output.
const LOCAL_CONFIG_ANNOTATION: &str = "config.kubernetes.io/local-config";
const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS_ANNOTATION: &str = "alpha.config.kubernetes.io/transformations";
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The kustomize release whose behaviour we reproduce (used by `buildMetadata: [managedByLabel]`).
const KUSTOMIZE_VERSION: &str = "v5.5.0";

/// What a kustomization has gathered so far: objects and the field-spec tables in force.
#[derive(Debug, Clone)]
struct Accumulator {
    resources: ResMap,
    /// The `limits::weight` of the objects as they were added (files read, objects made,
    /// nested builds absorbed), for the output budget.
    bytes: usize,
    config: TransformerConfig,
    /// Legacy `vars` declared so far, by this kustomization and everything it includes.
    vars: Vec<VarDefinition>,
}

impl Accumulator {
    /// An empty accumulator: no objects and empty tables (each kustomization merges the
    /// builtin tables in, as kustomize's `MergeConfig` does; the merge order matters).
    fn new() -> Accumulator {
        Accumulator {
            resources: ResMap::new(),
            bytes: 0,
            config: TransformerConfig::default(),
            vars: Vec::new(),
        }
    }

    /// kustomize's `MergeAccumulator`: append (duplicates refused) and merge tables.
    fn absorb(&mut self, other: Accumulator, file: &str) -> Result<(), BuildError> {
        // A base reached through many paths is copied once per path: the budget counts every
        // copy, so that a "diamond" of kustomizations cannot multiply objects without bound.
        let other_bytes = other.resources.iter().map(|r| limits::weight(&r.value)).sum();
        self.charge(other_bytes, file)?;
        self.resources
            .append_all(other.resources)
            .map_err(|id| BuildError::DuplicateId { file: file.to_owned(), id: id.to_string() })?;
        self.config
            .merge(&other.config)
            .map_err(|m| BuildError::invalid(file, "configurations", m))?;
        self.vars.extend(other.vars);
        vars::check_unique(&self.vars)
            .map_err(|e| BuildError::transform(file, "vars", e.to_string()))
    }
}

impl Accumulator {
    /// Counts `bytes` more objects against `limits::MAX_OUTPUT_BYTES`.
    fn charge(&mut self, bytes: usize, file: &str) -> Result<(), BuildError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > limits::MAX_OUTPUT_BYTES {
            return Err(BuildError::LimitExceeded {
                file: file.to_owned(),
                limit: crate::error::Limit::OutputBytes,
                what: "the objects of this build".into(),
            });
        }
        Ok(())
    }
}

/// One kustomization's `accumulateTarget`, adding to `acc`.
fn accumulate(
    ctx: &Context<'_>,
    dir: &str,
    k: &Kustomization,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let file = k.file.as_str();
    if ctx.nesting >= limits::MAX_NESTED_KUSTOMIZATIONS {
        return Err(BuildError::LimitExceeded {
            file: file.to_owned(),
            limit: crate::error::Limit::NestedKustomizations,
            what: "the chain of kustomizations including one another".into(),
        });
    }
    let frame = Visited { dir, outer: ctx.visited };
    let ctx = &Context { visited: Some(&frame), nesting: ctx.nesting + 1, ..*ctx };
    for entry in &k.resources {
        accumulate_resource(ctx, dir, file, "resources", entry, acc)?;
    }
    merge_tables(ctx, dir, k, acc)?;
    run_generators(ctx, dir, k, acc)?;
    for entry in &k.components {
        accumulate_component(ctx, dir, file, entry, acc)?;
    }
    run_builtin_transformers(ctx, dir, k, acc)?;
    for entry in &k.transformers {
        run_transformer_config(ctx, dir, k, entry, acc)?;
    }
    if !k.validators.is_empty() {
        return Err(BuildError::Unsupported {
            file: file.to_owned(),
            field: "validators".into(),
            what: "validator plugins are not run".into(),
        });
    }
    merge_vars(k, acc)
}

/// The transformer tables a kustomization works with: kustomize's builtin ones merged with its
/// `configurations` and `crds`, merged into what is accumulated. (Kept out of `accumulate` so
/// that the frames of the recursion through nested kustomizations stay small.)
fn merge_tables(
    ctx: &Context<'_>,
    dir: &str,
    k: &Kustomization,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let file = k.file.as_str();
    // kustomize's `MakeTransformerConfig`: the builtin tables merged with the configuration
    // files (themselves merged in order), then merged into what is accumulated.
    let mut with_files = None;
    if !k.configurations.is_empty() {
        let mut files = TransformerConfig::default();
        for entry in &k.configurations {
            let (path, bytes) = ctx.loader.read_restricted(dir, file, entry)?;
            let value = loader::parse_single(&bytes, &path)?;
            let config = TransformerConfig::from_value(&value)
                .map_err(|m| BuildError::invalid(&path, "configurations", m))?;
            files.merge(&config).map_err(|m| BuildError::invalid(&path, "configurations", m))?;
        }
        let mut tables = TransformerConfig::builtin().clone();
        tables.merge(&files).map_err(|m| BuildError::invalid(file, "configurations", m))?;
        with_files = Some(tables);
    }
    let tables = with_files.as_ref().unwrap_or(TransformerConfig::builtin());
    acc.config.merge(tables).map_err(|m| BuildError::invalid(file, "configurations", m))?;
    // kustomize's `LoadConfigFromCRDs`: tables derived from the listed OpenAPI definitions.
    if !k.crds.is_empty() {
        let mut derived = TransformerConfig::default();
        for entry in &k.crds {
            let (path, bytes) = ctx.loader.read_restricted(dir, file, entry)?;
            let definitions = loader::parse_single(&bytes, &path)?;
            let config = crate::crd_config::config_from_definitions(&definitions)
                .map_err(|m| BuildError::invalid(&path, "crds", m))?;
            derived.merge(&config).map_err(|m| BuildError::invalid(&path, "crds", m))?;
        }
        acc.config.merge(&derived).map_err(|m| BuildError::invalid(file, "crds", m))?;
    }
    Ok(())
}

/// One `components` entry, applied to everything accumulated so far.
fn accumulate_component(
    ctx: &Context<'_>,
    dir: &str,
    file: &str,
    entry: &str,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    // kustomize's `loader.New`: a git URL before any local directory.
    if let Ok(target) = remote::parse_git_target(entry) {
        accumulate_git(ctx, file, "components", &target, true, acc)?;
        return Ok(());
    }
    let component_dir = match ctx.loader.resolve(dir, file, "components", entry)? {
        Target::Dir(path) => path,
        Target::File(path) => {
            return Err(BuildError::invalid(
                file,
                "components",
                format!("'{path}' must be a directory"),
            ));
        }
    };
    let component = load_nested(ctx, file, &component_dir, KustomizationKind::Component)?;
    // A component works on everything accumulated so far, as if its content were inlined.
    accumulate(ctx, &component_dir, &component, acc)
}

/// kustomize's `MergeVars`: each var is bound to the one object (by current or previous id) it
/// names, if present at this level, and joins the set of declared vars.
fn merge_vars(k: &Kustomization, acc: &mut Accumulator) -> Result<(), BuildError> {
    let file = k.file.as_str();
    let fail = |e: vars::VarError| BuildError::transform(file, "vars", e.to_string());
    for entry in &k.vars {
        let var = VarDefinition::from_value(entry).map_err(fail)?;
        let matches: Vec<usize> = acc
            .resources
            .iter()
            .enumerate()
            .filter(|(_, resource)| {
                std::iter::once(resource.id()).chain(resource.previous_ids.iter().cloned()).any(
                    |id| {
                        var.refers_to(&id.gvk.api_version(), &id.gvk.kind, &id.name, &id.namespace)
                    },
                )
            })
            .map(|(index, _)| index)
            .collect();
        match matches.as_slice() {
            [] => {}
            [index] => acc.resources.get_mut(*index).ref_var_names.push(var.name.clone()),
            _ => {
                return Err(BuildError::transform(
                    file,
                    "vars",
                    format!(
                        "found {} resId matches for var {} (unable to disambiguate)",
                        matches.len(),
                        var.name
                    ),
                ));
            }
        }
        acc.vars.push(var);
    }
    vars::check_unique(&acc.vars).map_err(fail)
}

/// kustomize's `ResolveVars`: every declared var takes its value from its object (after all
/// renames), then `$(NAME)` references in the `varReference` fields are replaced.
fn resolve_vars(
    resources: &mut [Resource],
    declared: &[VarDefinition],
    config: &TransformerConfig,
    file: &str,
) -> Result<(), BuildError> {
    if declared.is_empty() {
        return Ok(());
    }
    let fail = |e: vars::VarError| BuildError::transform(file, "vars", e.to_string());
    let mut values = std::collections::HashMap::new();
    for var in declared {
        let owner = resources
            .iter()
            .find(|resource| resource.ref_var_names.contains(&var.name))
            .ok_or_else(|| fail(vars::VarError::Unbound { name: var.name.clone() }))?;
        values.insert(var.name.clone(), vars::var_value(var, &owner.value).map_err(fail)?);
    }
    let mut objects: Vec<Value> =
        resources.iter_mut().map(|r| std::mem::replace(&mut r.value, Value::Null)).collect();
    let result = vars::substitute(&mut objects, &values, &config.var_reference);
    for (resource, object) in resources.iter_mut().zip(objects) {
        resource.value = object;
    }
    result.map(|_| ()).map_err(fail)
}

/// One `resources` entry: a file of objects or a kustomization directory built on its own.
fn accumulate_resource(
    ctx: &Context<'_>,
    dir: &str,
    file: &str,
    field: &str,
    entry: &str,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    if let Some(result) = accumulate_if_remote(ctx, dir, file, field, entry, acc) {
        return result;
    }
    match ctx.loader.resolve(dir, file, field, entry)? {
        Target::File(path) => accumulate_file(ctx, file, &path, acc),
        Target::Dir(path) => accumulate_dir(ctx, file, &path, acc),
    }
}

/// A `resources` entry that kustomize reads as a remote target, accumulated; `None` when it is
/// local. kustomize loads an entry as a file first (an http(s) URL is fetched), then as a base:
/// a git URL before a local directory.
fn accumulate_if_remote(
    ctx: &Context<'_>,
    dir: &str,
    file: &str,
    field: &str,
    entry: &str,
    acc: &mut Accumulator,
) -> Option<Result<(), BuildError>> {
    if remote::is_remote_file(entry) {
        return Some(accumulate_remote_file(ctx, file, field, entry, acc));
    }
    let target = remote::parse_git_target(entry).ok()?;
    let local = fs::join(dir, entry).ok().map(|path| ctx.loader.fs.kind(&path));
    if matches!(local, Some(Ok(Some(fs::EntryKind::File)))) {
        return None;
    }
    Some(accumulate_git(ctx, file, field, &target, false, acc))
}

/// A resource file: its objects appended.
fn accumulate_file(
    ctx: &Context<'_>,
    file: &str,
    path: &str,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let bytes = ctx.loader.fs.read_file(path).map_err(|e| BuildError::fs(file, e))?;
    append_file_objects(&bytes, path, ctx.origin(path), acc)
}

/// The kustomization of the directory `path` named in `file`, which must be of `kind` (boxed,
/// so that the frames of the recursion through nested kustomizations stay small).
fn load_nested(
    ctx: &Context<'_>,
    file: &str,
    path: &str,
    kind: KustomizationKind,
) -> Result<Box<Kustomization>, BuildError> {
    ctx.refuse_cycle(file, path)?;
    let nested = ctx.loader.load_kustomization(path)?;
    if nested.kind != kind {
        let expected = if kind == KustomizationKind::Component { "" } else { "!= " };
        return Err(BuildError::invalid(
            &nested.file,
            "kind",
            format!("expected kind {expected}'Component' for path '{path}'"),
        ));
    }
    Ok(Box::new(nested))
}

/// A kustomization directory named as a resource: built on its own, then absorbed.
fn accumulate_dir(
    ctx: &Context<'_>,
    file: &str,
    path: &str,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let nested = load_nested(ctx, file, path, KustomizationKind::Kustomization)?;
    let mut sub = Accumulator::new();
    accumulate(ctx, path, &nested, &mut sub)?;
    acc.absorb(sub, &nested.file)
}

/// Appends the objects of a resource file, each with `origin`.
fn append_file_objects(
    bytes: &[u8],
    path: &str,
    origin: Option<Provenance>,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    for mut resource in resources_from_file(bytes, path)? {
        acc.charge(limits::weight(&resource.value), path)?;
        resource.origin.clone_from(&origin);
        acc.resources
            .append(resource)
            .map_err(|id| BuildError::DuplicateId { file: path.to_owned(), id: id.to_string() })?;
    }
    Ok(())
}

/// A `resources` entry that is an http(s) URL. kustomize GETs it as a file of objects; when
/// that fails (any status outside 2xx, a transport error, content that is not objects) and the
/// URL also reads as a git repository — almost every https URL does — it builds the
/// repository instead.
fn accumulate_remote_file(
    ctx: &Context<'_>,
    file: &str,
    field: &str,
    url: &str,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let Some(loader) = ctx.remote else {
        return Err(loader::unsupported_remote(file, field, url));
    };
    let git = remote::parse_git_target(url).ok();
    let file_error = match loader.http_file(url) {
        Ok(bytes) => {
            // kustomize's `Origin.Append`: a URL that reads as a repository is recorded as one.
            let origin = ctx.provenance_root.map(|_| match &git {
                Some(target) => Provenance {
                    // kustomize cuts the first component off its uncloned placeholder path
                    // `/notCloned/<path>`, which leaves `notCloned` itself for an empty path.
                    path: match fs::join("", &target.path) {
                        Ok(path) if path.is_empty() => "notCloned".to_owned(),
                        Ok(path) => path,
                        Err(_) => target.path.clone(),
                    },
                    repo: target.clone_url(),
                    git_ref: target.git_ref.clone().unwrap_or_default(),
                    ..Provenance::default()
                },
                None => Provenance { path: url.to_owned(), ..Provenance::default() },
            });
            let mut fetched = Accumulator::new();
            match append_file_objects(&bytes, url, origin, &mut fetched) {
                Ok(()) => {
                    return acc.resources.append_all(fetched.resources).map_err(|id| {
                        BuildError::DuplicateId { file: url.to_owned(), id: id.to_string() }
                    });
                }
                Err(error) => error,
            }
        }
        Err(source) => {
            let status = matches!(source.kind, RemoteErrorKind::HttpStatus(_));
            let error = BuildError::Remote {
                file: file.to_owned(),
                field: field.to_owned(),
                url: url.to_owned(),
                source,
            };
            // kustomize gives up on an HTTP error status unless the URL is a repository.
            if status && git.is_none() {
                return Err(error);
            }
            error
        }
    };
    let Some(target) = git else { return Err(file_error) };
    accumulate_git(ctx, file, field, &target, false, acc).map_err(|git_error| {
        // As kustomize: content that is not valid YAML is reported as such (the repository
        // attempt was a guess), unless the repository attempt timed out.
        let timed_out = matches!(
            &git_error,
            BuildError::Remote { source, .. } if source.kind == RemoteErrorKind::Timeout
        );
        if matches!(file_error, BuildError::Yaml { .. }) && !timed_out {
            file_error
        } else {
            git_error
        }
    })
}

/// A remote git base (or component, when `component`): the kustomization at the target's path
/// in the repository's tree, built as kustomize builds a clone — with the load restrictor
/// `rootonly` whatever the caller chose, every path confined to the repository, nested bases
/// and components (remote ones too) resolved from there.
fn accumulate_git(
    ctx: &Context<'_>,
    file: &str,
    field: &str,
    target: &GitTarget,
    component: bool,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let Some(loader) = ctx.remote else {
        return Err(loader::unsupported_remote(file, field, &target.raw));
    };
    // kustomize's `errIfRepoCycle`: a repository URL that prefixes one already being built.
    let mut frame = ctx.within;
    while let Some(outer) = frame {
        if outer.target.raw.starts_with(&target.raw) {
            return Err(BuildError::Cycle {
                file: file.to_owned(),
                dir: outer.target.raw.clone(),
                target: target.raw.clone(),
            });
        }
        frame = outer.outer;
    }
    let tree = loader.git_tree(target).map_err(|source| BuildError::Remote {
        file: file.to_owned(),
        field: field.to_owned(),
        url: target.raw.clone(),
        source,
    })?;
    let in_remote = |source: BuildError| BuildError::InRemote {
        file: file.to_owned(),
        url: target.raw.clone(),
        commit: tree.commit.clone(),
        source: Box::new(source),
    };
    let fs = tree.fs.as_ref();
    let root =
        fs::join("", &target.path).map_err(|e| in_remote(BuildError::fs(&target.path, e)))?;
    let misplaced = |what: &str| {
        let root = loader::display_dir(&root);
        let at = format!("remote '{}' (commit {})", target.raw, tree.commit);
        Err(BuildError::invalid(file, field, format!("{at}: '{root}' {what}")))
    };
    match fs.kind(&root).map_err(|e| in_remote(BuildError::fs(&root, e)))? {
        Some(fs::EntryKind::Dir) => {}
        Some(fs::EntryKind::File) => return misplaced("is a file; expecting a directory"),
        None => return misplaced("does not exist in the repository"),
    }
    let frame = RemoteFrame { target, outer: ctx.within };
    let sub = Context {
        loader: Loader::new(fs, LoadRestrictor::RootOnly),
        provenance_root: ctx.provenance_root.map(|_| ""),
        remote: ctx.remote,
        within: Some(&frame),
        helm: ctx.helm,
        charts: ctx.charts,
        // Paths in the repository's tree are another file system's: its own chain starts here.
        visited: None,
        nesting: ctx.nesting,
    };
    let nested = sub.loader.load_kustomization(&root).map_err(in_remote)?;
    let is_component = nested.kind == KustomizationKind::Component;
    if component != is_component {
        let expected = if component { "" } else { "!= " };
        return Err(in_remote(BuildError::invalid(
            &nested.file,
            "kind",
            format!("expected kind {expected}'Component' for path '{}'", target.raw),
        )));
    }
    if component {
        return accumulate(&sub, &root, &nested, acc).map_err(in_remote);
    }
    let mut built = Accumulator::new();
    accumulate(&sub, &root, &nested, &mut built).map_err(in_remote)?;
    acc.absorb(built, file)
}

/// The objects of a resource file: every document, `List`s expanded.
pub fn resources_from_file(bytes: &[u8], path: &str) -> Result<Vec<Resource>, BuildError> {
    let mut out = Vec::new();
    for document in loader::parse_many(bytes, path)? {
        push_objects(document, path, &mut out)?;
    }
    Ok(out)
}

fn push_objects(document: Value, path: &str, out: &mut Vec<Resource>) -> Result<(), BuildError> {
    let Value::Map(map) = document else {
        return Err(BuildError::InvalidResource {
            file: path.to_owned(),
            message: "expected a mapping".into(),
        });
    };
    if map.is_empty() {
        return Ok(());
    }
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("").to_owned();
    // Only a list of items is expanded; a `List` whose `items` is a mapping is read as an
    // object of its own, which then lacks metadata, as kustomize reports.
    if kind.ends_with("List")
        && let Some(items) = map.get("items").filter(|items| !matches!(items, Value::Map(_)))
    {
        for item in items.as_seq().unwrap_or(&[]) {
            push_objects(item.clone(), path, out)?;
        }
        return Ok(());
    }
    if kind.is_empty() {
        return Err(BuildError::InvalidResource {
            file: path.to_owned(),
            message: "missing kind".into(),
        });
    }
    let value = Value::Map(map);
    if value.get_path(&["metadata", "name"]).and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(BuildError::InvalidResource {
            file: path.to_owned(),
            message: format!("missing metadata.name in object of kind {kind}"),
        });
    }
    out.push(Resource::new(value, path));
    Ok(())
}

/// `configMapGenerator` then `secretGenerator`, each entry merged into the accumulated objects.
fn run_generators(
    ctx: &Context<'_>,
    dir: &str,
    k: &Kustomization,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let file = k.file.as_str();
    let kinds = [
        (GeneratorKind::ConfigMap, "configMapGenerator", &k.config_map_generator),
        (GeneratorKind::Secret, "secretGenerator", &k.secret_generator),
    ];
    for (kind, field, entries) in kinds {
        let by = ctx.provenance_path(file).map(|configured_in| Provenance {
            repo: ctx.within.map(|f| f.target.clone_url()).unwrap_or_default(),
            git_ref: ctx.within.and_then(|f| f.target.git_ref.clone()).unwrap_or_default(),
            configured_in,
            configured_by: Some([
                "builtin".into(),
                kind.kind_name().into(),
                String::new(),
                String::new(),
            ]),
            ..Provenance::default()
        });
        for args in entries {
            let global = k.generator_options.as_ref();
            run_generator(ctx, dir, file, field, kind, args, global, by.clone(), acc)?;
        }
    }
    let by = ctx.provenance_path(file).map(|configured_in| Provenance {
        configured_in,
        configured_by: Some([
            "builtin".into(),
            "HelmChartInflationGenerator".into(),
            String::new(),
            String::new(),
        ]),
        ..Provenance::default()
    });
    for (index, chart) in k.helm_charts.iter().enumerate() {
        let globals = k.helm_globals.as_ref();
        run_helm_chart(ctx, dir, file, index, chart, globals, by.clone(), acc)?;
    }
    for entry in &k.generators {
        for config in plugin_configs(ctx, dir, file, "generators", entry)? {
            let by = plugin_provenance(&config);
            let config = config.value;
            let api_version =
                config.get_path(&["apiVersion"]).and_then(Value::as_str).unwrap_or("");
            let kind_name = config.get_path(&["kind"]).and_then(Value::as_str).unwrap_or("");
            let kind = match (api_version, kind_name) {
                ("builtin", "ConfigMapGenerator") => GeneratorKind::ConfigMap,
                ("builtin", "SecretGenerator") => GeneratorKind::Secret,
                ("builtin", "HelmChartInflationGenerator") => {
                    let (globals, chart) = crate::kustomization::plugin_helm_chart(&config, file)?;
                    run_helm_chart(ctx, dir, file, 0, &chart, Some(&globals), by, acc)?;
                    continue;
                }
                ("builtin", "IAMPolicyGenerator") => {
                    let mut resource = generate::iam_policy_service_account(&config)
                        .map_err(|m| BuildError::transform(file, "generators", m))?;
                    resource.source = file.to_owned();
                    resource.origin = by;
                    absorb_generated(&mut acc.resources, resource)
                        .map_err(|m| BuildError::transform(file, "generators", m))?;
                    continue;
                }
                _ => {
                    return Err(BuildError::Unsupported {
                        file: file.to_owned(),
                        field: "generators".into(),
                        what: format!("generator plugin {api_version}/{kind_name}"),
                    });
                }
            };
            let args = crate::kustomization::plugin_generator_args(
                &config,
                file,
                kind == GeneratorKind::Secret,
            )?;
            run_generator(ctx, dir, file, "generators", kind, &args, None, by, acc)?;
        }
    }
    Ok(())
}

/// One `helmCharts` entry: its objects join the accumulated ones as a generator's do.
#[allow(clippy::too_many_arguments)]
fn run_helm_chart(
    ctx: &Context<'_>,
    dir: &str,
    file: &str,
    index: usize,
    chart: &crate::kustomization::HelmChart,
    globals: Option<&crate::kustomization::HelmGlobals>,
    provenance: Option<Provenance>,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let entry = helm::Entry { loader: &ctx.loader, dir, file, index, chart, globals };
    let inflated = helm::inflate(ctx.helm, entry)?;
    ctx.charts.borrow_mut().push(inflated.used);
    for mut resource in inflated.resources {
        resource.source = file.to_owned();
        resource.origin.clone_from(&provenance);
        absorb_generated(&mut acc.resources, resource)
            .map_err(|m| BuildError::transform(file, "helmCharts", m))?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn run_generator(
    ctx: &Context<'_>,
    dir: &str,
    file: &str,
    field: &str,
    kind: GeneratorKind,
    args: &GeneratorArgs,
    global: Option<&crate::kustomization::GeneratorOptions>,
    provenance: Option<Provenance>,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let read = |entry: &str| -> Result<Vec<u8>, String> {
        ctx.loader
            .read_restricted(dir, file, entry)
            .map(|(_, bytes)| bytes)
            .map_err(|e| e.to_string())
    };
    let mut resource = generate::generate(kind, args, global, &read).map_err(|e| match e {
        generate::GenerateError::Entry(message) => BuildError::transform(file, field, message),
        generate::GenerateError::Input { file: input, line, message } => {
            BuildError::GeneratorInput {
                file: input.map_or_else(
                    || file.to_owned(),
                    |input| fs::join(dir, &input).unwrap_or(input),
                ),
                line,
                kustomization: file.to_owned(),
                field: field.to_owned(),
                message,
            }
        }
    })?;
    resource.source = file.to_owned();
    resource.origin = provenance;
    absorb_generated(&mut acc.resources, resource)
        .map_err(|m| BuildError::transform(file, field, m))
}

/// kustomize's `appendReplaceOrMerge`: a generated object is added (`create`), or merged into /
/// replaces the one object that has (or had) its id.
fn absorb_generated(resources: &mut ResMap, mut generated: Resource) -> Result<(), String> {
    let id = generated.id();
    let behavior = generated.behavior.unwrap_or_default();
    let matches = resources.indexes_answering_to(&id);
    match matches.as_slice() {
        [] => match behavior {
            Behavior::Create => resources
                .append(generated)
                .map_err(|id| format!("may not add resource with an already registered id: {id}")),
            _ => Err(format!("id {id} does not exist; cannot merge or replace")),
        },
        [index] => {
            let old = resources.get(*index).clone();
            match behavior {
                Behavior::Create => {
                    return Err(format!("id {id} exists; behavior must be merge or replace"));
                }
                Behavior::Replace => copy_metadata_from(&mut generated, &old),
                Behavior::Merge => {
                    copy_metadata_from(&mut generated, &old);
                    for field in ["data", "binaryData"] {
                        merge_string_map_field(&mut generated.value, &old.value, field);
                    }
                    // A merged object keeps where it first came from.
                    if old.origin.is_some() {
                        generated.origin.clone_from(&old.origin);
                    }
                }
            }
            resources.set(*index, generated);
            Ok(())
        }
        _ => Err(format!("found multiple objects that could accept merge of {id}")),
    }
}

/// kustomize's `CopyMergeMetaDataFieldsFrom`: labels and annotations merged (the new object's
/// win), name, namespace and build bookkeeping taken from the old object.
fn copy_metadata_from(new: &mut Resource, old: &Resource) {
    for field in ["labels", "annotations"] {
        let mut merged: Map = old
            .value
            .get_path(&["metadata", field])
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        if let Some(Value::Map(own)) = new.value.get_path(&["metadata", field]) {
            for (key, value) in own {
                merged.insert(key.clone(), value.clone());
            }
        }
        if merged.is_empty() {
            new.metadata_mut().shift_remove(field);
        } else {
            new.metadata_mut().insert(field.to_owned(), Value::Map(merged));
        }
    }
    new.set_name(old.name());
    new.set_namespace(old.namespace());
    // Provenance lives in annotations in kustomize, merged like them: the new object's wins.
    if new.origin.is_none() {
        new.origin.clone_from(&old.origin);
    }
    if new.transformations.is_empty() {
        new.transformations.clone_from(&old.transformations);
    }
    new.previous_ids = old.previous_ids.clone();
    new.prefixes = old.prefixes.clone();
    new.suffixes = old.suffixes.clone();
    // The hash marker survives only when both sides carry it (kustomize keeps the old object's
    // build annotations and drops the marker when the new one lacks it).
    new.needs_hash_suffix = new.needs_hash_suffix && old.needs_hash_suffix;
}

fn merge_string_map_field(new: &mut Value, old: &Value, field: &str) {
    let Some(Value::Map(old_map)) = old.get_path(&[field]) else { return };
    let mut merged = old_map.clone();
    if let Some(Value::Map(own)) = new.get_path(&[field]) {
        for (key, value) in own {
            merged.insert(key.clone(), value.clone());
        }
    }
    if let Some(map) = new.as_map_mut()
        && !merged.is_empty()
    {
        map.insert(field.to_owned(), Value::Map(merged));
    }
}

/// The builtin transformers, in kustomize's fixed order.
fn run_builtin_transformers(
    ctx: &Context<'_>,
    dir: &str,
    k: &Kustomization,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let file = k.file.as_str();
    let config = &acc.config;
    let mut resources = std::mem::take(&mut acc.resources).into_vec();
    // Each builtin transformer kustomize would configure is recorded (when provenance is
    // tracked) right after it runs, as many times as kustomize configures it.
    let label_transformers =
        if k.labels.is_empty() && k.common_labels.is_empty() { 0 } else { k.labels.len() + 1 };
    let result = (|| {
        let origin = stage::Origin { loader: &ctx.loader, dir, file };
        let record = |resources: &mut Vec<Resource>, kind: &str, times: usize| {
            ctx.record_builtin(resources, file, kind, times);
        };
        stage::apply_patches_strategic_merge(origin, &k.patches_strategic_merge, &mut resources)?;
        record(
            &mut resources,
            "PatchStrategicMergeTransformer",
            usize::from(!k.patches_strategic_merge.is_empty()),
        );
        stage::apply_patches(origin, &k.patches, &mut resources)?;
        record(&mut resources, "PatchTransformer", k.patches.len());
        namespace::set_namespace(&mut resources, &k.namespace, &config.namespace)
            .map_err(|m| BuildError::transform(file, "namespace", m))?;
        record(&mut resources, "NamespaceTransformer", usize::from(!k.namespace.is_empty()));
        name_affix::add_affix(
            &mut resources,
            name_affix::Affix::Prefix,
            &k.name_prefix,
            &config.name_prefix,
        )
        .map_err(|m| BuildError::transform(file, "namePrefix", m))?;
        record(&mut resources, "PrefixTransformer", usize::from(!k.name_prefix.is_empty()));
        name_affix::add_affix(
            &mut resources,
            name_affix::Affix::Suffix,
            &k.name_suffix,
            &config.name_suffix,
        )
        .map_err(|m| BuildError::transform(file, "nameSuffix", m))?;
        record(&mut resources, "SuffixTransformer", usize::from(!k.name_suffix.is_empty()));
        apply_labels(&mut resources, &k.labels, &k.common_labels, config)
            .map_err(|m| BuildError::transform(file, "labels", m))?;
        record(&mut resources, "LabelTransformer", label_transformers);
        labels::set_pairs(&mut resources, &k.common_annotations, &config.common_annotations)
            .map_err(|m| BuildError::transform(file, "commonAnnotations", m))?;
        record(
            &mut resources,
            "AnnotationsTransformer",
            usize::from(!k.common_annotations.is_empty()),
        );
        stage::apply_patches_json6902(origin, &k.patches_json6902, &mut resources)?;
        record(&mut resources, "PatchJson6902Transformer", k.patches_json6902.len());
        apply_replicas(&mut resources, &k.replicas, config)
            .map_err(|m| BuildError::transform(file, "replicas", m))?;
        record(&mut resources, "ReplicaCountTransformer", k.replicas.len());
        apply_images(&mut resources, &k.images, config)
            .map_err(|m| BuildError::transform(file, "images", m))?;
        record(&mut resources, "ImageTagTransformer", k.images.len());
        stage::apply_replacements(origin, &k.replacements, &mut resources)?;
        record(&mut resources, "ReplacementTransformer", usize::from(!k.replacements.is_empty()));
        Ok(())
    })();
    acc.resources.replace_all(resources);
    result
}

fn apply_labels(
    resources: &mut [Resource],
    entries: &[LabelEntry],
    common_labels: &[(String, String)],
    config: &TransformerConfig,
) -> Result<(), String> {
    for entry in entries {
        let specs = labels::label_entry_specs(entry, config)?;
        labels::set_pairs(resources, &entry.pairs, &specs)?;
    }
    labels::set_pairs(resources, common_labels, &config.common_labels)
}

fn apply_replicas(
    resources: &mut [Resource],
    entries: &[ReplicaEntry],
    config: &TransformerConfig,
) -> Result<(), String> {
    entries.iter().try_for_each(|entry| replicas::set_replicas(resources, entry, &config.replicas))
}

fn apply_images(
    resources: &mut [Resource],
    entries: &[ImageEntry],
    config: &TransformerConfig,
) -> Result<(), String> {
    entries
        .iter()
        .try_for_each(|entry| images::ImageRewrite::new(entry)?.apply(resources, &config.images))
}

/// A `transformers` entry: builtin transformer configurations, inline or from files or
/// directories. Plugins that would run external code are refused.
fn run_transformer_config(
    ctx: &Context<'_>,
    dir: &str,
    k: &Kustomization,
    entry: &str,
    acc: &mut Accumulator,
) -> Result<(), BuildError> {
    let file = k.file.as_str();
    let configs = plugin_configs(ctx, dir, file, "transformers", entry)?;
    let mut resources = std::mem::take(&mut acc.resources).into_vec();
    let origin = stage::Origin { loader: &ctx.loader, dir, file };
    let result = configs.iter().try_for_each(|config| {
        apply_builtin_transformer(origin, &config.value, &mut resources, &acc.config)?;
        if ctx.provenance_root.is_some()
            && let Some(by) = plugin_provenance(config)
        {
            record_transformation(&mut resources, &by);
        }
        Ok(())
    });
    acc.resources.replace_all(resources);
    result
}

/// The plugin configuration objects an entry of `transformers` or `generators` names.
fn plugin_configs(
    ctx: &Context<'_>,
    dir: &str,
    file: &str,
    field: &str,
    entry: &str,
) -> Result<Vec<Resource>, BuildError> {
    // kustomize first tries the entry as inline YAML objects (their origin is the
    // kustomization itself), then as a path.
    if entry.contains('\n')
        && let Ok(mut resources) = resources_from_file(entry.as_bytes(), file)
        && !resources.is_empty()
    {
        let origin = ctx.origin(file);
        for resource in &mut resources {
            resource.origin.clone_from(&origin);
        }
        return Ok(resources);
    }
    let mut sub = Accumulator::new();
    accumulate_resource(ctx, dir, file, field, entry, &mut sub)?;
    Ok(sub.resources.into_vec())
}

fn apply_builtin_transformer(
    origin: stage::Origin<'_>,
    config: &Value,
    resources: &mut Vec<Resource>,
    tables: &TransformerConfig,
) -> Result<(), BuildError> {
    let file = origin.file;
    let api_version = config.get_path(&["apiVersion"]).and_then(Value::as_str).unwrap_or("");
    let kind = config.get_path(&["kind"]).and_then(Value::as_str).unwrap_or("");
    let unsupported = || BuildError::Unsupported {
        file: file.to_owned(),
        field: "transformers".into(),
        what: format!("transformer plugin {api_version}/{kind}"),
    };
    if api_version != "builtin" {
        return Err(unsupported());
    }
    let text = |key: &str| config.get_path(&[key]).and_then(Value::as_str).unwrap_or("").to_owned();
    let specs = |key: &str| -> Result<Vec<FieldSpec>, BuildError> {
        config
            .get_path(&[key])
            .and_then(Value::as_seq)
            .unwrap_or(&[])
            .iter()
            .map(|item| {
                FieldSpec::from_value(item)
                    .map_err(|m| BuildError::invalid(file, "transformers", m))
            })
            .collect()
    };
    let pairs = |key: &str| -> Vec<(String, String)> {
        config
            .get_path(&[key])
            .and_then(Value::as_map)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), crate::resource::scalar_text(v)?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let fail = |m: String| BuildError::transform(file, "transformers", format!("{kind}: {m}"));
    match kind {
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            let field_specs = specs("fieldSpecs")?;
            let prefix = text("prefix");
            let suffix = text("suffix");
            if !prefix.is_empty() {
                name_affix::add_affix(resources, name_affix::Affix::Prefix, &prefix, &field_specs)
                    .map_err(fail)?;
            }
            if !suffix.is_empty() {
                name_affix::add_affix(resources, name_affix::Affix::Suffix, &suffix, &field_specs)
                    .map_err(fail)?;
            }
            Ok(())
        }
        "LabelTransformer" => {
            labels::set_pairs(resources, &pairs("labels"), &specs("fieldSpecs")?).map_err(fail)
        }
        "AnnotationsTransformer" => {
            labels::set_pairs(resources, &pairs("annotations"), &specs("fieldSpecs")?).map_err(fail)
        }
        "NamespaceTransformer" => {
            let namespace =
                config.get_path(&["metadata", "namespace"]).and_then(Value::as_str).unwrap_or("");
            let mut field_specs = specs("fieldSpecs")?;
            if field_specs.is_empty() {
                field_specs = tables.namespace.clone();
            }
            namespace::set_namespace(resources, namespace, &field_specs).map_err(fail)
        }
        "ImageTagTransformer" => {
            let image = config.get_path(&["imageTag"]).cloned().unwrap_or(Value::Null);
            let text =
                |key: &str| image.get_path(&[key]).and_then(Value::as_str).unwrap_or("").to_owned();
            let entry = ImageEntry {
                name: text("name"),
                new_name: text("newName"),
                new_tag: text("newTag"),
                tag_suffix: text("tagSuffix"),
                digest: text("digest"),
            };
            let mut field_specs = specs("fieldSpecs")?;
            if field_specs.is_empty() {
                field_specs = tables.images.clone();
            }
            images::ImageRewrite::new(&entry)
                .and_then(|r| r.apply(resources, &field_specs))
                .map_err(fail)
        }
        "ReplicaCountTransformer" => {
            let replica = config.get_path(&["replica"]).cloned().unwrap_or(Value::Null);
            let entry = ReplicaEntry {
                name: replica.get_path(&["name"]).and_then(Value::as_str).unwrap_or("").to_owned(),
                count: match replica.get_path(&["count"]) {
                    Some(Value::Int(i)) => *i,
                    _ => 0,
                },
            };
            replicas::set_replicas(resources, &entry, &specs("fieldSpecs")?).map_err(fail)
        }
        "PatchTransformer" => {
            // The plugin's fields are those of a `patches` entry.
            let mut entry = Map::new();
            for key in ["path", "patch", "target", "options"] {
                if let Some(value) = config.get_path(&[key]) {
                    entry.insert(key.to_owned(), value.clone());
                }
            }
            stage::apply_patches(origin, &[Value::Map(entry)], resources)
        }
        "PatchStrategicMergeTransformer" => {
            let paths = config.get_path(&["paths"]).and_then(Value::as_seq).unwrap_or(&[]).to_vec();
            let mut entries = paths;
            if let Some(patches) = config.get_path(&["patches"]).and_then(Value::as_str) {
                entries.push(Value::String(patches.to_owned()));
            }
            stage::apply_patches_strategic_merge(origin, &entries, resources)
        }
        "ReplacementTransformer" => {
            let replacements =
                config.get_path(&["replacements"]).and_then(Value::as_seq).unwrap_or(&[]);
            stage::apply_replacements(origin, replacements, resources)
        }
        _ => Err(unsupported()),
    }
}

/// `sortOptions`, or kustomize's default legacy order.
fn apply_sort(resources: &mut [Resource], k: &Kustomization) -> Result<(), BuildError> {
    let Some(options) = &k.sort_options else {
        sort::default_legacy_sort(resources);
        return Ok(());
    };
    match options.order.as_str() {
        "legacy" => {
            // Without `legacySortOptions` the default kinds apply; with it, only what it lists.
            let (first, last) = if options.has_legacy_options {
                (
                    options.legacy_order_first.clone().unwrap_or_default(),
                    options.legacy_order_last.clone().unwrap_or_default(),
                )
            } else {
                (
                    sort::DEFAULT_ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
                    sort::DEFAULT_ORDER_LAST.iter().map(|s| s.to_string()).collect(),
                )
            };
            sort::legacy_sort(resources, &first, &last);
            Ok(())
        }
        "fifo" if !options.has_legacy_options => Ok(()),
        "fifo" => Err(BuildError::invalid(
            &k.file,
            "sortOptions",
            "the field 'sortOptions.legacySortOptions' is set but the selected sort order is 'fifo', not 'legacy'",
        )),
        _ => Err(BuildError::invalid(
            &k.file,
            "sortOptions.order",
            "the field 'sortOptions.order' must be one of [fifo, legacy]",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{MemoryFs, RecordingFs};

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        envFrom:\n        - configMapRef:\n            name: settings\n";

    fn build_text(fs: &MemoryFs, dir: &str) -> Result<String, BuildError> {
        build_yaml(fs, dir, &BuildOptions::default())
    }

    #[test]
    fn overlay_prefixes_names_hashes_generated_maps_and_fixes_references() {
        let fs = MemoryFs::new()
            .with("base/kustomization.yaml", "resources:\n- deployment.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - mode=base\n")
            .with("base/deployment.yaml", DEPLOYMENT)
            .with(
                "prod/kustomization.yaml",
                "namePrefix: prod-\nnamespace: prod\nresources:\n- ../base\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  literals:\n  - mode=prod\nimages:\n- name: nginx\n  newTag: \"1.25\"\n",
            );
        let out = build_text(&fs, "prod").unwrap();
        let objects = build(&fs, "prod", &BuildOptions::default()).unwrap();
        let config_map = &objects[0];
        let name = config_map.get_path(&["metadata", "name"]).and_then(Value::as_str).unwrap();
        assert!(
            name.starts_with("prod-settings-") && name.len() == "prod-settings-".len() + 10,
            "{name}"
        );
        assert_eq!(config_map.get_path(&["data", "mode"]), Some(&Value::from("prod")));
        assert!(out.contains(&format!("name: {name}\n")), "reference not fixed:\n{out}");
        assert!(out.contains("image: nginx:1.25"));
        assert!(out.contains("name: prod-web\n  namespace: prod"));
    }

    #[test]
    fn components_apply_to_what_was_accumulated() {
        let fs = MemoryFs::new()
            .with("app/kustomization.yaml", "resources:\n- deployment.yaml\ncomponents:\n- ../labels\n")
            .with("app/deployment.yaml", DEPLOYMENT)
            .with(
                "labels/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels:\n  team: a\n",
            );
        let out = build_text(&fs, "app").unwrap();
        assert!(out.contains("matchLabels:\n      team: a"), "{out}");
        let as_resource = MemoryFs::new()
            .with("app/kustomization.yaml", "resources:\n- ../labels\n")
            .with("labels/kustomization.yaml", "kind: Component\ncommonLabels:\n  team: a\n");
        assert!(matches!(build_text(&as_resource, "app"), Err(BuildError::InvalidField { .. })));
    }

    #[test]
    fn duplicate_ids_across_bases_are_refused() {
        let fs = MemoryFs::new()
            .with("a/kustomization.yaml", "resources:\n- d.yaml\n")
            .with("a/d.yaml", DEPLOYMENT)
            .with("b/kustomization.yaml", "resources:\n- d.yaml\n")
            .with("b/d.yaml", DEPLOYMENT)
            .with("top/kustomization.yaml", "resources:\n- ../a\n- ../b\n");
        let err = build_text(&fs, "top").unwrap_err();
        assert!(err.to_string().contains("already registered id: Deployment.v1.apps/web"), "{err}");
    }

    /// Layouts recorded with `kubectl kustomize` v5.5.0, which fails each with "cycle
    /// detected: candidate root '…' contains visited root '…'" (ours names the same roots).
    #[test]
    fn cycles_of_any_length_and_ancestors_are_refused_with_kustomizes_message() {
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
        let component = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n";
        let cases: Vec<(MemoryFs, &str, &str, &str)> = vec![
            (
                MemoryFs::new()
                    .with("a/kustomization.yaml", "resources:\n- ../b\n")
                    .with("b/kustomization.yaml", "resources:\n- ../a\n"),
                "a",
                "a",
                "a",
            ),
            (
                MemoryFs::new()
                    .with("a/kustomization.yaml", "resources:\n- ../b\n")
                    .with("b/kustomization.yaml", "resources:\n- ../c\n")
                    .with("c/kustomization.yaml", "resources:\n- ../a\n"),
                "a",
                "a",
                "a",
            ),
            (
                MemoryFs::new()
                    .with("x/kustomization.yaml", "resources:\n- sub\n")
                    .with("x/sub/kustomization.yaml", "resources:\n- ..\n"),
                "x",
                "x",
                "x/sub",
            ),
            (
                // The ancestor of a directory further up the path, not of the referrer.
                MemoryFs::new()
                    .with("top/kustomization.yaml", "resources:\n- cm.yaml\n")
                    .with("top/cm.yaml", cm)
                    .with("top/x/kustomization.yaml", "resources:\n- ../y\n")
                    .with("top/y/kustomization.yaml", "resources:\n- ..\n"),
                "top/x",
                "top",
                "top/y",
            ),
            (
                MemoryFs::new()
                    .with("app/kustomization.yaml", "resources:\n- cm.yaml\ncomponents:\n- ../c1\n")
                    .with("app/cm.yaml", cm)
                    .with("c1/kustomization.yaml", format!("{component}components:\n- ../c2\n"))
                    .with("c2/kustomization.yaml", format!("{component}components:\n- ../c1\n")),
                "app",
                "c1",
                "c1",
            ),
            (MemoryFs::new().with("kustomization.yaml", "resources:\n- .\n"), "", ".", "."),
        ];
        for (fs, dir, candidate, visited) in cases {
            match build(&fs, dir, &BuildOptions::default()) {
                Err(err @ BuildError::Cycle { .. }) => {
                    let expected = format!(
                        "cycle detected: candidate root '{candidate}' contains visited root '{visited}'"
                    );
                    assert!(err.to_string().contains(&expected), "{dir}: {err}");
                }
                other => panic!("{dir}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_base_reached_twice_without_a_cycle_still_builds() {
        let fs = MemoryFs::new()
            .with("top/kustomization.yaml", "resources:\n- ../left\n- ../right\n")
            .with("left/kustomization.yaml", "namePrefix: l-\nresources:\n- ../base\n")
            .with("right/kustomization.yaml", "namePrefix: r-\nresources:\n- ../base\n")
            .with("base/kustomization.yaml", "resources:\n- d.yaml\n")
            .with("base/d.yaml", DEPLOYMENT);
        let out = build_text(&fs, "top").unwrap();
        assert!(out.contains("name: l-web") && out.contains("name: r-web"), "{out}");
    }

    #[test]
    fn a_chain_of_thousands_of_kustomizations_builds_without_exhausting_the_stack() {
        // kubectl kustomize builds a chain of 10,000 (no depth limit); the build runs on its
        // own thread with a stack sized for that, whatever thread calls it.
        let mut fs = MemoryFs::new();
        const LENGTH: usize = 3_000;
        for i in 0..LENGTH - 1 {
            fs.insert(format!("k{i}/kustomization.yaml"), format!("resources:\n- ../k{}\n", i + 1));
        }
        fs.insert(format!("k{}/kustomization.yaml", LENGTH - 1), "resources:\n- d.yaml\n");
        fs.insert(format!("k{}/d.yaml", LENGTH - 1), DEPLOYMENT);
        let out = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || build_text(&fs, "k0"))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(out.contains("name: web"), "{out}");
    }

    #[test]
    fn unknown_fields_remote_resources_and_helm_are_refused_by_name() {
        let unknown = MemoryFs::new().with("kustomization.yaml", "resources: []\nnamPrefix: x-\n");
        match build_text(&unknown, "") {
            Err(BuildError::UnknownField { field, file }) => {
                assert_eq!((field.as_str(), file.as_str()), ("namPrefix", "kustomization.yaml"));
            }
            other => panic!("{other:?}"),
        }
        let remote = MemoryFs::new()
            .with("kustomization.yaml", "resources:\n- https://github.com/a/b//c?ref=v1\n");
        assert!(matches!(build_text(&remote, ""), Err(BuildError::Unsupported { .. })));
        let helm = MemoryFs::new().with("kustomization.yaml", "helmCharts:\n- name: x\n");
        assert!(matches!(
            build_text(&helm, ""),
            Err(BuildError::Helm { source: crate::helm::HelmError::Disabled, .. })
        ));
    }

    #[test]
    fn the_read_set_holds_bases_generator_inputs_and_probes() {
        let fs = RecordingFs::new(
            MemoryFs::new()
                .with("base/kustomization.yaml", "resources:\n- deployment.yaml\n")
                .with("base/deployment.yaml", DEPLOYMENT)
                .with("prod/kustomization.yaml", "resources:\n- ../base\nconfigMapGenerator:\n- name: settings\n  envs:\n  - app.env\n")
                .with("prod/app.env", "A=1\n"),
        );
        build(&fs, "prod", &BuildOptions::default()).unwrap();
        let read = fs.read_set();
        for path in [
            "base/deployment.yaml",
            "base/kustomization.yaml",
            "prod/app.env",
            "prod/kustomization.yml",
        ] {
            assert!(read.contains(path), "{path} missing from {read:?}");
        }
    }

    #[test]
    fn default_order_is_kustomize_legacy_order_and_fifo_keeps_input_order() {
        let objects = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n";
        let kinds = |fs: &MemoryFs| -> Vec<String> {
            build(fs, "", &BuildOptions::default())
                .unwrap()
                .iter()
                .map(|o| o.get_path(&["kind"]).and_then(Value::as_str).unwrap().to_owned())
                .collect()
        };
        let legacy = MemoryFs::new()
            .with("kustomization.yaml", "resources:\n- all.yaml\n")
            .with("all.yaml", objects);
        assert_eq!(kinds(&legacy), vec!["Namespace", "Service", "Deployment"]);
        let fifo = MemoryFs::new()
            .with("kustomization.yaml", "resources:\n- all.yaml\nsortOptions:\n  order: fifo\n")
            .with("all.yaml", objects);
        assert_eq!(kinds(&fifo), vec!["Deployment", "Namespace", "Service"]);
    }

    #[test]
    fn openapi_schemas_other_than_the_builtin_one_are_refused_by_field() {
        // Recorded with kubectl kustomize v5.5.0: `version: v1.21.2` and unknown keys render,
        // another version fails ("not built in"), a `path` loads a schema.
        let with = |openapi: &str| {
            MemoryFs::new()
                .with("kustomization.yaml", format!("resources: [d.yaml]\nopenapi:\n{openapi}"))
                .with("d.yaml", DEPLOYMENT)
        };
        assert!(build_text(&with("  version: v1.21.2\n"), "").is_ok());
        assert!(build_text(&with("  foo: bar\n"), "").is_ok());
        let err = build_text(&with("  version: v1.99.0\n"), "").unwrap_err();
        assert!(err.to_string().contains("not built in"), "{err}");
        match build_text(&with("  path: schema.json\n"), "") {
            Err(BuildError::Unsupported { field, file, .. }) => {
                assert_eq!((field.as_str(), file.as_str()), ("openapi.path", "kustomization.yaml"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_list_whose_items_are_a_mapping_is_an_error_as_in_kubectl() {
        let fs = MemoryFs::new().with("kustomization.yaml", "resources: [l.yaml]\n").with(
            "l.yaml",
            "apiVersion: v1\nkind: List\nitems:\n  a:\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: x}\n",
        );
        assert!(matches!(build_text(&fs, ""), Err(BuildError::InvalidResource { .. })));
    }
}
