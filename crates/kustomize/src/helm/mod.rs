//! `helmCharts`: inflating Helm charts the way `kustomize build --enable-helm` does, by running
//! the helm binary with the same arguments, so that the output is the same.
//!
//! kustomize's invocation (v5.5.0, learned with a `--helm-command` wrapper that logged argv, the
//! environment and the values file; see `tests/helm-cases/README.md`): once per chart,
//! `helm version -c --short` (helm 3 required), `helm pull --untar --untardir <chartHome>[/<name>-
//! <version>] (--repo <repo> <name> | <oci repo>/<name>) [--version <v>]` when the chart is not
//! under chartHome, then `helm template (<releaseName> | --generate-name) <chart dir>
//! [--namespace] [--name-template] -f <tmp>/<name>-kustomize-values.yaml [-f <additional>]…
//! [--api-versions]… [--kube-version] [--include-crds] [--skip-tests] [--no-hooks] [--debug]`,
//! with `HELM_CONFIG_HOME=<configHome or tmp/helm>` and `HELM_CACHE_HOME`/`HELM_DATA_HOME` below
//! it. The output is a generator's: it joins the accumulated objects and goes through the rest
//! of the pipeline (`build` calls `inflate` after the ConfigMap and Secret generators).
//!
//! Differences by design, none visible in the output: the version check runs once per `Helm`
//! (one per run) instead of once per chart; a local chart is copied out of the build's
//! `FileSystem` into a private temporary directory (so charts render from a git tree, and the
//! read set holds every chart file); and a pulled chart goes to a cache of ours instead of the
//! repository's chartHome (the build never writes to the repository). A chart with a pinned
//! version is kept in `HelmOptions::chart_cache` across runs (keyed by repository, name and
//! version), so a second render needs no network; an unpinned one is resolved once per `Helm`
//! and the version found is reported in `ChartUse`.
//!
//! This crate opens no socket: pulling is helm's (`helm pull`, as kustomize does it). Every helm
//! run is bounded (`process`), errors name the kustomization file and the `helmCharts` entry,
//! and no value ever appears in an error (`values::Redactor` cleans helm's own messages).

mod process;
mod scratch;
mod values;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::error::BuildError;
use crate::fs::{self, EntryKind};
use crate::kustomization::{HelmChart, HelmGlobals};
use crate::loader::{LoadRestrictor, Loader};
use crate::resource::Resource;
use crate::value::Value;

pub use values::ValuesError;

use process::{Limits, RunError};
use scratch::ScratchDir;
use values::{Redactor, ValuesMerge};

/// kustomize's default chart home, relative to the kustomization.
pub const DEFAULT_CHART_HOME: &str = "charts";

/// How helm is run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelmOptions {
    /// The helm v3 binary (`--helm-command`).
    pub command: PathBuf,
    /// Where charts of a pinned version pulled from a repository are kept across runs; `None`
    /// keeps them for the run only.
    pub chart_cache: Option<PathBuf>,
    /// The longest one helm process may run (a pull included).
    pub timeout: Duration,
    /// The most bytes helm may print on stdout (the rendered chart) or on stderr.
    pub max_output_bytes: u64,
    /// The largest chart (all its files) that may be rendered or pulled.
    pub max_chart_bytes: u64,
    /// Hosts charts may be pulled from (`example.com`, or `*.example.com` for its subdomains);
    /// `None` allows any.
    pub allowed_repo_hosts: Option<Vec<String>>,
    /// `--helm-api-versions`: used for charts that set no `apiVersions`.
    pub api_versions: Vec<String>,
    /// `--helm-kube-version`: used for charts that set no `kubeVersion`.
    pub kube_version: String,
    /// `--helm-debug`: `--debug` for every chart.
    pub debug: bool,
}

impl HelmOptions {
    /// Options for the helm binary at `command`, with the default bounds.
    pub fn new(command: impl Into<PathBuf>) -> HelmOptions {
        HelmOptions {
            command: command.into(),
            chart_cache: None,
            timeout: Duration::from_secs(120),
            max_output_bytes: 64 << 20,
            max_chart_bytes: 64 << 20,
            allowed_repo_hosts: None,
            api_versions: Vec::new(),
            kube_version: String::new(),
            debug: false,
        }
    }
}

/// A helm for one run: its options, the checked helm version and the charts pulled so far.
/// Cheap to clone (shared); share one between every build of a run so that each chart is
/// pulled (and each unpinned version resolved) once.
#[derive(Clone, Debug)]
pub struct Helm {
    inner: Arc<Inner>,
}

