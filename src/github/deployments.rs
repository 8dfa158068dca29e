//! GitHub Deployments: one per environment (`preview/<slug>`, `testing`, `production`) and
//! commit, so that pull requests show "deployed to preview/…" with a link to the environment.
//!
//! It owns the request shapes GitHub needs for that: previews are transient, production is
//! `production_environment`, `auto_merge` is off (GitHub would otherwise merge the default
//! branch into the ref) and `required_contexts` is empty (the workflow itself is the check).
//! Statuses go `in_progress` → `success` (with `environment_url` and `log_url`) or `failure`.
//! Teardown marks the environment's deployments `inactive`: deleting the environment itself needs
//! admin rights that a workflow token lacks. What to deploy and when is the plan's business.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::GitHubError;
use super::client::{GitHubClient, encode};
use super::pulls::RepoName;

/// GitHub rejects status descriptions longer than this many characters.
const DESCRIPTION_LIMIT: usize = 140;
/// Deployments read per environment at most when tearing down (100 per page).
const MAX_DEPLOYMENT_PAGES: usize = 10;

/// Which environment a deployment is for, with the flags GitHub wants for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentTarget {
    /// The environment name shown on GitHub.
    pub environment: String,
    /// Previews: the environment goes away; GitHub shows it as destroyed once inactive.
    pub transient: bool,
    /// Production: the environment end users use.
    pub production: bool,
}

impl DeploymentTarget {
    /// The preview of `slug` (e.g. `pr-42`): `preview/<slug>`, transient.
    pub fn preview(slug: &str) -> DeploymentTarget {
        DeploymentTarget {
            environment: format!("preview/{slug}"),
            transient: true,
            production: false,
        }
    }

    /// The shared `testing` environment.
    pub fn testing() -> DeploymentTarget {
        DeploymentTarget { environment: "testing".to_string(), transient: false, production: false }
    }

    /// The `production` environment.
    pub fn production() -> DeploymentTarget {
        DeploymentTarget {
            environment: "production".to_string(),
            transient: false,
            production: true,
        }
    }
}

/// A deployment status state we set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentState {
    InProgress,
    Success,
    Failure,
    Error,
    Inactive,
}

impl DeploymentState {
    fn as_str(self) -> &'static str {
        match self {
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Success => "success",
            DeploymentState::Failure => "failure",
            DeploymentState::Error => "error",
            DeploymentState::Inactive => "inactive",
        }
    }
}

/// A status to add to a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub state: DeploymentState,
    /// Where the environment can be seen (the first preview URL).
    pub environment_url: Option<String>,
    /// The workflow run's URL.
    pub log_url: Option<String>,
    /// Cut to GitHub's 140 characters.
    pub description: Option<String>,
}

impl StatusUpdate {
    /// A status with just a state.
    pub fn new(state: DeploymentState) -> StatusUpdate {
        StatusUpdate { state, environment_url: None, log_url: None, description: None }
    }
}

#[derive(Deserialize)]
struct IdJson {
    id: u64,
}

#[derive(Deserialize)]
struct StatusJson {
    state: String,
}

impl GitHubClient {
    /// Creates a deployment of commit `sha` to `target`; returns its id.
    pub async fn create_deployment(
        &self,
        repo: &RepoName,
        target: &DeploymentTarget,
        sha: &str,
        description: &str,
    ) -> Result<u64, GitHubError> {
        let body = json!({
            "ref": sha,
            "task": "deploy",
            "environment": target.environment,
            "description": truncate(description),
            "auto_merge": false,
            "required_contexts": [],
            "transient_environment": target.transient,
            "production_environment": target.production,
        });
        let created: IdJson = self
            .send_json(Method::POST, &format!("{}/deployments", repo.api_path()), &body)
            .await?;
        Ok(created.id)
    }

    /// The newest deployment of commit `sha` to `environment`, if one exists: a run repeated at
    /// the same commit reports on it instead of creating another.
    pub async fn find_deployment(
        &self,
        repo: &RepoName,
        environment: &str,
        sha: &str,
    ) -> Result<Option<u64>, GitHubError> {
        let path = format!(
            "{}/deployments?environment={}&sha={}&per_page=1",
            repo.api_path(),
            encode(environment),
            encode(sha)
        );
        let found: Vec<IdJson> = self.get_json(&path).await?;
        Ok(found.first().map(|d| d.id))
    }

    /// Adds a status to deployment `id`.
    pub async fn set_deployment_status(
        &self,
        repo: &RepoName,
        id: u64,
        update: &StatusUpdate,
    ) -> Result<(), GitHubError> {
        let mut body = json!({ "state": update.state.as_str() });
        if let Some(url) = &update.environment_url {
            body["environment_url"] = json!(url);
        }
        if let Some(url) = &update.log_url {
            body["log_url"] = json!(url);
        }
        if let Some(description) = &update.description {
            body["description"] = json!(truncate(description));
        }
        let _: Value = self
            .send_json(
                Method::POST,
                &format!("{}/deployments/{id}/statuses", repo.api_path()),
                &body,
            )
            .await?;
        Ok(())
    }

    /// Marks every deployment of `environment` that is not inactive yet as inactive (teardown);
    /// returns the ids it changed. Running it twice changes nothing the second time.
    pub async fn deactivate_environment(
        &self,
        repo: &RepoName,
        environment: &str,
    ) -> Result<Vec<u64>, GitHubError> {
        let path = format!(
            "{}/deployments?environment={}&per_page=100",
            repo.api_path(),
            encode(environment)
        );
        let deployments = self.get_pages::<IdJson>(&path, MAX_DEPLOYMENT_PAGES).await?;
        let mut changed = Vec::new();
        for deployment in deployments.items {
            // Statuses are listed newest first: one is enough to know the current state.
            let latest: Vec<StatusJson> = self
                .get_json(&format!(
                    "{}/deployments/{}/statuses?per_page=1",
                    repo.api_path(),
                    deployment.id
                ))
                .await?;
            if latest.first().is_some_and(|status| status.state == "inactive") {
                continue;
            }
            let update = StatusUpdate {
                description: Some("Environment torn down by gitops-env".to_string()),
                ..StatusUpdate::new(DeploymentState::Inactive)
            };
            self.set_deployment_status(repo, deployment.id, &update).await?;
            changed.push(deployment.id);
        }
        Ok(changed)
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= DESCRIPTION_LIMIT {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(DESCRIPTION_LIMIT - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_carry_githubs_flags() {
        assert_eq!(
            DeploymentTarget::preview("pr-7"),
            DeploymentTarget {
                environment: "preview/pr-7".into(),
                transient: true,
                production: false
            }
        );
        assert!(DeploymentTarget::production().production);
        assert!(!DeploymentTarget::testing().transient);
    }

    #[test]
    fn descriptions_fit_githubs_limit() {
        assert_eq!(truncate("short"), "short");
        let long = "x".repeat(300);
        assert_eq!(truncate(&long).chars().count(), DESCRIPTION_LIMIT);
    }
}
