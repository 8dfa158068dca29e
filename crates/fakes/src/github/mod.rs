//! A stateful fake of the part of GitHub's REST API that gitops-env uses: pull requests (get,
//! list by branch, by commit) and their files, comparisons, issue comments (with their authors),
//! deployments and deployment statuses, `GET /user` and `GET /rate_limit`, with injectable rate
//! limits and server errors.
//!
//! **Every request is checked against GitHub's own OpenAPI description** (method, path,
//! parameters, JSON body; see `spec` and `data/github/README.md`). An unknown route or an invalid
//! body is answered as GitHub would (404/422) *and* recorded as a violation; dropping the
//! [`FakeGitHub`] with violations recorded panics, so the test that sent the request fails.
//! Responses start from the description's examples with the state written over them, and are
//! themselves checked against the description's response schemas.
//!
//! Where to start: [`FakeGitHub::start`] in a test, then the setters (`add_token`, `add_pull`,
//! `add_comment`...), then the getters (`comments`, `deployments`, `requests`). The same server
//! runs from the command line as `fake-github --listen ADDR`, readable with plain HTTP
//! (`curl ADDR/repos/o/r/issues/1/comments`), which is how a local run can be inspected.
//!
//! Reads need no token (a public repository), so a run can be inspected with curl; writes do,
//! and read-only tokens (a fork's `GITHUB_TOKEN`, [`FakeGitHub::add_read_only_app_token`]) are
//! refused every write with GitHub's `403 Resource not accessible by integration`. Branches
//! (`GET .../branches/{b}`, deletable), collaborator roles (`GET .../collaborators/{u}/permission`,
//! reflected in comments' `author_association`), labels and draft pull requests are modelled.
//! Not modelled: issues that are not pull requests, repository permissions beyond "only the
//! author edits a comment" and read-only tokens, `auto_merge` behaviour of deployments,
//! ETags/conditional requests, and commits other than a pull request's head or merge commit.

mod endpoints;
mod http;
mod model;
mod schema;
mod spec;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

pub use endpoints::{COMMENT_BODY_LIMIT, COMPARE_FILES_LIMIT, PULL_FILES_LIMIT};
pub use model::{
    Access, ChangedFile, Comment, Comparison, Deployment, DeploymentStatus, Fault, Identity,
    Permission, Pull, PullState, RecordedRequest,
};
pub use schema::{Strictness, validate as validate_schema};
pub use spec::{MatchedRequest, RequestError, Spec};

use model::State;

/// A running fake GitHub. Dropping it stops the server; if requests violated the API
/// description it then panics (unless the thread is already panicking).
#[derive(Debug)]
pub struct FakeGitHub {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeGitHub {
    /// Starts a fake on `127.0.0.1` with a free port, in this process.
    pub fn start() -> FakeGitHub {
        FakeGitHub::listen("127.0.0.1:0").expect("bind a free port on 127.0.0.1")
    }