/// One pull, done by the first build that needs it; the others wait for its result.
type PullCell = OnceLock<Result<Pulled, HelmError>>;

#[derive(Debug)]
struct Inner {
    options: HelmOptions,
    version_check: OnceLock<Result<(), HelmError>>,
    pulls: Mutex<HashMap<PullKey, Arc<PullCell>>>,
    /// Where charts pulled for this run only live (removed with the last clone).
    run_dir: OnceLock<Result<ScratchDir, String>>,
}

impl Helm {
    pub fn new(options: HelmOptions) -> Helm {
        Helm {
            inner: Arc::new(Inner {
                options,
                version_check: OnceLock::new(),
                pulls: Mutex::new(HashMap::new()),
                run_dir: OnceLock::new(),
            }),
        }
    }

    pub fn options(&self) -> &HelmOptions {
        &self.inner.options
    }

    /// Every chart pulled from a repository so far, sorted by repository, name and requested
    /// version, with the version it resolved to.
    pub fn pulled_charts(&self) -> Vec<PulledChart> {
        let pulls = self.inner.pulls.lock().unwrap_or_else(|p| p.into_inner());
        let mut charts: Vec<PulledChart> = pulls
            .iter()
            .filter_map(|(key, cell)| {
                let pulled = cell.get()?.as_ref().ok()?;
                Some(PulledChart {
                    repo: key.repo.clone(),
                    name: key.name.clone(),
                    requested_version: key.version.clone(),
                    version: pulled.version.clone(),
                    from_cache: pulled.from_cache,
                })
            })
            .collect();
        charts.sort_by(|a, b| {
            (&a.repo, &a.name, &a.requested_version).cmp(&(&b.repo, &b.name, &b.requested_version))
        });
        charts.dedup();
        charts
    }

    fn limits(&self) -> Limits {
        Limits {
            timeout: self.inner.options.timeout,
            max_output: self.inner.options.max_output_bytes,
        }
    }

    /// Runs helm; failures are typed and redacted.
    fn run(
        &self,
        step: HelmStep,
        args: &[OsString],
        env: &[(&str, OsString)],
        redactor: &Redactor,
    ) -> Result<Vec<u8>, HelmError> {
        let command = &self.inner.options.command;
        process::run(command, args, env, self.limits()).map_err(|err| match err {
            RunError::Spawn(err) if err.kind() == std::io::ErrorKind::NotFound => {
                HelmError::CommandNotFound { command: command.display().to_string() }
            }
            RunError::Spawn(err) => HelmError::Spawn {
                command: command.display().to_string(),
                message: err.to_string(),
            },
            RunError::TimedOut => {
                HelmError::TimedOut { step, seconds: self.inner.options.timeout.as_secs() }
            }
            RunError::OutputTooLarge => {
                HelmError::OutputTooLarge { step, limit: self.inner.options.max_output_bytes }
            }
            RunError::Exit { status, stderr } => HelmError::Failed {
                step,
                status: status.to_string(),
                stderr: redactor.redact(&shorten(String::from_utf8_lossy(&stderr).trim())),
            },
        })
    }

    /// kustomize's `checkHelmVersion`: helm 3 is required. Checked once.
    fn check_version(&self, env: &[(&str, OsString)]) -> Result<(), HelmError> {
        self.inner
            .version_check
            .get_or_init(|| {
                let args = ["version", "-c", "--short"].map(OsString::from);
                let out = self.run(HelmStep::Version, &args, env, &Redactor::default())?;
                let text = String::from_utf8_lossy(&out);
                let version = version_pattern()
                    .find(&text)
                    .map(|m| m.as_str().trim_start_matches('v').to_owned())
                    .ok_or_else(|| HelmError::NoVersion { output: shorten(text.trim()) })?;
                if version.split('.').next() != Some("3") {
                    return Err(HelmError::NotHelm3 { found: version });
                }
                Ok(())
            })
            .clone()
    }

    /// The chart `name` of `repo` at `version` (empty: the latest), pulled once per run, or
    /// found in the chart cache.
    fn pull(&self, key: PullKey, redactor: &Redactor) -> Result<Pulled, HelmError> {
        check_host_allowed(&key.repo, self.inner.options.allowed_repo_hosts.as_deref())?;
        let cell = {
            let mut pulls = self.inner.pulls.lock().unwrap_or_else(|p| p.into_inner());
            pulls.entry(key.clone()).or_default().clone()
        };
        cell.get_or_init(|| self.pull_uncached(&key, redactor)).clone()
    }

