//! The HTTP edge of the fake API server: routes Kubernetes REST paths to `State` calls, applies
//! injected faults (status codes, latency, dropped connections), streams watches from the change
//! log, and runs the controllers on a timer.
//!
//! It owns request parsing and response shapes, not the semantics of the verbs (`state`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value as Json, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use super::catalog::ResourceType;
use super::controllers;
use super::patch::PatchType;
use super::protobuf;
use super::selectors::{FieldSelector, LabelSelector};
use super::state::{ApiError, Propagation, State, WriteOptions, unsupported_patch_type};
use super::{FaultAction, RequestRecord};

pub type Body = BoxBody<Bytes, Infallible>;

/// Everything the connections and the controller task share.
#[derive(Debug)]
pub struct Shared {
    pub state: Mutex<State>,
    /// The latest resource version; watches wait on it.
    pub changes: watch::Sender<u64>,
    pub tick: Duration,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in the fake; keep serving what is there.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wakes watches after a change.
    pub fn notify(&self, resource_version: u64) {
        self.changes.send_replace(resource_version);
    }
}

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DroppedConnection {}

/// Accepts connections until `shutdown` fires; runs the controllers every `shared.tick`.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let controller_shared = shared.clone();
    let controllers = tokio::spawn(async move {
        loop {
            tokio::time::sleep(controller_shared.tick).await;
            let (before, pending) = {
                let mut state = controller_shared.lock();
                let before = state.resource_version;
                controllers::tick_cluster_wide(&mut state);
                (before, controllers::pending_workloads(&state))
            };
            // One workload per lock, like independent controllers: requests interleave.
            for key in pending {
                controllers::progress_workload(&mut controller_shared.lock(), &key);
            }
            let after = controller_shared.lock().resource_version;
            if after != before {
                controller_shared.notify(after);
            }
        }
    });
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(shared.clone(), request));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        }
    }
    controllers.abort();
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into()).boxed()
}

