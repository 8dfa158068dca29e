//! The action end to end, one module per flow of the three-branch workflow (issue 8).

mod dry_run;
mod failures;
mod feature;
mod fork;
mod idempotent;
mod images;
mod merge_to_develop;
mod pr_closed;
mod prune;
mod real_payloads;
mod release;
mod shallow;
mod sources;
mod sweep;
