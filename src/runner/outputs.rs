//! The action's outputs: the table `action.yml` must match, and how they reach the runner.
//!
//! Outputs are written to the `GITHUB_OUTPUT` file as heredoc entries; large content (the plan)
//! goes to a file whose path is the output, never through a single output line.

use std::path::Path;

use super::commands::append_entries;

/// One output of `action.yml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub name: &'static str,
}

/// Every output the action sets. `action.yml` is checked against this table by a test.
pub const OUTPUTS: &[OutputSpec] = &[
    OutputSpec { name: "plan" },
    OutputSpec { name: "plan-summary" },
    OutputSpec { name: "affected-units" },
    OutputSpec { name: "environment" },
    OutputSpec { name: "preview-urls" },
    OutputSpec { name: "preview-namespace" },
];

/// Writes outputs to the runner's `GITHUB_OUTPUT` file; unknown names are a programming error.
pub fn write_outputs(github_output: &Path, values: &[(&str, &str)]) -> std::io::Result<()> {
    for (name, _) in values {
        assert!(
            OUTPUTS.iter().any(|o| o.name == *name),
            "output {name} is not declared in OUTPUTS"
        );
    }
    append_entries(github_output, values)
}