fn json_response(code: u16, body: &Json) -> Response<Body> {
    let mut response = Response::new(full(serde_json::to_vec(body).unwrap_or_default()));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(error: &ApiError) -> Response<Body> {
    json_response(error.code, &error.status_body())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query.get(name).is_some_and(|v| v == "true" || v == "1" || v.is_empty())
}

/// Applies the first matching fault, if any: sleeps, or answers, or drops.
async fn injected_fault(
    shared: &Shared,
    method: &Method,
    path: &str,
) -> Result<Option<Response<Body>>, DroppedConnection> {
    let (latency, action) = {
        let mut state = shared.lock();
        let latency = state.latency;
        let action = state
            .faults
            .iter_mut()
            .find(|f| {
                f.remaining != Some(0)
                    && f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                    && path.contains(&f.path_contains)
            })
            .map(|f| {
                if let Some(n) = f.remaining.as_mut() {
                    *n -= 1;
                }
                f.action.clone()
            });
        (latency, action)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match action {
        None => Ok(None),
        Some(FaultAction::Delay(d)) => {
            tokio::time::sleep(d).await;
            Ok(None)
        }
        Some(FaultAction::DropConnection) => Err(DroppedConnection),
        Some(FaultAction::Hang) => {
            // Holds the connection open, unanswered, until the client closes it or the server
            // stops.
            std::future::pending::<()>().await;
            Err(DroppedConnection)
        }
        Some(FaultAction::Status { code, retry_after }) => {
            let reason = match code {
                429 => "TooManyRequests",
                500 => "InternalError",
                503 => "ServiceUnavailable",
                504 => "Timeout",
                _ => "Unknown",
            };
            let mut response = if code == 429 && retry_after.is_some() {
                // As the API server's priority-and-fairness filter answers: plain text, with
                // the wait only in the Retry-After header.
                let mut plain = Response::new(full("Too many requests, please try again later.\n"));
                *plain.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                plain
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
                plain
            } else {
                let mut error = ApiError::new(code, reason, format!("injected fault: {reason}"));
                if let Some(seconds) = retry_after {
                    error.details = json!({"retryAfterSeconds": seconds});
                }
                error_response(&error)
            };
            if let Some(seconds) = retry_after
                && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
            {
                response.headers_mut().insert("retry-after", value);
            }
            Ok(Some(response))
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Body>, DroppedConnection> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query_text = request.uri().query().unwrap_or_default().to_owned();
    shared.lock().requests.push(RequestRecord {
        method: method.to_string(),
        path: path.clone(),
        query: query_text.clone(),
    });
    if let Some(response) = injected_fault(&shared, &method, &path).await? {
        return Ok(response);
    }
    let accept = request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let user_agent = request
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(DroppedConnection),
    };
    let query = parse_query(&query_text);
    let segments: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let headers = Headers { accept, content_type, user_agent };
    Ok(route(&shared, &method, &segments, &query, &headers, &body).await)
}

fn discovery(shared: &Shared, segments: &[&str], accept: &str) -> Option<Response<Body>> {
    let state = shared.lock();
    // Aggregated discovery only when the client lists the v2 form among acceptable types.
    let wants_aggregated = accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params.contains(&"as=APIGroupDiscoveryList") && params.contains(&"v=v2")
    });
    let aggregated = |core: bool| {
        let mut response = json_response(200, &state.catalog.aggregated(core));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            ),
        );
        response
    };
    Some(match segments {
        ["version"] => json_response(
            200,
            &json!({
                "major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "gitCommit": "fake-kube",
                "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                "compiler": "gc", "platform": "linux/amd64"
            }),
        ),
        ["healthz"] | ["readyz"] | ["livez"] => {
            let mut response = Response::new(full("ok"));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        }
        ["api"] if wants_aggregated => aggregated(true),
        ["apis"] if wants_aggregated => aggregated(false),
        ["api"] => json_response(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        ),
        ["apis"] => json_response(200, &state.catalog.group_list()),
        ["api", "v1"] => json_response(200, &state.catalog.resource_list("", "v1")),
        ["apis", group] if state.catalog.has_group(group) => {
            json_response(200, &state.catalog.group(group))
        }
        ["apis", group, version] if state.catalog.has_group_version(group, version) => {
            json_response(200, &state.catalog.resource_list(group, version))
        }
        ["openapi", "v3"] => json_response(200, &state.catalog.openapi_v3_root()),
        ["openapi", "v3", "api", version] => match state.catalog.openapi_v3("", version) {
            Some(doc) => json_response(200, &doc),
            None => error_response(&not_found_path()),
        },
        ["openapi", "v3", "apis", group, version] => match state.catalog.openapi_v3(group, version)
        {
            Some(doc) => json_response(200, &doc),
            None => error_response(&not_found_path()),
        },
        _ => return None,
    })
}

/// A resource request, parsed from its path.
#[derive(Debug)]
struct Target {
    resource: ResourceType,
    namespace: String,
    name: Option<String>,
    subresource: Option<String>,
}

fn not_found_path() -> ApiError {
    ApiError::new(404, "NotFound", "the server could not find the requested resource")
}

fn parse_target(state: &State, segments: &[&str]) -> Result<Target, ApiError> {
    let (group, version, rest) = match segments {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(not_found_path()),
    };
    let (namespace, plural, name, subresource) = match rest {
        ["namespaces", ns] if group.is_empty() => ("", "namespaces", Some(*ns), None),
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            ("", "namespaces", Some(*ns), Some(*sub))
        }
        ["namespaces", ns, plural] => (*ns, *plural, None, None),
        ["namespaces", ns, plural, name] => (*ns, *plural, Some(*name), None),
        ["namespaces", ns, plural, name, sub] => (*ns, *plural, Some(*name), Some(*sub)),
        [plural] => ("", *plural, None, None),
        [plural, name] => ("", *plural, Some(*name), None),
        [plural, name, sub] => ("", *plural, Some(*name), Some(*sub)),
        _ => return Err(not_found_path()),
    };
    let resource =
        state.catalog.by_path(group, version, plural).cloned().ok_or_else(not_found_path)?;
    Ok(Target {
        resource,
        namespace: namespace.to_owned(),
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

fn list_body(resource: &ResourceType, items: Vec<Json>, resource_version: u64) -> Json {
    let items: Vec<Json> = items
        .into_iter()
        .map(|mut item| {
            // Built-in list items come without their type; custom resources keep it.
            if !resource.custom
                && let Some(map) = item.as_object_mut()
            {
                map.remove("apiVersion");
                map.remove("kind");
            }
            item
        })
        .collect();
    json!({
        "kind": format!("{}List", resource.kind),
        "apiVersion": resource.api_version(),
        "metadata": {"resourceVersion": resource_version.to_string()},
        "items": items,
    })
}

/// A request body as JSON: JSON as sent, or a protobuf-encoded built-in object decoded.
fn parse_body(body: &Bytes, content_type: &str, resource: &ResourceType) -> Result<Json, ApiError> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media != protobuf::MEDIA_TYPE {
        return parse_json(body);
    }
    let unsupported = || {
        ApiError::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
        )
    };
    if resource.custom {
        return Err(unsupported());
    }
    protobuf::decode_object(body).map_err(|error| match error {
        protobuf::ProtobufError::UnknownKind { .. } => unsupported(),
        other => ApiError::new(400, "BadRequest", other.to_string()),
    })
}

