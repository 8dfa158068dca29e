//! YAML in and out, the way kustomize does it.
//!
//! `parse` turns YAML text into `Value`s typed as kustomize (kyaml / go-yaml v3, then its JSON
//! step) sees them; `emit` prints `Value`s byte-for-byte as `kubectl kustomize` does
//! (sigs.k8s.io/yaml, i.e. go-yaml v2 rules). This module owns no Kubernetes knowledge and does
//! no I/O: text in, values out, and back.

pub mod emit;
pub mod parse;

pub use emit::{emit_document, emit_documents};
pub use parse::{
    YamlError, parse_document, parse_document_last_key_wins, parse_documents, parse_kustomization,
};
