//! `RemoteCache`: the `kustomize::RemoteLoader` of a run. Remote bases are fetched with gix
//! (`fetch`) into bare repositories under one cache directory, shallow at the wanted ref, and
//! read straight from the object database (`GitTreeFs`) — nothing is checked out.
//!
//! Within a run every (URL, ref) is resolved once and every (URL, commit) fetched at most once,
//! however many units (and base and head renders) name it: concurrent builds asking for the
//! same remote wait for the one fetch. Across runs the directory is the cache (keep it with
//! `actions/cache`): a commit SHA already fetched and a tag already resolved need no network at
//! all; a branch (or the remote's HEAD) is mutable, so it is resolved against the remote once
//! per run, and the commit it resolved to is reported (`resolved`). `allow_mutable_refs: false`
//! refuses branches and HEAD, for production.
//!
//! Plain http(s) files are fetched once per run and not kept across runs: their URLs carry no
//! immutable ref. Submodules are not fetched (kustomize's `?submodules=true`, its default, would
//! clone them): a build that reads into one fails naming the path.
//!
//! The action's token is sent only to the hosts it is for (github.com or `GITHUB_SERVER_URL`),
//! over https, as actions/checkout sends it; it never appears in a message.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use kustomize::{FileSystem, GitTarget, RemoteError, RemoteErrorKind, RemoteLoader, RemoteTree};
use serde::Serialize;

use super::fetch::{self, Depth, FetchError, FetchLimits, FetchRequest};
use super::{CommitId, GitRepo};

/// How a remote's ref was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// A full commit SHA: immutable.
    Commit,
    /// A tag: treated as immutable (resolved once, then taken from the cache).
    Tag,
    /// A branch: mutable, resolved once per run.
    Branch,
    /// No ref given: the remote's HEAD, mutable.
    Head,
}

impl RefKind {
    pub fn is_mutable(self) -> bool {
        matches!(self, RefKind::Branch | RefKind::Head)
    }
}

/// One remote repository a run used, at the commit its ref resolved to (for the report footer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedRemote {
    /// The clone URL (`https://github.com/org/repo`).
    pub url: String,
    /// The ref as written (`HEAD` when none was).
    pub git_ref: String,
    pub commit: CommitId,
    pub kind: RefKind,
}

/// The action's token and where it may be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenAuth {
    pub token: String,
    /// Host names (lower case) the token is for: `github.com`, or the host of
    /// `GITHUB_SERVER_URL` for GitHub Enterprise Server.
    pub hosts: Vec<String>,
}

impl fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenAuth").field("token", &"***").field("hosts", &self.hosts).finish()
    }
}

impl TokenAuth {
    /// The token for github.com, or for the server `GITHUB_SERVER_URL` names (its host), as
    /// actions/checkout scopes it.
    pub fn for_server(token: impl Into<String>, server_url: Option<&str>) -> Self {
        let host = server_url
            .and_then(|url| gix::url::parse(url.as_bytes()).ok())
            .and_then(|url| url.host().map(str::to_ascii_lowercase))
            .unwrap_or_else(|| "github.com".to_owned());
        let mut hosts = vec![host];
        if hosts[0] == "github.com" {
            // Raw file URLs of github.com repositories are served from here.
            hosts.push("raw.githubusercontent.com".to_owned());
        }
        Self { token: token.into(), hosts }
    }

    fn applies_to(&self, url: &str) -> bool {
        let Ok(parsed) = gix::url::parse(url.as_bytes()) else { return false };
        parsed.scheme == gix::url::Scheme::Https
            && parsed
                .host()
                .is_some_and(|host| self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
    }
}

/// How a `RemoteCache` fetches.
#[derive(Clone, Debug)]
pub struct RemoteCacheOptions {
    /// The cache directory (created when missing).
    pub dir: PathBuf,
    /// The size limit of each fetch, and the time limit of plain file downloads (a git target's
    /// time limit is its `?timeout=`, 27 s by default, as in kustomize).
    pub limits: FetchLimits,
    pub auth: Option<TokenAuth>,
    /// `false` refuses branch refs and remotes without a ref (production).
    pub allow_mutable_refs: bool,
}

impl RemoteCacheOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            limits: FetchLimits::default(),
            auth: None,
            allow_mutable_refs: true,
        }
    }
}

/// A result computed once per run; threads asking for it meanwhile wait for the one computation.
type Once<T> = Arc<OnceLock<Result<T, RemoteError>>>;

