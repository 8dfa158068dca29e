//! Completing a shallow clone: fetching missing commits by SHA and deepening the history, from
//! the clone's remote. `GixFetcher` does it in-process with gix (the container image has no
//! `git`); `GitCliFetcher` (`git fetch --deepen`) is an optional extra used when gix fails and a
//! `git` binary is present; `detect` builds the pair.
//!
//! Credentials are what actions/checkout configured: an `http.<url>.extraheader` line
//! (`AUTHORIZATION: basic …`) in the clone's own `.git/config`, read here and sent with the
//! fetch (the repository is opened isolated, so gix would not read it itself), never written or
//! printed.
//!
//! The checkout may belong to another user (the container action runs as root over the runner's
//! workspace), where git refuses to work unless the directory is declared safe; for the git CLI
//! the declaration is passed on the command line (`-c safe.directory=…`) for this one call, never
//! written to any config file.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::CommitId;
use super::diff_base::HistoryFetcher;
use super::fetch::{self, Depth, FetchLimits, FetchRequest};

/// The fetcher for `repo`'s remote `remote`: gix, with the git CLI behind it when a `git` binary
/// is on PATH; `None` when the repository has no such remote (a copied directory, a fresh
/// `git init`).
pub fn detect(repo: &Path, remote: &str) -> Option<Box<dyn HistoryFetcher>> {
    let gix = GixFetcher::detect(repo, remote, FetchLimits::default());
    let cli = GitCliFetcher::detect(repo, remote);
    match (gix, cli) {
        (Some(gix), cli) => Some(Box::new(WithFallback { gix, cli })),
        (None, Some(cli)) => Some(Box::new(cli)),
        (None, None) => None,
    }
}

/// gix first; the git CLI, when present, only if gix failed.
#[derive(Debug)]
struct WithFallback {
    gix: GixFetcher,
    cli: Option<GitCliFetcher>,
}

impl WithFallback {
    fn run(
        &self,
        with_gix: impl Fn(&GixFetcher) -> Result<(), String>,
        with_cli: impl Fn(&GitCliFetcher) -> Result<(), String>,
    ) -> Result<(), String> {
        let Err(gix_error) = with_gix(&self.gix) else { return Ok(()) };
        match &self.cli {
            Some(cli) => with_cli(cli).map_err(|cli_error| format!("{gix_error}; {cli_error}")),
            None => Err(gix_error),
        }
    }
}

impl HistoryFetcher for WithFallback {
    fn fetch_commits(&self, commits: &[CommitId], depth: u32) -> Result<(), String> {
        self.run(|f| f.fetch_commits(commits, depth), |f| f.fetch_commits(commits, depth))
    }

    fn deepen(&self, by: u32) -> Result<(), String> {
        self.run(|f| f.deepen(by), |f| f.deepen(by))
    }
}

/// Fetches from a remote of a clone with gix, as actions/checkout configured it (URL, fetch
/// refspecs, extra header), each fetch bounded by `limits`.
#[derive(Clone)]
pub struct GixFetcher {
    git_dir: PathBuf,
    remote: String,
    url: String,
    refspecs: Vec<String>,
    auth_header: Option<String>,
    limits: FetchLimits,
}

impl std::fmt::Debug for GixFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GixFetcher")
            .field("git_dir", &self.git_dir)
            .field("remote", &self.remote)
            .field("url", &self.url)
            .field("auth_header", &self.auth_header.as_ref().map(|_| "***"))
            .finish()
    }
}

impl GixFetcher {
    /// A fetcher for `repo`'s remote `remote`, read from the clone's own config; `None` when the
    /// repository or the remote's URL cannot be found.
    pub fn detect(repo: &Path, remote: &str, limits: FetchLimits) -> Option<Self> {
        let opened = gix::open_opts(repo, gix::open::Options::isolated()).ok()?;
        let git_dir = opened.git_dir().to_path_buf();
        let config_path = opened.common_dir().join("config");
        let config =
            gix::config::File::from_path_no_includes(config_path, gix::config::Source::Local)
                .ok()?;
        let url = config.string_by("remote", Some(remote.into()), "url")?.to_string();
        if url.trim().is_empty() {
            return None;
        }
        let mut refspecs: Vec<String> = config
            .strings_by("remote", Some(remote.into()), "fetch")
            .unwrap_or_default()
            .into_iter()
            .map(|spec| spec.to_string())
            .collect();
        if refspecs.is_empty() {
            refspecs.push(format!("+refs/heads/*:refs/remotes/{remote}/*"));
        }
        let auth_header = extra_header(&config, &url);
        Some(Self { git_dir, remote: remote.to_owned(), url, refspecs, auth_header, limits })
    }

    fn run(&self, refspecs: Vec<String>, depth: Depth) -> Result<(), String> {
        let request = FetchRequest {
            git_dir: self.git_dir.clone(),
            url: self.url.clone(),
            refspecs,
            depth,
            auth_header: self.auth_header.clone(),
            limits: self.limits,
        };
        fetch::fetch(&request, |_| false).map(drop).map_err(|err| err.to_string())
    }
}

impl HistoryFetcher for GixFetcher {
    fn fetch_commits(&self, commits: &[CommitId], depth: u32) -> Result<(), String> {
        let specs = commits.iter().map(|sha| sha.as_str().to_owned()).collect();
        self.run(specs, Depth::AtRemote(depth))
    }

    fn deepen(&self, by: u32) -> Result<(), String> {
        self.run(self.refspecs.clone(), Depth::Deepen(by))
    }
}

/// The `http.extraheader` git would send to `url`: from the most specific `http.<url>` section
/// whose URL prefixes it (actions/checkout writes `http.https://github.com/.extraheader`), else
/// from plain `http`. The last value of a section wins, as for git's single-valued keys.
fn extra_header(config: &gix::config::File, url: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for section in config.sections_by_name("http")? {
        let scope = section.header().subsection_name().map(|name| name.to_string());
        let specificity = match &scope {
            None => 0,
            Some(prefix) if url_matches(prefix, url) => prefix.len() + 1,
            Some(_) => continue,
        };
        let values = section.values("extraheader");
        let Some(header) = values.last().map(|value| value.to_string()) else { continue };
        if best.as_ref().is_none_or(|(seen, _)| specificity >= *seen) {
            best = Some((specificity, header));
        }
    }
    best.map(|(_, header)| header).filter(|header| !header.trim().is_empty())
}

/// git's `http.<url>.*` matching, as far as actions/checkout needs it: the configured URL is a
/// prefix of the remote's, ending at a path boundary.
fn url_matches(prefix: &str, url: &str) -> bool {
    url.strip_prefix(prefix)
        .is_some_and(|rest| prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_header_is_taken_from_the_section_scoped_to_the_remote() {
        let text = "[http]\n\textraheader = AUTHORIZATION: basic plain\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic scoped\n[http \"https://other.example/\"]\n\textraheader = AUTHORIZATION: basic other\n";
        let config = gix::config::File::try_from(text).unwrap();
        assert_eq!(
            extra_header(&config, "https://github.com/org/repo").as_deref(),
            Some("AUTHORIZATION: basic scoped")
        );
        assert_eq!(
            extra_header(&config, "https://gitlab.example/x").as_deref(),
            Some("AUTHORIZATION: basic plain")
        );
        assert!(url_matches("https://host/org", "https://host/org/repo"));
        assert!(!url_matches("https://host/org", "https://host/organisation"));
    }
}