fn parse_json(body: &Bytes) -> Result<Json, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "BadRequest",
            format!("the request body could not be decoded as JSON: {e}"),
        )
    })
}

/// The request headers the routes read.
struct Headers {
    accept: String,
    content_type: String,
    user_agent: String,
}

async fn route(
    shared: &Arc<Shared>,
    method: &Method,
    segments: &[&str],
    query: &HashMap<String, String>,
    headers: &Headers,
    body: &Bytes,
) -> Response<Body> {
    let (accept, content_type, user_agent) =
        (headers.accept.as_str(), headers.content_type.as_str(), headers.user_agent.as_str());
    if *method == Method::GET
        && let Some(response) = discovery(shared, segments, accept)
    {
        return response;
    }
    let target = match parse_target(&shared.lock(), segments) {
        Ok(target) => target,
        Err(error) => return error_response(&error),
    };
    let labels = match LabelSelector::parse(
        query.get("labelSelector").map(String::as_str).unwrap_or_default(),
    ) {
        Ok(s) => s,
        Err(e) => {
            return error_response(&ApiError::new(
                400,
                "BadRequest",
                format!("unable to parse requirement: {e}"),
            ));
        }
    };
    let fields = match FieldSelector::parse(
        query.get("fieldSelector").map(String::as_str).unwrap_or_default(),
    ) {
        Ok(s) => s,
        Err(e) => return error_response(&ApiError::new(400, "BadRequest", e)),
    };
    if *method == Method::GET && target.name.is_none() && flag(query, "watch") {
        let metadata_only = wants_metadata(accept);
        return watch_response(shared.clone(), target, labels, fields, query, metadata_only);
    }
    let options = WriteOptions {
        manager: query.get("fieldManager").cloned(),
        force: flag(query, "force"),
        dry_run: query.get("dryRun").is_some_and(|v| v == "All"),
        user_agent: (!user_agent.is_empty()).then(|| user_agent.to_owned()),
    };
    let result = {
        let mut state = shared.lock();
        let before = state.resource_version;
        let result = dispatch(
            &mut state,
            method,
            &target,
            &options,
            &labels,
            &fields,
            query,
            content_type,
            body,
        );
        let after = state.resource_version;
        drop(state);
        if after != before {
            shared.notify(after);
        }
        result
    };
    match result {
        Ok((code, body)) if *method == Method::GET && wants_metadata(accept) => {
            let media = if body["items"].is_array() {
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            } else {
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
            };
            let mut response = json_response(code, &metadata_only(&body));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(media));
            response
        }
        Ok((code, body)) => json_response(code, &body),
        Err(error) => error_response(&error),
    }
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    state: &mut State,
    method: &Method,
    target: &Target,
    options: &WriteOptions,
    labels: &LabelSelector,
    fields: &FieldSelector,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &Bytes,
) -> Result<(u16, Json), ApiError> {
    let rt = &target.resource;
    let ns = target.namespace.as_str();
    let subresource = target.subresource.as_deref();
    if let Some(sub) = subresource
        && !rt.subresources.iter().any(|s| s.name == sub)
    {
        return Err(not_found_path());
    }
    match (method.clone(), target.name.as_deref()) {
        (Method::GET, None) => {
            let namespace = (!ns.is_empty()).then_some(ns);
            let items = state.list(rt, namespace, labels, fields);
            Ok((200, list_body(rt, items, state.resource_version)))
        }
        (Method::GET, Some(name)) if subresource == Some("scale") => {
            Ok((200, state.scale(rt, ns, name)?))
        }
        (Method::PUT, Some(name)) if subresource == Some("scale") => {
            let scale = parse_body(body, content_type, rt)?;
            Ok((200, state.write_scale(rt, ns, name, &scale, options)?))
        }
        (Method::PATCH, Some(name)) if subresource == Some("scale") => {
            let media = content_type.split(';').next().unwrap_or_default().trim();
            let Some(patch_type) = PatchType::from_media_type(media) else {
                return Err(unsupported_patch_type(rt));
            };
            let patched = patch_type
                .apply(
                    &state.scale(rt, ns, name)?,
                    &parse_json(body)?,
                    Some("k8s.io.api.autoscaling.v1.Scale"),
                )
                .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
            Ok((200, state.write_scale(rt, ns, name, &patched, options)?))
        }
        (Method::POST, Some(name)) if subresource == Some("token") => {
            let request = parse_body(body, content_type, rt)?;
            Ok((201, state.token_request(rt, ns, name, &request)?))
        }
        (Method::GET, Some(name)) => Ok((200, state.get(rt, ns, name)?)),
        (Method::POST, None) => {
            let object = parse_body(body, content_type, rt)?;
            if let Some(body_ns) = object["metadata"]["namespace"].as_str()
                && rt.namespaced
                && body_ns != ns
            {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            Ok((201, state.create(rt, ns, object, options)?))
        }
        (Method::PATCH, Some(name)) => {
            let patch = parse_json(body)?;
            let media = content_type.split(';').next().unwrap_or_default().trim();
            if let Some(patch_type) = PatchType::from_media_type(media) {
                return Ok((
                    200,
                    state.patch(rt, ns, name, patch_type, &patch, subresource, options)?,
                ));
            }
            match media {
                "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                    if subresource.is_some() {
                        return Err(ApiError::new(
                            400,
                            "BadRequest",
                            "apply to subresources is not supported by fake-kube",
                        ));
                    }
                    let (object, created) = state.apply(rt, ns, name, patch, options)?;
                    Ok((if created && !options.dry_run { 201 } else { 200 }, object))
                }
                _ => Err(unsupported_patch_type(rt)),
            }
        }
        (Method::PUT, Some(name)) => {
            let object = parse_body(body, content_type, rt)?;
            Ok((200, state.replace(rt, ns, name, object, options)?))
        }
        (Method::DELETE, Some(name)) => {
            let options_body = delete_options(body, content_type, rt)?;
            let propagation = propagation(query, &options_body)?;
            if let Some(options_body) = &options_body {
                let preconditions = &options_body["preconditions"];
                let live = state.get(rt, ns, name)?;
                for (field, actual) in [
                    ("uid", &live["metadata"]["uid"]),
                    ("resourceVersion", &live["metadata"]["resourceVersion"]),
                ] {
                    if let Some(expected) = preconditions[field].as_str()
                        && Some(expected) != actual.as_str()
                    {
                        let label = if field == "uid" { "UID" } else { "ResourceVersion" };
                        return Err(ApiError {
                            code: 409,
                            reason: "Conflict",
                            message: format!(
                                "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: {label} in precondition: {expected}, {label} in object meta: {}",
                                rt.qualified_plural(),
                                actual.as_str().unwrap_or_default()
                            ),
                            details: json!({"name": name, "group": rt.group, "kind": rt.plural}),
                        });
                    }
                }
            }
            let result = state.delete(rt, ns, name, propagation, options.dry_run)?;
            Ok((200, result))
        }
        (Method::DELETE, None) => {
            let propagation = propagation(query, &delete_options(body, content_type, rt)?)?;
            let namespace = (!ns.is_empty()).then_some(ns);
            let doomed = state.list(rt, namespace, labels, fields);
            let mut deleted = Vec::new();
            for object in doomed {
                let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                let object_ns =
                    object["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
                state.delete(rt, &object_ns, &name, propagation, options.dry_run)?;
                deleted.push(object);
            }
            Ok((200, list_body(rt, deleted, state.resource_version)))
        }
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )),
    }
}

