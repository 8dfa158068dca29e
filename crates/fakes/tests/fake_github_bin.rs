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

fn get(address: &str, target: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nhost: x\r\nuser-agent: curl\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_binary_serves_the_pull_requests_it_was_given() {
    let child = Command::new(env!("CARGO_BIN_EXE_fake-github"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            "t=alice",
            "--pull",
            "o/r#4=feat/x@aaa:main@bbb",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut first_line = String::new();
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let address =
        first_line.trim().strip_prefix("fake-github listening on http://").unwrap().to_string();
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
