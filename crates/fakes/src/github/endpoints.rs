//! The fake's request handling: check the request against GitHub's description, apply queued
//! faults, authenticate, then serve the operation from the state. Response bodies start from
//! the description's own examples and have the state's values written over them, so they carry
//! every field GitHub sends, not just the ones our client reads today.
//!
//! It owns GitHub's behaviour (status codes, pagination `Link` headers, rate-limit headers, who
//! may write what); it must not know about sockets (`http`) or tests (`FakeGitHub`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::http::{Request, Response};
use super::model::{
    Access, ChangedFile, Comment, Deployment, DeploymentStatus, Fault, Identity, Permission, Pull,
    PullState, RecordedRequest, State,
};
use super::spec::{MatchedRequest, RequestError, Spec};

/// GitHub's primary rate limit for a token, per hour.
const RATE_LIMIT: u64 = 5000;
/// GitHub lists at most this many files of a pull request.
pub const PULL_FILES_LIMIT: usize = 3000;
/// GitHub's compare endpoint returns at most this many files.
pub const COMPARE_FILES_LIMIT: usize = 300;
const DOCS: &str = "https://docs.github.com/rest";

/// Serves one request, recording it and any violation in `state`.
pub fn handle(state: &mut State, spec: &Spec, base_url: &str, request: &Request) -> Response {
    let target = if request.query.is_empty() {
        request.path.clone()
    } else {
        format!("{}?{}", request.path, request.query)
    };
    let (operation_id, response) = serve(state, spec, base_url, request, &target);
    if (200..300).contains(&response.status) && !response.body.is_empty() {
        // Self-check: what the fake answers must itself match the description.
        if let (Some(id), Ok(body)) =
            (&operation_id, serde_json::from_slice::<Value>(&response.body))
        {
            for error in spec.check_response(id, response.status, &body) {
                state
                    .violations
                    .push(format!("fake response to {} {target}: {error}", request.method));
            }
        }
    }
    state.requests.push(RecordedRequest {
        method: request.method.clone(),
        target,
        operation_id,
        status: response.status,
    });
    response
}

fn serve(
    state: &mut State,
    spec: &Spec,
    base_url: &str,
    request: &Request,
    target: &str,
) -> (Option<String>, Response) {
    let matched = match spec.match_request(&request.method, &request.path, &request.query) {
        Ok(matched) => matched,
        Err(problem) => {
            let messages = problem.messages();
            for message in &messages {
                state.violations.push(format!("{} {target}: {message}", request.method));
            }
            let status = match problem {
                RequestError::UnknownRoute => 404,
                RequestError::InvalidParameters(_) => 422,
            };
            return (None, error(status, &messages.join("; ")));
        }
    };
    let id = Some(matched.operation_id.clone());
    let body_errors = spec.check_body(&matched.operation_id, &request.body);
    if !body_errors.is_empty() {
        for error in &body_errors {
            state.violations.push(format!("{} {target}: {error}", request.method));
        }
        return (id, validation_failed(&body_errors.join("; ")));
    }
    if request.header("user-agent").is_none_or(str::is_empty) {
        // GitHub refuses requests without a User-Agent.
        state.violations.push(format!("{} {target}: no User-Agent header", request.method));
        return (
            id,
            error(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
            ),
        );
    }
    let now = unix_now();
    if let Some(fault) = state.faults.pop_front() {
        return (id, fault_response(&fault, now));
    }
    let (identity, access) = match request.header("authorization") {
        None => (None, Access::ReadOnly),
        Some(value) => {
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("token "))
                .unwrap_or_default();
            match state.tokens.get(token) {
                Some(identity) => {
                    let access = if state.read_only.contains(token) {
                        Access::ReadOnly
                    } else {
                        Access::ReadWrite
                    };
                    (Some(identity.clone()), access)
                }
                None => return (id, error(401, "Bad credentials")),
            }
        }
    };
    state.used += 1;
    let mut context = Context {
        state,
        spec,
        base_url,
        matched: &matched,
        path: &request.path,
        identity,
        access,
        body: &request.body,
    };
    let response = context.operation().unwrap_or_else(|response| response);
    let remaining = RATE_LIMIT.saturating_sub(context.state.used);
    let response = response
        .with_header("x-ratelimit-limit", RATE_LIMIT.to_string())
        .with_header("x-ratelimit-remaining", remaining.to_string())
        .with_header("x-ratelimit-used", context.state.used.to_string())
        .with_header("x-ratelimit-reset", (now + 3600).to_string())
        .with_header("x-ratelimit-resource", "core");
    (id, response)
}

