//! The action's inputs: the one table `action.yml` must match, and typed access to `INPUT_*`.
//!
//! Inputs that shape the repository layout (roots, environment names, branch patterns, templates)
//! default to empty in `action.yml`: empty means "use `.github/gitops-env.yaml`, else the built-in
//! default", so a config file in the user's repository is not silently overridden by a default.
//! Behaviour switches (comment, prune, dry-run...) carry their real default.

use std::collections::BTreeMap;

/// One input of `action.yml`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    pub name: &'static str,
    pub default: &'static str,
    /// Masked with `::add-mask::` before anything is printed.
    pub secret: bool,
    pub description: &'static str,
}

const fn input(name: &'static str, default: &'static str, description: &'static str) -> InputSpec {
    InputSpec { name, default, secret: false, description }
}

const fn secret(name: &'static str, default: &'static str, description: &'static str) -> InputSpec {
    InputSpec { name, default, secret: true, description }
}

/// Every input the action reads. `action.yml` is checked against this table by a test.
pub const INPUTS: &[InputSpec] = &[
    secret(
        "github-token",
        "${{ github.token }}",
        "Token for PR comments, deployments and PR state. Needs pull-requests: write and deployments: write.",
    ),
    secret(
        "kubeconfig-testing",
        "",
        "Kubeconfig (file content) of the non-production cluster: previews and the testing environment.",
    ),
    secret("kubeconfig-production", "", "Kubeconfig (file content) of the production cluster."),
    input(
        "context-testing",
        "",
        "Context to use in kubeconfig-testing (default: its current-context).",
    ),
    input(
        "context-production",
        "",
        "Context to use in kubeconfig-production (default: its current-context).",
    ),
    input(
        "config-file",
        ".github/gitops-env.yaml",
        "Optional configuration file in the repository; inputs below override it.",
    ),
    input("working-directory", ".", "The repository checkout, relative to GITHUB_WORKSPACE."),
    input(
        "app-roots",
        "",
        "Comma-separated folders holding base/ and overlays/ for apps (default: apps). Changed apps get previews.",
    ),
    input(
        "infrastructure-roots",
        "",
        "Comma-separated folders for cluster-wide infrastructure (default: infrastructure). Diff-only on feature branches.",
    ),
    input(
        "units",
        "",
        "Newline-separated globs selecting unit directories ({env} is replaced by the overlay name); default: discovered.",
    ),
    input(
        "testing-environment",
        "",
        "Name of the testing environment and its overlay folder (default: testing).",
    ),
    input(
        "production-environment",
        "",
        "Name of the production environment and its overlay folder (default: production).",
    ),
    input("testing-branch", "", "Branch deployed to the testing environment (default: develop)."),
    input("production-branch", "", "Branch deployed to production (default: main)."),
    input(
        "preview-branches",
        "",
        "Comma-separated branch patterns that get previews (default: feat/*).",
    ),
    input(
        "preview-namespace-template",
        "",
        "Namespace of a preview; {slug} is the branch or PR slug (default: preview-{slug}).",
    ),
    input(
        "preview-host-template",
        "",
        "Host of preview ingresses, e.g. {app}-{slug}.preview.example.com; {host} is the original host's first label. Empty: hosts unchanged.",
    ),
    input(
        "preview-ttl",
        "",
        "Time-to-live of a preview before the scheduled sweep removes it, e.g. 72h or 7d (default: 72h).",
    ),
    input(
        "images",
        "",
        "Image overrides in kustomize form, newline- or comma-separated: name=newName:newTag or name=newName@digest.",
    ),
    input(
        "comment",
        "true",
        "Post or update the sticky PR comment with preview URLs and the manifest diff.",
    ),
    input("deployments", "true", "Create GitHub Deployments for preview, testing and production."),
    input(
        "prune",
        "true",
        "Delete objects that left the render (only objects carrying gitops-env's ownership label).",
    ),
    input(
        "wait-timeout",
        "5m",
        "How long to wait for Deployments, StatefulSets, DaemonSets and Jobs to become ready.",
    ),
    input("dry-run", "false", "Server-side dry run: compute the live diff, persist nothing."),
    input(
        "force-conflicts",
        "false",
        "Take over fields owned by another field manager instead of failing.",
    ),
    input(
        "helm",
        "true",
        "Inflate helmCharts by running helm, as kubectl kustomize --enable-helm does. false: a unit with helmCharts fails to render.",
    ),
    input(
        "helm-command",
        "helm",
        "The helm v3 binary (a path, or a name on PATH); the action's image ships helm v3.17.2 on PATH.",
    ),
    input(
        "cache-directory",
        ".gitops-env",
        "Folder, relative to GITHUB_WORKSPACE, where remote bases (remote-cache/) and pulled charts (charts/) are kept between runs; keep it with actions/cache.",
    ),
    input(
        "allow-fork-deploy-label",
        "deploy-preview",
        "PR label with which a maintainer allows a fork PR to deploy a preview.",
    ),
];

