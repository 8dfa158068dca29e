//! The HTTP edge to GitHub's REST API: base URL (github.com or GitHub Enterprise), the token
//! (sent, never shown), GitHub's recommended headers, JSON in and out, `Link`-header pagination,
//! and retries that respect GitHub's rate-limit headers, bounded in attempts and in time.
//!
//! It owns "talk to GitHub and survive its transient refusals"; it knows nothing about pulls,
//! comments or deployments (the sibling modules do) and never reads the process environment:
//! the caller passes `GITHUB_API_URL` and the token in.
//!
//! Retry rules, from GitHub's "rate limits for the REST API" guide: a 403 or 429 with
//! `retry-after` waits that many seconds; with `x-ratelimit-remaining: 0` waits until
//! `x-ratelimit-reset`; a 429 without either, a 5xx or a connection failure backs off
//! exponentially. A 403 without rate-limit headers is a permission error and is not retried.
//! Every method is retried, POSTs included: a rate-limited request was not processed, and a
//! duplicate after a 5xx is harmless here (deployment statuses are append-only; duplicate sticky
//! comments are collapsed by the next run). A wait longer than the policy allows fails at once
//! with [`GitHubError::WaitTooLong`] instead of stalling the workflow.
//!
//! Every request is bounded in time ([`Timeouts`], defaults in brackets): connecting [10 s],
//! silence while reading the answer [30 s], one attempt as a whole [30 s]; and a request with
//! its retries stops at [`RetryPolicy::max_elapsed`] [240 s], cutting its last attempt short
//! at that deadline — so a server that accepts and never answers fails the call, never hangs it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::GitHubError;

/// The REST API version we are written against (sent as `X-GitHub-Api-Version`).
pub const API_VERSION: &str = "2022-11-28";
/// github.com's API, used when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// A GitHub token. Its `Debug` and `Display` never show the secret.
#[derive(Clone)]
pub struct GitHubToken(String);

impl GitHubToken {
    pub fn new(secret: impl Into<String>) -> GitHubToken {
        GitHubToken(secret.into())
    }
}

impl fmt::Debug for GitHubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GitHubToken(***)")
    }
}

impl fmt::Display for GitHubToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How persistent the client is with transient failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff after a 5xx or connection failure; doubles each time.
    pub base_backoff: Duration,
    /// The longest single wait; a rate limit that resets later fails at once.
    pub max_wait: Duration,
    /// The most time one request may spend waiting in total.
    pub max_total_wait: Duration,
    /// The request's deadline, attempts and waits together: no attempt starts after it, and an
    /// attempt still running then is abandoned.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(180),
            max_elapsed: Duration::from_secs(240),
        }
    }
}

/// How long one request to GitHub may take (see the module documentation for the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the connection (TCP and TLS).
    pub connect: Duration,
    /// Silence while reading the answer: no byte for this long fails the attempt.
    pub read: Duration,
    /// One attempt, from sending to the last byte of the answer.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            request: Duration::from_secs(30),
        }
    }
}

/// Waits for a duration. Production uses `tokio::time::sleep`; tests record the waits instead
/// of spending them.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What the client needs to know, passed in by the caller (the Actions edge reads the
/// environment, tests point it at the fake).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `GITHUB_API_URL`, e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`.
    pub api_url: String,
    pub token: GitHubToken,
    pub user_agent: String,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    /// The login that comments are authored by, when `GET /user` cannot tell (tokens of a
    /// custom GitHub App post as `<app-slug>[bot]`). `None`: ask `GET /user`, and fall back to
    /// `github-actions[bot]` when the token is an Actions/App token.
    pub comment_author: Option<String>,
}

impl ClientConfig {
    /// A configuration with the default retry policy and user agent.
    pub fn new(api_url: impl Into<String>, token: GitHubToken) -> ClientConfig {
        ClientConfig {
            api_url: api_url.into(),
            token,
            user_agent: concat!("gitops-env/", env!("CARGO_PKG_VERSION")).to_string(),
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            comment_author: None,
        }
    }

    /// A configuration for the API named by `GITHUB_API_URL` in `env` (the environment the
    /// caller was handed, never the process's own), github.com's when unset or empty.
    pub fn from_env(env: &[(String, String)], token: GitHubToken) -> ClientConfig {
        let api_url = env
            .iter()
            .rev()
            .find(|(name, value)| name == "GITHUB_API_URL" && !value.trim().is_empty())
            .map_or(DEFAULT_API_URL, |(_, value)| value.trim());
        ClientConfig::new(api_url, token)
    }
}

