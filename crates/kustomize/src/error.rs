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

    /// A file is not valid YAML.
    #[error("{file}: invalid YAML: {message}")]
    Yaml { file: String, message: String },

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

    /// A kustomization refers (directly or not) to itself or to a directory above it.
    #[error("{file}: cycle detected: '{dir}' refers to '{target}', which contains it")]
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
            | BuildError::Helm { file, .. } => file,
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
