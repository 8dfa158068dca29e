//! The GitHub Actions runner protocol: everything the action reads from and writes to the
//! runner (`context`: the `GITHUB_*` variables).
//!
//! `inputs` reads `INPUT_*` variables (the list of inputs is the table `action.yml` must match),
//! `event` turns `GITHUB_EVENT_NAME` + the payload file into typed events, and `commands` writes
//! workflow commands, step outputs, environment files and the job summary.
//!
//! This module only translates between the runner's conventions and plain data; it makes no
//! decisions. Secret inputs are masked (`::add-mask::`) before anything else is printed.

pub mod commands;
pub mod context;
pub mod event;
pub mod inputs;
pub mod outputs;