fn fault_response(fault: &Fault, now: u64) -> Response {
    match fault {
        Fault::RateLimit { reset_in } => error(403, "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.")
            .with_header("x-ratelimit-limit", RATE_LIMIT.to_string())
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-used", RATE_LIMIT.to_string())
            .with_header("x-ratelimit-reset", (now + reset_in.as_secs()).to_string())
            .with_header("x-ratelimit-resource", "core"),
        Fault::SecondaryRateLimit { status, retry_after_secs } => error(*status, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
            .with_header("retry-after", retry_after_secs.to_string()),
        Fault::ServerError(status) => error(*status, "Server Error"),
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

fn error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &json!({ "message": message, "documentation_url": DOCS, "status": status.to_string() }),
    )
}

fn validation_failed(message: &str) -> Response {
    Response::json(
        422,
        &json!({
            "message": "Validation Failed",
            "errors": [{ "resource": "Request", "code": "invalid", "message": message }],
            "documentation_url": DOCS,
        }),
    )
}

struct Context<'a> {
    state: &'a mut State,
    spec: &'a Spec,
    base_url: &'a str,
    matched: &'a MatchedRequest,
    /// The request's path as sent (still percent-encoded), for `Link` headers.
    path: &'a str,
    identity: Option<Identity>,
    access: Access,
    body: &'a [u8],
}

type Served = Result<Response, Response>;

