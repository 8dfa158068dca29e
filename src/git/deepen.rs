//! Completing a shallow clone with the git CLI: `git fetch --deepen` and fetching commits by SHA
//! from the clone's remote. gix can read any clone but its fetch would pull in a network stack
//! (HTTP, TLS, credentials) we do not otherwise need; the runner already has git and the
//! credentials actions/checkout configured.
//!
//! The checkout may belong to another user (the container action runs as root over the runner's
//! workspace), where git refuses to work unless the directory is declared safe; the declaration is
//! passed on the command line (`-c safe.directory=…`) for this one call, never written to any
//! config file.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::CommitId;
use super::diff_base::HistoryFetcher;

/// Fetches from a remote of the repository at `repo` with the `git` binary.
#[derive(Debug, Clone)]
pub struct GitCliFetcher {
    repo: PathBuf,
    remote: String,
    git: PathBuf,
}

impl GitCliFetcher {
    /// A fetcher for `repo`'s remote `remote`, or `None` when there is no git binary or no such
    /// remote (a copied directory, a fresh `git init`): then there is nothing to fetch from.
    pub fn detect(repo: &Path, remote: &str) -> Option<Self> {
        let fetcher = Self {
            repo: repo.to_path_buf(),
            remote: remote.to_string(),
            git: PathBuf::from("git"),
        };
        let url = fetcher.run(&["remote", "get-url", remote]).ok()?;
        (!url.trim().is_empty()).then_some(fetcher)
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let safe = format!("safe.directory={}", self.repo.display());
        let output = Command::new(&self.git)
            .arg("-c")
            .arg(&safe)
            .arg("-C")
            .arg(&self.repo)
            .args(args)
            // Never prompt for credentials: the action has no one to answer.
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(|err| format!("running git: {err}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "git {} failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }
}

impl HistoryFetcher for GitCliFetcher {
    fn fetch_commits(&self, commits: &[CommitId], depth: u32) -> Result<(), String> {
        let depth = format!("--depth={depth}");
        let mut args = vec!["fetch", "--no-tags", "--quiet", depth.as_str(), self.remote.as_str()];
        args.extend(commits.iter().map(CommitId::as_str));
        self.run(&args).map(drop)
    }

    fn deepen(&self, by: u32) -> Result<(), String> {
        let deepen = format!("--deepen={by}");
        self.run(&["fetch", "--no-tags", "--quiet", deepen.as_str(), self.remote.as_str()])
            .map(drop)
    }
}
