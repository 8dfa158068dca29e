//! gitops-env: preview, testing and production environments on Kubernetes from a
//! Kustomize-structured Git repository, driven by branches.
//!
//! The library is the whole program; `main` only hands it the process's world. `run` takes its
//! arguments, environment and output streams as parameters so that every command can be run
//! in-process by tests.
//!
//! The modules follow the pipeline (see ARCHITECTURE.md; `pipeline` is its conductor and `cli`
//! its commands): runner + config → detect (rendering through `render`) → plan → preview and
//! image transforms → diff → cluster → report, with `git` and `github` as edges.

pub mod cli;
pub mod cluster;
pub mod config;
pub mod detect;
pub mod diff;
pub mod git;
pub mod github;
pub mod pipeline;
pub mod plan;
pub mod preview;
pub mod render;
pub mod report;
pub mod runner;
pub mod timestamp;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Runs the command line `args` (program name first) with the environment `env`.
///
/// Exit codes: 0 success or nothing to do, 1 failure, 2 bad input or configuration.
pub fn run(
    args: Vec<OsString>,
    env: &[(String, String)],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    cli::run(args, env, stdout, stderr)
}
