//! Transformers that copy values between resources: `replacements` and legacy `vars`.
//!
//! Pure functions over `Value`; the pipeline decides when they run.

pub mod replacements;
pub mod vars;