/// The `DeleteOptions` body of a DELETE, if it has one.
fn delete_options(
    body: &Bytes,
    content_type: &str,
    resource: &ResourceType,
) -> Result<Option<Json>, ApiError> {
    if body.is_empty() {
        return Ok(None);
    }
    parse_body(body, content_type, resource).map(Some)
}

fn propagation(
    query: &HashMap<String, String>,
    body: &Option<Json>,
) -> Result<Propagation, ApiError> {
    let from_body = body.as_ref().and_then(|b| b["propagationPolicy"].as_str().map(str::to_owned));
    let policy = query.get("propagationPolicy").cloned().or(from_body);
    match policy.as_deref() {
        None | Some("Background") => Ok(Propagation::Background),
        Some("Foreground") => Ok(Propagation::Foreground),
        Some("Orphan") => Ok(Propagation::Orphan),
        Some(other) => Err(ApiError::new(
            422,
            "Invalid",
            format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\""
            ),
        )),
    }
}

/// Whether the client asks for metadata only (`Accept: application/json;as=PartialObjectMetadata;
/// g=meta.k8s.io;v=v1`, or the `...List` form, as kube-rs `list_metadata`/`watch_metadata` and
/// the metadata informers send): the first acceptable type decides, as on the API server.
fn wants_metadata(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params
            .iter()
            .any(|p| *p == "as=PartialObjectMetadata" || *p == "as=PartialObjectMetadataList")
            && params.contains(&"g=meta.k8s.io")
            && (params.contains(&"v=v1") || params.contains(&"v=v1beta1"))
    })
}