/// A client for one GitHub instance and token.
#[derive(Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    api_url: String,
    token: GitHubToken,
    retry: RetryPolicy,
    /// One attempt's limit (the client's own covers connect and read).
    request_timeout: Duration,
    sleeper: Sleeper,
    pub(super) comment_author: Option<String>,
    pub(super) login: Arc<std::sync::OnceLock<String>>,
}

impl fmt::Debug for GitHubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubClient")
            .field("api_url", &self.api_url)
            .field("token", &self.token)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A response that passed the retry loop: a 2xx status with its body.
#[derive(Debug)]
pub(super) struct ApiResponse {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// One page of a list and whether GitHub said there is more.
#[derive(Debug)]
pub(super) struct Listing<T> {
    pub items: Vec<T>,
    /// True when pages were left unread because `max_pages` was reached.
    pub truncated: bool,
}

impl GitHubClient {
    /// Builds a client. Fails when the API URL is not an http(s) URL.
    pub fn new(config: ClientConfig) -> Result<GitHubClient, GitHubError> {
        let api_url = config.api_url.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&api_url).map_err(|err| GitHubError::InvalidApiUrl {
            url: config.api_url.clone(),
            reason: err.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(GitHubError::InvalidApiUrl {
                url: config.api_url.clone(),
                reason: "expected an http(s) URL without a query, like https://api.github.com"
                    .to_string(),
            });
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", HeaderValue::from_static(API_VERSION));
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .unwrap_or_else(|_| HeaderValue::from_static("gitops-env"));
        headers.insert(USER_AGENT, user_agent);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.timeouts.connect)
            .read_timeout(config.timeouts.read)
            .build()
            .map_err(|err| GitHubError::InvalidApiUrl {
                url: config.api_url.clone(),
                reason: format!("cannot build an HTTP client: {err}"),
            })?;
        Ok(GitHubClient {
            http,
            api_url,
            token: config.token,
            retry: config.retry,
            request_timeout: config.timeouts.request,
            sleeper: Arc::new(|duration| Box::pin(tokio::time::sleep(duration))),
            comment_author: config.comment_author,
            login: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// Replaces how the client waits between retries (tests record instead of sleeping).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> GitHubClient {
        self.sleeper = sleeper;
        self
    }

    /// The API base URL, without a trailing slash.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// `GET path` decoded as JSON.
    pub(super) async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, GitHubError> {
        let response = self.send(Method::GET, path, None).await?;
        decode(&Method::GET, path, &response.body)
    }

    /// `method path` with a JSON body, the answer decoded as JSON.
    pub(super) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, GitHubError> {
        let bytes = serde_json::to_vec(body).map_err(|err| GitHubError::Decode {
            method: method.to_string(),
            path: path.to_string(),
            reason: format!("cannot encode the request body: {err}"),
        })?;
        let response = self.send(method.clone(), path, Some(bytes)).await?;
        decode(&method, path, &response.body)
    }

    /// `DELETE path`, expecting no content.
    pub(super) async fn delete(&self, path: &str) -> Result<(), GitHubError> {
        self.send(Method::DELETE, path, None).await.map(drop)
    }

    /// Every item of a paginated list, following `Link: <...>; rel="next"`, reading at most
    /// `max_pages` pages. `path` should ask for `per_page=100`.
    pub(super) async fn get_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        max_pages: usize,
    ) -> Result<Listing<T>, GitHubError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        let mut pages = 0;
        while let Some(current) = next.take() {
            if pages == max_pages {
                return Ok(Listing { items, truncated: true });
            }
            let response = self.send(Method::GET, &current, None).await?;
            let page: Vec<T> = decode(&Method::GET, &current, &response.body)?;
            items.extend(page);
            pages += 1;
            next = match next_link(&response.headers) {
                // Only follow links to our own API: the token must never go elsewhere.
                Some(url) => Some(
                    url.strip_prefix(&self.api_url)
                        .filter(|rest| rest.starts_with('/'))
                        .ok_or_else(|| GitHubError::Decode {
                            method: "GET".to_string(),
                            path: current.clone(),
                            reason: format!("the next page {url:?} is outside {}", self.api_url),
                        })?
                        .to_string(),
                ),
                None => None,
            };
        }
        Ok(Listing { items, truncated: false })
    }

