//! Planning: from an event, the settings and the current state to the list of steps to run.
//!
//! The Plan is the hinge of the pipeline: everything before it decides and touches nothing,
//! everything after it executes exactly the plan. `decide` is a pure function — the caller
//! gathers the state (PR open or merged, existing previews, which units changed) and passes it
//! in — so every trigger of the three-branch flow is unit-tested as a table.

pub mod command;
pub mod decide;

pub use decide::{
    Action, ChangeKind, ExistingPreview, Plan, PreviewRef, PullRequestState, State, Step, Target,
    UnitChange, decide,
};
