//! kustomize's builtin transformers, each a pure function over the accumulated resources.
//!
//! Every transformer takes its configuration (from the kustomization) and the field-spec tables
//! it needs, and edits resources in place; none of them reads files. The order they run in is
//! the pipeline's business (`build.rs`), not theirs. `replacements` and `vars` copy values
//! between resources.

pub mod hash_suffix;
pub mod images;
pub mod labels;
pub mod name_affix;
pub mod name_references;
pub mod namespace;
pub mod replacements;
pub mod replicas;
pub mod sort;
pub mod vars;