/// The remote loader of one run; share it (`Arc`) between every build of the run.
pub struct RemoteCache {
    options: RemoteCacheOptions,
    /// (clone URL, ref) → its resolution, computed once.
    refs: Mutex<HashMap<(String, String), Once<ResolvedRemote>>>,
    /// (clone URL, commit) → the repository handle its trees are read from.
    repos: Mutex<HashMap<(String, CommitId), Arc<GitRepo>>>,
    /// One lock per cache repository: two refs of one remote are fetched one after the other.
    fetch_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    files: Mutex<HashMap<String, Once<Arc<Vec<u8>>>>>,
}

impl fmt::Debug for RemoteCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCache").field("options", &self.options).finish_non_exhaustive()
    }
}

impl RemoteCache {
    pub fn new(options: RemoteCacheOptions) -> Self {
        Self {
            options,
            refs: Mutex::default(),
            repos: Mutex::default(),
            fetch_locks: Mutex::default(),
            files: Mutex::default(),
        }
    }

    /// Every remote repository resolved so far, sorted by URL and ref (failed ones left out).
    pub fn resolved(&self) -> Vec<ResolvedRemote> {
        let refs = lock(&self.refs);
        let mut out: Vec<ResolvedRemote> =
            refs.values().filter_map(|cell| cell.get()?.as_ref().ok().cloned()).collect();
        out.sort_by(|a, b| (&a.url, &a.git_ref).cmp(&(&b.url, &b.git_ref)));
        out
    }

    /// The bare repository that caches `url`.
    fn repo_dir(&self, url: &str) -> PathBuf {
        self.options.dir.join("git").join(cache_name(url))
    }

    fn resolve(&self, target: &GitTarget) -> Result<ResolvedRemote, RemoteError> {
        let url = target.clone_url();
        let key = (url.clone(), target.ref_or_head().to_owned());
        let cell = lock(&self.refs).entry(key).or_default().clone();
        cell.get_or_init(|| self.resolve_now(target, &url)).clone()
    }

    fn resolve_now(&self, target: &GitTarget, url: &str) -> Result<ResolvedRemote, RemoteError> {
        let git_ref = target.ref_or_head().to_owned();
        let dir = self.repo_dir(url);
        let fetch_lock = lock(&self.fetch_locks).entry(url.to_owned()).or_default().clone();
        let _serial = lock(&fetch_lock);
        init_bare(&dir)?;
        let resolved = |commit: CommitId, kind: RefKind| ResolvedRemote {
            url: url.to_owned(),
            git_ref: git_ref.clone(),
            commit,
            kind,
        };
        let mut request = FetchRequest {
            git_dir: dir.clone(),
            url: url.to_owned(),
            refspecs: vec![git_ref.clone()],
            depth: Depth::AtRemote(1),
            auth_header: self
                .options
                .auth
                .as_ref()
                .filter(|auth| auth.applies_to(url))
                .map(|auth| fetch::github_token_header(&auth.token)),
            limits: FetchLimits {
                timeout: target.timeout,
                max_bytes: self.options.limits.max_bytes,
            },
        };
        if let Some(sha) = CommitId::parse(&git_ref) {
            if !has_commit(&dir, &sha) {
                fetch::fetch(&request, |_| false).map_err(fetch_error)?;
            }
            return if has_commit(&dir, &sha) {
                Ok(resolved(sha, RefKind::Commit))
            } else {
                Err(not_found(target))
            };
        }
        let record = tag_record(&dir, &git_ref);
        if let Some(commit) =
            std::fs::read_to_string(&record).ok().and_then(|t| CommitId::parse(t.trim()))
            && has_commit(&dir, &commit)
        {
            return Ok(resolved(commit, RefKind::Tag));
        }
        let probe = dir.clone();
        let advertised = fetch::fetch(&request, move |listed| {
            listed.matches.iter().all(|(_, id)| fetch::peel_to_commit(&probe, *id).is_some())
        })
        .map_err(fetch_error)?;
        let Some((name, id)) = advertised.matches.first().cloned() else {
            return Err(not_found(target));
        };
        let Some(commit) = fetch::peel_to_commit(&dir, id) else {
            // Listed, but what it points to did not arrive: ask once more for the object itself.
            request.refspecs = vec![id.to_string()];
            fetch::fetch(&request, |_| false).map_err(fetch_error)?;
            let commit = fetch::peel_to_commit(&dir, id).ok_or_else(|| not_found(target))?;
            return Ok(resolved(commit, kind_of(name.as_deref())));
        };
        let kind = kind_of(name.as_deref());
        if kind == RefKind::Tag {
            // Written after the objects are in: a record always names a present commit. A
            // failed write only costs the next run one listing.
            let _ = write_atomically(&record, commit.as_str());
        }
        Ok(resolved(commit, kind))
    }

