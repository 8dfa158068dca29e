//! YAML in and out, the way kustomize does it.
//!
//! `parse` turns YAML text into `Value`s typed as kustomize sees them, `emit` prints `Value`s
//! byte-for-byte as `kubectl kustomize` does (sigs.k8s.io/yaml, i.e. go-yaml v2 rules). This
//! module owns no Kubernetes knowledge and does no I/O: text in, values out, and back.
//!
//! - Resources: `parse_documents` (multi-document; empty documents skipped) and
//!   `parse_document`. Typing follows kyaml (go-yaml v3) plus kustomize's JSON step: `012` is
//!   10, `yes` stays a string, plain timestamps print as RFC 3339 (`2001-12-14T00:00:00Z`),
//!   merge keys are applied, and duplicate keys, `.inf`/`.nan`, non-string keys below the root
//!   and characters kustomize cannot print are errors, as they are in kustomize.
//! - Kustomization files: `parse_kustomization` (sigs.k8s.io/yaml reading: YAML 1.1 booleans,
//!   last repeated key wins).
//! - Output: `emit_documents` joins documents with `---\n` as kustomize does; `emit_document`
//!   prints one.

pub mod emit;
pub mod parse;

pub use emit::{emit_document, emit_documents};
pub use parse::{
    YamlError, parse_document, parse_document_last_key_wins, parse_documents,
    parse_documents_decoded, parse_kustomization,
};
