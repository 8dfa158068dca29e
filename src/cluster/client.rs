//! The connection to a cluster: a kube client built from a kubeconfig (content or path) and a
//! context, the discovered resource catalog, and the retry policy every request goes through.
//!
//! Retries cover what is transient by type: HTTP 429 and 5xx statuses, and transport errors
//! (refused or reset connections, timeouts). They back off exponentially with jitter, honour a
//! server's `retryAfterSeconds`, and are bounded both in attempts and in elapsed time. Nothing
//! here decides what to apply; see `apply`.
//!
//! Every request is bounded in time, so that a server that accepts and never answers fails a
//! run instead of hanging it ([`Timeouts`], defaults in brackets): connecting [10 s], waiting
//! for the next bytes of an answer [30 s], one attempt as a whole [60 s]; and a retried
//! operation starts no attempt after [`RetryPolicy::max_elapsed`] [120 s] and cuts its last
//! attempt short at that deadline. kube's own defaults leave reads unbounded.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kube::api::{ApiResource, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{Discovery, Scope as ResourceScope};
use kube::{Api, Client, Config};

use super::{ClusterError, KubeconfigSource, Target};

/// How long one request may take (see the module documentation for the defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the connection (TCP and TLS).
    pub connect: Duration,
    /// Silence while reading an answer (or writing a request): no byte for this long fails it.
    pub read: Duration,
    /// One attempt, from sending to the last byte of the answer.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(30),
            request: Duration::from_secs(60),
        }
    }
}

/// How transient failures are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The operation's deadline: no new attempt starts after this much time since the first,
    /// and an attempt still running then is abandoned.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1`: exponential, with "equal jitter" (half fixed,
    /// half random) so that many clients retrying at once spread out.
    pub fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exponential = self.initial_backoff.saturating_mul(1u32 << attempt.min(20));
        let capped = exponential.min(self.max_backoff);
        capped / 2 + capped.mul_f64(random.clamp(0.0, 1.0) / 2.0)
    }
}

/// Whether an error is worth retrying, and after how long the server asked us to wait.
pub fn transient(error: &kube::Error) -> Option<Option<Duration>> {
    match error {
        kube::Error::Api(status) if status.code == 429 || (500..600).contains(&status.code) => {
            Some(status.details.as_ref().and_then(|d| {
                (d.retry_after_seconds > 0)
                    .then(|| Duration::from_secs(u64::from(d.retry_after_seconds)))
            }))
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => Some(None),
        _ => None,
    }
}

/// Carries a `Retry-After` header into the error our retry loop sees. kube turns error responses
/// into `Status` values and drops the headers, and the API server's priority-and-fairness
/// throttling answers 429 with a plain-text body and only the header; so a throttled response
/// becomes a `Status` whose `details.retryAfterSeconds` holds the server's wish.
fn retry_after_into_status(
    response: http::Response<Box<kube::client::DynBody>>,
) -> http::Response<Box<kube::client::DynBody>> {
    let code = response.status().as_u16();
    if !(code == 429 || (500..600).contains(&code)) {
        return response;
    }
    let Some(seconds) = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u32>().ok())
    else {
        return response;
    };
    let (mut parts, _) = response.into_parts();
    let status = serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("HTTP {code}, Retry-After: {seconds}s"),
        "reason": if code == 429 { "TooManyRequests" } else { "ServiceUnavailable" },
        "details": {"retryAfterSeconds": seconds},
        "code": code,
    });
    parts
        .headers
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let bytes = bytes::Bytes::from(serde_json::to_vec(&status).unwrap_or_default());
    let body = http_body_util::BodyExt::map_err(
        http_body_util::Full::new(bytes),
        |never| -> tower::BoxError { match never {} },
    );
    http::Response::from_parts(parts, Box::new(body) as Box<kube::client::DynBody>)
}

/// A small, good-enough random source for jitter (no crypto needs here).
fn jitter_random(salt: u64) -> f64 {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let mut x = u64::from(nanos) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `operation` until it succeeds, fails for good, or the policy is exhausted. Each attempt
/// is abandoned after `attempt_timeout`, or at the policy's deadline if that comes first.
pub async fn with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    attempt_timeout: Duration,
    object: &str,
    verb: &'static str,
    mut operation: F,
) -> Result<T, RetryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let budget = attempt_timeout.min(policy.max_elapsed.saturating_sub(started.elapsed()));
        let (retry_after, message) = match tokio::time::timeout(budget, operation()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => match transient(&error) {
                None => return Err(RetryError::Permanent(error)),
                Some(retry_after) => (retry_after, describe(&error)),
            },
            Err(_) => (None, format!("no answer within {budget:?}")),
        };
        let pause =
            policy.backoff(attempt - 1, jitter_random(u64::from(attempt) ^ object.len() as u64));
        // The server's Retry-After wins over our backoff; `max_elapsed` still bounds it.
        let pause = retry_after.map_or(pause, |asked| asked.max(pause));
        if attempt >= policy.max_attempts || started.elapsed() + pause >= policy.max_elapsed {
            return Err(RetryError::GaveUp {
                error: ClusterError::GaveUp {
                    object: object.to_owned(),
                    verb,
                    attempts: attempt,
                    elapsed: started.elapsed(),
                    message,
                },
            });
        }
        tokio::time::sleep(pause).await;
    }
}