    /// The tree of `target`; a mutable ref is refused unless both the cache and the caller
    /// allow it.
    fn tree(&self, target: &GitTarget, allow_mutable: bool) -> Result<RemoteTree, RemoteError> {
        let resolved = self.resolve(target)?;
        if resolved.kind.is_mutable() && !(self.options.allow_mutable_refs && allow_mutable) {
            let what = match resolved.kind {
                RefKind::Head => "no ref (the remote's HEAD)".to_owned(),
                _ => format!("the branch '{}'", resolved.git_ref),
            };
            return Err(RemoteError::new(
                RemoteErrorKind::Refused,
                format!(
                    "{what} is mutable and mutable refs are not allowed here: pin a tag or a \
                     commit SHA with ?ref= (it resolved to {})",
                    resolved.commit
                ),
            ));
        }
        let key = (resolved.url.clone(), resolved.commit.clone());
        let repo = {
            let mut repos = lock(&self.repos);
            match repos.get(&key) {
                Some(repo) => repo.clone(),
                None => {
                    let dir = self.repo_dir(&resolved.url);
                    let repo = GitRepo::open(&dir).map(Arc::new).map_err(|err| {
                        RemoteError::new(RemoteErrorKind::Transport, format!("cache: {err}"))
                    })?;
                    repos.insert(key, repo.clone());
                    repo
                }
            }
        };
        let fs = GitRepo::shared_tree_fs(&repo, &resolved.commit).map_err(|err| {
            RemoteError::new(RemoteErrorKind::Transport, format!("reading the fetched tree: {err}"))
        })?;
        Ok(RemoteTree {
            fs: Arc::new(fs) as Arc<dyn FileSystem>,
            commit: resolved.commit.to_string(),
        })
    }

    fn download(&self, url: &str) -> Result<Arc<Vec<u8>>, RemoteError> {
        let cell = lock(&self.files).entry(url.to_owned()).or_default().clone();
        cell.get_or_init(|| {
            let token = self.options.auth.as_ref().filter(|auth| auth.applies_to(url));
            let header = token.map(|auth| format!("token {}", auth.token));
            let limits = self.options.limits;
            let owned = url.to_owned();
            fetch::install_crypto_provider();
            fetch::bounded(url, limits, None, move |_| http_get(&owned, header, limits))
                .map(Arc::new)
                .map_err(|err| RemoteError::new(err.kind, err.message))
        })
        .clone()
    }
}

impl RemoteLoader for RemoteCache {
    fn git_tree(&self, target: &GitTarget) -> Result<RemoteTree, RemoteError> {
        self.tree(target, true)
    }

    fn http_file(&self, url: &str) -> Result<Vec<u8>, RemoteError> {
        self.download(url).map(|bytes| bytes.as_ref().clone())
    }
}

/// A shared `RemoteCache` as the builds of environments that must be pinned see it: the same
/// resolutions and fetches (a branch is still resolved once per run, for every unit), but a
/// branch or a missing ref fails the build as with `allow_mutable_refs: false`.
#[derive(Debug, Clone)]
pub struct PinnedRefs(pub Arc<RemoteCache>);

impl RemoteLoader for PinnedRefs {
    fn git_tree(&self, target: &GitTarget) -> Result<RemoteTree, RemoteError> {
        self.0.tree(target, false)
    }

    fn http_file(&self, url: &str) -> Result<Vec<u8>, RemoteError> {
        self.0.http_file(url)
    }
}

/// A GET of `url`, 2xx only, at most `limits.max_bytes` long.
fn http_get(
    url: &str,
    authorization: Option<String>,
    limits: FetchLimits,
) -> Result<Vec<u8>, FetchError> {
    use std::io::Read as _;
    let transport = |err: &dyn fmt::Display| {
        FetchError::new(RemoteErrorKind::Transport, format!("GET {url}: {err}"))
    };
    let client = reqwest_gix::blocking::Client::builder()
        .timeout(limits.timeout)
        .connect_timeout(limits.timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|err| transport(&err))?;
    let mut request = client.get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().map_err(|err| {
        if err.is_timeout() {
            FetchError::new(RemoteErrorKind::Timeout, format!("GET {url}: timed out"))
        } else {
            transport(&err)
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::new(
            RemoteErrorKind::HttpStatus(status.as_u16()),
            format!("GET {url}: status {status}"),
        ));
    }
    let mut body = Vec::new();
    response
        .take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|err| transport(&err))?;
    if body.len() as u64 > limits.max_bytes {
        return Err(FetchError::new(
            RemoteErrorKind::TooLarge,
            format!("GET {url}: larger than the limit of {} bytes", limits.max_bytes),
        ));
    }
    Ok(body)
}