    fn pull_uncached(&self, key: &PullKey, redactor: &Redactor) -> Result<Pulled, HelmError> {
        let options = &self.inner.options;
        let io = |what: &str, err: &dyn std::fmt::Display| HelmError::Io {
            what: what.to_owned(),
            message: err.to_string(),
        };
        let persistent = options.chart_cache.as_ref().filter(|_| !key.version.is_empty());
        let final_dir = match persistent {
            Some(cache) => {
                let dir = cache.join(key.cache_name());
                if dir.join(&key.name).join("Chart.yaml").is_file() {
                    let version = chart_version_on_disk(&dir.join(&key.name));
                    return Ok(Pulled { dir, version, from_cache: true });
                }
                Some(dir)
            }
            None => None,
        };
        let parent = match &final_dir {
            Some(dir) => dir.parent().map(Path::to_path_buf).unwrap_or_default(),
            None => self.run_dir()?,
        };
        let target = ScratchDir::new_in(&parent, ".pull-").map_err(|e| io("chart cache", &e))?;
        let config = ScratchDir::new("kustomize-helm-").map_err(|e| io("temporary dir", &e))?;
        let config_home = match &key.config_home {
            Some(home) => PathBuf::from(home),
            None => config.path().join("helm"),
        };
        let mut args: Vec<OsString> =
            vec!["pull".into(), "--untar".into(), "--untardir".into(), target.path().into()];
        if key.repo.starts_with("oci://") {
            args.push(format!("{}/{}", key.repo.trim_end_matches('/'), key.name).into());
        } else {
            args.extend(["--repo".into(), key.repo.clone().into(), key.name.clone().into()]);
        }
        if !key.version.is_empty() {
            args.extend(["--version".into(), key.version.clone().into()]);
        }
        self.run(HelmStep::Pull, &args, &helm_env(&config_home), redactor)?;
        let chart = target.path().join(&key.name);
        if !chart.join("Chart.yaml").is_file() {
            return Err(HelmError::PulledChartMissing { name: key.name.clone() });
        }
        let size = scratch::disk_size(target.path(), options.max_chart_bytes)
            .map_err(|e| io("pulled chart", &e))?;
        if size > options.max_chart_bytes {
            return Err(HelmError::ChartTooLarge { limit: options.max_chart_bytes });
        }
        let version = chart_version_on_disk(&chart);
        let _ = std::fs::write(
            target.path().join("source.txt"),
            format!("{}\n{}\n{}\n", key.repo, key.name, key.version),
        );
        let dir = match final_dir {
            Some(dir) => {
                let pulled = target.keep();
                // Another process may have filled the same entry meanwhile: keep theirs.
                if std::fs::rename(&pulled, &dir).is_err() {
                    let _ = std::fs::remove_dir_all(&pulled);
                    if !dir.join(&key.name).join("Chart.yaml").is_file() {
                        return Err(io("chart cache", &format!("cannot fill {}", dir.display())));
                    }
                }
                dir
            }
            None => target.keep(),
        };
        Ok(Pulled { dir, version, from_cache: false })
    }

    fn run_dir(&self) -> Result<PathBuf, HelmError> {
        self.inner
            .run_dir
            .get_or_init(|| ScratchDir::new("kustomize-helm-charts-").map_err(|e| e.to_string()))
            .as_ref()
            .map(|dir| dir.path().to_path_buf())
            .map_err(|message| HelmError::Io {
                what: "temporary dir".into(),
                message: message.clone(),
            })
    }
}

/// A chart pulled from a repository during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PulledChart {
    pub repo: String,
    pub name: String,
    /// The `version` asked for; empty when unpinned.
    pub requested_version: String,
    /// The version found in the pulled chart's `Chart.yaml`.
    pub version: String,
    /// Taken from the chart cache, without network.
    pub from_cache: bool,
}

/// One chart a build inflated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartUse {
    /// The kustomization file naming it.
    pub kustomization: String,
    pub name: String,
    /// The repository (empty for a chart found under chartHome).
    pub repo: String,
    /// The `version` asked for (empty: unpinned, or not given for a local chart).
    pub requested_version: String,
    /// The version in the chart's `Chart.yaml`.
    pub version: String,
    pub source: ChartSource,
}

