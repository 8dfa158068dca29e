//! The fake over real sockets, with a bare-bones HTTP client, so that its HTTP handling and its
//! GitHub behaviour are tested without the product's client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use super::{FakeGitHub, Fault, Permission, Pull};

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Sends one request on a fresh connection; `token` becomes a Bearer header.
fn send(fake: &FakeGitHub, method: &str, target: &str, token: Option<&str>, body: &str) -> Answer {
    let mut stream = TcpStream::connect(fake.address()).unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nhost: fake\r\nuser-agent: test\r\n");
    if let Some(token) = token {
        head.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let body = if rest.is_empty() { Value::Null } else { serde_json::from_slice(&rest).unwrap() };
    Answer { status, headers, body }
}

fn fake() -> FakeGitHub {
    let fake = FakeGitHub::start();
    fake.add_token("user", "alice");
    fake.add_token("other", "mallory");
    fake.add_app_token("app", "github-actions[bot]");
    fake.add_pull("o/r", Pull::open(1, "feat/x", "aaa", "main", "bbb"));
    fake
}

#[test]
fn comments_page_with_githubs_link_header_and_are_readable_without_a_token() {
    let fake = fake();
    for index in 0..5 {
        let body = format!(r#"{{"body":"comment {index}"}}"#);
        let answer = send(&fake, "POST", "/repos/o/r/issues/1/comments", Some("user"), &body);
        assert_eq!(answer.status, 201);
        assert!(
            answer
                .header("location")
                .unwrap()
                .ends_with(&format!("/issues/comments/{}", answer.body["id"]))
        );
    }
    let page = send(&fake, "GET", "/repos/o/r/issues/1/comments?per_page=2&page=2", None, "");
    assert_eq!(page.status, 200);
    let bodies: Vec<&str> =
        page.body.as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["comment 2", "comment 3"]);
    let url = fake.url();
    assert_eq!(
        page.header("link").unwrap(),
        format!(
            "<{url}/repos/o/r/issues/1/comments?page=1&per_page=2>; rel=\"prev\", \
             <{url}/repos/o/r/issues/1/comments?page=3&per_page=2>; rel=\"next\", \
             <{url}/repos/o/r/issues/1/comments?page=3&per_page=2>; rel=\"last\", \
             <{url}/repos/o/r/issues/1/comments?page=1&per_page=2>; rel=\"first\""
        )
    );
    assert_eq!(page.header("x-ratelimit-limit"), Some("5000"));
    assert_eq!(page.body[0]["user"]["login"], "alice");
}

#[test]
fn only_the_author_edits_a_comment_and_writes_need_a_token() {
    let fake = fake();
    let id = fake.add_comment("o/r", 1, "alice", "mine");
    let target = format!("/repos/o/r/issues/comments/{id}");
    assert_eq!(send(&fake, "PATCH", &target, Some("other"), r#"{"body":"x"}"#).status, 403);
    assert_eq!(send(&fake, "PATCH", &target, None, r#"{"body":"x"}"#).status, 401);
    assert_eq!(send(&fake, "PATCH", &target, Some("nope"), r#"{"body":"x"}"#).status, 401);
    let updated = send(&fake, "PATCH", &target, Some("user"), r#"{"body":"edited"}"#);
    assert_eq!((updated.status, updated.body["body"].as_str()), (200, Some("edited")));
    assert_eq!(send(&fake, "DELETE", &target, Some("user"), "").status, 204);
    assert!(fake.comments("o/r", 1).is_empty());
    let too_long = format!(r#"{{"body":"{}"}}"#, "x".repeat(65_537));
    assert_eq!(
        send(&fake, "POST", "/repos/o/r/issues/1/comments", Some("user"), &too_long).status,
        422
    );
}

#[test]
fn the_user_endpoint_tells_user_tokens_from_app_tokens() {
    let fake = fake();
    let user = send(&fake, "GET", "/user", Some("user"), "");
    assert_eq!((user.status, user.body["login"].as_str()), (200, Some("alice")));
    let app = send(&fake, "GET", "/user", Some("app"), "");
    assert_eq!(app.status, 403);
    assert_eq!(app.body["message"], "Resource not accessible by integration");
    let limits = send(&fake, "GET", "/rate_limit", Some("user"), "");
    assert_eq!(limits.body["resources"]["core"]["limit"], 5000);
}

#[test]
fn faults_carry_githubs_rate_limit_headers() {
    let fake = fake();
    fake.inject(Fault::RateLimit { reset_in: std::time::Duration::from_secs(30) });
    fake.inject(Fault::SecondaryRateLimit { status: 429, retry_after_secs: 9 });
    fake.inject(Fault::ServerError(503));
    let primary = send(&fake, "GET", "/repos/o/r/pulls/1", Some("user"), "");
    assert_eq!((primary.status, primary.header("x-ratelimit-remaining")), (403, Some("0")));
    let reset: u64 = primary.header("x-ratelimit-reset").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!((now + 28..=now + 31).contains(&reset), "{reset} vs {now}");
    let secondary = send(&fake, "GET", "/repos/o/r/pulls/1", Some("user"), "");
    assert_eq!((secondary.status, secondary.header("retry-after")), (429, Some("9")));
    assert_eq!(send(&fake, "GET", "/repos/o/r/pulls/1", Some("user"), "").status, 503);
    assert_eq!(send(&fake, "GET", "/repos/o/r/pulls/1", Some("user"), "").status, 200);
}

#[test]
fn active_deployments_cannot_be_deleted_unless_alone() {
    let fake = fake();
    let create = |sha: &str| {
        let body = format!(
            r#"{{"ref":"{sha}","environment":"testing","auto_merge":false,"required_contexts":[]}}"#
        );
        send(&fake, "POST", "/repos/o/r/deployments", Some("user"), &body).body["id"]
            .as_u64()
            .unwrap()
    };
    let (first, second) = (create("aaa"), create("bbb"));
    let delete = |id: u64| {
        send(&fake, "DELETE", &format!("/repos/o/r/deployments/{id}"), Some("user"), "").status
    };
    assert_eq!(delete(first), 422);
    let inactive = send(
        &fake,
        "POST",
        &format!("/repos/o/r/deployments/{first}/statuses"),
        Some("user"),
        r#"{"state":"inactive"}"#,
    );
    assert_eq!(inactive.status, 201);
    assert_eq!(delete(first), 204);
    assert_eq!(delete(second), 204, "the only deployment left may be deleted while active");
    let listed = send(&fake, "GET", "/repos/o/r/deployments?environment=testing", None, "");
    assert_eq!(listed.body, Value::Array(Vec::new()));
}

#[test]
fn successful_deployments_demote_their_predecessors() {
    let fake = fake();
    let mut ids = Vec::new();
    for sha in ["aaa", "bbb"] {
        let body = format!(r#"{{"ref":"{sha}","environment":"testing"}}"#);
        let id = send(&fake, "POST", "/repos/o/r/deployments", Some("user"), &body).body["id"]
            .as_u64()
            .unwrap();
        send(
            &fake,
            "POST",
            &format!("/repos/o/r/deployments/{id}/statuses"),
            Some("user"),
            r#"{"state":"success"}"#,
        );
        ids.push(id);
    }
    let deployments = fake.deployments("o/r");
    assert_eq!(deployments[0].statuses.last().unwrap().state, "inactive");
    assert_eq!(deployments[1].statuses.last().unwrap().state, "success");
    assert!(deployments[0].auto_merge, "GitHub's default when omitted");
    assert_eq!(deployments[0].required_contexts, None);
}

#[test]
fn unknown_routes_bad_bodies_and_missing_user_agents_are_violations() {
    let fake = fake();
    assert_eq!(send(&fake, "GET", "/repos/o/r/branches", Some("user"), "").status, 404);
    let bad = send(
        &fake,
        "POST",
        "/repos/o/r/deployments/1/statuses",
        Some("user"),
        r#"{"state":"done","enviroment":"x"}"#,
    );
    assert_eq!(bad.status, 422);
    let mut stream = TcpStream::connect(fake.address()).unwrap();
    stream.write_all(b"GET /rate_limit HTTP/1.1\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 4, "{violations:#?}");
    assert!(violations[0].contains("GET /repos/o/r/branches: no such operation"));
    assert!(violations[1].contains("/state: \"done\" is not one of"));
    assert!(violations[2].contains("/enviroment: property is not declared"));
    assert_eq!(violations[3], "GET /rate_limit: no User-Agent header");
}

#[test]
fn responses_are_shaped_from_githubs_examples_and_match_its_schemas() {
    let fake = fake();
    let mut pull = Pull::open(2, "patch", "ccc", "main", "bbb");
    pull.head_repo = Some("fork/r".into());
    pull.labels = vec!["preview".into()];
    fake.add_pull("o/r", pull);
    let answer = send(&fake, "GET", "/repos/o/r/pulls/2", Some("user"), "");
    assert_eq!(answer.body["head"]["repo"]["full_name"], "fork/r");
    assert_eq!(answer.body["head"]["repo"]["fork"], true);
    assert_eq!(answer.body["base"]["repo"]["full_name"], "o/r");
    assert_eq!(answer.body["labels"][0]["name"], "preview");
    // Fields we never set still come from GitHub's example.
    assert!(answer.body["_links"]["self"]["href"].is_string());
    // The fake checks its own responses against the description; none failed.
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

#[test]
fn read_only_tokens_are_refused_every_write_as_github_words_it() {
    let fake = fake();
    fake.add_read_only_app_token("fork", "github-actions[bot]");
    let id = fake.add_comment("o/r", 1, "github-actions[bot]", "mine");
    let writes = [
        ("POST", "/repos/o/r/issues/1/comments".to_string(), r#"{"body":"x"}"#),
        ("PATCH", format!("/repos/o/r/issues/comments/{id}"), r#"{"body":"x"}"#),
        ("DELETE", format!("/repos/o/r/issues/comments/{id}"), ""),
        ("POST", "/repos/o/r/deployments".to_string(), r#"{"ref":"aaa","environment":"preview"}"#),
        ("POST", "/repos/o/r/deployments/1/statuses".to_string(), r#"{"state":"success"}"#),
        ("POST", "/repos/o/r/issues/1/labels".to_string(), r#"{"labels":["x"]}"#),
        ("DELETE", "/repos/o/r/issues/1/labels/x".to_string(), ""),
    ];
    for (method, target, body) in &writes {
        let answer = send(&fake, method, target, Some("fork"), body);
        assert_eq!(answer.status, 403, "{method} {target}");
        assert_eq!(
            answer.body["message"], "Resource not accessible by integration",
            "{method} {target}"
        );
    }
    assert_eq!(fake.comments("o/r", 1)[0].body, "mine");
    assert!(fake.deployments("o/r").is_empty());
    // Reads still work with it.
    assert_eq!(send(&fake, "GET", "/repos/o/r/issues/1/comments", Some("fork"), "").status, 200);
    fake.set_token_access("fork", super::Access::ReadWrite);
    assert_eq!(
        send(&fake, "POST", "/repos/o/r/issues/1/comments", Some("fork"), r#"{"body":"x"}"#).status,
        201
    );
}

#[test]
fn collaborator_permissions_are_settable_and_shape_author_associations() {
    let fake = fake();
    fake.set_permission("o/r", "maintainer", Permission::Maintain);
    fake.set_permission("o/r", "triager", Permission::Triage);
    let level = |login: &str| {
        let answer = send(
            &fake,
            "GET",
            &format!("/repos/o/r/collaborators/{login}/permission"),
            Some("user"),
            "",
        );
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body["user"]["login"], login);
        (
            answer.body["permission"].as_str().unwrap().to_string(),
            answer.body["role_name"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(level("maintainer"), ("write".to_string(), "maintain".to_string()));
    assert_eq!(level("triager"), ("read".to_string(), "triage".to_string()));
    assert_eq!(level("o"), ("admin".to_string(), "admin".to_string()), "the owner");
    assert_eq!(level("stranger"), ("read".to_string(), "read".to_string()), "a public repository");
    fake.set_permission("o/r", "banned", Permission::None);
    assert_eq!(level("banned"), ("none".to_string(), "none".to_string()));
    for (author, association) in [
        ("o", "OWNER"),
        ("maintainer", "COLLABORATOR"),
        ("stranger", "CONTRIBUTOR"),
        ("renovate[bot]", "NONE"),
    ] {
        fake.add_comment("o/r", 1, author, "/gitops-env preview");
        let listed = send(&fake, "GET", "/repos/o/r/issues/1/comments?per_page=100", None, "");
        let last = listed.body.as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["author_association"], association, "{author}");
    }
    assert_eq!(
        send(&fake, "GET", "/repos/nope/r/collaborators/x/permission", None, "").status,
        404
    );
}

#[test]
fn branches_exist_until_deleted() {
    let fake = fake();
    let head = send(&fake, "GET", "/repos/o/r/branches/feat%2Fx", None, "");
    assert_eq!(head.status, 200, "a pull request's head branch exists");
    assert_eq!(
        (head.body["name"].as_str(), head.body["commit"]["sha"].as_str()),
        (Some("feat/x"), Some("aaa"))
    );
    assert_eq!(
        send(&fake, "GET", "/repos/o/r/branches/main", None, "").body["commit"]["sha"],
        "bbb"
    );
    fake.add_branch("o/r", "feat/y", "ccc");
    assert_eq!(
        send(&fake, "GET", "/repos/o/r/branches/feat%2Fy", None, "").body["commit"]["sha"],
        "ccc"
    );
    fake.delete_branch("o/r", "feat/x");
    let gone = send(&fake, "GET", "/repos/o/r/branches/feat%2Fx", None, "");
    assert_eq!((gone.status, gone.body["message"].as_str()), (404, Some("Branch not found")));
    assert_eq!(send(&fake, "GET", "/repos/o/r/branches/never", None, "").status, 404);
    fake.add_branch("o/r", "feat/x", "ddd");
    assert_eq!(
        send(&fake, "GET", "/repos/o/r/branches/feat%2Fx", None, "").body["commit"]["sha"],
        "ddd"
    );
}

#[test]
fn commits_lead_to_the_pull_requests_they_head_or_merged() {
    let fake = fake();
    fake.add_pull("o/r", Pull::open(2, "feat/a", "a1", "develop", "d0").merged_as("m2"));
    fake.add_pull("o/r", Pull::open(3, "feat/b", "b1", "develop", "d0").merged_as("m3"));
    fake.add_pull("o/r", Pull::open(4, "feat/c", "m3", "develop", "d0"));
    let numbers = |sha: &str| -> Vec<u64> {
        let answer = send(&fake, "GET", &format!("/repos/o/r/commits/{sha}/pulls"), None, "");
        assert_eq!(answer.status, 200);
        answer.body.as_array().unwrap().iter().map(|p| p["number"].as_u64().unwrap()).collect()
    };
    assert_eq!(numbers("m2"), [2]);
    assert_eq!(numbers("a1"), [2], "the head of a merged pull request still leads to it");
    assert_eq!(numbers("m3"), [4, 3], "newest first");
    assert_eq!(numbers("zzz"), Vec::<u64>::new());
    let merged = send(&fake, "GET", "/repos/o/r/pulls/2", None, "");
    assert_eq!(
        (merged.body["merged"].as_bool(), merged.body["merge_commit_sha"].as_str()),
        (Some(true), Some("m2"))
    );
    assert_eq!(merged.body["state"], "closed");
}

#[test]
fn drafts_labels_and_links() {
    let fake = fake();
    fake.add_pull("o/r", Pull::open(5, "wip", "w1", "main", "bbb").draft());
    assert_eq!(send(&fake, "GET", "/repos/o/r/pulls/5", None, "").body["draft"], true);
    fake.set_draft("o/r", 5, false);
    let ready = send(&fake, "GET", "/repos/o/r/pulls/5", None, "");
    assert_eq!(ready.body["draft"], false);
    assert_eq!(ready.body["html_url"], "https://github.com/o/r/pull/5");
    let added = send(
        &fake,
        "POST",
        "/repos/o/r/issues/5/labels",
        Some("user"),
        r#"{"labels":["preview","Preview","qa"]}"#,
    );
    assert_eq!(added.status, 200);
    let names: Vec<&str> =
        added.body.as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["preview", "qa"], "label names are case-insensitive");
    fake.add_label("o/r", 5, "ui-label");
    let removed = send(&fake, "DELETE", "/repos/o/r/issues/5/labels/qa", Some("user"), "");
    assert_eq!(removed.status, 200);
    assert_eq!(fake.pull("o/r", 5).unwrap().labels, ["preview", "ui-label"]);
    assert_eq!(
        send(&fake, "DELETE", "/repos/o/r/issues/5/labels/qa", Some("user"), "").status,
        404
    );
    let listed = send(&fake, "GET", "/repos/o/r/issues/5/labels", None, "");
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    fake.remove_label("o/r", 5, "preview");
    assert_eq!(fake.pull("o/r", 5).unwrap().labels, ["ui-label"]);
    let comment =
        send(&fake, "POST", "/repos/o/r/issues/5/comments", Some("app"), r#"{"body":"hi"}"#);
    let id = comment.body["id"].as_u64().unwrap();
    assert_eq!(
        comment.body["html_url"],
        format!("https://github.com/o/r/pull/5#issuecomment-{id}")
    );
    let fetched = send(&fake, "GET", &format!("/repos/o/r/issues/comments/{id}"), None, "");
    assert_eq!(fetched.body["html_url"], comment.body["html_url"]);
    assert!(fake.violations().is_empty(), "{:#?}", fake.violations());
}

#[test]
fn comments_edited_or_deleted_by_others_are_what_the_api_shows() {
    let fake = fake();
    let sticky = fake.add_comment("o/r", 1, "github-actions[bot]", "<!-- gitops-env -->\nreport");
    assert!(fake.edit_comment("o/r", sticky, "edited by a maintainer"));
    let listed = send(&fake, "GET", "/repos/o/r/issues/1/comments", None, "");
    assert_eq!(listed.body[0]["body"], "edited by a maintainer");
    assert_eq!(listed.body[0]["user"]["login"], "github-actions[bot]", "the author stays");
    assert_ne!(listed.body[0]["updated_at"], listed.body[0]["created_at"]);
    assert!(fake.delete_comment("o/r", sticky));
    assert!(!fake.delete_comment("o/r", sticky));
    assert_eq!(
        send(&fake, "GET", &format!("/repos/o/r/issues/comments/{sticky}"), None, "").status,
        404
    );
    assert_eq!(
        send(
            &fake,
            "PATCH",
            &format!("/repos/o/r/issues/comments/{sticky}"),
            Some("app"),
            r#"{"body":"x"}"#
        )
        .status,
        404
    );
}