fn kind_of(remote_name: Option<&str>) -> RefKind {
    match remote_name {
        None => RefKind::Commit,
        Some(name) if name.starts_with("refs/tags/") => RefKind::Tag,
        Some("HEAD") => RefKind::Head,
        Some(_) => RefKind::Branch,
    }
}

fn fetch_error(err: FetchError) -> RemoteError {
    let message = match err.kind {
        RemoteErrorKind::Timeout => format!("{} (raise it with ?timeout= in the URL)", err.message),
        _ => err.message,
    };
    RemoteError::new(err.kind, message)
}

fn not_found(target: &GitTarget) -> RemoteError {
    RemoteError::new(
        RemoteErrorKind::RefNotFound,
        format!(
            "{}: no branch, tag or commit '{}' in the repository",
            target.clone_url(),
            target.ref_or_head()
        ),
    )
}

fn has_commit(dir: &Path, sha: &CommitId) -> bool {
    let Ok(id) = gix::ObjectId::from_hex(sha.as_str().as_bytes()) else { return false };
    fetch::peel_to_commit(dir, id).as_ref() == Some(sha)
}

fn init_bare(dir: &Path) -> Result<(), RemoteError> {
    if dir.join("HEAD").is_file() {
        return Ok(());
    }
    let cache_error = |err: &dyn fmt::Display| {
        RemoteError::new(RemoteErrorKind::Transport, format!("cache {}: {err}", dir.display()))
    };
    // Built beside and renamed into place, so a run that dies half-way leaves nothing behind
    // that looks like a repository.
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|err| cache_error(&err))?;
    let scratch = parent.join(format!(".init-{}-{}", std::process::id(), unique()));
    gix::init_bare(&scratch).map_err(|err| cache_error(&err))?;
    match std::fs::rename(&scratch, dir) {
        Ok(()) => Ok(()),
        // Another process won the race: use its repository.
        Err(_) if dir.join("HEAD").is_file() => {
            let _ = std::fs::remove_dir_all(&scratch);
            Ok(())
        }
        Err(err) => Err(cache_error(&err)),
    }
}

fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Where the commit a tag resolved to is remembered, in the cache repository.
fn tag_record(dir: &Path, tag: &str) -> PathBuf {
    dir.join("gitops-env-tags").join(hex(&sha256(tag.as_bytes())[..16]))
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(path);
    std::fs::create_dir_all(parent)?;
    let scratch = parent.join(format!(".tmp-{}-{}", std::process::id(), unique()));
    std::fs::write(&scratch, text)?;
    std::fs::rename(scratch, path)
}

/// A readable, collision-free folder name for a clone URL: its host and path, then a digest
/// of the whole URL.
fn cache_name(url: &str) -> String {
    let readable: String = url
        .split("://")
        .last()
        .unwrap_or(url)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .take(60)
        .collect();
    format!("{readable}-{}", hex(&sha256(url.as_bytes())[..8]))
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every value kept behind these locks is complete at every moment.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_only_to_its_hosts_over_https() {
        let auth = TokenAuth::for_server("t", None);
        assert!(auth.applies_to("https://github.com/org/repo"));
        assert!(auth.applies_to("https://raw.githubusercontent.com/o/r/v1/x.yaml"));
        assert!(!auth.applies_to("http://github.com/org/repo"));
        assert!(!auth.applies_to("https://gitlab.com/org/repo"));
        let ghes = TokenAuth::for_server("t", Some("https://git.corp.example"));
        assert!(ghes.applies_to("https://git.corp.example/org/repo.git"));
        assert!(!ghes.applies_to("https://github.com/org/repo"));
        assert!(!format!("{auth:?}").contains("\"t\""));
    }

    #[test]
    fn cache_names_are_readable_and_distinct() {
        let a = cache_name("https://github.com/org/repo");
        assert!(a.starts_with("github.com_org_repo-"), "{a}");
        assert_ne!(a, cache_name("https://github.com/org/repo.git"));
    }
}