/// Where an inflated chart came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartSource {
    /// Found in the build's file system, at this directory.
    Local { dir: String },
    /// Pulled from its repository during this run, or found in the chart cache.
    Pulled { from_cache: bool },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PullKey {
    repo: String,
    name: String,
    version: String,
    /// `helmGlobals.configHome` (credentials for private repositories live there).
    config_home: Option<String>,
}

impl PullKey {
    /// The cache directory's name: a digest of what identifies the chart.
    fn cache_name(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\0{}\0{}", self.repo, self.name, self.version));
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("{}-{}-{hex}", sanitize(&self.name), sanitize(&self.version))
    }
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .collect()
}

#[derive(Clone, Debug)]
struct Pulled {
    /// The directory holding the chart's directory.
    dir: PathBuf,
    version: String,
    from_cache: bool,
}

/// A helm invocation, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelmStep {
    Version,
    Pull,
    Template,
}

impl std::fmt::Display for HelmStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HelmStep::Version => "helm version",
            HelmStep::Pull => "helm pull",
            HelmStep::Template => "helm template",
        })
    }
}

/// Why a chart could not be inflated. No variant carries a value of the chart's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelmError {
    #[error("helm charts are not rendered without helm (use --enable-helm)")]
    Disabled,
    #[error("chart name cannot be empty")]
    EmptyName,
    #[error("valuesMerge must be one of [merge override replace], not '{value}'")]
    InvalidValuesMerge { value: String },
    #[error("an absolute chartHome ('{path}') is outside the repository")]
    AbsoluteChartHome { path: String },
    #[error("no repo specified for pull, no chart found at '{path}'")]
    NoChart { path: String },
    #[error("helm command '{command}' not found (install helm v3 or pass --helm-command)")]
    CommandNotFound { command: String },
    #[error("cannot run helm command '{command}': {message}")]
    Spawn { command: String, message: String },
    #[error("cannot find a version in the output of 'helm version': {output}")]
    NoVersion { output: String },
    #[error("helm v3 is required, found v{found}")]
    NotHelm3 { found: String },
    #[error("{step} did not finish within {seconds} s")]
    TimedOut { step: HelmStep, seconds: u64 },
    #[error("{step} printed more than {limit} bytes")]
    OutputTooLarge { step: HelmStep, limit: u64 },
    #[error("{step} failed ({status}): {stderr}")]
    Failed { step: HelmStep, status: String, stderr: String },
    #[error(
        "pulling charts from '{host}' is not allowed (allowed chart repository hosts: {allowed})"
    )]
    RepoNotAllowed { host: String, allowed: String },
    #[error("the pulled archive holds no chart '{name}'")]
    PulledChartMissing { name: String },
    #[error("the chart is larger than {limit} bytes")]
    ChartTooLarge { limit: u64 },
    #[error("the chart's directories nest too deeply (a symlink loop?)")]
    ChartTooDeep,
    #[error(transparent)]
    Values(#[from] ValuesError),
    #[error("{what}: {message}")]
    Io { what: String, message: String },
}

/// One `helmCharts` entry of one kustomization, with where it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry<'a> {
    pub loader: &'a Loader<'a>,
    /// The kustomization's directory and file.
    pub dir: &'a str,
    pub file: &'a str,
    pub index: usize,
    pub chart: &'a HelmChart,
    pub globals: Option<&'a HelmGlobals>,
}

impl Entry<'_> {
    fn error(&self, source: HelmError) -> BuildError {
        BuildError::Helm {
            file: self.file.to_owned(),
            index: self.index,
            chart: self.chart.name.clone(),
            source,
        }
    }

    /// The name helm's output is known by in errors.
    fn output_name(&self) -> String {
        format!(
            "{} (helmCharts[{}] '{}': helm template output)",
            self.file, self.index, self.chart.name
        )
    }
}

/// What one chart inflated to.
#[derive(Debug)]
pub(crate) struct Inflated {
    pub resources: Vec<Resource>,
    pub used: ChartUse,
}