impl Context<'_> {
    fn operation(&mut self) -> Served {
        match self.matched.operation_id.as_str() {
            "users/get-authenticated" => self.get_user(),
            "rate-limit/get" => Ok(self.rate_limit()),
            "pulls/get" => self.get_pull(),
            "pulls/list" => self.list_pulls(),
            "repos/list-pull-requests-associated-with-commit" => self.pulls_for_commit(),
            "pulls/list-files" => self.list_pull_files(),
            "repos/compare-commits-with-basehead" => self.compare(),
            "issues/list-comments" => self.list_comments(),
            "issues/create-comment" => self.create_comment(),
            "issues/update-comment" => self.update_comment(),
            "issues/delete-comment" => self.delete_comment(),
            "repos/create-deployment" => self.create_deployment(),
            "repos/list-deployments" => self.list_deployments(),
            "repos/delete-deployment" => self.delete_deployment(),
            "repos/create-deployment-status" => self.create_deployment_status(),
            "repos/list-deployment-statuses" => self.list_deployment_statuses(),
            "repos/get-branch" => self.get_branch(),
            "repos/get-collaborator-permission-level" => self.collaborator_permission(),
            "issues/get-comment" => self.get_comment(),
            "issues/list-labels-on-issue" => self.list_labels(),
            "issues/add-labels" => self.add_labels(),
            "issues/remove-label" => self.remove_label(),
            other => Err(error(404, &format!("the fake does not serve {other}"))),
        }
    }

    // ----- helpers -------------------------------------------------------------------------

    fn repo_name(&self) -> (String, String) {
        (self.matched.path["owner"].clone(), self.matched.path["repo"].clone())
    }

    fn repo_key(&self) -> String {
        let (owner, repo) = self.repo_name();
        format!("{owner}/{repo}").to_ascii_lowercase()
    }

    fn repo_url(&self) -> String {
        let (owner, repo) = self.repo_name();
        format!("{}/repos/{owner}/{repo}", self.base_url)
    }

    fn repository(&mut self) -> Result<&mut super::model::Repository, Response> {
        let key = self.repo_key();
        self.state.repositories.get_mut(&key).ok_or_else(|| error(404, "Not Found"))
    }

    fn path_number(&self, name: &str) -> u64 {
        // The spec check already proved it parses as an integer.
        self.matched.path[name].parse().unwrap_or(0)
    }

    /// Who writes, refusing reads-only tokens as GitHub does.
    fn writer(&self) -> Result<Identity, Response> {
        let identity =
            self.identity.clone().ok_or_else(|| error(401, "Requires authentication"))?;
        if self.access == Access::ReadOnly {
            return Err(error(
                403,
                match identity {
                    Identity::App(_) => "Resource not accessible by integration",
                    Identity::User(_) => "Resource not accessible by personal access token",
                },
            ));
        }
        Ok(identity)
    }

    /// A user's role on the repository: set by a test, `admin` for the owner, otherwise
    /// `read` (the fake's repositories are public).
    fn permission_of(&self, login: &str) -> Permission {
        let (owner, _) = self.repo_name();
        let repository = self.state.repositories.get(&self.repo_key());
        match repository.and_then(|r| r.permissions.get(&login.to_ascii_lowercase())) {
            Some(permission) => *permission,
            None if login.eq_ignore_ascii_case(&owner) => Permission::Admin,
            None => Permission::Read,
        }
    }

    fn body_json(&self) -> Value {
        serde_json::from_slice(self.body).unwrap_or(Value::Null)
    }

    fn user(&self, login: &str, is_bot: bool) -> Value {
        let mut user = self.spec.example("issue-comment")["user"].clone();
        let id = login
            .bytes()
            .fold(7u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte)))
            % 1_000_000_000;
        rewrite_strings(&mut user, "octocat", login);
        user["login"] = json!(login);
        user["id"] = json!(id);
        user["type"] = json!(if is_bot { "Bot" } else { "User" });
        user
    }

    /// Pages `items` per GitHub's rules (`per_page` default 30, at most 100) with a `Link`
    /// header naming the first, previous, next and last pages. Only the requested page is
    /// shaped into JSON: lists here can hold thousands of items.
    fn paginate<T>(&self, items: &[T], shape: impl Fn(&T) -> Value) -> Response {
        let per_page = self.query_number("per_page").unwrap_or(30).clamp(1, 100) as usize;
        let page = self.query_number("page").unwrap_or(1).max(1) as usize;
        let last = items.len().div_ceil(per_page).max(1);
        let chunk: Vec<Value> =
            items.iter().skip((page - 1) * per_page).take(per_page).map(shape).collect();
        let response = Response::json(200, &Value::Array(chunk));
        let mut links = Vec::new();
        let link = |page: usize, rel: &str| {
            let mut query: BTreeMap<&str, String> =
                self.matched.query.iter().map(|(k, v)| (k.as_str(), encode_query(v))).collect();
            query.insert("per_page", per_page.to_string());
            query.insert("page", page.to_string());
            let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("<{}{}?{}>; rel=\"{rel}\"", self.base_url, self.path, query.join("&"))
        };
        if page > 1 {
            links.push(link(page - 1, "prev"));
        }
        if page < last {
            links.push(link(page + 1, "next"));
            links.push(link(last, "last"));
        }
        if page > 1 {
            links.push(link(1, "first"));
        }
        if links.is_empty() { response } else { response.with_header("link", links.join(", ")) }
    }

    fn query_number(&self, name: &str) -> Option<u64> {
        self.matched.query.get(name).and_then(|value| value.parse().ok())
    }

    // ----- users and rate limits ----------------------------------------------------------

    fn get_user(&self) -> Served {
        match &self.identity {
            None => Err(error(401, "Requires authentication")),
            Some(Identity::App(_)) => Err(error(403, "Resource not accessible by integration")),
            Some(Identity::User(login)) => {
                let mut user =
                    self.spec.example("private-user-response-with-public-profile-information");
                let shaped = self.user(login, false);
                for (key, value) in shaped.as_object().into_iter().flatten() {
                    user[key] = value.clone();
                }
                user["name"] = json!(login);
                Ok(Response::json(200, &user))
            }
        }
    }

    fn rate_limit(&self) -> Response {
        let mut overview = self.spec.example("rate-limit-overview");
        let remaining = RATE_LIMIT.saturating_sub(self.state.used);
        let core = json!({ "limit": RATE_LIMIT, "remaining": remaining, "reset": unix_now() + 3600, "used": self.state.used });
        overview["resources"]["core"] = core.clone();
        overview["rate"] = core;
        Response::json(200, &overview)
    }

    // ----- pull requests and comparisons --------------------------------------------------

    fn pull(&mut self) -> Result<Pull, Response> {
        let number = self.path_number("pull_number");
        self.repository()?.pulls.get(&number).cloned().ok_or_else(|| error(404, "Not Found"))
    }

    fn get_pull(&mut self) -> Served {
        let pull = self.pull()?;
        let mut body = self.spec.example("pull-request");
        self.shape_pull(&mut body, &pull);
        body["merged"] = json!(pull.merged);
        body["mergeable"] = json!(pull.state == PullState::Open);
        body["changed_files"] = json!(pull.files.len());
        Ok(Response::json(200, &body))
    }

    /// Writes `pull` over a `pull-request` or `pull-request-simple` example.
    fn shape_pull(&self, body: &mut Value, pull: &Pull) {
        let (owner, repo) = self.repo_name();
        let html = format!("https://github.com/{owner}/{repo}/pull/{}", pull.number);
        body["url"] = json!(format!("{}/pulls/{}", self.repo_url(), pull.number));
        body["id"] = json!(pull.number + 1_000_000);
        body["number"] = json!(pull.number);
        body["html_url"] = json!(html);
        body["state"] = json!(if pull.state == PullState::Open { "open" } else { "closed" });
        body["title"] = json!(pull.title);
        body["draft"] = json!(pull.draft);
        body["user"] = self.user(&pull.author, false);
        body["merged_at"] = if pull.merged { json!("2026-01-01T00:00:00Z") } else { Value::Null };
        body["closed_at"] = if pull.state == PullState::Closed {
            json!("2026-01-01T00:00:00Z")
        } else {
            Value::Null
        };
        body["merge_commit_sha"] = pull.merge_commit().map_or(Value::Null, |sha| json!(sha));
        // GitHub's own example lists a team without the `type` its schema requires.
        body["requested_teams"] = json!([]);
        let template_label = body["labels"][0].clone();
        body["labels"] = self.labels_json(&pull.labels, &template_label);
        let base_full = format!("{owner}/{repo}");
        let head_full = pull.head_repo.clone().unwrap_or_else(|| base_full.clone());
        for (side, git_ref, sha, full_name) in [
            ("head", &pull.head_ref, &pull.head_sha, &head_full),
            ("base", &pull.base_ref, &pull.base_sha, &base_full),
        ] {
            let (side_owner, side_repo) =
                full_name.split_once('/').unwrap_or((full_name, full_name));
            let node = &mut body[side];
            node["ref"] = json!(git_ref);
            node["sha"] = json!(sha);
            node["label"] = json!(format!("{side_owner}:{git_ref}"));
            node["user"]["login"] = json!(side_owner);
            let repository = &mut node["repo"];
            repository["name"] = json!(side_repo);
            repository["full_name"] = json!(full_name);
            repository["owner"]["login"] = json!(side_owner);
            repository["fork"] = json!(side == "head" && pull.head_repo.is_some());
            repository["html_url"] = json!(format!("https://github.com/{full_name}"));
            repository["url"] = json!(format!("{}/repos/{full_name}", self.base_url));
        }
    }

    /// `GET /repos/{o}/{r}/pulls`: filters `state` (default open), `head` (`owner:branch`; a bare
    /// branch matches any owner) and `base`; newest first, like GitHub's default sort.
    fn list_pulls(&mut self) -> Served {
        let query = self.matched.query.clone();
        let (owner, _) = self.repo_name();
        let pulls: Vec<Pull> = self.repository()?.pulls.values().rev().cloned().collect();
        let state = query.get("state").map_or("open", String::as_str);
        let selected: Vec<&Pull> = pulls
            .iter()
            .filter(|pull| match state {
                "all" => true,
                "closed" => pull.state == PullState::Closed,
                _ => pull.state == PullState::Open,
            })
            .filter(|pull| {
                query.get("head").is_none_or(|head| {
                    let head_owner = pull
                        .head_repo
                        .as_deref()
                        .and_then(|full| full.split_once('/'))
                        .map_or(owner.as_str(), |(o, _)| o);
                    match head.split_once(':') {
                        Some((o, branch)) => {
                            o.eq_ignore_ascii_case(head_owner) && branch == pull.head_ref
                        }
                        None => *head == pull.head_ref,
                    }
                })
            })
            .filter(|pull| query.get("base").is_none_or(|base| *base == pull.base_ref))
            .collect();
        if query.get("direction").map(String::as_str) == Some("asc") {
            let ascending: Vec<&Pull> = selected.into_iter().rev().collect();
            return Ok(self.paginate(&ascending, |pull| self.simple_pull_json(pull)));
        }
        Ok(self.paginate(&selected, |pull| self.simple_pull_json(pull)))
    }

    /// `GET /repos/{o}/{r}/commits/{sha}/pulls`: the pull requests whose head is that commit
    /// or whose merge produced it, newest first.
    fn pulls_for_commit(&mut self) -> Served {
        let sha = self.matched.path["commit_sha"].clone();
        let pulls: Vec<Pull> = self
            .repository()?
            .pulls
            .values()
            .rev()
            .filter(|pull| pull.head_sha == sha || pull.merge_commit() == Some(sha.as_str()))
            .cloned()
            .collect();
        let selected: Vec<&Pull> = pulls.iter().collect();
        Ok(self.paginate(&selected, |pull| self.simple_pull_json(pull)))
    }

    fn simple_pull_json(&self, pull: &Pull) -> Value {
        let mut body = self.spec.example("pull-request-simple-items")[0].clone();
        self.shape_pull(&mut body, pull);
        body
    }

    fn file_json(&self, file: &ChangedFile, template: &Value) -> Value {
        let mut entry = template.clone();
        entry["filename"] = json!(file.filename);
        entry["status"] = json!(file.status);
        entry["additions"] = json!(file.additions);
        entry["deletions"] = json!(file.deletions);
        entry["changes"] = json!(file.additions + file.deletions);
        entry["blob_url"] =
            json!(format!("https://github.com/{}/blob/HEAD/{}", self.repo_key(), file.filename));
        entry["raw_url"] =
            json!(format!("https://github.com/{}/raw/HEAD/{}", self.repo_key(), file.filename));
        entry["contents_url"] = json!(format!("{}/contents/{}", self.repo_url(), file.filename));
        let object = entry.as_object_mut().expect("the diff-entry example is an object");
        object.remove("patch");
        match &file.previous_filename {
            Some(previous) => {
                object.insert("previous_filename".into(), json!(previous));
            }
            None => {
                object.remove("previous_filename");
            }
        }
        entry
    }

    fn list_pull_files(&mut self) -> Served {
        let pull = self.pull()?;
        let template = self.spec.example("diff-entry-items")[0].clone();
        // GitHub stops listing after 3,000 files, silently.
        let listed = &pull.files[..pull.files.len().min(PULL_FILES_LIMIT)];
        Ok(self.paginate(listed, |file| self.file_json(file, &template)))
    }

    fn compare(&mut self) -> Served {
        let basehead = self.matched.path["basehead"].clone();
        let Some((base, head)) = basehead.split_once("...") else {
            return Err(error(404, "Not Found"));
        };
        let comparison = self
            .repository()?
            .comparisons
            .get(&basehead)
            .cloned()
            .ok_or_else(|| error(404, "Not Found"))?;
        let mut body = self.spec.example("commit-comparison");
        let template_commit = body["base_commit"].clone();
        let commit = |sha: &str| {
            let mut commit = template_commit.clone();
            commit["sha"] = json!(sha);
            commit["url"] = json!(format!("{}/commits/{sha}", self.repo_url()));
            commit
        };
        body["base_commit"] = commit(base);
        body["merge_base_commit"] = commit(&comparison.merge_base_sha);
        body["status"] = json!(comparison.status);
        body["ahead_by"] = json!(comparison.ahead_by);
        body["behind_by"] = json!(comparison.behind_by);
        body["total_commits"] = json!(comparison.commits.len());
        let per_page = self.query_number("per_page").unwrap_or(250).clamp(1, 250) as usize;
        let page = self.query_number("page").unwrap_or(1).max(1) as usize;
        body["commits"] = Value::Array(
            comparison
                .commits
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|sha| commit(sha))
                .collect(),
        );
        let template_file = body["files"][0].clone();
        body["files"] = Value::Array(
            comparison
                .files
                .iter()
                .take(COMPARE_FILES_LIMIT)
                .map(|file| self.file_json(file, &template_file))
                .collect(),
        );
        body["url"] = json!(format!("{}/compare/{base}...{head}", self.repo_url()));
        Ok(Response::json(200, &body))
    }

    // ----- issue comments -------------------------------------------------------------------

    fn comment_json(&self, comment: &Comment) -> Value {
        let (owner, repo) = self.repo_name();
        let mut body = self.spec.example("issue-comment");
        body["id"] = json!(comment.id);
        body["node_id"] = json!(format!("IC_fake{}", comment.id));
        body["url"] = json!(format!("{}/issues/comments/{}", self.repo_url(), comment.id));
        body["html_url"] = json!(format!(
            "https://github.com/{owner}/{repo}/pull/{}#issuecomment-{}",
            comment.issue_number, comment.id
        ));
        body["issue_url"] = json!(format!("{}/issues/{}", self.repo_url(), comment.issue_number));
        body["body"] = json!(comment.body);
        body["user"] = self.user(&comment.author, comment.author_is_bot);
        body["created_at"] = json!(comment.created_at);
        body["updated_at"] = json!(comment.updated_at);
        body["author_association"] =
            json!(self.association(&comment.author, comment.author_is_bot));
        body
    }

    /// GitHub's `author_association`: `OWNER` for the repository's owner, `COLLABORATOR` for
    /// users a test gave a role, `NONE` for bots, `CONTRIBUTOR` for everyone else.
    fn association(&self, login: &str, is_bot: bool) -> &'static str {
        let (owner, _) = self.repo_name();
        let has_role = self
            .state
            .repositories
            .get(&self.repo_key())
            .is_some_and(|r| r.permissions.contains_key(&login.to_ascii_lowercase()));
        if is_bot {
            "NONE"
        } else if login.eq_ignore_ascii_case(&owner) {
            "OWNER"
        } else if has_role {
            "COLLABORATOR"
        } else {
            "CONTRIBUTOR"
        }
    }

    fn list_comments(&mut self) -> Served {
        let number = self.path_number("issue_number");
        let comments: Vec<Comment> = self
            .repository()?
            .comments
            .iter()
            .filter(|c| c.issue_number == number)
            .cloned()
            .collect();
        let since = self.matched.query.get("since").cloned();
        let selected: Vec<&Comment> = comments
            .iter()
            .filter(|comment| since.as_ref().is_none_or(|since| comment.updated_at >= *since))
            .collect();
        Ok(self.paginate(&selected, |comment| self.comment_json(comment)))
    }

    fn create_comment(&mut self) -> Served {
        let writer = self.writer()?;
        let number = self.path_number("issue_number");
        let body = self.body_json()["body"].as_str().unwrap_or_default().to_string();
        check_comment_length(&body)?;
        if !self.repository()?.pulls.contains_key(&number) {
            return Err(error(404, "Not Found"));
        }
        let id = self.state.allocate_id();
        let now = self.state.tick();
        let comment = Comment {
            id,
            issue_number: number,
            body,
            author: writer.login().to_string(),
            author_is_bot: matches!(writer, Identity::App(_)),
            created_at: now.clone(),
            updated_at: now,
        };
        let json = self.comment_json(&comment);
        self.repository()?.comments.push(comment);
        Ok(Response::json(201, &json)
            .with_header("location", json["url"].as_str().unwrap_or_default()))
    }

    fn find_comment(&mut self) -> Result<(usize, Identity), Response> {
        let writer = self.writer()?;
        let id = self.path_number("comment_id");
        let index = self
            .repository()?
            .comments
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| error(404, "Not Found"))?;
        let comment = &self.repository()?.comments[index];
        if comment.author != writer.login() {
            // Tokens in these tests are not repository admins: only the author may edit.
            return Err(error(403, "Must have admin rights to Repository."));
        }
        Ok((index, writer))
    }

    fn update_comment(&mut self) -> Served {
        let (index, _) = self.find_comment()?;
        let body = self.body_json()["body"].as_str().unwrap_or_default().to_string();
        check_comment_length(&body)?;
        let now = self.state.tick();
        let comment = &mut self.repository()?.comments[index];
        comment.body = body;
        comment.updated_at = now;
        let comment = comment.clone();
        Ok(Response::json(200, &self.comment_json(&comment)))
    }

    fn delete_comment(&mut self) -> Served {
        let (index, _) = self.find_comment()?;
        self.repository()?.comments.remove(index);
        Ok(Response::empty(204))
    }

    // ----- deployments ----------------------------------------------------------------------

    fn deployment_json(&self, deployment: &Deployment) -> Value {
        let mut body = self.spec.example("deployment-simple-example");
        let url = format!("{}/deployments/{}", self.repo_url(), deployment.id);
        body["id"] = json!(deployment.id);
        body["node_id"] = json!(format!("DE_fake{}", deployment.id));
        body["url"] = json!(url);
        body["statuses_url"] = json!(format!("{url}/statuses"));
        body["repository_url"] = json!(self.repo_url());
        body["sha"] = json!(deployment.sha);
        body["ref"] = json!(deployment.git_ref);
        body["task"] = json!(deployment.task);
        body["payload"] = deployment.payload.clone();
        body["environment"] = json!(deployment.environment);
        body["original_environment"] = json!(deployment.environment);
        body["description"] = deployment.description.as_ref().map_or(Value::Null, |d| json!(d));
        body["creator"] = self.user(&deployment.creator, deployment.creator.ends_with("[bot]"));
        body["created_at"] = json!(deployment.created_at);
        body["updated_at"] =
            json!(deployment.statuses.last().map_or(&deployment.created_at, |s| &s.created_at));
        body["transient_environment"] = json!(deployment.transient_environment);
        body["production_environment"] = json!(deployment.production_environment);
        body
    }

    fn status_json(&self, deployment_id: u64, status: &DeploymentStatus) -> Value {
        let mut body = self.spec.example("deployment-status");
        let deployment_url = format!("{}/deployments/{deployment_id}", self.repo_url());
        body["id"] = json!(status.id);
        body["node_id"] = json!(format!("DES_fake{}", status.id));
        body["url"] = json!(format!("{deployment_url}/statuses/{}", status.id));
        body["deployment_url"] = json!(deployment_url);
        body["repository_url"] = json!(self.repo_url());
        body["state"] = json!(status.state);
        body["description"] = json!(status.description);
        body["environment"] = json!(status.environment);
        body["environment_url"] = json!(status.environment_url);
        body["log_url"] = json!(status.log_url);
        body["target_url"] = json!(status.log_url);
        body["creator"] = self.user(&status.creator, status.creator.ends_with("[bot]"));
        body["created_at"] = json!(status.created_at);
        body["updated_at"] = json!(status.created_at);
        body
    }

    fn create_deployment(&mut self) -> Served {
        let writer = self.writer()?;
        let request = self.body_json();
        let environment = request["environment"].as_str().unwrap_or("production").to_string();
        let id = self.state.allocate_id();
        let created_at = self.state.tick();
        let deployment = Deployment {
            id,
            sha: request["ref"].as_str().unwrap_or_default().to_string(),
            git_ref: request["ref"].as_str().unwrap_or_default().to_string(),
            task: request["task"].as_str().unwrap_or("deploy").to_string(),
            production_environment: request["production_environment"]
                .as_bool()
                .unwrap_or(environment == "production"),
            transient_environment: request["transient_environment"].as_bool().unwrap_or(false),
            environment,
            description: request["description"].as_str().map(str::to_string),
            auto_merge: request["auto_merge"].as_bool().unwrap_or(true),
            required_contexts: request["required_contexts"].as_array().map(|contexts| {
                contexts.iter().filter_map(Value::as_str).map(str::to_string).collect()
            }),
            payload: match &request["payload"] {
                Value::Null => json!({}),
                Value::String(text) => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
                other => other.clone(),
            },
            creator: writer.login().to_string(),
            created_at,
            statuses: Vec::new(),
        };
        let json = self.deployment_json(&deployment);
        self.repository()?.deployments.push(deployment);
        Ok(Response::json(201, &json))
    }

    fn list_deployments(&mut self) -> Served {
        let query = self.matched.query.clone();
        let deployments: Vec<Deployment> = self.repository()?.deployments.clone();
        let items = deployments
            .iter()
            .rev() // newest first, like GitHub
            .filter(|d| query.get("sha").is_none_or(|sha| &d.sha == sha))
            .filter(|d| query.get("ref").is_none_or(|git_ref| &d.git_ref == git_ref))
            .filter(|d| query.get("task").is_none_or(|task| &d.task == task))
            .filter(|d| query.get("environment").is_none_or(|env| &d.environment == env))
            .collect::<Vec<&Deployment>>();
        Ok(self.paginate(&items, |deployment| self.deployment_json(deployment)))
    }

    fn deployment_index(&mut self) -> Result<usize, Response> {
        let id = self.path_number("deployment_id");
        self.repository()?
            .deployments
            .iter()
            .position(|d| d.id == id)
            .ok_or_else(|| error(404, "Not Found"))
    }

    fn delete_deployment(&mut self) -> Served {
        self.writer()?;
        let index = self.deployment_index()?;
        let repository = self.repository()?;
        let deployment = &repository.deployments[index];
        let active = deployment.statuses.last().is_none_or(|s| s.state != "inactive");
        let only_one = repository
            .deployments
            .iter()
            .filter(|d| d.environment == deployment.environment)
            .count()
            == 1;
        if active && !only_one {
            // GitHub's rule: set a deployment inactive before deleting it.
            return Err(Response::json(
                422,
                &json!({ "message": "We cannot delete an active deployment unless it is the only deployment in a given environment.", "documentation_url": DOCS }),
            ));
        }
        repository.deployments.remove(index);
        Ok(Response::empty(204))
    }

    fn create_deployment_status(&mut self) -> Served {
        let writer = self.writer()?;
        let index = self.deployment_index()?;
        let request = self.body_json();
        let id = self.state.allocate_id();
        let created_at = self.state.tick();
        let text = |name: &str| request[name].as_str().unwrap_or_default().to_string();
        let deployment = &self.repository()?.deployments[index];
        let environment = request["environment"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| deployment.environment.clone());
        let log_url =
            if request["log_url"].is_string() { text("log_url") } else { text("target_url") };
        let status = DeploymentStatus {
            id,
            state: text("state"),
            description: text("description"),
            environment,
            environment_url: text("environment_url"),
            log_url,
            creator: writer.login().to_string(),
            created_at: created_at.clone(),
        };
        if status.description.chars().count() > 140 {
            return Err(validation_failed("description is too long (maximum is 140 characters)"));
        }
        let auto_inactive = request["auto_inactive"].as_bool().unwrap_or(true);
        let repository = self.repository()?;
        let deployment = &repository.deployments[index];
        let (environment, deployment_id) = (deployment.environment.clone(), deployment.id);
        let demote = status.state == "success"
            && auto_inactive
            && !deployment.transient_environment
            && !deployment.production_environment;
        repository.deployments[index].statuses.push(status.clone());
        if demote {
            // GitHub's auto_inactive: earlier successful deployments of the same environment go inactive.
            let mut next = id;
            for other in repository
                .deployments
                .iter_mut()
                .filter(|d| d.environment == environment && d.id != deployment_id)
            {
                if other.statuses.last().is_some_and(|s| s.state == "success") {
                    next += 1_000_000;
                    let inactive = DeploymentStatus {
                        id: next,
                        state: "inactive".into(),
                        created_at: created_at.clone(),
                        ..status.clone()
                    };
                    other.statuses.push(inactive);
                }
            }
        }
        let json = self.status_json(deployment_id, &status);
        Ok(Response::json(201, &json)
            .with_header("location", json["url"].as_str().unwrap_or_default()))
    }

    fn list_deployment_statuses(&mut self) -> Served {
        let index = self.deployment_index()?;
        let deployment = self.repository()?.deployments[index].clone();
        let newest_first: Vec<&DeploymentStatus> = deployment.statuses.iter().rev().collect();
        Ok(self.paginate(&newest_first, |status| self.status_json(deployment.id, status)))
    }

    // ----- branches, collaborators, labels, single comments ---------------------------------

    fn get_branch(&mut self) -> Served {
        let name = self.matched.path["branch"].clone();
        let sha = self.repository()?.branch(&name).ok_or_else(|| error(404, "Branch not found"))?;
        let (owner, repo) = self.repo_name();
        let mut body = self.spec.example("branch-get");
        let branch_url = format!("{}/branches/{name}", self.repo_url());
        body["name"] = json!(name);
        body["commit"]["sha"] = json!(sha);
        body["commit"]["url"] = json!(format!("{}/commits/{sha}", self.repo_url()));
        body["commit"]["html_url"] =
            json!(format!("https://github.com/{owner}/{repo}/commit/{sha}"));
        body["_links"] = json!({"self": branch_url, "html": format!("https://github.com/{owner}/{repo}/tree/{name}")});
        body["protected"] = json!(false);
        body["protection"] = json!({"enabled": false, "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []}});
        body["protection_url"] = json!(format!("{branch_url}/protection"));
        Ok(Response::json(200, &body))
    }

    fn collaborator_permission(&mut self) -> Served {
        self.repository()?;
        let login = self.matched.path["username"].clone();
        let permission = self.permission_of(&login);
        let mut body = self
            .spec
            .example("repository-collaborator-permission-response-if-user-has-admin-permissions");
        body["permission"] = json!(permission.legacy());
        body["role_name"] = json!(permission.role_name());
        let mut user = self.user(&login, login.ends_with("[bot]"));
        user["permissions"] = json!({
            "admin": permission >= Permission::Admin,
            "maintain": permission >= Permission::Maintain,
            "push": permission >= Permission::Write,
            "triage": permission >= Permission::Triage,
            "pull": permission >= Permission::Read,
        });
        user["role_name"] = json!(permission.role_name());
        body["user"] = user;
        Ok(Response::json(200, &body))
    }

    fn get_comment(&mut self) -> Served {
        let id = self.path_number("comment_id");
        let comment = self
            .repository()?
            .comments
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .ok_or_else(|| error(404, "Not Found"))?;
        Ok(Response::json(200, &self.comment_json(&comment)))
    }

    fn labels_json(&self, names: &[String], template: &Value) -> Value {
        Value::Array(
            names
                .iter()
                .map(|name| {
                    let mut label = template.clone();
                    let id = name
                        .bytes()
                        .fold(11u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
                        % 1_000_000_000;
                    label["id"] = json!(id);
                    label["node_id"] = json!(format!("LA_fake{id}"));
                    label["name"] = json!(name);
                    label["url"] =
                        json!(format!("{}/labels/{}", self.repo_url(), encode_query(name)));
                    label["default"] = json!(false);
                    label
                })
                .collect(),
        )
    }

    fn issue_labels(&mut self) -> Result<(u64, Vec<String>), Response> {
        let number = self.path_number("issue_number");
        let pull = self.repository()?.pulls.get(&number).ok_or_else(|| error(404, "Not Found"))?;
        Ok((number, pull.labels.clone()))
    }

    fn labels_response(&self, labels: &[String]) -> Response {
        let template = self.spec.example("label-items")[0].clone();
        Response::json(200, &self.labels_json(labels, &template))
    }

    fn list_labels(&mut self) -> Served {
        let (_, labels) = self.issue_labels()?;
        let template = self.spec.example("label-items")[0].clone();
        Ok(self.paginate(&labels, |name| {
            self.labels_json(std::slice::from_ref(name), &template)[0].clone()
        }))
    }

    /// `POST .../issues/{n}/labels`: adds labels (`{"labels": [...]}`, a bare list, or label
    /// objects), creating them as GitHub does; answers every label of the issue.
    fn add_labels(&mut self) -> Served {
        self.writer()?;
        let (number, mut labels) = self.issue_labels()?;
        let request = self.body_json();
        let items = match &request {
            Value::Array(items) => items.clone(),
            other => other["labels"].as_array().cloned().unwrap_or_default(),
        };
        for item in items {
            let name =
                item.as_str().or_else(|| item["name"].as_str()).unwrap_or_default().to_string();
            if !name.is_empty() && !labels.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
                labels.push(name);
            }
        }
        if let Some(pull) = self.repository()?.pulls.get_mut(&number) {
            pull.labels = labels.clone();
        }
        Ok(self.labels_response(&labels))
    }

    fn remove_label(&mut self) -> Served {
        self.writer()?;
        let (number, mut labels) = self.issue_labels()?;
        let name = self.matched.path["name"].clone();
        let before = labels.len();
        labels.retain(|l| !l.eq_ignore_ascii_case(&name));
        if labels.len() == before {
            return Err(error(404, "Label does not exist"));
        }
        if let Some(pull) = self.repository()?.pulls.get_mut(&number) {
            pull.labels = labels.clone();
        }
        Ok(self.labels_response(&labels))
    }
}

/// GitHub rejects comment bodies over 65,536 characters.
pub const COMMENT_BODY_LIMIT: usize = 65_536;

fn check_comment_length(body: &str) -> Result<(), Response> {
    let length = body.chars().count();
    if length > COMMENT_BODY_LIMIT {
        return Err(validation_failed(&format!(
            "Body is too long (maximum is {COMMENT_BODY_LIMIT} characters), got {length}"
        )));
    }
    Ok(())
}

fn rewrite_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(text) => *text = text.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_strings(item, from, to)),
        Value::Object(members) => {
            members.values_mut().for_each(|member| rewrite_strings(member, from, to))
        }
        _ => {}
    }
}

fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
