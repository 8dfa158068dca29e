//! The `fake-kube` binary writes a kubeconfig pointing at itself and serves until killed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn fake_kube_binary_writes_its_kubeconfig_and_serves() {
    let dir = std::env::temp_dir().join(format!("fake-kube-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-kube"))
        .args(["--listen", "127.0.0.1:0", "--kubeconfig"])
        .arg(&kubeconfig)
        .stderr(Stdio::null())
        .spawn()
        .expect("start fake-kube");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        if let Ok(text) = std::fs::read_to_string(&kubeconfig)
            && text.contains("current-context: fake")
        {
            break text;
        }
        assert!(Instant::now() < deadline, "no kubeconfig written");
        std::thread::sleep(Duration::from_millis(20));
    };
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: http://"))
        .expect("server line")
        .to_owned();
    let mut stream = TcpStream::connect(&server).expect("connect");
    stream.write_all(b"GET /version HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().expect("stop fake-kube");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains("\"gitVersion\":\"v1.33.0-fake\""), "{response}");

    let usage = Command::new(env!("CARGO_BIN_EXE_fake-kube")).arg("--bogus").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}
