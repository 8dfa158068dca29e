//! The `fake-github` binary serves the fake from the command line and can be read with plain
//! HTTP, which is how a local run is inspected.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one request on a fresh connection, with a Bearer token if given; answers the whole
/// response text.
fn send(address: &str, method: &str, target: &str, token: Option<&str>, body: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    let authorization = token.map(|t| format!("authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nhost: x\r\nuser-agent: curl\r\n{authorization}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn get(address: &str, target: &str) -> String {
    send(address, "GET", target, None, "")
}

/// Starts the binary with `args`; answers it with the `host:port` it printed first.
fn start(args: &[&str]) -> (Server, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_fake-github"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut first_line = String::new();
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let address =
        first_line.trim().strip_prefix("fake-github listening on http://").unwrap().to_string();
    (server, address)
}

#[test]
fn the_binary_serves_the_pull_requests_it_was_given() {
    let (_server, address) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--token",
        "t=alice",
        "--pull",
        "o/r#4=feat/x@aaa:main@bbb",
    ]);
    let pull = get(&address, "/repos/o/r/pulls/4");
    assert!(pull.starts_with("HTTP/1.1 200"), "{pull}");
    assert!(pull.contains("\"ref\": \"feat/x\""), "{pull}");
    let comments = get(&address, "/repos/o/r/issues/4/comments");
    assert!(comments.starts_with("HTTP/1.1 200") && comments.ends_with("[]"), "{comments}");
}

#[test]
fn bad_arguments_are_explained() {
    let output = Command::new(env!("CARGO_BIN_EXE_fake-github"))
        .args(["--pull", "nonsense", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "--pull wants OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA, got \"nonsense\""
        ),
        "{stderr}"
    );
}

#[test]
fn setup_flags_cover_branches_permissions_labels_drafts_merges_and_read_only_tokens() {
    let (_server, address) = start(&[
        "--read-only-app-token",
        "fork=github-actions[bot]",
        "--draft-pull",
        "o/r#4=feat/x@aaa:main@bbb",
        "--merged-pull",
        "o/r#5=feat/y@ccc:develop@ddd@mmm",
        "--label",
        "o/r#4=preview",
        "--branch",
        "o/r:release/1@eee",
        "--permission",
        "o/r:alice=maintain",
    ]);
    let draft = get(&address, "/repos/o/r/pulls/4");
    assert!(
        draft.contains("\"draft\": true") && draft.contains("\"name\": \"preview\""),
        "{draft}"
    );
    let merged = get(&address, "/repos/o/r/commits/mmm/pulls");
    assert!(merged.contains("\"number\": 5"), "{merged}");
    let branch = get(&address, "/repos/o/r/branches/release%2F1");
    assert!(branch.starts_with("HTTP/1.1 200") && branch.contains("\"sha\": \"eee\""), "{branch}");
    let permission = get(&address, "/repos/o/r/collaborators/alice/permission");
    assert!(permission.contains("\"role_name\": \"maintain\""), "{permission}");
    let refused =
        send(&address, "POST", "/repos/o/r/issues/4/comments", Some("fork"), r#"{"body":"hi"}"#);
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(refused.contains("Resource not accessible by integration"), "{refused}");
}

#[test]
fn help_documents_every_flag() {
    let help = Command::new(env!("CARGO_BIN_EXE_fake-github")).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--listen",
        "--token",
        "--app-token",
        "--read-only-app-token",
        "--repo",
        "--pull",
        "--draft-pull",
        "--merged-pull",
        "--label",
        "--branch",
        "--permission",
    ] {
        assert!(text.contains(flag), "--help does not mention {flag}:\n{text}");
    }
}
