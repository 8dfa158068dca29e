//! GitHub's REST API, as the action needs it: pull requests and their files, comparisons, the
//! sticky PR comment, and Deployments with their statuses.
//!
//! Layout: `client` is the HTTP edge (base URL, token, retries, pagination); `pulls`,
//! `comments` and `deployments` add the operations as methods of [`GitHubClient`], each
//! returning our own small types rather than GitHub's JSON. Nothing here decides *what* to post:
//! the comment body comes from `report`, the environment names from the plan. Nothing here reads
//! the process environment either: `GITHUB_API_URL` and the token are passed in through
//! [`ClientConfig`].
//!
//! Why not octocrab (the suggestion): without its default features octocrab has no HTTP
//! client or TLS at all (`default-client` and a rustls backend must be chosen again), its typed
//! calls turn an error response into a `GitHubError` without the headers, so rate-limit-aware
//! retries (`retry-after`, `x-ratelimit-reset`) would need its raw `_get`/`_post` anyway, and it
//! compiles thousands of model types we do not use. We call 14 endpoints; a small client over
//! `reqwest` (rustls with ring, no default features: no aws-lc/cmake C build) with our own
//! types is less code to trust and faster to build on the 2-core CI.
//!
//! Every request is exercised in `tests/it/github.rs` against `fakes::github`, which checks it
//! against GitHub's own OpenAPI description.

mod client;
mod comments;
mod deployments;
mod pulls;

use std::time::Duration;

pub use client::{
    API_VERSION, ClientConfig, DEFAULT_API_URL, GitHubClient, GitHubToken, RetryPolicy, Sleeper,
    Timeouts,
};
pub use comments::{
    ACTIONS_BOT_LOGIN, COMMENT_BODY_LIMIT, StickyAction, StickyMarker, StickyOutcome,
};
pub use deployments::{DeploymentState, DeploymentTarget, StatusUpdate};
pub use pulls::{
    COMPARE_FILES_LIMIT, ChangedFile, ChangedFiles, Comparison, PULL_FILES_LIMIT, PullRequest,
    PullSide, PullState, RepoName,
};

/// Everything that can go wrong talking to GitHub. Messages name the request (method and path,
/// never the token) and what GitHub said.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("invalid GitHub API URL {url:?} (GITHUB_API_URL): {reason}")]
    InvalidApiUrl { url: String, reason: String },
    #[error("the GitHub token contains characters that cannot be sent in an HTTP header")]
    InvalidToken,
    #[error("invalid repository {0:?}: expected OWNER/NAME (as in GITHUB_REPOSITORY)")]
    InvalidRepository(String),
    #[error("GitHub API {method} {path}: {message}")]
    Transport { method: String, path: String, message: String },
    #[error("GitHub API {method} {path} answered {status}: {message}")]
    Status { method: String, path: String, status: u16, message: String },
    #[error(
        "GitHub API {method} {path}: retrying needs a wait of {wait:?}, more than the {limit:?} allowed (last answer: {last})"
    )]
    WaitTooLong { method: String, path: String, wait: Duration, limit: Duration, last: String },
    #[error("GitHub API {method} {path}: gave up after {attempts} attempts (last answer: {last})")]
    RetriesExhausted { method: String, path: String, attempts: u32, last: String },
    #[error("GitHub API {method} {path}: unexpected response: {reason}")]
    Decode { method: String, path: String, reason: String },
    #[error("sticky comment body must start with its marker line {marker:?}")]
    MarkerNotFirst { marker: String },
    #[error("comment body has {length} characters; GitHub accepts at most {COMMENT_BODY_LIMIT}")]
    CommentTooLong { length: usize },
}

impl GitHubError {
    /// The HTTP status GitHub answered, when the error is an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            GitHubError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
