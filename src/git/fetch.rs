//! Fetching from git remotes in-process with gix: no `git` binary is needed for https, http and
//! `git://` remotes (`file://` and `ssh://` use git's own `git-upload-pack` and `ssh` programs,
//! as git does). Every fetch is bounded: it runs on its own thread under a watchdog that gives
//! up after the time limit and interrupts the transfer once the pack being received grows past
//! the size limit.
//!
//! This module knows how to talk to a remote and nothing about why: `remote_cache` fetches
//! kustomize's remote bases with it, `deepen` completes the user's shallow clone. Credentials
//! are an `Authorization` header (what actions/checkout configures as `http.<url>.extraheader`),
//! given per fetch and never written to any config file or message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kustomize::RemoteErrorKind;

use super::CommitId;

/// Bounds on one fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    /// Wall-clock limit for the whole fetch (connect, listing, pack).
    pub timeout: Duration,
    /// Largest pack (or file) accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        // kustomize's default `?timeout=` and a size far above any kustomization repository
        // we have seen, yet small enough to keep a runner's disk.
        Self { timeout: kustomize::remote::DEFAULT_TIMEOUT, max_bytes: 512 * 1024 * 1024 }
    }
}

/// Why a fetch failed. `kind` is what callers branch on; the message names the URL (without
/// credentials) and says what happened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    pub kind: RemoteErrorKind,
    pub message: String,
}

impl FetchError {
    pub(crate) fn new(kind: RemoteErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// How much history a fetch brings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// This many commits behind each wanted tip, counted at the remote (`--depth=N`).
    AtRemote(u32),
    /// Extend the local shallow boundary by this many commits (`--deepen=N`).
    Deepen(u32),
}

/// One fetch: from `url` into the repository at `git_dir`, the objects `refspecs` name.
#[derive(Clone, Debug)]
pub struct FetchRequest {
    pub git_dir: PathBuf,
    pub url: String,
    /// Refspecs as git writes them; a source without destination updates no local ref.
    pub refspecs: Vec<String>,
    pub depth: Depth,
    /// An `Authorization: …` header line sent with every http(s) request.
    pub auth_header: Option<String>,
    pub limits: FetchLimits,
}

/// What the remote advertised for the wanted refspecs: per match, the remote ref's full name
/// (`None` when the refspec was an object id) and the object it points to, peeled through
/// annotated tags when the remote said so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertised {
    pub matches: Vec<(Option<String>, gix::ObjectId)>,
    /// Whether a pack was received (false when `skip_pack` found everything present).
    pub received: bool,
}

/// Lists the remote's refs for `request.refspecs`, then — unless `skip_pack` says the local
/// repository already has what was listed — receives the pack. Bounded by `request.limits`.
pub fn fetch(
    request: &FetchRequest,
    skip_pack: impl Fn(&Advertised) -> bool + Send + 'static,
) -> Result<Advertised, FetchError> {
    install_crypto_provider();
    let owned = request.clone();
    let pack_dir = request.git_dir.join("objects").join("pack");
    bounded(&request.url, request.limits, Some(pack_dir), move |interrupt| {
        fetch_now(&owned, &skip_pack, interrupt)
    })
}

/// Runs `job` on its own thread and waits at most `limits.timeout` for it; while it runs, the
/// files in `watch` may grow by at most `limits.max_bytes`. Past either bound the job is told to
/// stop (through the flag gix checks while it receives) and the caller gets the error at once:
/// a transfer stuck in a read is left to finish on its own.
pub(crate) fn bounded<T: Send + 'static>(
    url: &str,
    limits: FetchLimits,
    watch: Option<PathBuf>,
    job: impl FnOnce(&AtomicBool) -> Result<T, FetchError> + Send + 'static,
) -> Result<T, FetchError> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("git-fetch".into()).spawn(move || {
        // The receiver may be gone (timed out); the result is then of no use to anyone.
        let _ = sender.send(job(&flag));
    });
    if let Err(err) = spawned {
        return Err(FetchError::new(
            RemoteErrorKind::Transport,
            format!("{url}: cannot start the fetch: {err}"),
        ));
    }
    let start = Instant::now();
    let baseline = watch.as_deref().map(dir_size).unwrap_or(0);
    loop {
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => return result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(FetchError::new(
                    RemoteErrorKind::Transport,
                    format!("{url}: the fetch stopped without a result"),
                ));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if start.elapsed() >= limits.timeout {
            interrupt.store(true, Ordering::Relaxed);
            return Err(FetchError::new(
                RemoteErrorKind::Timeout,
                format!("{url}: no answer within {:?} (the fetch timed out)", limits.timeout),
            ));
        }
        let grown = watch.as_deref().map(dir_size).unwrap_or(0).saturating_sub(baseline);
        if grown > limits.max_bytes {
            interrupt.store(true, Ordering::Relaxed);
            // Give the transfer a moment to notice and remove its temporary pack.
            let _ = receiver.recv_timeout(Duration::from_secs(2));
            return Err(FetchError::new(
                RemoteErrorKind::TooLarge,
                format!("{url}: the fetch exceeded its size limit of {} bytes", limits.max_bytes),
            ));
        }
    }
}

