//! The build's typed error: every failure names the file at fault (and the field, where one
//! field is to blame), so a user can find it without reading our source.
//!
//! This module only describes failures; it decides nothing. Messages never contain the values
//! of Secret data (generator inputs are named by file and key, never shown), nor values of helm charts.

use crate::fs::FsError;
use crate::helm::HelmError;
use crate::remote::RemoteError;

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// The directory has no `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    #[error(
        "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{dir}'"
    )]
    MissingKustomization { dir: String },

    /// More than one kustomization file name is present in a directory.
    #[error("found multiple kustomization files under: {dir}")]
    MultipleKustomizations { dir: String },

    /// A file could not be read (missing, outside the root, I/O error).
    #[error("{file}: {source}")]
    Fs {
        file: String,
        #[source]
        source: FsError,
    },

    /// A file is not valid YAML. `line` and `column` (1-based) point into `file` when the
    /// error has a position; `message` says what is wrong without quoting the file's text.
    #[error("{file}: invalid YAML: {message}")]
    Yaml { file: String, line: Option<u32>, column: Option<u32>, message: String },

    /// The kustomization has a field kustomize does not know.
    #[error("{file}: invalid Kustomization: unknown field \"{field}\"")]
    UnknownField { file: String, field: String },

    /// A kustomization field has the wrong shape or an invalid value.
    #[error("{file}: invalid field '{field}': {message}")]
    InvalidField { file: String, field: String, message: String },

    /// A feature we refuse rather than render differently (remote resources, helm charts, plugins).
    #[error("unsupported: {field} in {file}: {what}")]
    Unsupported { file: String, field: String, what: String },

    /// A remote target (git repository or http(s) file) could not be obtained.
    #[error("{file}: {field}: remote '{url}': {source}")]
    Remote {
        file: String,
        field: String,
        url: String,
        #[source]
        source: RemoteError,
    },

    /// Building the kustomization of a remote repository failed; `source` names files inside
    /// the repository (paths from its root), `file` is the local kustomization that names it.
    #[error("{file}: in remote '{url}' (commit {commit}): {source}")]
    InRemote { file: String, url: String, commit: String, source: Box<BuildError> },

    /// The load restrictor refused a path outside the kustomization's directory.
    #[error(
        "{file}: security; file '{path}' is not in or below '{root}' (load restrictor rootonly; use --load-restrictor none to allow it)"
    )]
    Restricted { file: String, path: String, root: String },

    /// A kustomization refers (directly or not) to itself or to a directory above one on the
    /// way to it (kustomize's message: `target` is the candidate root, `dir` the kustomization
    /// directory being built — or repository URL — that lies in or below it).
    #[error("{file}: cycle detected: candidate root '{target}' contains visited root '{dir}'")]
    Cycle { file: String, dir: String, target: String },

    /// A resource file holds something that is not a Kubernetes object.
    #[error("{file}: invalid resource: {message}")]
    InvalidResource { file: String, message: String },

    /// Two resources with the same group, version, kind, namespace and name.
    #[error("{file}: may not add resource with an already registered id: {id}")]
    DuplicateId { file: String, id: String },

    /// A transformer or generator could not do its work.
    #[error("{file}: {field}: {message}")]
    Transform { file: String, field: String, message: String },

    /// A `helmCharts` entry (the `index`th, naming `chart`) could not be inflated.
    #[error("{file}: helmCharts[{index}] '{chart}': {source}")]
    Helm {
        file: String,
        index: usize,
        chart: String,
        #[source]
        source: HelmError,
    },

    /// A `configMapGenerator` or `secretGenerator` input is malformed: an env file line, a
    /// literal or a file source. `file` is the env file (or, for literals and file sources,
    /// the kustomization), `line` the 1-based line in it when there is one; `kustomization`
    /// and `field` name the entry. The message names the key only when it is a valid key name,
    /// and never shows a value: any of it may be secret.
    #[error("{kustomization}: {field}: {file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    GeneratorInput {
        file: String,
        line: Option<u32>,
        kustomization: String,
        field: String,
        message: String,
    },

    /// One of the build's bounds (`crate::limits`) would be exceeded.
    #[error("{file}: {what} exceeds {limit}")]
    LimitExceeded { file: String, limit: Limit, what: String },
}

