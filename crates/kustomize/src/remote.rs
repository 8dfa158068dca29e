//! Remote targets: what a `resources` or `components` entry that names a git repository or an
//! http(s) file means, and the trait through which the build obtains its content.
//!
//! The grammar is kustomize v5.5's (`api/internal/git/repospec.go`, `NewRepoSpecFromURL`):
//! `github.com/owner/repo//path?ref=v1`, `https://host/owner/repo.git//path?ref=…`,
//! `git::https://…`, `ssh://git@host/…`, `git@host:owner/repo.git`, `file:///abs/repo//path`,
//! with `ref`/`version`, `submodules` and `timeout` query parameters. A plain http(s) URL is first
//! a file (`IsRemoteFile`): kustomize GETs it and only treats it as a repository when the GET
//! fails, so almost every https URL is both.
//!
//! This module parses and describes; it never fetches. Fetching is the caller's
//! `RemoteLoader` (the root package implements it with gix and a cache), so this crate stays
//! free of network code.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::fs::FileSystem;

/// kustomize's default for `?timeout=`: "arbitrary, but non-infinite".
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(27);

/// A git repository named by a kustomization entry, with the folder inside it to build.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GitTarget {
    /// The entry as written (used to detect repository cycles and in messages).
    pub raw: String,
    /// Scheme, user and host as kustomize normalises them: `https://github.com/`,
    /// `git@github.com:`, `ssh://git@host:7999/`, `file://`.
    pub host: String,
    /// The repository path on the host: `owner/repo`, `owner/repo.git`, `/srv/git/repo.git`.
    pub repo_path: String,
    /// The kustomization folder inside the repository, as written (may end in `/`; empty for
    /// the root).
    pub path: String,
    /// `?ref=` (or `?version=`): a branch, tag or commit; `None` means the remote's HEAD.
    pub git_ref: Option<String>,
    /// `?submodules=` (kustomize clones submodules unless told not to).
    pub submodules: bool,
    /// `?timeout=`: the bound on each git operation.
    pub timeout: Duration,
}

impl GitTarget {
    /// What is handed to git to clone: `host` + `repo_path` (kustomize's `CloneSpec`).
    pub fn clone_url(&self) -> String {
        format!("{}{}", self.host, self.repo_path)
    }

    /// The ref to fetch: the one given, else `HEAD`.
    pub fn ref_or_head(&self) -> &str {
        self.git_ref.as_deref().unwrap_or("HEAD")
    }
}

impl fmt::Display for GitTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Why an entry is not a git target (kustomize's `NewRepoSpecFromURL` errors).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotGitTarget {
    #[error("uri looks like abs path: {0}")]
    AbsolutePath(String),
    #[error("failed to parse scheme")]
    Scheme,
    #[error("unsupported scheme {0:?}")]
    UnsupportedScheme(String),
    #[error("failed to parse host segment")]
    Host,
    #[error("failed to parse repo path segment")]
    RepoPath,
    #[error("url path exits repo: {0}")]
    PathExitsRepo(String),
}

/// Parses `entry` as kustomize parses a git URL. Anything that is not one (a local path, a bare
/// word) is an error, which is how kustomize tells local from remote bases.
pub fn parse_git_target(entry: &str) -> Result<GitTarget, NotGitTarget> {
    if entry.starts_with('/') {
        return Err(NotGitTarget::AbsolutePath(entry.to_owned()));
    }
    // "?" only ever starts the query (RFC 3986), so cutting there first is safe.
    let (rest, query) = entry.split_once('?').unwrap_or((entry, ""));
    let (git_ref, timeout, submodules) = parse_query(query);
    let (host, rest) = extract_host(rest)?;
    let segments = if host.starts_with(FILE_SCHEME) { None } else { Some(2) };
    let (repo_path, path) = parse_path_parts(&rest, segments)?;
    Ok(GitTarget {
        raw: entry.to_owned(),
        host,
        repo_path,
        path,
        git_ref: (!git_ref.is_empty()).then_some(git_ref),
        submodules,
        timeout,
    })
}

/// Whether `entry` is a URL kustomize GETs as a file (`IsRemoteFile`: Go's `url.Parse` accepts
/// it and the scheme is http or https).
pub fn is_remote_file(entry: &str) -> bool {
    let lower = entry.get(..8).unwrap_or(entry).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://"))
        && !entry.bytes().any(|b| b < 0x20 || b == 0x7f)
}

/// Whether an entry names anything remote at all (for messages when no loader is configured).
pub fn is_remote(entry: &str) -> bool {
    is_remote_file(entry) || parse_git_target(entry).is_ok()
}

