//! Patches: strategic merge (`strategic_merge`), JSON 6902 (`json6902`) and how a patch picks
//! its targets (`selector`).
//!
//! These are pure functions over `Value`; the build pipeline decides when they run and keeps
//! resource ids. Nothing here reads files.

pub mod json6902;
pub mod selector;
pub mod strategic_merge;