/// kustomize's `HelmChartInflationGenerator` for one entry.
pub(crate) fn inflate(helm: Option<&Helm>, entry: Entry<'_>) -> Result<Inflated, BuildError> {
    let fail = |source| entry.error(source);
    let chart = entry.chart;
    let helm = helm.ok_or_else(|| fail(HelmError::Disabled))?;
    if chart.name.is_empty() {
        return Err(fail(HelmError::EmptyName));
    }
    let globals = entry.globals.cloned().unwrap_or_default();
    let chart_home = if globals.chart_home.is_empty() {
        DEFAULT_CHART_HOME
    } else {
        globals.chart_home.as_str()
    };
    if chart_home.starts_with('/') {
        return Err(fail(HelmError::AbsoluteChartHome { path: chart_home.to_owned() }));
    }
    let loader = entry.loader;
    let (dir, file) = (entry.dir, entry.file);
    // kustomize's `absChartHome`: a chart of a given version from a repository lives in its
    // own folder.
    let mut home = fs::join(dir, chart_home).map_err(|e| BuildError::fs(file, e))?;
    if !chart.version.is_empty() && !chart.repo.is_empty() {
        home = fs::child(&home, &format!("{}-{}", chart.name, chart.version));
    }
    let chart_dir = fs::child(&home, &chart.name);
    let default_values = fs::child(&chart_dir, "values.yaml");

    let mut redactor = Redactor::default();
    if let Some(inline) = &chart.values_inline {
        redactor.add_value(&Value::Map(inline.clone()));
    }
    let mut additional = Vec::new();
    for path in &chart.additional_values_files {
        let (path, bytes) = loader.read_restricted(dir, file, path)?;
        redactor.add_values_text(&bytes);
        additional.push((path, bytes));
    }
    let mode = ValuesMerge::parse(&chart.values_merge)
        .ok_or_else(|| fail(HelmError::InvalidValuesMerge { value: chart.values_merge.clone() }))?;

    let scratch = ScratchDir::new("kustomize-helm-").map_err(|e| {
        fail(HelmError::Io { what: "temporary dir".into(), message: e.to_string() })
    })?;
    let config_home = if globals.config_home.is_empty() {
        scratch.path().join("helm")
    } else {
        PathBuf::from(&globals.config_home)
    };
    let env = helm_env(&config_home);
    helm.check_version(&env).map_err(fail)?;

    // The chart: under chartHome in the build's file system, else pulled.
    let local =
        loader.fs.kind(&chart_dir).map_err(|e| BuildError::fs(file, e))? == Some(EntryKind::Dir);
    let (chart_path, default_values_bytes, used) = if local {
        let target = scratch.path().join("charts").join(&chart.name);
        scratch::copy_out(loader.fs, &chart_dir, &target, helm.options().max_chart_bytes).map_err(
            |err| match err {
                scratch::CopyError::Fs(e) => BuildError::fs(file, e),
                scratch::CopyError::Io(e) => {
                    fail(HelmError::Io { what: "copying the chart".into(), message: e.to_string() })
                }
                scratch::CopyError::TooLarge => {
                    fail(HelmError::ChartTooLarge { limit: helm.options().max_chart_bytes })
                }
                scratch::CopyError::TooDeep => fail(HelmError::ChartTooDeep),
            },
        )?;
        let values = if chart.values_file.is_empty() {
            let relative = fs::relative_to(&default_values, dir);
            Some(loader.read_restricted(dir, file, &relative)?.1)
        } else {
            None
        };
        let used = ChartUse {
            kustomization: file.to_owned(),
            name: chart.name.clone(),
            repo: String::new(),
            requested_version: chart.version.clone(),
            version: chart_version_on_disk(&target),
            source: ChartSource::Local { dir: chart_dir.clone() },
        };
        (target, values, used)
    } else if chart.repo.is_empty() {
        return Err(fail(HelmError::NoChart { path: chart_dir }));
    } else {
        let key = PullKey {
            repo: chart.repo.clone(),
            name: chart.name.clone(),
            version: chart.version.clone(),
            config_home: (!globals.config_home.is_empty()).then(|| globals.config_home.clone()),
        };
        let pulled = helm.pull(key, &redactor).map_err(fail)?;
        let path = pulled.dir.join(&chart.name);
        let values = if chart.values_file.is_empty() {
            // kustomize loads it from chartHome, where it pulled the chart: the load
            // restrictor applies to that path.
            if loader.restrictor == LoadRestrictor::RootOnly {
                loader.check_restriction(dir, file, &default_values)?;
            }
            let bytes = std::fs::read(path.join("values.yaml")).map_err(|_| {
                BuildError::fs(file, fs::FsError::NotFound { path: default_values.clone() })
            })?;
            Some(bytes)
        } else {
            None
        };
        let used = ChartUse {
            kustomization: file.to_owned(),
            name: chart.name.clone(),
            repo: chart.repo.clone(),
            requested_version: chart.version.clone(),
            version: pulled.version.clone(),
            source: ChartSource::Pulled { from_cache: pulled.from_cache },
        };
        (path, values, used)
    };
    let (values_name, values_bytes) = match default_values_bytes {
        Some(bytes) => (default_values.clone(), bytes),
        None => {
            let (path, bytes) = loader.read_restricted(dir, file, &chart.values_file)?;
            redactor.add_values_text(&bytes);
            (path, bytes)
        }
    };
    let values = values::combine(&values_bytes, &values_name, chart.values_inline.as_ref(), mode)
        .map_err(|e| fail(e.into()))?;
    let io = |e: std::io::Error| {
        fail(HelmError::Io { what: "writing values".into(), message: e.to_string() })
    };
    let values_path =
        scratch.path().join(format!("{}-kustomize-values.yaml", sanitize(&chart.name)));
    scratch::write_private(&values_path, &values).map_err(io)?;
    let mut additional_paths = Vec::new();
    for (i, (path, bytes)) in additional.iter().enumerate() {
        let target =
            scratch.path().join(format!("additional-{i}-{}", sanitize(fs::file_name(path))));
        scratch::write_private(&target, bytes).map_err(io)?;
        additional_paths.push(target);
    }

    let args = template_args(chart, helm.options(), &chart_path, &values_path, &additional_paths);
    let stdout = helm.run(HelmStep::Template, &args, &env, &redactor).map_err(fail)?;
    drop(scratch);
    let resources = crate::build::resources_from_file(&stdout, &entry.output_name())?;
    Ok(Inflated { resources, used })
}

