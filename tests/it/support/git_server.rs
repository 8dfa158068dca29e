//! Git servers on loopback for tests: smart HTTP (`git http-backend` behind a small HTTP/1.1
//! server written here, which also serves plain files and counts every request), `git daemon`,
//! and a server that accepts connections and never answers.
//!
//! Each server lives as long as its value; every connection is handled on its own thread and
//! closed after one response, so no test can be kept waiting by a previous one.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the HTTP server received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub authorization: Option<String>,
}

impl Seen {
    /// Whether git's smart protocol was spoken (ref listing or pack negotiation).
    pub fn is_git(&self) -> bool {
        self.target.contains("/info/refs") || self.target.contains("/git-upload-pack")
    }
}

#[derive(Default)]
struct State {
    seen: Mutex<Vec<Seen>>,
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    required_authorization: Mutex<Option<String>>,
}

/// Smart HTTP for the bare repositories under `root` (`/name.git/...`), plus plain files.
pub struct GitHttpServer {
    port: u16,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
}

impl GitHttpServer {
    /// Serves the repositories under `root`.
    pub fn start(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let state = Arc::new(State::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop, thread_root) =
            (state.clone(), stop.clone(), root.to_path_buf());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, root) = (thread_state.clone(), thread_root.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &state, &root);
                });
            }
        });
        Self { port, state, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Serves `body` at `path` (e.g. `/files/install.yaml`).
    pub fn file(&self, path: &str, body: &str) -> &Self {
        self.bytes(path, body.as_bytes().to_vec())
    }

    /// Serves any bytes at `path` (a packaged chart, say).
    pub fn bytes(&self, path: &str, body: Vec<u8>) -> &Self {
        self.state.files.lock().unwrap().insert(path.to_owned(), body);
        self
    }

    /// Answers 401 to every request without exactly this `Authorization` header value.
    pub fn require_authorization(&self, value: &str) -> &Self {
        *self.state.required_authorization.lock().unwrap() = Some(value.to_owned());
        self
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    pub fn forget(&self) {
        self.state.seen.lock().unwrap().clear();
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, state: &State, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) =
        (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let body = read_body(&mut reader, &headers)?;
    let authorization = headers.get("authorization").cloned();
    state.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        target: target.clone(),
        authorization: authorization.clone(),
    });
    let mut out = stream;
    let required = state.required_authorization.lock().unwrap().clone();
    if required.is_some() && authorization != required {
        return respond(
            &mut out,
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"test\"")],
            b"",
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if let Some(file) = state.files.lock().unwrap().get(path).cloned() {
        return respond(&mut out, "200 OK", &[("Content-Type", "text/plain")], &file);
    }
    let mut cgi = Command::new("git");
    cgi.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", headers.get("content-type").cloned().unwrap_or_default())
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(protocol) = headers.get("git-protocol") {
        cgi.env("GIT_PROTOCOL", protocol);
    }
    if let Some(encoding) = headers.get("content-encoding") {
        cgi.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let mut child = cgi.spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut output = Vec::new();
    child.stdout.take().expect("stdout").read_to_end(&mut output)?;
    let _ = writer.join();
    child.wait()?;
    let split = output.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, gap)) = split else {
        return respond(&mut out, "500 Internal Server Error", &[], b"bad CGI output");
    };
    let head = String::from_utf8_lossy(&output[..end]).into_owned();
    let mut status = "200 OK".to_owned();
    let mut cgi_headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("status") {
            status = value.trim().to_owned();
        } else {
            cgi_headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let borrowed: Vec<(&str, &str)> =
        cgi_headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    respond(&mut out, &status, &borrowed, &output[end + gap..])
}

fn read_body(
    reader: &mut impl BufRead,
    headers: &BTreeMap<String, String>,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    if headers.get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length").and_then(|v| v.parse::<usize>().ok())
    {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(body)
}

fn respond(
    out: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head =
        format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(body)?;
    out.flush()
}

/// `git daemon` serving the repositories under `root` on a free loopback port.
pub struct GitDaemon {
    port: u16,
    child: Child,
}

impl GitDaemon {
    pub fn start(root: &Path) -> Self {
        let port =
            TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
        let mut child = Command::new("git")
            .args(["daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", root.display()))
            .arg(root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self { port, child };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("git daemon did not listen on {port}");
    }

    pub fn url(&self) -> String {
        format!("git://127.0.0.1:{}", self.port)
    }
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Accepts connections and never answers (until dropped).
pub struct HangingServer {
    port: u16,
    held: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl HangingServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("address").port();
        let held = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_held, thread_stop) = (held.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if thread_stop.load(Ordering::Relaxed) {
                    break;
                }
                thread_held.lock().unwrap().push(stream);
            }
        });
        Self { port, held, stop }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HangingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for stream in self.held.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