/// Bytes held by the files directly in `dir` (0 when it cannot be read).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.metadata().ok())
        .filter(std::fs::Metadata::is_file)
        .map(|metadata| metadata.len())
        .sum()
}

fn fetch_now(
    request: &FetchRequest,
    skip_pack: &dyn Fn(&Advertised) -> bool,
    interrupt: &AtomicBool,
) -> Result<Advertised, FetchError> {
    let url = request.url.as_str();
    let fail = |kind: RemoteErrorKind, what: &str, err: &dyn std::fmt::Display| {
        FetchError::new(kind, format!("{url}: {what}: {err}"))
    };
    let transport = |what: &str, err: &dyn std::fmt::Display| {
        if interrupt.load(Ordering::Relaxed) {
            FetchError::new(RemoteErrorKind::Timeout, format!("{url}: interrupted while {what}"))
        } else {
            fail(RemoteErrorKind::Transport, what, err)
        }
    };
    let mut repo = gix::open_opts(&request.git_dir, gix::open::Options::isolated())
        .map_err(|err| fail(RemoteErrorKind::Transport, "opening the local repository", &err))?;
    let seconds = request.limits.timeout.as_secs().max(1);
    let mut settings = vec![
        format!("gitoxide.http.connectTimeout={}", request.limits.timeout.as_millis().max(1)),
        // A server that stops sending for the whole limit is as good as gone.
        "http.lowSpeedLimit=1".to_owned(),
        format!("http.lowSpeedTime={seconds}"),
    ];
    if let Some(header) = &request.auth_header {
        settings.push(format!("http.extraHeader={header}"));
    }
    repo.config_snapshot_mut()
        .append_config(settings.iter().map(String::as_str), gix::config::Source::Api)
        .map_err(|err| fail(RemoteErrorKind::Transport, "configuring the fetch", &err))?;
    let remote = repo
        .remote_at(url)
        // Only what was asked for: no tags followed along (`git fetch --no-tags`).
        .map(|remote| remote.with_fetch_tags(gix::remote::fetch::Tags::None))
        .and_then(|remote| {
            remote.with_refspecs(
                request.refspecs.iter().map(String::as_str),
                gix::remote::Direction::Fetch,
            )
        })
        .map_err(|err| fail(RemoteErrorKind::Transport, "invalid remote or refspec", &err))?;
    let connection = remote
        .connect(gix::remote::Direction::Fetch)
        .map_err(|err| transport("connecting", &err))?;
    let prepare = connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|err| transport("listing the remote's refs", &err))?;
    let matches: Vec<(Option<String>, gix::ObjectId)> = prepare
        .ref_map()
        .mappings
        .iter()
        .filter(|mapping| {
            matches!(
                mapping.spec_index,
                gix::protocol::fetch::refmap::SpecIndex::ExplicitInRemote(_)
            )
        })
        .filter_map(|mapping| {
            use gix::protocol::fetch::refmap::Source;
            match &mapping.remote {
                Source::ObjectId(id) => Some((None, *id)),
                Source::Ref(reference) => {
                    let (name, target, peeled) = reference.unpack();
                    let id = peeled.or(target)?.to_owned();
                    Some((Some(name.to_string()), id))
                }
            }
        })
        .collect();
    let mut advertised = Advertised { matches, received: false };
    if advertised.matches.is_empty() || skip_pack(&advertised) {
        return Ok(advertised);
    }
    let shallow = match request.depth {
        Depth::AtRemote(depth) => gix::remote::fetch::Shallow::DepthAtRemote(
            std::num::NonZeroU32::new(depth.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
        ),
        Depth::Deepen(by) => gix::remote::fetch::Shallow::Deepen(by),
    };
    prepare
        .with_shallow(shallow)
        .receive(gix::progress::Discard, interrupt)
        .map_err(|err| transport("receiving the pack", &err))?;
    advertised.received = true;
    Ok(advertised)
}

/// The commit `id` names in the repository at `git_dir`, peeling annotated tags.
pub fn peel_to_commit(git_dir: &Path, id: gix::ObjectId) -> Option<CommitId> {
    let repo = gix::open_opts(git_dir, gix::open::Options::isolated()).ok()?;
    let object = repo.try_find_object(id).ok()??;
    object.peel_to_commit().ok().map(|commit| CommitId::from(commit.id))
}

/// rustls needs one process-wide crypto provider; like the rest of the binary (kube, reqwest
/// 0.12) we use ring, so no C build of aws-lc is needed.
pub(crate) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another part of the program may have installed one first; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The `Authorization` header actions/checkout sends to GitHub with the action's token
/// (`basic base64("x-access-token:<token>")`).
pub fn github_token_header(token: &str) -> String {
    use base64::Engine as _;
    let credentials = format!("x-access-token:{token}");
    format!(
        "AUTHORIZATION: basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_header_is_what_actions_checkout_writes() {
        assert_eq!(github_token_header("abc"), "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46YWJj");
    }

    #[test]
    fn a_job_past_its_time_limit_is_a_timeout() {
        let limits = FetchLimits { timeout: Duration::from_millis(200), max_bytes: 1 };
        let started = Instant::now();
        let err = bounded("http://127.0.0.1:1/x", limits, None, |_| -> Result<(), FetchError> {
            std::thread::sleep(Duration::from_secs(3));
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err.kind, RemoteErrorKind::Timeout);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