/// kustomize's `HelmChart.AsHelmArgs`, argument for argument.
fn template_args(
    chart: &HelmChart,
    options: &HelmOptions,
    chart_path: &Path,
    values: &Path,
    additional: &[PathBuf],
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["template".into()];
    if chart.release_name.is_empty() {
        args.push("--generate-name".into());
    } else {
        args.push(chart.release_name.clone().into());
    }
    args.push(chart_path.into());
    if !chart.namespace.is_empty() {
        args.extend(["--namespace".into(), chart.namespace.clone().into()]);
    }
    if !chart.name_template.is_empty() {
        args.extend(["--name-template".into(), chart.name_template.clone().into()]);
    }
    args.extend(["-f".into(), values.into()]);
    for path in additional {
        args.extend(["-f".into(), path.into()]);
    }
    // kustomize sets the command-line values first and then decodes the chart's fields over
    // them: a chart's own setting wins.
    let api_versions =
        if chart.api_versions.is_empty() { &options.api_versions } else { &chart.api_versions };
    for version in api_versions {
        args.extend(["--api-versions".into(), version.clone().into()]);
    }
    let kube_version =
        if chart.kube_version.is_empty() { &options.kube_version } else { &chart.kube_version };
    if !kube_version.is_empty() {
        args.extend(["--kube-version".into(), kube_version.clone().into()]);
    }
    for (flag, on) in [
        ("--include-crds", chart.include_crds),
        ("--skip-tests", chart.skip_tests),
        ("--no-hooks", chart.skip_hooks),
        ("--debug", chart.debug || options.debug),
    ] {
        if on {
            args.push(flag.into());
        }
    }
    args
}

/// kustomize's environment for helm: our own, plus helm's homes below the config home.
fn helm_env(config_home: &Path) -> Vec<(&'static str, OsString)> {
    let below = |name: &str| {
        let mut path = config_home.as_os_str().to_owned();
        path.push(name);
        path
    };
    vec![
        ("HELM_CONFIG_HOME", config_home.as_os_str().to_owned()),
        ("HELM_CACHE_HOME", below("/.cache")),
        ("HELM_DATA_HOME", below("/.data")),
    ]
}

/// The `version` of the chart in `dir` on disk (empty when unreadable).
fn chart_version_on_disk(dir: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(dir.join("Chart.yaml")) else { return String::new() };
    crate::yaml::parse_document(&text, "Chart.yaml")
        .ok()
        .and_then(|chart| chart.get_path(&["version"]).and_then(crate::resource::scalar_text))
        .unwrap_or_default()
}

