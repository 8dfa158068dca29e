//! `kustomize build` in Rust, byte-compatible with kustomize v5.
//!
//! A pure library: no network, no async, no Kubernetes client. The build reads files only through
//! the `FileSystem` trait, so callers can build from disk, from memory or from a git tree, and can
//! learn exactly which files a build read.
//!
//! Layout: `value` is the data model every stage shares; `yaml` parses and prints it the way
//! kustomize does.

pub mod fs;
pub mod value;
pub mod yaml;

pub use fs::{DirEntry, EntryKind, FileSystem, FsError};
pub use value::{Map, Value};
