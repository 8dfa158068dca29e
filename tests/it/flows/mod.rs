//! The action end to end, one module per flow of the three-branch workflow (issue 8).

mod feature;
mod merge_to_develop;
mod release;
mod pr_closed;
mod sweep;
mod fork;
mod failures;
mod idempotent;
