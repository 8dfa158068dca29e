//! Planning: from a trigger (an event, or a command run by hand), the settings and the current
//! state to the list of steps to run.
//!
//! The Plan is the hinge of the pipeline: everything before it decides and touches nothing,
//! everything after it executes exactly the plan. `decide` is a pure function — the conductor
//! gathers the state (PR open or merged, existing previews, which units changed) and passes it
//! in — so every trigger of the three-branch flow is unit-tested as a table.

pub mod decide;

pub use decide::{
    Action, ExistingPreview, Plan, PreviewMatch, PreviewRef, PullRequestState, State, Step, Target,
    Trigger, decide,
};
