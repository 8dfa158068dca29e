//! The `fake-kube` binary as a shell or a container test starts it: it prints its URL, writes a
//! kubeconfig pointing at itself, takes faults as flags, and serves until killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `args` and returns it with the `host:port` it printed.
fn start(args: &[&str]) -> (Server, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_fake-kube"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start fake-kube");
    let mut server = Server(child);
    let mut first_line = String::new();
    BufReader::new(server.0.stdout.take().unwrap()).read_line(&mut first_line).unwrap();
    let address = first_line
        .trim()
        .strip_prefix("fake-kube listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
        .to_owned();
    (server, address)
}

/// One request on a fresh connection; `None` when nothing came back within `wait`.
fn request(
    address: &str,
    method: &str,
    target: &str,
    accept: &str,
    wait: Duration,
) -> Option<String> {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(wait)).unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: fake\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut response = String::new();
    match stream.read_to_string(&mut response) {
        Ok(_) if !response.is_empty() => Some(response),
        _ => None,
    }
}

fn body(response: &str) -> serde_json::Value {
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn fake_kube_binary_prints_its_url_writes_its_kubeconfig_and_serves() {
    let dir = std::env::temp_dir().join(format!("fake-kube-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let (server, address) = start(&["--kubeconfig", kubeconfig.to_str().unwrap()]);
    let text = std::fs::read_to_string(&kubeconfig).expect("written before the URL is printed");
    assert!(text.contains(&format!("server: http://{address}")), "{text}");
    let version = request(&address, "GET", "/version", "application/json", WAIT).unwrap();
    assert!(version.starts_with("HTTP/1.1 200 OK"), "{version}");
    assert!(version.contains("\"gitVersion\":\"v1.33.0-fake\""), "{version}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn faults_given_as_flags_hit_the_requests_they_name() {
    let (_server, address) = start(&[
        "--fault",
        "GET /version=status:503,times=1",
        "--fault",
        "GET /api/v1/namespaces/kube-system=hang",
        "--fault",
        "/api/v1/namespaces/default=reset",
        "--fault",
        "GET /api/v1/namespaces/kube-public=delay:300ms",
    ]);
    let failed = request(&address, "GET", "/version", "application/json", WAIT).unwrap();
    assert!(failed.starts_with("HTTP/1.1 503"), "{failed}");
    assert_eq!(body(&failed)["reason"], "ServiceUnavailable");
    let served = request(&address, "GET", "/version", "application/json", WAIT).unwrap();
    assert!(served.starts_with("HTTP/1.1 200"), "times=1 is spent: {served}");
    let hung = request(
        &address,
        "GET",
        "/api/v1/namespaces/kube-system",
        "application/json",
        Duration::from_millis(700),
    );
    assert_eq!(hung, None, "a hanging server never answers");
    let reset = request(&address, "GET", "/api/v1/namespaces/default", "application/json", WAIT);
    assert_eq!(reset, None, "a reset connection carries no answer");
    let started = std::time::Instant::now();
    let delayed =
        request(&address, "GET", "/api/v1/namespaces/kube-public", "application/json", WAIT)
            .unwrap();
    assert!(delayed.starts_with("HTTP/1.1 200"), "{delayed}");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn lists_filter_by_label_and_come_as_metadata_only_when_asked() {
    let (_server, address) = start(&[]);
    let metadata = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    let listed = request(
        &address,
        "GET",
        "/api/v1/namespaces?labelSelector=kubernetes.io%2Fmetadata.name%20in%20(default%2Ckube-public)",
        metadata,
        WAIT,
    )
    .unwrap();
    assert!(
        listed
            .to_ascii_lowercase()
            .contains(&format!("content-type: {metadata}").to_ascii_lowercase()),
        "{listed}"
    );
    let list = body(&listed);
    assert_eq!(
        (list["kind"].as_str(), list["apiVersion"].as_str()),
        (Some("PartialObjectMetadataList"), Some("meta.k8s.io/v1"))
    );
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "kube-public"]);
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
    assert!(list["items"][0].get("spec").is_none() && list["items"][0].get("status").is_none());
    let one = body(
        &request(
            &address,
            "GET",
            "/api/v1/namespaces/default",
            "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
            WAIT,
        )
        .unwrap(),
    );
    assert_eq!(one["kind"], "PartialObjectMetadata");
    assert!(one["metadata"]["uid"].is_string());
    let full = body(
        &request(&address, "GET", "/api/v1/namespaces/default", "application/json", WAIT).unwrap(),
    );
    assert_eq!(full["status"]["phase"], "Active");
}

#[test]
fn help_documents_the_flags_and_bad_flags_are_usage_errors() {
    let help = Command::new(env!("CARGO_BIN_EXE_fake-kube")).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in
        ["--listen", "--kubeconfig", "--tick", "--latency", "--fault", "--behaviour", "hang"]
    {
        assert!(text.contains(flag), "--help does not mention {flag}:\n{text}");
    }
    for bad in
        [&["--bogus"][..], &["--fault", "GET /x=explode"], &["--tick", "soon"], &["--listen"]]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_fake-kube")).args(bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("fake-kube: "), "{bad:?}");
    }
}
