//! `kustomize build` in Rust, byte-compatible with kustomize v5.
//!
//! A pure library: no network, no async, no Kubernetes client. The build reads files only through
//! the `FileSystem` trait, so callers can build from disk, from memory or from a git tree, and can
//! learn exactly which files a build read.
//!
//! Layout: `value` is the data model every stage shares; `yaml` parses and prints it the way
//! kustomize does.

pub mod build;
pub mod error;
pub mod field_specs;
pub mod fs;
pub mod generate;
pub mod kube_schema;
pub mod kustomization;
pub mod loader;
pub mod patch;
pub mod resource;
pub mod transform;
pub mod value;
pub mod yaml;

pub use build::{BuildOptions, build, build_yaml};
pub use error::BuildError;
pub use fs::{DirEntry, DiskFs, EntryKind, FileSystem, FsError, MemoryFs, RecordingFs};
pub use loader::LoadRestrictor;
pub use value::{Map, Value};