/// Why a retried operation failed.
#[derive(Debug)]
pub enum RetryError {
    /// Not retryable (a 4xx other than 429, a decode error...).
    Permanent(kube::Error),
    /// Transient failures until the policy ran out.
    GaveUp { error: ClusterError },
}

impl RetryError {
    /// As a cluster error about `object`.
    pub fn into_cluster_error(self, object: &str, verb: &'static str) -> ClusterError {
        match self {
            RetryError::GaveUp { error } => error,
            RetryError::Permanent(error) => api_error(object, verb, &error),
        }
    }

    /// The HTTP status code, for permanent API errors.
    pub fn code(&self) -> Option<u16> {
        match self {
            RetryError::Permanent(kube::Error::Api(status)) => Some(status.code),
            _ => None,
        }
    }
}

/// A readable one-line description (the API's own message when there is one).
pub fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("HTTP {} {}: {}", status.code, status.reason, status.message)
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            text
        }
    }
}

pub fn api_error(object: &str, verb: &'static str, error: &kube::Error) -> ClusterError {
    match error {
        kube::Error::Api(status) => ClusterError::Api {
            object: object.to_owned(),
            verb,
            code: status.code,
            reason: status.reason.clone(),
            message: status.message.clone(),
        },
        other => ClusterError::Api {
            object: object.to_owned(),
            verb,
            code: 0,
            reason: "Transport".into(),
            message: describe(other),
        },
    }
}

/// A resource kind as the cluster serves it.
#[derive(Clone, Debug)]
pub struct Served {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// A connected cluster: client, default namespace, discovery cache and retry policy.
pub struct Cluster {
    client: Client,
    default_namespace: String,
    discovery: Mutex<Option<std::sync::Arc<Discovery>>>,
    pub(crate) retry: RetryPolicy,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("default_namespace", &self.default_namespace)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects using the target's kubeconfig and context, with the default [`Timeouts`].
    /// Makes no request yet.
    pub async fn connect(target: &Target, retry: RetryPolicy) -> Result<Cluster, ClusterError> {
        Cluster::connect_with(target, retry, Timeouts::default()).await
    }

