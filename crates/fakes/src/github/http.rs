//! Just enough HTTP/1.1 to serve the fake: one thread per connection, keep-alive,
//! `Content-Length` bodies (no chunked requests; every client we test sends a length), and a
//! shutdown flag that connection threads poll so that dropping a test's server ends them.
//!
//! It owns bytes on sockets and nothing about GitHub; the handler it is given does the rest.
//! Plain std networking keeps the fake crate free of an async stack (the CI builds on 2 cores).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query string, still percent-encoded.
    pub path: String,
    /// The raw query string (without `?`), possibly empty.
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: serde_json::to_vec_pretty(body).unwrap_or_default(),
        }
    }

    /// An empty response (204 and friends).
    pub fn empty(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

pub type Handler = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// How often blocked reads wake up to look at the shutdown flag.
const POLL: Duration = Duration::from_millis(200);
/// A connection idle this long is closed (clients reconnect transparently).
const IDLE: Duration = Duration::from_secs(120);
/// Requests larger than this are refused: GitHub's own limit for comment bodies is far below.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Accepts connections on `listener` until `shutdown` is set, serving each with `handler`.
pub fn serve(listener: TcpListener, handler: Handler, shutdown: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let handler = Arc::clone(&handler);
        let shutdown = Arc::clone(&shutdown);
        thread::spawn(move || serve_connection(stream, &handler, &shutdown));
    }
}

fn serve_connection(stream: TcpStream, handler: &Handler, shutdown: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader, shutdown) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(message) => {
                let response = Response::json(400, &serde_json::json!({ "message": message }));
                let _ = write_response(&mut writer, &response, true);
                break;
            }
        };
        let close = request.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let response = handler(request);
        if write_response(&mut writer, &response, close).is_err() || close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// Reads one request; `Ok(None)` when the peer closed, went idle, or the server shuts down.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    shutdown: &AtomicBool,
) -> Result<Option<Request>, String> {
    let started = Instant::now();
    let mut head = Vec::new();
    // Read header lines until the blank line; partial lines survive read timeouts because
    // `read_until` keeps what it appended before the error.
    loop {
        match reader.read_until(b'\n', &mut head) {
            Ok(0) => return Ok(None),
            Ok(_) => {
                if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                    break;
                }
                if head.len() > 64 * 1024 {
                    return Err("request head too large".into());
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if shutdown.load(Ordering::SeqCst) || (head.is_empty() && started.elapsed() > IDLE)
                {
                    return Ok(None);
                }
            }
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Ok(None),
        }
        if head.len() == 2 && head == b"\r\n" {
            // Tolerate a stray CRLF between requests.
            head.clear();
        }
    }
    let head = String::from_utf8(head).map_err(|_| "request head is not UTF-8".to_string())?;
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(_version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line {request_line:?}"));
    };
    let headers: Vec<(String, String)> = lines
        .filter(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    if headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked")) {
        return Err(
            "chunked request bodies are not supported by the fake; send Content-Length".into()
        );
    }
    let length = match headers.iter().find(|(n, _)| n == "content-length") {
        Some((_, value)) => {
            value.parse::<usize>().map_err(|_| format!("bad Content-Length {value:?}"))?
        }
        None => 0,
    };
    if length > MAX_BODY {
        return Err(format!("request body of {length} bytes is too large"));
    }
    let mut body = vec![0; length];
    let mut filled = 0;
    while filled < length {
        match reader.read(&mut body[filled..]) {
            Ok(0) => return Err("connection closed inside the request body".into()),
            Ok(n) => filled += n,
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                if shutdown.load(Ordering::SeqCst) {
                    return Ok(None);
                }
            }
            Err(_) => return Ok(None),
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body,
    }))
}

fn write_response(stream: &mut TcpStream, response: &Response, close: bool) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n", response.body.len()));
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response.body);
    stream.write_all(&bytes)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