    /// Starts a fake listening on `address` (e.g. `127.0.0.1:8080`).
    pub fn listen(address: &str) -> std::io::Result<FakeGitHub> {
        let listener = TcpListener::bind(address)?;
        let address = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::new()));
        let shutdown = Arc::new(AtomicBool::new(false));
        let spec = Arc::new(Spec::load());
        let base_url = format!("http://{address}");
        let handler_state = Arc::clone(&state);
        let handler: http::Handler = Arc::new(move |request| {
            let mut state = lock(&handler_state);
            endpoints::handle(&mut state, &spec, &base_url, &request)
        });
        let acceptor = {
            let shutdown = Arc::clone(&shutdown);
            thread::spawn(move || http::serve(listener, handler, shutdown))
        };
        Ok(FakeGitHub { address, state, shutdown, acceptor: Some(acceptor) })
    }

    /// The base URL to use as `GITHUB_API_URL`, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Accepts `token` as a user's personal token: `GET /user` answers `login`, and what it
    /// writes is authored by `login`.
    pub fn add_token(&self, token: &str, login: &str) {
        lock(&self.state).tokens.insert(token.to_string(), Identity::User(login.to_string()));
    }

    /// Accepts `token` as a GitHub App installation token (like Actions' `GITHUB_TOKEN`):
    /// `GET /user` is forbidden and what it writes is authored by `bot_login`.
    pub fn add_app_token(&self, token: &str, bot_login: &str) {
        lock(&self.state).tokens.insert(token.to_string(), Identity::App(bot_login.to_string()));
    }

    /// Accepts `token` as an installation token that may only read, like the `GITHUB_TOKEN` of a
    /// pull request from a fork: every write answers `403 Resource not accessible by
    /// integration`, as GitHub words it.
    pub fn add_read_only_app_token(&self, token: &str, bot_login: &str) {
        let mut state = lock(&self.state);
        state.tokens.insert(token.to_string(), Identity::App(bot_login.to_string()));
        state.read_only.insert(token.to_string());
    }

    /// Sets what an accepted token may do (see [`Access`]).
    pub fn set_token_access(&self, token: &str, access: Access) {
        let mut state = lock(&self.state);
        match access {
            Access::ReadOnly => state.read_only.insert(token.to_string()),
            Access::ReadWrite => state.read_only.remove(token),
        };
    }

    /// Gives `login` a role on `full_name`: what `GET .../collaborators/{login}/permission`
    /// answers, and `author_association: COLLABORATOR` on their comments. Without one, the
    /// owner is `admin` (`OWNER`) and everyone else `read` (`CONTRIBUTOR`), as for a public
    /// repository.
    pub fn set_permission(&self, full_name: &str, login: &str, permission: Permission) {
        let mut state = lock(&self.state);
        let repository = state.repositories.entry(full_name.to_ascii_lowercase()).or_default();
        repository.permissions.insert(login.to_ascii_lowercase(), permission);
    }

    /// Creates (or moves) branch `name` at `sha`. Branches named by a pull request of the same
    /// repository (head or base) exist without this, until deleted.
    pub fn add_branch(&self, full_name: &str, name: &str, sha: &str) {
        let mut state = lock(&self.state);
        let repository = state.repositories.entry(full_name.to_ascii_lowercase()).or_default();
        repository.deleted_branches.remove(name);
        repository.branches.insert(name.to_string(), sha.to_string());
    }

    /// Deletes branch `name`: `GET .../branches/{name}` answers 404 from now on.
    pub fn delete_branch(&self, full_name: &str, name: &str) {
        let mut state = lock(&self.state);
        let repository = state.repositories.entry(full_name.to_ascii_lowercase()).or_default();
        repository.branches.remove(name);
        repository.deleted_branches.insert(name.to_string());
    }

    /// Marks a draft pull request ready for review (or back to draft).
    pub fn set_draft(&self, full_name: &str, number: u64, draft: bool) {
        self.update_pull(full_name, number, |pull| pull.draft = draft);
    }

    /// Adds a label to a pull request, as a person would in the web UI.
    pub fn add_label(&self, full_name: &str, number: u64, label: &str) {
        self.update_pull(full_name, number, |pull| {
            if !pull.labels.iter().any(|l| l == label) {
                pull.labels.push(label.to_string());
            }
        });
    }

    /// Removes a label from a pull request.
    pub fn remove_label(&self, full_name: &str, number: u64, label: &str) {
        self.update_pull(full_name, number, |pull| pull.labels.retain(|l| l != label));
    }

    /// A pull request as the fake holds it.
    pub fn pull(&self, full_name: &str, number: u64) -> Option<Pull> {
        lock(&self.state)
            .repositories
            .get(&full_name.to_ascii_lowercase())
            .and_then(|repository| repository.pulls.get(&number).cloned())
    }

    /// Edits a comment's body as someone else would (a maintainer, in the web UI): the author
    /// stays, `updated_at` moves. Returns whether the comment exists.
    pub fn edit_comment(&self, full_name: &str, comment_id: u64, body: &str) -> bool {
        let mut state = lock(&self.state);
        let now = state.tick();
        let Some(repository) = state.repositories.get_mut(&full_name.to_ascii_lowercase()) else {
            return false;
        };
        match repository.comments.iter_mut().find(|c| c.id == comment_id) {
            Some(comment) => {
                comment.body = body.to_string();
                comment.updated_at = now;
                true
            }
            None => false,
        }
    }

    /// Deletes a comment as someone else would. Returns whether it existed.
    pub fn delete_comment(&self, full_name: &str, comment_id: u64) -> bool {
        let mut state = lock(&self.state);
        let Some(repository) = state.repositories.get_mut(&full_name.to_ascii_lowercase()) else {
            return false;
        };
        let before = repository.comments.len();
        repository.comments.retain(|c| c.id != comment_id);
        before != repository.comments.len()
    }

    /// Creates the repository `owner/name` (idempotent).
    pub fn add_repo(&self, full_name: &str) {
        lock(&self.state).repositories.entry(full_name.to_ascii_lowercase()).or_default();
    }

    /// Adds or replaces a pull request of `full_name` (the repository is created if needed).
    pub fn add_pull(&self, full_name: &str, pull: Pull) {
        let mut state = lock(&self.state);
        let repository = state.repositories.entry(full_name.to_ascii_lowercase()).or_default();
        repository.pulls.insert(pull.number, pull);
    }

    /// Changes a pull request in place (close it, merge it, push to it...).
    pub fn update_pull(&self, full_name: &str, number: u64, change: impl FnOnce(&mut Pull)) {
        let mut state = lock(&self.state);
        let pull = state
            .repositories
            .get_mut(&full_name.to_ascii_lowercase())
            .and_then(|repository| repository.pulls.get_mut(&number))
            .unwrap_or_else(|| panic!("no pull request {full_name}#{number} in the fake"));
        change(pull);
    }

    /// Answers `GET /repos/{full_name}/compare/{base}...{head}` with `comparison`.
    pub fn add_comparison(&self, full_name: &str, base: &str, head: &str, comparison: Comparison) {
        let mut state = lock(&self.state);
        let repository = state.repositories.entry(full_name.to_ascii_lowercase()).or_default();
        repository.comparisons.insert(format!("{base}...{head}"), comparison);
    }

    /// Adds a comment by `author` (a human, unless the login ends in `[bot]`); returns its id.
    pub fn add_comment(&self, full_name: &str, issue_number: u64, author: &str, body: &str) -> u64 {
        let mut state = lock(&self.state);
        let id = state.allocate_id();
        let now = state.tick();
        let repository = state.repositories.entry(full_name.to_ascii_lowercase()).or_default();
        repository.comments.push(Comment {
            id,
            issue_number,
            body: body.to_string(),
            author: author.to_string(),
            author_is_bot: author.ends_with("[bot]"),
            created_at: now.clone(),
            updated_at: now,
        });
        id
    }

    /// The comments of an issue or pull request, oldest first.
    pub fn comments(&self, full_name: &str, issue_number: u64) -> Vec<Comment> {
        lock(&self.state)
            .repositories
            .get(&full_name.to_ascii_lowercase())
            .map(|repository| {
                repository
                    .comments
                    .iter()
                    .filter(|c| c.issue_number == issue_number)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The deployments of a repository with their statuses, oldest first.
    pub fn deployments(&self, full_name: &str) -> Vec<Deployment> {
        lock(&self.state)
            .repositories
            .get(&full_name.to_ascii_lowercase())
            .map(|repository| repository.deployments.clone())
            .unwrap_or_default()
    }

    /// Queues `fault` as the answer to the next request (faults are used in order).
    pub fn inject(&self, fault: Fault) {
        lock(&self.state).faults.push_back(fault);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// Every violation of the API description recorded so far.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.state).violations.clone()
    }

    /// Forgets the recorded violations (for tests that send invalid requests on purpose, after
    /// asserting on them).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut lock(&self.state).violations)
    }

    /// Panics listing the violations, if any.
    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        assert!(
            violations.is_empty(),
            "requests that GitHub's API description rejects:\n  {}",
            violations.join("\n  ")
        );
    }
}

impl Drop for FakeGitHub {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        if !thread::panicking() {
            self.assert_no_violations();
        }
    }
}

/// Locks the state; a handler that panicked mid-request leaves it usable for inspection.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
