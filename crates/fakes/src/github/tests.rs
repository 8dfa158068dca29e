//! The fake over real sockets, with a bare-bones HTTP client, so that its HTTP handling and its
//! GitHub behaviour are tested without the product's client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use serde_json::Value;

use super::{FakeGitHub, Fault, Pull};

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