    /// Sends one request with the retry policy; returns the 2xx response or the final error.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<ApiResponse, GitHubError> {
        let url = format!("{}{path}", self.api_url);
        let started = std::time::Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let budget =
                self.request_timeout.min(self.retry.max_elapsed.saturating_sub(started.elapsed()));
            let mut request = self.http.request(method.clone(), &url).timeout(budget);
            let mut authorization = HeaderValue::from_str(&format!("Bearer {}", self.token.0))
                .map_err(|_| GitHubError::InvalidToken)?;
            authorization.set_sensitive(true);
            request = request.header(AUTHORIZATION, authorization);
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let bytes = response.bytes().await.map(|b| b.to_vec());
                    match bytes {
                        Ok(bytes) if status.is_success() => {
                            return Ok(ApiResponse { headers, body: bytes });
                        }
                        Ok(bytes) => Failure::Status { status, headers, body: bytes },
                        Err(err) => Failure::Transport(describe(err)),
                    }
                }
                Err(err) => Failure::Transport(describe(err)),
            };
            let wait = match failure.retry_after(attempt, &self.retry, SystemTime::now()) {
                Retry::Never => return Err(failure.into_error(&method, path)),
                Retry::After(wait) => wait,
            };
            if wait > self.retry.max_wait || waited + wait > self.retry.max_total_wait {
                return Err(GitHubError::WaitTooLong {
                    method: method.to_string(),
                    path: path.to_string(),
                    wait,
                    limit: self
                        .retry
                        .max_wait
                        .min(self.retry.max_total_wait.saturating_sub(waited)),
                    last: failure.summary(),
                });
            }
            if attempt >= self.retry.max_attempts
                || started.elapsed() + wait >= self.retry.max_elapsed
            {
                return Err(GitHubError::RetriesExhausted {
                    method: method.to_string(),
                    path: path.to_string(),
                    attempts: attempt,
                    last: failure.summary(),
                });
            }
            (self.sleeper)(wait).await;
            waited += wait;
        }
    }
}

enum Failure {
    Status { status: StatusCode, headers: HeaderMap, body: Vec<u8> },
    Transport(String),
}

#[derive(Debug, PartialEq, Eq)]
enum Retry {
    Never,
    After(Duration),
}

impl Failure {
    fn retry_after(&self, attempt: u32, policy: &RetryPolicy, now: SystemTime) -> Retry {
        let backoff = || {
            let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
            Retry::After(policy.base_backoff.saturating_mul(factor).min(policy.max_wait))
        };
        let (status, headers) = match self {
            Failure::Transport(_) => return backoff(),
            Failure::Status { status, headers, .. } => (*status, headers),
        };
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            if let Some(seconds) = header("retry-after") {
                return Retry::After(Duration::from_secs(seconds));
            }
            if header("x-ratelimit-remaining") == Some(0) {
                let now = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
                let reset = header("x-ratelimit-reset").unwrap_or(now + 60);
                // One second of slack: the reset time is rounded down to the second.
                return Retry::After(Duration::from_secs(reset.saturating_sub(now) + 1));
            }
            if status == StatusCode::TOO_MANY_REQUESTS {
                return backoff();
            }
            return Retry::Never;
        }
        if status.is_server_error() {
            return backoff();
        }
        Retry::Never
    }

    fn summary(&self) -> String {
        match self {
            Failure::Transport(message) => message.clone(),
            Failure::Status { status, body, .. } => {
                format!("{} {}", status.as_u16(), message_of(body))
            }
        }
    }

    fn into_error(self, method: &Method, path: &str) -> GitHubError {
        match self {
            Failure::Transport(message) => GitHubError::Transport {
                method: method.to_string(),
                path: path.to_string(),
                message,
            },
            Failure::Status { status, body, .. } => GitHubError::Status {
                method: method.to_string(),
                path: path.to_string(),
                status: status.as_u16(),
                message: message_of(&body),
            },
        }
    }
}

/// A transport error with its causes ("error sending request: … : Connection refused"); the
/// URL is left out (the caller names the path), and it never holds the token.
fn describe(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    message
}

/// GitHub's error `message` (plus validation details), or the start of a non-JSON body.
fn message_of(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            let mut message = value["message"].as_str().unwrap_or("(no message)").to_string();
            if let Some(errors) = value["errors"].as_array() {
                let details: Vec<String> = errors
                    .iter()
                    .map(|e| e["message"].as_str().map_or_else(|| e.to_string(), str::to_string))
                    .collect();
                message = format!("{message}: {}", details.join("; "));
            }
            message
        }
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