/// The host of a repository URL (`https://charts.example.com/x` → `charts.example.com`).
fn repo_host(repo: &str) -> &str {
    let rest = repo.split_once("://").map_or(repo, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    host_port.split(':').next().unwrap_or("")
}

fn check_host_allowed(repo: &str, allowed: Option<&[String]>) -> Result<(), HelmError> {
    let Some(allowed) = allowed else { return Ok(()) };
    let host = repo_host(repo).to_ascii_lowercase();
    let ok = allowed.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == pattern,
        }
    });
    if ok { Ok(()) } else { Err(HelmError::RepoNotAllowed { host, allowed: allowed.join(", ") }) }
}

fn version_pattern() -> &'static regex::Regex {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    PATTERN.get_or_init(|| regex::Regex::new(r"v?\d+(\.\d+)+").expect("valid pattern"))
}

/// Long helm messages are cut (they may quote whole templates).
fn shorten(text: &str) -> String {
    const MAX: usize = 4000;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_helm_can_serve_parallel_builds() {
        fn shared<T: Send + Sync + Clone>() {}
        shared::<Helm>();
        shared::<crate::BuildOptions>();
    }

    #[test]
    fn template_arguments_follow_kustomizes_order() {
        let chart = HelmChart {
            name: "demo".into(),
            namespace: "ns".into(),
            name_template: "t".into(),
            api_versions: vec!["foo/v1".into(), "bar/v2".into()],
            kube_version: "1.29.3".into(),
            include_crds: true,
            skip_hooks: true,
            skip_tests: true,
            debug: true,
            ..HelmChart::default()
        };
        let options = HelmOptions::new("helm");
        let args = template_args(
            &chart,
            &options,
            Path::new("/c/demo"),
            Path::new("/t/demo-kustomize-values.yaml"),
            &[PathBuf::from("/t/a1")],
        );
        let args: Vec<_> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        // Recorded from kubectl kustomize v5.5.0 with a logging --helm-command.
        assert_eq!(
            args.join(" "),
            "template --generate-name /c/demo --namespace ns --name-template t \
             -f /t/demo-kustomize-values.yaml -f /t/a1 --api-versions foo/v1 --api-versions bar/v2 \
             --kube-version 1.29.3 --include-crds --skip-tests --no-hooks --debug"
        );
    }

    #[test]
    fn command_line_capabilities_apply_only_where_the_chart_sets_none() {
        let mut options = HelmOptions::new("helm");
        options.kube_version = "1.30.0".into();
        options.api_versions = vec!["cli/v1".into()];
        let paths = (Path::new("/c"), Path::new("/v"));
        let render = |chart: &HelmChart| {
            template_args(chart, &options, paths.0, paths.1, &[])
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let plain = HelmChart { release_name: "r".into(), ..HelmChart::default() };
        assert_eq!(
            render(&plain),
            "template r /c -f /v --api-versions cli/v1 --kube-version 1.30.0"
        );
        let own = HelmChart {
            kube_version: "1.28.0".into(),
            api_versions: vec!["own/v1".into()],
            ..plain
        };
        assert_eq!(render(&own), "template r /c -f /v --api-versions own/v1 --kube-version 1.28.0");
    }

    #[test]
    fn repository_hosts_are_checked_against_the_allow_list() {
        assert_eq!(repo_host("https://user@charts.example.com:8443/x"), "charts.example.com");
        assert_eq!(repo_host("oci://[::1]:5000/charts"), "::1");
        let allowed = vec!["charts.example.com".to_owned(), "*.corp.test".to_owned()];
        assert!(check_host_allowed("https://charts.example.com/x", Some(&allowed)).is_ok());
        assert!(check_host_allowed("oci://registry.corp.test/c", Some(&allowed)).is_ok());
        assert!(matches!(
            check_host_allowed("https://evil.test/x", Some(&allowed)),
            Err(HelmError::RepoNotAllowed { .. })
        ));
        assert!(check_host_allowed("https://anything", None).is_ok());
    }

    #[test]
    fn cache_names_are_readable_and_distinct() {
        let key = |repo: &str, version: &str| PullKey {
            repo: repo.into(),
            name: "demo".into(),
            version: version.into(),
            config_home: None,
        };
        let a = key("https://a.test", "1.0.0").cache_name();
        assert!(a.starts_with("demo-1.0.0-"), "{a}");
        assert_ne!(a, key("https://b.test", "1.0.0").cache_name());
        assert_ne!(a, key("https://a.test", "1.0.1").cache_name());
    }
}