/// An object (or list) as `PartialObjectMetadata`: its type and metadata, nothing else.
fn metadata_only(body: &Json) -> Json {
    let partial = |object: &Json| json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"]});
    match body["items"].as_array() {
        Some(items) => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": body["metadata"],
            "items": items.iter().map(partial).collect::<Vec<_>>(),
        }),
        None => partial(body),
    }
}

/// `?watch=true`: newline-delimited watch events from the change log, then live ones.
fn watch_response(
    shared: Arc<Shared>,
    target: Target,
    labels: LabelSelector,
    fields: FieldSelector,
    query: &HashMap<String, String>,
    metadata_only: bool,
) -> Response<Body> {
    let (sender, receiver) = mpsc::channel::<Bytes>(64);
    let requested: Option<u64> =
        query.get("resourceVersion").and_then(|v| v.parse().ok()).filter(|v| *v != 0);
    let initial_events = flag(query, "sendInitialEvents");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let namespace = target.namespace.clone();
    let resource = target.resource.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = shared.changes.subscribe();
        let matches = |object: &Json| labels.matches(object) && fields.matches(object);
        let line = |kind: &str, object: &Json| {
            let object = if metadata_only && kind != "BOOKMARK" {
                self::metadata_only(object)
            } else {
                object.clone()
            };
            let mut text =
                serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
            text.push(b'\n');
            Bytes::from(text)
        };
        let initial = match requested {
            Some(rv) if !initial_events => Err(rv),
            _ => {
                let state = shared.lock();
                let ns = (!namespace.is_empty()).then_some(namespace.as_str());
                Ok((state.list(&resource, ns, &labels, &fields), state.resource_version))
            }
        };
        let mut cursor = match initial {
            Err(rv) => rv,
            Ok((current, rv)) => {
                for object in &current {
                    if sender.send(line("ADDED", object)).await.is_err() {
                        return;
                    }
                }
                if initial_events {
                    let bookmark = json!({
                        "kind": resource.kind, "apiVersion": resource.api_version(),
                        "metadata": {"resourceVersion": rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}},
                    });
                    if sender.send(line("BOOKMARK", &bookmark)).await.is_err() {
                        return;
                    }
                }
                rv
            }
        };
        loop {
            let pending: Vec<Bytes> = {
                let state = shared.lock();
                let start = state.log.partition_point(|c| c.resource_version <= cursor);
                let mut lines = Vec::new();
                for change in &state.log[start..] {
                    cursor = change.resource_version;
                    if change.group != resource.group
                        || change.plural != resource.plural
                        || (!namespace.is_empty() && change.namespace != namespace)
                    {
                        continue;
                    }
                    let object = State::present(&resource, &change.object);
                    if matches(&object) {
                        lines.push(line(change.kind, &object));
                    }
                }
                lines
            };
            for bytes in pending {
                if sender.send(bytes).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return,
                _ = sender.closed() => return,
                changed = changes.changed() => if changed.is_err() { return },
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), receiver))
    });
    let mut response = Response::new(StreamBody::new(stream).boxed());
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert("transfer-encoding", HeaderValue::from_static("chunked"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_checks_uid_preconditions() {
        let mut state = State::with_system_namespaces();
        let rt = state.catalog.by_kind("v1", "ConfigMap").unwrap().clone();
        let options = WriteOptions { manager: Some("t".into()), ..WriteOptions::default() };
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let created = state.create(&rt, "default", body, &options).unwrap();
        let target = Target {
            resource: rt,
            namespace: "default".into(),
            name: Some("c".into()),
            subresource: None,
        };
        let delete = |state: &mut State, uid: &str| {
            let body = Bytes::from(json!({"preconditions": {"uid": uid}}).to_string());
            let query = HashMap::new();
            let (labels, fields) = (LabelSelector::default(), FieldSelector::default());
            dispatch(
                state,
                &Method::DELETE,
                &target,
                &options,
                &labels,
                &fields,
                &query,
                "application/json",
                &body,
            )
        };
        let error = delete(&mut state, "not-the-uid").unwrap_err();
        assert_eq!(error.code, 409);
        assert!(
            error.message.contains("Precondition failed: UID in precondition: not-the-uid"),
            "{}",
            error.message
        );
        let (code, _) = delete(&mut state, created["metadata"]["uid"].as_str().unwrap()).unwrap();
        assert_eq!(code, 200);
        assert!(state.objects.keys().all(|k| k.3 != "c"));
    }

    #[test]
    fn apply_answers_201_on_create_and_keeps_the_version_when_nothing_changes() {
        let mut state = State::with_system_namespaces();
        let rt = state.catalog.by_kind("v1", "ConfigMap").unwrap().clone();
        let options =
            WriteOptions { manager: Some("gitops-env".into()), ..WriteOptions::default() };
        let target = Target {
            resource: rt,
            namespace: "default".into(),
            name: Some("c".into()),
            subresource: None,
        };
        let apply = |state: &mut State, value: &str| {
            let body = Bytes::from(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": value}})
                    .to_string(),
            );
            let (labels, fields) = (LabelSelector::default(), FieldSelector::default());
            dispatch(
                state,
                &Method::PATCH,
                &target,
                &options,
                &labels,
                &fields,
                &HashMap::new(),
                "application/apply-patch+yaml",
                &body,
            )
            .unwrap()
        };
        let (created, first) = apply(&mut state, "1");
        assert_eq!(created, 201);
        let (unchanged, second) = apply(&mut state, "1");
        assert_eq!(unchanged, 200);
        assert_eq!(first["metadata"]["resourceVersion"], second["metadata"]["resourceVersion"]);
        assert_eq!(first["metadata"]["managedFields"], second["metadata"]["managedFields"]);
        let (configured, third) = apply(&mut state, "2");
        assert_eq!(configured, 200);
        assert_ne!(first["metadata"]["resourceVersion"], third["metadata"]["resourceVersion"]);
    }

    #[test]
    fn query_parameters_are_percent_decoded() {
        let q = parse_query("labelSelector=app%3Dweb%2Ctier+in+%28a%29&watch=1&x");
        assert_eq!(q["labelSelector"], "app=web,tier in (a)");
        assert!(flag(&q, "watch"));
        assert!(flag(&q, "x"));
        assert_eq!(percent_decode("100%"), "100%");
    }
}