const FILE_SCHEME: &str = "file://";
const SSH_SCHEME: &str = "ssh://";
const HTTPS_SCHEME: &str = "https://";
const HTTP_SCHEME: &str = "http://";
const GIT_ROOT_DELIMITER: &str = "_git/";
const GIT_SUFFIX: &str = ".git";

/// `parsePathParts`: the repository path and the kustomization path inside it, split at an
/// explicit marker (`_git/`, `//`, `.git`) or after `segments` path segments (`None`: all of
/// them, for `file://`).
fn parse_path_parts(n: &str, segments: Option<usize>) -> Result<(String, String), NotGitTarget> {
    let split = explicit_marker_split(n).or_else(|| match segments {
        None => Some((n.to_owned(), String::new())),
        Some(count) => {
            let parts: Vec<&str> = n.split('/').collect();
            (parts.len() >= count).then(|| (parts[..count].join("/"), parts[count..].join("/")))
        }
    });
    let Some((repo_path, path)) = split.filter(|(repo, _)| !repo.is_empty()) else {
        return Err(NotGitTarget::RepoPath);
    };
    if path_exits_repo(&path) {
        return Err(NotGitTarget::PathExitsRepo(n.to_owned()));
    }
    Ok((repo_path, path.strip_prefix('/').unwrap_or(&path).to_owned()))
}

fn explicit_marker_split(n: &str) -> Option<(String, String)> {
    if let Some(index) = n.find(GIT_ROOT_DELIMITER) {
        let root = &n[..index + GIT_ROOT_DELIMITER.len()];
        let mut subpath = n[index + GIT_ROOT_DELIMITER.len()..].split('/');
        let repo = subpath.next().unwrap_or("");
        return Some((format!("{root}{repo}"), subpath.collect::<Vec<_>>().join("/")));
    }
    if let Some(index) = n.find("//") {
        return Some((n[..index].to_owned(), n[index + 2..].to_owned()));
    }
    n.find(GIT_SUFFIX).map(|index| {
        let end = index + GIT_SUFFIX.len();
        (n[..end].to_owned(), n[end..].to_owned())
    })
}