/// Looks up an input's spec by name.
pub fn spec(name: &str) -> Option<&'static InputSpec> {
    INPUTS.iter().find(|spec| spec.name == name)
}

/// The environment variable the runner sets for an input.
pub fn env_var(name: &str) -> String {
    format!("INPUT_{}", name.replace(' ', "_").to_uppercase())
}

/// A malformed input value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input `{input}`: {message}")]
pub struct InputError {
    pub input: String,
    pub message: String,
}

/// The raw input values read from the environment, trimmed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Inputs {
    values: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.values {
            let shown = if spec(name).is_some_and(|s| s.secret) && !value.is_empty() {
                "<redacted>"
            } else {
                value
            };
            map.entry(name, &shown);
        }
        map.finish()
    }
}

impl Inputs {
    /// Reads every known input from `env`; a missing variable is treated as its default.
    pub fn from_env(env: &[(String, String)]) -> Self {
        let lookup: BTreeMap<&str, &str> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let values = INPUTS
            .iter()
            .map(|spec| {
                let value = lookup.get(env_var(spec.name).as_str()).copied();
                let value = value.unwrap_or(if spec.default.starts_with("${{") {
                    ""
                } else {
                    spec.default
                });
                (spec.name, value.trim().to_owned())
            })
            .collect();
        Inputs { values }
    }

    /// Inputs with explicit values (others at their defaults), for tests and the CLI.
    pub fn with(values: &[(&str, &str)]) -> Self {
        let env: Vec<(String, String)> =
            values.iter().map(|(k, v)| (env_var(k), (*v).to_owned())).collect();
        Self::from_env(&env)
    }

    /// The trimmed value; empty when unset.
    pub fn get(&self, name: &str) -> &str {
        debug_assert!(spec(name).is_some(), "unknown input {name}");
        self.values.get(name).map_or("", String::as_str)
    }

    /// The value, or `None` when empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|v| !v.is_empty())
    }

    /// The secret values present, to be masked before anything is printed.
    pub fn secrets(&self) -> Vec<&str> {
        INPUTS
            .iter()
            .filter(|s| s.secret)
            .map(|s| self.get(s.name))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// A boolean input, accepting the spellings YAML 1.2 core schema does (as actions/toolkit).
    pub fn bool(&self, name: &str) -> Result<bool, InputError> {
        match self.get(name) {
            "true" | "True" | "TRUE" => Ok(true),
            "false" | "False" | "FALSE" => Ok(false),
            "" => Ok(spec(name).is_some_and(|s| s.default == "true")),
            other => Err(InputError {
                input: name.to_owned(),
                message: format!("expected true or false, got {other:?}"),
            }),
        }
    }

    /// A list input split on newlines and commas, empty items dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        split_list(self.get(name))
    }
}

/// Splits a list given as newline- or comma-separated items.
pub fn split_list(value: &str) -> Vec<String> {
    value.split(['\n', ',']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_keeps_hyphens_and_upper_cases() {
        assert_eq!(env_var("github-token"), "INPUT_GITHUB-TOKEN");
    }

    #[test]
    fn missing_inputs_take_their_defaults_except_expressions() {
        let inputs = Inputs::from_env(&[]);
        assert_eq!(inputs.get("wait-timeout"), "5m");
        assert_eq!(inputs.get("github-token"), "");
        assert!(inputs.bool("comment").unwrap());
        assert!(!inputs.bool("dry-run").unwrap());
    }

    #[test]
    fn bad_booleans_name_the_input() {
        let inputs = Inputs::with(&[("dry-run", "maybe")]);
        let err = inputs.bool("dry-run").unwrap_err();
        assert_eq!(err.to_string(), "input `dry-run`: expected true or false, got \"maybe\"");
    }

    #[test]
    fn debug_never_shows_secret_values() {
        let inputs = Inputs::with(&[("github-token", "ghs_supersecret"), ("prune", "false")]);
        let shown = format!("{inputs:?}");
        assert!(!shown.contains("ghs_supersecret"));
        assert!(shown.contains("<redacted>"));
        assert_eq!(inputs.secrets(), vec!["ghs_supersecret"]);
    }

    #[test]
    fn lists_split_on_commas_and_newlines() {
        assert_eq!(split_list("a, b\n\nc,"), vec!["a", "b", "c"]);
    }

    #[test]
    fn input_names_are_unique() {
        let mut names: Vec<_> = INPUTS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), INPUTS.len());
    }
}