/// Which bound of `crate::limits` a build ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Mappings and sequences nested deeper than `limits::MAX_DEPTH`.
    Depth,
    /// Kustomizations nested deeper than `limits::MAX_NESTED_KUSTOMIZATIONS`.
    NestedKustomizations,
    /// One document or object larger than `limits::MAX_OBJECT_BYTES`.
    ObjectBytes,
    /// All objects of a build larger than `limits::MAX_OUTPUT_BYTES`.
    OutputBytes,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::limits;
        let mib = |bytes: usize| bytes / (1024 * 1024);
        match self {
            Limit::Depth => {
                write!(f, "the limit of {} levels of nesting (kubectl's)", limits::MAX_DEPTH)
            }
            Limit::NestedKustomizations => write!(
                f,
                "the limit of {} kustomizations nested in one another",
                limits::MAX_NESTED_KUSTOMIZATIONS
            ),
            Limit::ObjectBytes => {
                write!(f, "the limit of {} MiB per object", mib(limits::MAX_OBJECT_BYTES))
            }
            Limit::OutputBytes => {
                write!(f, "the limit of {} MiB of objects per build", mib(limits::MAX_OUTPUT_BYTES))
            }
        }
    }
}

impl BuildError {
    /// The file at fault (or the directory, when no file could be picked).
    pub fn file(&self) -> &str {
        match self {
            BuildError::MissingKustomization { dir }
            | BuildError::MultipleKustomizations { dir } => dir,
            BuildError::Fs { file, .. }
            | BuildError::Yaml { file, .. }
            | BuildError::UnknownField { file, .. }
            | BuildError::InvalidField { file, .. }
            | BuildError::Unsupported { file, .. }
            | BuildError::Remote { file, .. }
            | BuildError::InRemote { file, .. }
            | BuildError::Restricted { file, .. }
            | BuildError::Cycle { file, .. }
            | BuildError::InvalidResource { file, .. }
            | BuildError::DuplicateId { file, .. }
            | BuildError::Transform { file, .. }
            | BuildError::Helm { file, .. }
            | BuildError::GeneratorInput { file, .. }
            | BuildError::LimitExceeded { file, .. } => file,
        }
    }

    /// The 1-based line of `file()` at fault, when the error knows it (YAML errors, generator
    /// env files), so callers never parse the message for it. Errors inside a remote
    /// repository have none here: their lines are in the repository's files.
    pub fn line(&self) -> Option<u32> {
        match self {
            BuildError::Yaml { line, .. } | BuildError::GeneratorInput { line, .. } => *line,
            _ => None,
        }
    }

    /// A YAML error in `file`, positioned.
    pub(crate) fn yaml(file: &str, error: &crate::yaml::YamlError) -> Self {
        let clamp = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        if let crate::yaml::YamlError::Limit { line, limit, .. } = error {
            return BuildError::LimitExceeded {
                file: file.to_owned(),
                limit: *limit,
                what: format!("the YAML document at line {line}"),
            };
        }
        BuildError::Yaml {
            file: file.to_owned(),
            line: error.line().map(clamp),
            column: error.column().map(clamp),
            message: error.to_string(),
        }
    }

    /// A file that should be YAML (hence UTF-8) but is not text.
    pub(crate) fn not_utf8(file: &str) -> Self {
        BuildError::Yaml {
            file: file.to_owned(),
            line: None,
            column: None,
            message: "not valid UTF-8".into(),
        }
    }

    pub(crate) fn fs(file: &str, source: FsError) -> Self {
        BuildError::Fs { file: file.to_owned(), source }
    }

    pub(crate) fn invalid(file: &str, field: &str, message: impl Into<String>) -> Self {
        BuildError::InvalidField {
            file: file.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn transform(file: &str, field: &str, message: impl Into<String>) -> Self {
        BuildError::Transform {
            file: file.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}