/// Go's `filepath.Clean` of the path (leading `/` dropped) starts with `..`.
fn path_exits_repo(path: &str) -> bool {
    let mut depth: i64 = 0;
    for part in path.strip_prefix('/').unwrap_or(path).split('/') {
        match part {
            "" | "." => {}
            ".." if depth == 0 => return true,
            ".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

/// `extractHost`: scheme, user and host, normalised; and the rest of the URL.
fn extract_host(n: &str) -> Result<(String, String), NotGitTarget> {
    let n = strip_prefix_ignore_case(n, "git::").unwrap_or(n);
    let (scheme, n) = [SSH_SCHEME, HTTPS_SCHEME, HTTP_SCHEME, FILE_SCHEME]
        .into_iter()
        .find_map(|scheme| strip_prefix_ignore_case(n, scheme).map(|rest| (scheme, rest)))
        .unwrap_or(("", n));
    let (username, n) = extract_username(n);
    let lower = n.get(..11).unwrap_or("").to_ascii_lowercase();
    let standard_github = lower == "github.com/" || lower == "github.com:";
    let accept_scp = scheme.is_empty() && (!username.is_empty() || standard_github);
    if scheme.is_empty() && !accept_scp {
        return Err(NotGitTarget::Scheme);
    }
    // The file scheme names a local path: whatever looked like a user is part of it.
    if scheme == FILE_SCHEME {
        return Ok((scheme.to_owned(), format!("{username}{n}")));
    }
    let (mut host, rest) = match find_path_separator(n, accept_scp) {
        Some(index) => (&n[..=index], &n[index + 1..]),
        None => (n, ""),
    };
    let (mut scheme, mut username) = (scheme, username);
    if standard_github {
        (scheme, username, host) = if scheme.starts_with(SSH_SCHEME) || !username.is_empty() {
            ("", username, "github.com:")
        } else {
            (HTTPS_SCHEME, "", "github.com/")
        };
    }
    if host.is_empty() {
        return Err(NotGitTarget::Host);
    }
    Ok((format!("{scheme}{username}{host}"), rest.to_owned()))
}

/// kustomize's `^([a-zA-Z][a-zA-Z0-9-]*)@`.
fn extract_username(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return ("", s);
    }
    let end = bytes.iter().position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'));
    match end {
        Some(index) if bytes[index] == b'@' => (&s[..=index], &s[index + 1..]),
        _ => ("", s),
    }
}

/// `findPathSeparator`: the first `/`, or in SCP style a `:` before it.
fn find_path_separator(host_path: &str, accept_scp: bool) -> Option<usize> {
    let slash = host_path.find('/');
    if accept_scp {
        let colon = host_path.find(':');
        if let Some(colon) = colon.filter(|c| *c > 0)
            && slash.is_none_or(|slash| colon < slash)
        {
            return Some(colon);
        }
        if slash.is_none() {
            return colon;
        }
    }
    slash
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// `parseQuery`: ref (or version), timeout and submodules; defaults for anything unparsable,
/// and for everything when the query as a whole does not parse (Go's `url.ParseQuery`).
fn parse_query(query: &str) -> (String, Duration, bool) {
    let defaults = (String::new(), DEFAULT_TIMEOUT, true);
    let Some(values) = go_parse_query(query) else { return defaults };
    let get =
        |key: &str| values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("");
    let git_ref = match get("ref") {
        "" => get("version"),
        given => given,
    };
    let timeout = match get("timeout") {
        "" => DEFAULT_TIMEOUT,
        text => match text.parse::<i64>() {
            Ok(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
            _ => go_parse_duration(text).filter(|d| !d.is_zero()).unwrap_or(DEFAULT_TIMEOUT),
        },
    };
    let submodules = match get("submodules") {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
        "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
        _ => true,
    };
    (git_ref.to_owned(), timeout, submodules)
}

/// Go's `url.ParseQuery`, `None` on any error (kustomize then keeps every default).
fn go_parse_query(query: &str) -> Option<Vec<(String, String)>> {
    let mut values = Vec::new();
    let mut failed = false;
    for part in query.split('&').filter(|part| !part.is_empty()) {
        if part.contains(';') {
            failed = true;
            continue;
        }
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        match (query_unescape(key), query_unescape(value)) {
            (Some(key), Some(value)) => values.push((key, value)),
            _ => failed = true,
        }
    }
    (!failed).then_some(values)
}

/// Go's `url.QueryUnescape`: `%XX` and `+` as a space.
fn query_unescape(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text.get(index + 1..index + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Go's `time.ParseDuration` for non-negative values ("61s", "1m30s", "1.5h", "300ms").
fn go_parse_duration(text: &str) -> Option<Duration> {
    let text = text.strip_prefix('+').unwrap_or(text);
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() || text.starts_with('-') {
        return None;
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_end..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// A fetched repository: its tree at the resolved commit, readable as a file system rooted at
/// the repository's top (paths inside it are repository-relative, as for a local build).
#[derive(Clone, Debug)]
pub struct RemoteTree {
    pub fs: Arc<dyn FileSystem>,
    /// The commit the ref resolved to (full SHA), for messages and reports.
    pub commit: String,
}

/// What went wrong obtaining a remote target, as far as the build needs to branch on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteErrorKind {
    /// An http(s) GET answered outside 2xx (kustomize then tries the URL as a repository).
    HttpStatus(u16),
    /// The repository does not exist or refused access.
    NotFound,
    /// The ref names no branch, tag or reachable commit of the repository.
    RefNotFound,
    /// The per-fetch time limit ran out.
    Timeout,
    /// The fetch exceeded its size limit.
    TooLarge,
    /// Refused by policy (e.g. a branch ref where only immutable refs are allowed).
    Refused,
    /// Anything else: connection refused, TLS, protocol errors.
    Transport,
}

/// Why a remote target could not be obtained. The message never contains credentials.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RemoteError {
    pub kind: RemoteErrorKind,
    pub message: String,
}

impl RemoteError {
    pub fn new(kind: RemoteErrorKind, message: impl Into<String>) -> Self {
        RemoteError { kind, message: message.into() }
    }
}

/// Obtains remote targets for the build. Implementations do the I/O (and caching); the build
/// calls them synchronously, possibly from many threads at once.
pub trait RemoteLoader: Send + Sync + fmt::Debug {
    /// The tree of `target`'s repository at its ref (HEAD when none is given).
    fn git_tree(&self, target: &GitTarget) -> Result<RemoteTree, RemoteError>;
    /// The body of a GET of `url` (2xx only; other statuses are `HttpStatus`).
    fn http_file(&self, url: &str) -> Result<Vec<u8>, RemoteError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str) -> (String, String, String, Option<String>) {
        let t = parse_git_target(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        (t.host, t.repo_path, t.path, t.git_ref)
    }

    #[test]
    fn kustomize_smoke_cases_parse_as_kustomize_parses_them() {
        let cases: &[(&str, &str, &str, &str, &str)] = &[
            (
                "https://git-codecommit.us-east-2.amazonaws.com/someorg/somerepo/somedir?ref=testbranch",
                "https://git-codecommit.us-east-2.amazonaws.com/",
                "someorg/somerepo",
                "somedir",
                "testbranch",
            ),
            (
                "http://github.com/someorg/somerepo/somedir",
                "https://github.com/",
                "someorg/somerepo",
                "somedir",
                "",
            ),
            (
                "git@github.com:someorg/somerepo.git/somedir",
                "git@github.com:",
                "someorg/somerepo.git",
                "somedir",
                "",
            ),
            (
                "git@gitlab2.sqtools.ru:infra/kubernetes/thanos-base.git?ref=v0.1.0",
                "git@gitlab2.sqtools.ru:",
                "infra/kubernetes/thanos-base.git",
                "",
                "v0.1.0",
            ),
            (
                "git@bitbucket.org:company/project.git//path?ref=branch",
                "git@bitbucket.org:",
                "company/project.git",
                "path",
                "branch",
            ),
            (
                "git@bitbucket.org/company/project.git//path?ref=branch",
                "git@bitbucket.org/",
                "company/project.git",
                "path",
                "branch",
            ),
            (
                "ssh://git@bitbucket.org/company/project.git//path?ref=branch",
                "ssh://git@bitbucket.org/",
                "company/project.git",
                "path",
                "branch",
            ),
            (
                "https://itfs.mycompany.com/collection/project/_git/somerepos/somedir?version=v1.0.0",
                "https://itfs.mycompany.com/",
                "collection/project/_git/somerepos",
                "somedir",
                "v1.0.0",
            ),
            (
                "git::https://itfs.mycompany.com/collection/project/_git/somerepos",
                "https://itfs.mycompany.com/",
                "collection/project/_git/somerepos",
                "",
                "",
            ),
            (
                "git@github.com/someorg/somerepo/somepath",
                "git@github.com:",
                "someorg/somerepo",
                "somepath",
                "",
            ),
            (
                "https://github.com/kubernetes-sigs/kustomize//examples/multibases/dev/?ref=v1.0.6",
                "https://github.com/",
                "kubernetes-sigs/kustomize",
                "examples/multibases/dev/",
                "v1.0.6",
            ),
            (
                "file://a/b/c/someRepo.git/somepath?ref=someBranch",
                "file://",
                "a/b/c/someRepo.git",
                "somepath",
                "someBranch",
            ),
            (
                "file:///a/b/c/someRepo?ref=someBranch",
                "file://",
                "/a/b/c/someRepo",
                "",
                "someBranch",
            ),
            ("file:///", "file://", "/", "", ""),
            (
                "ssh://git@github.com/kubernetes-sigs/kustomize//examples/multibases/dev?ref=v1.0.6",
                "git@github.com:",
                "kubernetes-sigs/kustomize",
                "examples/multibases/dev",
                "v1.0.6",
            ),
            (
                "https://example.org/path/to/repo//examples/multibases/dev",
                "https://example.org/",
                "path/to/repo",
                "examples/multibases/dev",
                "",
            ),
            (
                "ssh://alice@example.com/path/to/repo//examples/multibases/dev",
                "ssh://alice@example.com/",
                "path/to/repo",
                "examples/multibases/dev",
                "",
            ),
            (
                "https://authority/org/repo?ref=group/version",
                "https://authority/",
                "org/repo",
                "",
                "group/version",
            ),
            (
                "https://authority/org/repo/?ref=includes.git/for_some_reason",
                "https://authority/",
                "org/repo",
                "",
                "includes.git/for_some_reason",
            ),
            (
                "https://authority/org/repo/%-invalid-uri-so-not-parsable-by-net/url.Parse",
                "https://authority/",
                "org/repo",
                "%-invalid-uri-so-not-parsable-by-net/url.Parse",
                "",
            ),
            (
                "file://git@home/path/to/repository.git//path?ref=branch",
                "file://",
                "git@home/path/to/repository.git",
                "path",
                "branch",
            ),
            (
                "https://git@home.com/path/to/repository.git//path?ref=branch",
                "https://git@home.com/",
                "path/to/repository.git",
                "path",
                "branch",
            ),
            (
                "ssh://git@ssh.github.com:443/YOUR-USERNAME/YOUR-REPOSITORY.git",
                "ssh://git@ssh.github.com:443/",
                "YOUR-USERNAME/YOUR-REPOSITORY.git",
                "",
                "",
            ),
            (
                "git@gitlab.com/user:name/YOUR-REPOSITORY.git/path",
                "git@gitlab.com/",
                "user:name/YOUR-REPOSITORY.git",
                "path",
                "",
            ),
            (
                "gitHub.com/someOrg/someRepo/foo/krusty.txt?ref=group/version",
                "https://github.com/",
                "someOrg/someRepo",
                "foo/krusty.txt",
                "group/version",
            ),
            ("github.com:kubernetes/website", "https://github.com/", "kubernetes/website", "", ""),
            (
                "git::git@github.com:someOrg/someRepo?ref=v0.1.0",
                "git@github.com:",
                "someOrg/someRepo",
                "",
                "v0.1.0",
            ),
            (
                "org-12345@github.com/someOrg/someRepo/README.md",
                "org-12345@github.com:",
                "someOrg/someRepo",
                "README.md",
                "",
            ),
            (
                "ssh://git.example.com:7999/someOrg/someRepo",
                "ssh://git.example.com:7999/",
                "someOrg/someRepo",
                "",
                "",
            ),
        ];
        for (url, host, repo, path, git_ref) in cases {
            let expected = (
                host.to_string(),
                repo.to_string(),
                path.to_string(),
                (!git_ref.is_empty()).then(|| git_ref.to_string()),
            );
            assert_eq!(parts(url), expected, "{url}");
        }
        let t = parse_git_target("https://github.com/a/b//c?ref=v1").unwrap();
        assert_eq!(t.clone_url(), "https://github.com/a/b");
    }

    #[test]
    fn local_paths_and_malformed_urls_are_not_git_targets() {
        let cases: &[(&str, &str)] = &[
            ("/tmp", "uri looks like abs path"),
            ("../../tmp", "failed to parse scheme"),
            ("src/github.com/org/repo/path", "failed to parse scheme"),
            ("iauhsdiuashduas", "failed to parse scheme"),
            ("htxxxtp://github.com/", "failed to parse scheme"),
            ("ssh://git.example.com", "failed to parse repo path segment"),
            ("git::___", "failed to parse scheme"),
            ("https://host?ref=group/version/minor_version", "failed to parse repo path segment"),
            ("https://github.com/org/repo.git//path/../../exits/repo", "url path exits repo"),
            ("github.com!org/repo.git//path", "failed to parse scheme"),
            ("gh:org/repo", "failed to parse scheme"),
            ("https://github.com/thisisa404.yaml", "failed to parse repo path segment"),
            ("file:////tmp//path/to/whatever", "failed to parse repo path segment"),
            ("git@scp://github.com/org/repo.git//path", "failed to parse repo path segment"),
            ("git@ssh://github.com/org/repo.git//path", "failed to parse repo path segment"),
        ];
        for (url, message) in cases {
            let err = parse_git_target(url).expect_err(url);
            assert!(err.to_string().contains(message), "{url}: {err}");
        }
    }

    #[test]
    fn query_parameters_follow_go_semantics() {
        let t = parse_git_target("https://h/o/r?version=v2&submodules=false&timeout=61").unwrap();
        assert_eq!(
            (t.git_ref.as_deref(), t.submodules, t.timeout),
            (Some("v2"), false, Duration::from_secs(61))
        );
        let t = parse_git_target("https://h/o/r?ref=main&version=v2&timeout=1m30s").unwrap();
        assert_eq!((t.git_ref.as_deref(), t.timeout), (Some("main"), Duration::from_secs(90)));
        let t = parse_git_target("https://h/o/r?ref=x&timeout=-3&submodules=maybe").unwrap();
        assert_eq!((t.timeout, t.submodules), (DEFAULT_TIMEOUT, true));
        // A query Go cannot parse keeps every default, the ref included.
        let t = parse_git_target("https://h/o/r?ref=x;y").unwrap();
        assert_eq!(t.git_ref, None);
        let t = parse_git_target("https://h/o/r?ref=a%2Fb").unwrap();
        assert_eq!(t.git_ref.as_deref(), Some("a/b"));
        assert_eq!(go_parse_duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(go_parse_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(go_parse_duration("5x"), None);
    }

    #[test]
    fn remote_files_are_http_urls() {
        assert!(is_remote_file("https://raw.example.com/o/r/v1/install.yaml"));
        assert!(is_remote_file("HTTP://example.com/x"));
        assert!(!is_remote_file("file:///x"));
        assert!(!is_remote_file("github.com/o/r"));
        assert!(is_remote("github.com/o/r"));
        assert!(!is_remote("../base"));
    }
}