    /// Connects with the given timeouts on every request. Makes no request yet.
    pub async fn connect_with(
        target: &Target,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> Result<Cluster, ClusterError> {
        let options =
            KubeConfigOptions { context: target.context.clone(), cluster: None, user: None };
        let (source_name, config) = match &target.kubeconfig {
            KubeconfigSource::Inline(text) => {
                let name = "(inline content)".to_owned();
                let kubeconfig =
                    Kubeconfig::from_yaml(text).map_err(|e| ClusterError::Kubeconfig {
                        source_name: name.clone(),
                        message: kubeconfig_message(&e),
                    })?;
                (name, Config::from_custom_kubeconfig(kubeconfig, &options).await)
            }
            KubeconfigSource::File(path) => {
                let name = path.display().to_string();
                let kubeconfig =
                    Kubeconfig::read_from(path).map_err(|e| ClusterError::Kubeconfig {
                        source_name: name.clone(),
                        message: kubeconfig_message(&e),
                    })?;
                (name, Config::from_custom_kubeconfig(kubeconfig, &options).await)
            }
            KubeconfigSource::Default => (
                "(default)".to_owned(),
                Config::infer()
                    .await
                    .map_err(|e| kube::config::KubeconfigError::LoadContext(e.to_string())),
            ),
        };
        let mut config = config.map_err(|e| ClusterError::Kubeconfig {
            source_name: source_name.clone(),
            message: kubeconfig_message(&e),
        })?;
        // kube's own retry layer is bounded in count but not in time (up to 1000 s between
        // attempts) and skips 500s and resets; ours (`with_retry`) replaces it.
        config.default_retry = false;
        config.connect_timeout = Some(timeouts.connect);
        config.read_timeout = Some(timeouts.read);
        config.write_timeout = Some(timeouts.read);
        let default_namespace = config.default_namespace.clone();
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| ClusterError::Kubeconfig { source_name, message: describe(&e) })?
            .with_layer(&tower::util::MapResponseLayer::new(retry_after_into_status))
            .build();
        Ok(Cluster { client, default_namespace, discovery: Mutex::new(None), retry, timeouts })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// [`with_retry`] with this connection's policy and per-attempt timeout.
    pub async fn retried<T, F, Fut>(
        &self,
        object: &str,
        verb: &'static str,
        operation: F,
    ) -> Result<T, RetryError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        with_retry(&self.retry, self.timeouts.request, object, verb, operation).await
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The namespace of the kubeconfig context (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// Runs discovery (aggregated: two requests) unless cached; `refresh` forces it (after CRDs).
    pub async fn discovery(
        &self,
        refresh: bool,
    ) -> Result<std::sync::Arc<Discovery>, ClusterError> {
        if !refresh
            && let Some(cached) = self.discovery.lock().unwrap_or_else(|p| p.into_inner()).clone()
        {
            return Ok(cached);
        }
        let client = self.client.clone();
        let discovered = self
            .retried("discovery", "discover", || {
                let client = client.clone();
                async move {
                    match Discovery::new(client.clone()).run_aggregated().await {
                        Ok(discovery) => Ok(discovery),
                        // Servers before aggregated discovery (Kubernetes < 1.26): one request per group.
                        Err(kube::Error::Api(status)) if matches!(status.code, 404 | 406 | 415) => {
                            Discovery::new(client).run().await
                        }
                        Err(error) => Err(error),
                    }
                }
            })
            .await
            .map_err(|e| match e {
                RetryError::GaveUp { error } => error,
                RetryError::Permanent(error) => {
                    ClusterError::Discovery { message: describe(&error) }
                }
            })?;
        let discovered = std::sync::Arc::new(discovered);
        *self.discovery.lock().unwrap_or_else(|p| p.into_inner()) = Some(discovered.clone());
        Ok(discovered)
    }

    /// The served resource for an object's apiVersion and kind, if the cluster knows it.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Served>, ClusterError> {
        let discovery = self.discovery(false).await?;
        Ok(resolve_in(&discovery, api_version, kind))
    }

    /// A dynamic API handle for one object.
    pub fn api(&self, served: &Served, namespace: &str) -> Api<DynamicObject> {
        if served.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &served.resource)
        } else {
            Api::all_with(self.client.clone(), &served.resource)
        }
    }

    /// A handle for listing across all namespaces.
    pub fn api_all(&self, served: &Served) -> Api<DynamicObject> {
        Api::all_with(self.client.clone(), &served.resource)
    }

    /// Resolves a kind that must exist (core/v1 ConfigMap, Namespace, Event...).
    pub async fn builtin(&self, api_version: &str, kind: &str) -> Result<Served, ClusterError> {
        self.resolve(api_version, kind).await?.ok_or_else(|| ClusterError::UnknownKinds {
            kinds: vec![format!("{api_version}/{kind}")],
        })
    }
}

pub fn resolve_in(discovery: &Discovery, api_version: &str, kind: &str) -> Option<Served> {
    let gvk = match api_version.split_once('/') {
        Some((group, version)) => GroupVersionKind::gvk(group, version, kind),
        None => GroupVersionKind::gvk("", api_version, kind),
    };
    discovery.resolve_gvk(&gvk).map(|(resource, capabilities)| Served {
        resource,
        namespaced: capabilities.scope == ResourceScope::Namespaced,
    })
}

fn kubeconfig_message(error: &kube::config::KubeconfigError) -> String {
    // The error's own text names fields and contexts, not credential values.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_elapsed: Duration::from_secs(10),
        };
        assert_eq!(policy.backoff(0, 0.0), Duration::from_millis(50));
        assert_eq!(policy.backoff(0, 1.0), Duration::from_millis(100));
        assert_eq!(policy.backoff(2, 0.0), Duration::from_millis(200));
        assert_eq!(policy.backoff(10, 1.0), Duration::from_secs(1));
        let r = jitter_random(3);
        assert!((0.0..1.0).contains(&r));
    }

    #[tokio::test]
    async fn bad_inline_kubeconfig_is_a_clear_error() {
        let target =
            Target { kubeconfig: KubeconfigSource::Inline("not: [valid".into()), context: None };
        let error = Cluster::connect(&target, RetryPolicy::default()).await.unwrap_err();
        assert!(error.to_string().starts_with("kubeconfig (inline content):"), "{error}");
        let target = Target {
            kubeconfig: KubeconfigSource::Inline(
                "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n".into(),
            ),
            context: Some("missing".into()),
        };
        let error = Cluster::connect(&target, RetryPolicy::default()).await.unwrap_err();
        assert!(error.to_string().contains("missing"), "{error}");
    }
}
