//! `kustomize build` in Rust, byte-compatible with kustomize v5.
//!
//! A pure library: no network, no async, no Kubernetes client. The only process it starts is the
//! helm binary, for `helmCharts`, when the caller enables it (`BuildOptions::helm`), as
//! `kustomize build --enable-helm` does. The build reads files only through
//! the `FileSystem` trait, so callers can build from disk, from memory or from a git tree, and can
//! learn exactly which files a build read.
//!
//! Start at `build` (THE pipeline, in kustomize's order): `build(fs, dir, options)` returns the
//! rendered objects, `build_yaml` prints them as `kubectl kustomize` does.
//!
//! Layout: `value` is the data model every stage shares; `yaml` parses and prints it the way
//! kustomize does; `fs` is the file-system edge (disk, memory, read-set recording); `loader`
//! finds kustomizations and applies the load restrictor; `kustomization` is the file model;
//! `resource` holds one object with its build bookkeeping; `field_specs` (with
//! `data/builtin-field-specs.yaml`) and `crd_config` say which fields each transformer touches;
//! `generate` makes ConfigMaps and Secrets; `helm` inflates `helmCharts` by running helm (the
//! one thing the build spawns; helm, not this crate, pulls charts); `transform` holds the builtin transformers (with
//! `replacements` and legacy `vars`); `patch` strategic merge (driven by `kube_schema`:
//! Kubernetes' merge keys kept as data), JSON 6902, target selectors and `patch::stage`, their
//! glue to the pipeline; `error` the typed `BuildError`.

pub mod build;
pub mod crd_config;
pub mod error;
pub mod field_specs;
pub mod fs;
pub mod generate;
pub mod helm;
pub mod kube_schema;
pub mod kustomization;
pub mod limits;
pub mod loader;
pub mod patch;
pub mod remote;
pub mod resource;
pub mod transform;
pub mod value;
pub mod yaml;

pub use build::{BuildOptions, BuildOutput, build, build_output, build_yaml};
pub use error::{BuildError, Limit};
pub use fs::{DirEntry, DiskFs, EntryKind, FileSystem, FsError, MemoryFs, RecordingFs};
pub use helm::{ChartSource, ChartUse, Helm, HelmError, HelmOptions, PulledChart};
pub use loader::LoadRestrictor;
pub use remote::{GitTarget, RemoteError, RemoteErrorKind, RemoteLoader, RemoteTree};
pub use value::{Map, Value};
