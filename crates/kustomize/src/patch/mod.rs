//! Patches: strategic merge (`strategic_merge`), JSON 6902 (`json6902`) and how a patch picks
//! its targets (`selector`).
//!
//! The algorithms are pure functions over `Value`; `stage` is their glue to the build pipeline
//! (loading patch files through the loader, finding targets, keeping resource ids).

pub(crate) mod entry_fields;
pub mod json6902;
pub mod selector;
pub(crate) mod stage;
pub mod strategic_merge;
