//! What the runner tells the action about its run: the `GITHUB_*` variables, read once into a
//! typed context. Every missing or malformed variable is an error that names it.

use std::path::PathBuf;

/// The run's environment, as GitHub Actions sets it for a container action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunContext {
    pub event_name: String,
    pub event_path: Option<PathBuf>,
    /// `owner/name`.
    pub repository: String,
    pub sha: String,
    pub git_ref: String,
    pub workspace: PathBuf,
    pub server_url: String,
    pub run_id: Option<String>,
    pub output_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
    /// Where large outputs (the plan JSON) are written, as this process sees it.
    pub temp_dir: PathBuf,
    /// The same folder as the runner's host (and so later steps) sees it: a container action's
    /// files must be handed on by their host path.
    pub host_temp_dir: PathBuf,
}

/// Where GitHub's runner mounts the workspace inside a container action, and its
/// `RUNNER_TEMP/_github_home` folder (the only mount of the runner's temporary folder whose host
/// path is known: `RUNNER_TEMP` itself is passed in with its host value but not mounted).
const CONTAINER_WORKSPACE: &str = "/github/workspace";
const CONTAINER_HOME: &str = "/github/home";

/// A variable the action cannot run without, or one it cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}: {message}")]
pub struct ContextError {
    pub variable: &'static str,
    pub message: String,
}

impl RunContext {
    pub fn from_env(env: &[(String, String)]) -> Result<RunContext, ContextError> {
        let get = |name: &str| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| {
            get(name).map(str::to_owned).ok_or(ContextError {
                variable: name,
                message: "is not set (the action must run inside GitHub Actions, or set it)".into(),
            })
        };
        let repository = required("GITHUB_REPOSITORY")?;
        if repository.split('/').count() != 2 || repository.split('/').any(str::is_empty) {
            return Err(ContextError {
                variable: "GITHUB_REPOSITORY",
                message: format!("{repository:?} is not OWNER/NAME"),
            });
        }
        let workspace = PathBuf::from(get("GITHUB_WORKSPACE").unwrap_or("."));
        let runner_temp = get("RUNNER_TEMP").map(PathBuf::from);
        // Inside a container action, RUNNER_TEMP names a host folder that is not mounted; its
        // `_github_home` subfolder is, at /github/home.
        let in_container = workspace == std::path::Path::new(CONTAINER_WORKSPACE)
            && std::path::Path::new(CONTAINER_HOME).is_dir();
        let (temp_dir, host_temp_dir) = match (&runner_temp, in_container) {
            (Some(host), true) => (
                PathBuf::from(CONTAINER_HOME).join("gitops-env"),
                host.join("_github_home").join("gitops-env"),
            ),
            (Some(dir), false) => (dir.clone(), dir.clone()),
            (None, _) => (workspace.join(".gitops-env"), workspace.join(".gitops-env")),
        };
        Ok(RunContext {
            event_name: required("GITHUB_EVENT_NAME")?,
            event_path: get("GITHUB_EVENT_PATH").map(PathBuf::from),
            repository,
            sha: get("GITHUB_SHA").unwrap_or_default().to_owned(),
            git_ref: get("GITHUB_REF").unwrap_or_default().to_owned(),
            server_url: get("GITHUB_SERVER_URL")
                .unwrap_or("https://github.com")
                .trim_end_matches('/')
                .to_owned(),
            run_id: get("GITHUB_RUN_ID").map(str::to_owned),
            output_file: get("GITHUB_OUTPUT").map(PathBuf::from),
            summary_file: get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            temp_dir,
            host_temp_dir,
            workspace,
        })
    }

    /// The workflow run's page, for deployment statuses and the comment's link.
    pub fn run_url(&self) -> Option<String> {
        self.run_id
            .as_ref()
            .map(|id| format!("{}/{}/actions/runs/{id}", self.server_url, self.repository))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn reads_the_runner_variables() {
        let ctx = RunContext::from_env(&env(&[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REPOSITORY", "me/homelab"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_SERVER_URL", "https://ghe.example.com/"),
        ]))
        .unwrap();
        assert_eq!(ctx.run_url().unwrap(), "https://ghe.example.com/me/homelab/actions/runs/42");
        assert_eq!(ctx.temp_dir, PathBuf::from("/github/workspace/.gitops-env"));
    }

    #[test]
    fn missing_or_malformed_variables_are_named() {
        let err = RunContext::from_env(&env(&[("GITHUB_REPOSITORY", "me/homelab")])).unwrap_err();
        assert_eq!(err.variable, "GITHUB_EVENT_NAME");
        let err = RunContext::from_env(&env(&[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REPOSITORY", "nope"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "GITHUB_REPOSITORY");
    }
}