fn decode<T: DeserializeOwned>(method: &Method, path: &str, body: &[u8]) -> Result<T, GitHubError> {
    serde_json::from_slice(body).map_err(|err| GitHubError::Decode {
        method: method.to_string(),
        path: path.to_string(),
        reason: err.to_string(),
    })
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|param| param.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// Percent-encodes one path segment or query value (branch names carry `/`).
pub(super) fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for byte in component.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, headers: &[(&'static str, &str)]) -> Failure {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            headers: map,
            body: Vec::new(),
        }
    }

    #[test]
    fn rate_limits_wait_as_github_asks() {
        let policy = RetryPolicy::default();
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let secondary = status(403, &[("retry-after", "7")]);
        assert_eq!(secondary.retry_after(1, &policy, now), Retry::After(Duration::from_secs(7)));
        let primary = status(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1010")]);
        assert_eq!(primary.retry_after(1, &policy, now), Retry::After(Duration::from_secs(11)));
        assert_eq!(status(403, &[]).retry_after(1, &policy, now), Retry::Never);
        assert_eq!(status(404, &[]).retry_after(1, &policy, now), Retry::Never);
        assert_eq!(
            status(429, &[]).retry_after(1, &policy, now),
            Retry::After(Duration::from_secs(1))
        );
        assert_eq!(
            status(502, &[]).retry_after(3, &policy, now),
            Retry::After(Duration::from_secs(4))
        );
        assert_eq!(status(503, &[]).retry_after(30, &policy, now), Retry::After(policy.max_wait));
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_the_request_within_its_deadline() {
        // Accepts connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let _held = std::thread::spawn(move || {
            let connections: Vec<_> = listener.incoming().take(10).collect();
            std::thread::sleep(Duration::from_secs(30));
            drop(connections);
        });
        let mut config = ClientConfig::new(url, GitHubToken::new("t"));
        config.timeouts = Timeouts {
            connect: Duration::from_secs(1),
            read: Duration::from_millis(500),
            request: Duration::from_secs(1),
        };
        config.retry = RetryPolicy {
            max_attempts: 10,
            base_backoff: Duration::from_millis(10),
            max_elapsed: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        let client = GitHubClient::new(config).unwrap();
        let started = std::time::Instant::now();
        let error = client.get_json::<serde_json::Value>("/user").await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(error, GitHubError::RetriesExhausted { .. }), "{error}");
        assert!(elapsed < Duration::from_secs(8), "bounded by the deadline: {elapsed:?}");
    }

    #[test]
    fn tokens_never_show_in_debug_or_display() {
        let token = GitHubToken::new("ghp_secret");
        let config = ClientConfig::new("https://api.github.com", token.clone());
        let client = GitHubClient::new(config.clone()).unwrap();
        for text in
            [format!("{token:?}"), format!("{token}"), format!("{config:?}"), format!("{client:?}")]
        {
            assert!(!text.contains("ghp_secret"), "{text}");
        }
    }

    #[test]
    fn api_urls_are_checked() {
        let token = GitHubToken::new("t");
        let client =
            GitHubClient::new(ClientConfig::new("https://ghe.example.com/api/v3/", token.clone()))
                .unwrap();
        assert_eq!(client.api_url(), "https://ghe.example.com/api/v3");
        let err =
            GitHubClient::new(ClientConfig::new("ftp://example.com", token.clone())).unwrap_err();
        assert!(err.to_string().contains("ftp://example.com"), "{err}");
        assert!(GitHubClient::new(ClientConfig::new("not a url", token)).is_err());
    }

    #[test]
    fn the_api_url_comes_from_the_given_environment() {
        let token = GitHubToken::new("t");
        let env = |value: &str| vec![("GITHUB_API_URL".to_string(), value.to_string())];
        let enterprise =
            ClientConfig::from_env(&env("https://ghe.example.com/api/v3"), token.clone());
        assert_eq!(enterprise.api_url, "https://ghe.example.com/api/v3");
        assert_eq!(ClientConfig::from_env(&env(" "), token.clone()).api_url, DEFAULT_API_URL);
        assert_eq!(ClientConfig::from_env(&[], token).api_url, DEFAULT_API_URL);
    }

    #[test]
    fn link_headers_and_encoding() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                "<https://api.github.com/x?page=1>; rel=\"prev\", <https://api.github.com/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(next_link(&headers).as_deref(), Some("https://api.github.com/x?page=3"));
        assert_eq!(encode("preview/feat x"), "preview%2Ffeat%20x");
    }

    #[test]
    fn error_messages_include_validation_details() {
        let body = br#"{"message":"Validation Failed","errors":[{"message":"body is too long"}]}"#;
        assert_eq!(message_of(body), "Validation Failed: body is too long");
        assert_eq!(message_of(b"<html>"), "<html>");
    }
}
