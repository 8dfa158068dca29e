//! Remote bases end to end: bare repositories built here (tags, branches, nested remote bases,
//! a remote component), served on loopback by smart HTTP (`git http-backend` behind
//! `support::git_server`), by `git daemon` and as `file://`, rendered through `RemoteCache`
//! (gix, no git CLI for http) and compared with `kubectl kustomize` against the same servers.
//! Also: errors within the timeout, one fetch for many units, the cache across runs, refused
//! mutable refs, and deepening a shallow clone over authenticated smart HTTP with gix.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitops_env::git::diff_base::{self, ChangesSource, DiffRequest, FetchPolicy};
use gitops_env::git::fetch::FetchLimits;
use gitops_env::git::remote_cache::{RefKind, RemoteCache, RemoteCacheOptions};
use gitops_env::git::{CommitId, GitRepo};
use kustomize::{BuildOptions, DiskFs, RemoteErrorKind, RemoteLoader};

use crate::support::git_repo::TestRepo;
use crate::support::git_server::{GitDaemon, GitHttpServer, HangingServer};

const CM: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  value: VALUE\n";

fn cm(name: &str, value: &str) -> String {
    CM.replace("NAME", name).replace("VALUE", value)
}

/// The repositories every test serves, under one root.
struct Upstream {
    root: tempfile::TempDir,
    /// Commit of tag `v1` (annotated) and `v1-light` (lightweight).
    v1: String,
    /// Tip of `main` (one commit after v1) and of `feature`.
    main: String,
    feature: String,
}

impl Upstream {
    /// `upstream.git` and `other.git`; `upstream`'s `nested` base names `other` through
    /// `other_base` (a URL of the server the test uses).
    fn new(root: tempfile::TempDir, other_base: impl Fn(&Path) -> String) -> Self {
        let other = TestRepo::new();
        other
            .write("x/kustomization.yaml", "resources:\n- cm.yaml\n")
            .write("x/cm.yaml", &cm("other", "o1"));
        other.commit("other");
        other.git(&["tag", "v1"]);
        other.bare_clone(&root.path().join("other.git"));

        let work = TestRepo::new();
        work.write("deploy/base/kustomization.yaml", "resources:\n- cm.yaml\n")
            .write("deploy/base/cm.yaml", &cm("app", "v1"))
            .write("deploy/prod/kustomization.yaml", "namePrefix: prod-\nresources:\n- ../base\n")
            .write(
                "components/label/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels:\n  from: component\n",
            )
            .write("deploy/escape/kustomization.yaml", "resources:\n- ../base/cm.yaml\n")
            .write("nested/kustomization.yaml", &format!("resources:\n- {}\n", other_base(root.path())));
        let v1 = work.commit("v1");
        work.git(&["tag", "-a", "v1", "-m", "release v1"]);
        work.git(&["tag", "v1-light"]);
        work.write("deploy/base/cm.yaml", &cm("app", "main"));
        let main = work.commit("main moves on");
        work.checkout_new("feature");
        work.write("deploy/base/cm.yaml", &cm("app", "feature"));
        let feature = work.commit("feature");
        work.checkout("main");
        work.bare_clone(&root.path().join("upstream.git"));
        Self { root, v1, main, feature }
    }

    fn file_url(&self, repo: &str) -> String {
        format!("file://{}/{repo}", self.root.path().display())
    }
}

fn cache(dir: &Path) -> Arc<RemoteCache> {
    let mut options = RemoteCacheOptions::new(dir);
    options.limits = FetchLimits { timeout: Duration::from_secs(20), ..FetchLimits::default() };
    Arc::new(RemoteCache::new(options))
}

/// A local repository of units, each `name` holding a kustomization with `body`.
fn units(units: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp");
    for (name, body) in units {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("kustomization.yaml"), body).unwrap();
    }
    dir
}

fn ours(dir: &Path, unit: &str, loader: &Arc<RemoteCache>) -> Result<String, String> {
    let fs = DiskFs::new(dir).unwrap();
    let options = BuildOptions {
        remote: Some(loader.clone() as Arc<dyn RemoteLoader>),
        ..BuildOptions::default()
    };
    kustomize::build_yaml(&fs, unit, &options).map_err(|err| err.to_string())
}

/// `kubectl kustomize` (kustomize v5.5.0 and the git CLI), or `None` when kubectl is absent
/// outside CI.
fn kubectl(dir: &Path, unit: &str) -> Option<Result<String, String>> {
    let home = tempfile::tempdir().unwrap();
    let output = match Command::new("kubectl")
        .arg("kustomize")
        .arg(dir.join(unit))
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
    {
        Ok(output) => output,
        Err(_) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipping the kubectl reference: kubectl is not installed");
            return None;
        }
        Err(err) => panic!("kubectl is required under CI=true: {err}"),
    };
    Some(if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    })
}

/// `gitops-env render --remote-cache CACHE DIR`, in-process: its output, or its error output.
fn render_command(dir: &Path, cache: &Path) -> Result<String, String> {
    let args: Vec<std::ffi::OsString> = vec![
        "gitops-env".into(),
        "render".into(),
        "--remote-cache".into(),
        cache.into(),
        dir.into(),
    ];
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = gitops_env::run(args, &[], &mut stdout, &mut stderr);
    if code == std::process::ExitCode::SUCCESS {
        Ok(String::from_utf8(stdout).unwrap())
    } else {
        Err(String::from_utf8(stderr).unwrap())
    }
}

fn http_upstream() -> (GitHttpServer, Upstream) {
    let root = tempfile::tempdir().unwrap();
    let server = GitHttpServer::start(root.path());
    let base = server.url();
    let upstream = Upstream::new(root, |_| format!("{base}/other.git//x?ref=v1"));
    (server, upstream)
}

#[test]
fn remote_bases_components_and_files_render_as_kubectl_renders_them() {
    let (server, upstream) = http_upstream();
    let two = format!("{}---\n{}", cm("one", "1"), cm("two", "2"));
    server.file("/files/install.yaml", &two);
    let http = server.url();
    let file = upstream.file_url("upstream.git");
    let cases: Vec<(&str, String)> = vec![
        ("http-tag", format!("resources:\n- {http}/upstream.git//deploy/prod?ref=v1\n")),
        (
            "http-light-tag",
            format!("resources:\n- {http}/upstream.git//deploy/base?ref=v1-light\n"),
        ),
        (
            "http-branch",
            format!(
                "namespace: team\nresources:\n- {http}/upstream.git//deploy/prod?ref=feature\n"
            ),
        ),
        (
            "http-sha",
            format!("resources:\n- {http}/upstream.git//deploy/base?ref={}\n", upstream.main),
        ),
        ("http-head", format!("resources:\n- {http}/upstream.git//deploy/base\n")),
        (
            "http-version",
            format!("resources:\n- {http}/upstream.git//deploy/base?version=v1&timeout=30s\n"),
        ),
        (
            "http-component",
            format!(
                "resources:\n- {http}/upstream.git//deploy/base?ref=v1\ncomponents:\n- {http}/upstream.git//components/label?ref=v1\n"
            ),
        ),
        ("http-nested", format!("resources:\n- {http}/upstream.git//nested?ref=v1\n")),
        ("http-file", format!("namePrefix: x-\nresources:\n- {http}/files/install.yaml\n")),
        (
            "http-origins",
            format!(
                "buildMetadata: [originAnnotations]\nresources:\n- {http}/upstream.git//deploy/prod?ref=v1\n- {http}/files/install.yaml\n"
            ),
        ),
        ("file-tag", format!("resources:\n- {file}//deploy/prod?ref=v1\n")),
        ("file-branch", format!("resources:\n- {file}//deploy/base?ref=feature\n")),
        ("escape", format!("resources:\n- {http}/upstream.git//deploy/escape?ref=v1\n")),
        ("as-component", format!("resources:\n- {http}/upstream.git//components/label?ref=v1\n")),
    ];
    let dir = units(&cases);
    let cache_dir = tempfile::tempdir().unwrap();
    let loader = cache(cache_dir.path());
    let cli_cache = tempfile::tempdir().unwrap();
    for (unit, _) in &cases {
        let ours = ours(dir.path(), unit, &loader);
        match (unit, &ours) {
            (&"escape" | &"as-component", Err(_)) => {}
            (&"escape" | &"as-component", Ok(out)) => panic!("{unit} built:\n{out}"),
            (_, Err(err)) => panic!("{unit}: {err}"),
            (_, Ok(_)) => {}
        }
        // `gitops-env render` gives the same, through a remote cache of its own.
        let cli = render_command(&dir.path().join(unit), cli_cache.path());
        match (&ours, &cli) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{unit}: gitops-env render differs"),
            (Err(_), Err(_)) => {}
            _ => panic!("{unit}: library {ours:?}, gitops-env render {cli:?}"),
        }
        let Some(reference) = kubectl(dir.path(), unit) else { continue };
        match (&ours, &reference) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{unit} differs from kubectl"),
            (Err(_), Err(_)) => {}
            _ => panic!("{unit}: ours {ours:?}, kubectl {reference:?}"),
        }
    }
    let resolved = loader.resolved();
    let kind = |url: &str, git_ref: &str| {
        resolved
            .iter()
            .find(|r| r.url == url && r.git_ref == git_ref)
            .map(|r| (r.kind, r.commit.to_string()))
    };
    let up = format!("{http}/upstream.git");
    assert_eq!(kind(&up, "v1"), Some((RefKind::Tag, upstream.v1.clone())));
    assert_eq!(kind(&up, "feature"), Some((RefKind::Branch, upstream.feature.clone())));
    assert_eq!(kind(&up, &upstream.main), Some((RefKind::Commit, upstream.main.clone())));
    assert_eq!(kind(&up, "HEAD"), Some((RefKind::Head, upstream.main.clone())));
}

#[test]
fn missing_repositories_refs_and_paths_fail_clearly_as_kubectl_fails() {
    let (server, _upstream) = http_upstream();
    let http = server.url();
    let cases: Vec<(&str, String, &str)> = vec![
        ("no-repo", format!("{http}/nope.git//deploy?ref=v1"), "nope.git"),
        ("no-ref", format!("{http}/upstream.git//deploy/base?ref=v9"), "'v9'"),
        ("no-path", format!("{http}/upstream.git//not/here?ref=v1"), "'not/here' does not exist"),
        ("no-file", format!("{http}/gone.yaml"), "404"),
    ];
    let dir = units(
        &cases.iter().map(|(u, url, _)| (*u, format!("resources:\n- {url}\n"))).collect::<Vec<_>>(),
    );
    let cache_dir = tempfile::tempdir().unwrap();
    let loader = cache(cache_dir.path());
    for (unit, url, says) in &cases {
        let started = Instant::now();
        let err = ours(dir.path(), unit, &loader).expect_err(unit);
        assert!(started.elapsed() < Duration::from_secs(20), "{unit} took {:?}", started.elapsed());
        assert!(err.contains(url.as_str()) && err.contains(says), "{unit}: {err}");
        if let Some(reference) = kubectl(dir.path(), unit) {
            assert!(reference.is_err(), "{unit}: kubectl built it");
        }
    }
}

#[test]
fn a_server_that_never_answers_fails_within_the_timeout() {
    let hang = HangingServer::start();
    let dir = units(&[(
        "app",
        format!("resources:\n- {}/org/repo.git//deploy?ref=v1&timeout=2s\n", hang.url()),
    )]);
    let cache_dir = tempfile::tempdir().unwrap();
    let mut options = RemoteCacheOptions::new(cache_dir.path());
    options.limits.timeout = Duration::from_secs(2);
    let loader = Arc::new(RemoteCache::new(options));
    let started = Instant::now();
    let err = ours(dir.path(), "app", &loader).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(err.contains("timed out") && err.contains(&hang.url()), "{err}");
}

#[test]
fn twenty_units_sharing_a_remote_base_fetch_it_once() {
    let (server, _upstream) = http_upstream();
    let entry = format!("resources:\n- {}/upstream.git//deploy/base?ref=v1\n", server.url());
    let names: Vec<String> = (0..20).map(|i| format!("unit-{i:02}")).collect();
    let dir = units(
        &names
            .iter()
            .map(|n| (n.as_str(), format!("namePrefix: {n}-\n{entry}")))
            .collect::<Vec<_>>(),
    );

    let one_dir = tempfile::tempdir().unwrap();
    server.forget();
    ours(dir.path(), "unit-00", &cache(one_dir.path())).unwrap();
    let for_one = server.seen();
    let packs = for_one.iter().filter(|s| s.method == "POST").count();
    assert!(packs >= 1, "{for_one:?}");

    let cache_dir = tempfile::tempdir().unwrap();
    let loader = cache(cache_dir.path());
    server.forget();
    std::thread::scope(|scope| {
        for name in &names {
            let (loader, dir) = (&loader, dir.path());
            scope.spawn(move || ours(dir, name, loader).unwrap());
        }
    });
    assert_eq!(
        server.seen().len(),
        for_one.len(),
        "20 units: {:?}\n1 unit: {for_one:?}",
        server.seen()
    );
}

#[test]
fn across_runs_tags_and_commits_come_from_the_cache_and_branches_are_resolved_again() {
    let (server, upstream) = http_upstream();
    let http = server.url();
    let dir = units(&[
        ("tag", format!("resources:\n- {http}/upstream.git//deploy/base?ref=v1\n")),
        ("sha", format!("resources:\n- {http}/upstream.git//deploy/base?ref={}\n", upstream.main)),
        ("branch", format!("resources:\n- {http}/upstream.git//deploy/base?ref=feature\n")),
    ]);
    let cache_dir = tempfile::tempdir().unwrap();
    for unit in ["tag", "sha", "branch"] {
        ours(dir.path(), unit, &cache(cache_dir.path())).unwrap();
    }
    // The next run (a new cache over the same directory, as actions/cache restores it).
    let next = cache(cache_dir.path());
    for (unit, git_requests) in [("tag", false), ("sha", false), ("branch", true)] {
        server.forget();
        ours(dir.path(), unit, &next).unwrap();
        let seen = server.seen();
        assert_eq!(seen.iter().any(|s| s.is_git()), git_requests, "{unit}: {seen:?}");
        // A branch is listed again, but its unchanged commit is not fetched again.
        assert!(
            !seen.iter().any(|s| s.target.ends_with("/git-upload-pack")
                && s.method == "POST"
                && unit != "branch"),
            "{unit}: {seen:?}"
        );
    }
}

#[test]
fn mutable_refs_can_be_refused_for_production() {
    let (server, upstream) = http_upstream();
    let http = server.url();
    let dir = units(&[
        ("branch", format!("resources:\n- {http}/upstream.git//deploy/base?ref=feature\n")),
        ("head", format!("resources:\n- {http}/upstream.git//deploy/base\n")),
        ("tag", format!("resources:\n- {http}/upstream.git//deploy/base?ref=v1\n")),
    ]);
    let cache_dir = tempfile::tempdir().unwrap();
    let mut options = RemoteCacheOptions::new(cache_dir.path());
    options.allow_mutable_refs = false;
    let loader = Arc::new(RemoteCache::new(options));
    let err = ours(dir.path(), "branch", &loader).unwrap_err();
    assert!(
        err.contains("the branch 'feature' is mutable") && err.contains(&upstream.feature),
        "{err}"
    );
    let err = ours(dir.path(), "head", &loader).unwrap_err();
    assert!(err.contains("no ref"), "{err}");
    assert!(ours(dir.path(), "tag", &loader).unwrap().contains("value: v1"));
}

#[test]
fn an_environment_set_to_refuse_mutable_refs_fails_its_branch_units_and_only_those() {
    // The settings pin production; testing may follow a branch. One remote cache serves both:
    // the branch is resolved once, and the comment says what it resolved to.
    let (server, upstream) = http_upstream();
    let http = server.url();
    let repo = crate::support::git_repo::TestRepo::new();
    let on_branch = format!("resources:\n- {http}/upstream.git//deploy/base?ref=feature\n");
    repo.write(
        ".github/gitops-env.yaml",
        "environments:\n- name: testing\n  branch: develop\n- name: production\n  branch: main\n  \
         remotes:\n    mutable-refs: false\n",
    )
    .write("apps/overlays/testing/up/kustomization.yaml", &on_branch)
    .write("apps/overlays/production/up/kustomization.yaml", &on_branch)
    .write(
        "apps/overlays/production/pinned/kustomization.yaml",
        &format!("resources:\n- {http}/upstream.git//deploy/base?ref=v1\n"),
    );
    repo.commit("units");
    let cache = tempfile::tempdir().unwrap();
    let args: Vec<std::ffi::OsString> = [
        "gitops-env",
        "plan",
        "--repo",
        repo.path().to_str().unwrap(),
        "--remote-cache",
        cache.path().to_str().unwrap(),
    ]
    .iter()
    .map(Into::into)
    .collect();
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = gitops_env::run(args, &[], &mut stdout, &mut stderr);
    let out = String::from_utf8(stdout).unwrap();
    assert_eq!(code, std::process::ExitCode::FAILURE, "{out}");
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("❌ failed")).collect();
    assert_eq!(failed.len(), 1, "{out}");
    assert!(failed[0].contains("apps/overlays/production/up"), "{out}");
    assert!(
        out.contains("the branch 'feature' is mutable and mutable refs are not allowed here"),
        "{out}"
    );
    for unit in ["apps/overlays/testing/up", "apps/overlays/production/pinned"] {
        assert!(out.contains(&format!("| `{unit}` | ⛔ blocked | +1 ~0 -0 |")), "{unit}: {out}");
    }
    assert!(
        out.contains(&format!(
            "- remote `{http}/upstream.git` at branch `feature`: commit `{}`",
            &upstream.feature[..12]
        )),
        "{out}"
    );
    let listings = server.seen().iter().filter(|s| s.target.contains("/info/refs")).count();
    assert_eq!(listings, 2, "the branch and the tag, each listed once: {:?}", server.seen());
}

#[test]
fn git_daemon_remotes_are_fetched_in_process() {
    let root = tempfile::tempdir().unwrap();
    let daemon = GitDaemon::start(root.path());
    let base = daemon.url();
    let upstream = Upstream::new(root, |_| format!("{base}/other.git//x?ref=v1"));
    let cache_dir = tempfile::tempdir().unwrap();
    let loader = cache(cache_dir.path());
    let target = kustomize::GitTarget {
        raw: format!("{base}/upstream.git//deploy/base?ref=v1"),
        host: format!("{base}/"),
        repo_path: "upstream.git".into(),
        path: "deploy/base".into(),
        git_ref: Some("v1".into()),
        submodules: false,
        timeout: Duration::from_secs(20),
    };
    let tree = loader.git_tree(&target).unwrap();
    assert_eq!(tree.commit, upstream.v1);
    let cm = tree.fs.read_file("deploy/base/cm.yaml").unwrap();
    assert!(String::from_utf8(cm).unwrap().contains("value: v1"));
    let missing = kustomize::GitTarget { git_ref: Some("v9".into()), ..target };
    assert_eq!(loader.git_tree(&missing).unwrap_err().kind, RemoteErrorKind::RefNotFound);
    // kustomize knows no git:// URLs: such an entry is a (missing) local path to both.
    let dir = units(&[("app", format!("resources:\n- {base}/upstream.git//deploy/base?ref=v1\n"))]);
    assert!(ours(dir.path(), "app", &loader).is_err());
    if let Some(reference) = kubectl(dir.path(), "app") {
        assert!(reference.is_err());
    }
}

#[test]
fn a_shallow_clone_is_deepened_with_gix_over_authenticated_smart_http() {
    let root = tempfile::tempdir().unwrap();
    let server = GitHttpServer::start(root.path());
    let (origin, main, feature) = crate::git::origin_with_history();
    origin.bare_clone(&root.path().join("origin.git"));
    let url = format!("{}/origin.git", server.url());
    let clone = TestRepo::clone_from(&url, &["--depth=1", "--branch=feature"]);
    // What actions/checkout leaves behind: the token as an extra header for the server.
    let header = gitops_env::git::fetch::github_token_header("s3cret");
    clone.git(&["config", &format!("http.{}/.extraheader", server.url()), &header]);
    server.require_authorization(header.trim_start_matches("AUTHORIZATION: "));
    assert!(GitRepo::open(clone.path()).unwrap().is_shallow());

    let fetcher =
        gitops_env::git::deepen::GixFetcher::detect(clone.path(), "origin", FetchLimits::default())
            .expect("a remote");
    let request = DiffRequest::PullRequest { base: main[5].clone(), head: feature.clone() };
    let policy = FetchPolicy { max_rounds: 4, first_depth: 1 };
    server.forget();
    let (_, changes) =
        diff_base::changes(clone.path(), &request, Some(&fetcher), None, policy).unwrap();
    assert_eq!(changes.diff_base.base, CommitId::parse(&main[3]).unwrap());
    assert_eq!(changes.source, ChangesSource::Git);
    assert!(changes.fetch_rounds >= 1);
    let seen = server.seen();
    assert!(
        !seen.is_empty()
            && seen.iter().all(|s| s.authorization.as_deref()
                == Some(header.trim_start_matches("AUTHORIZATION: "))),
        "{seen:?}"
    );
    // Without the header the server refuses, and the error says so without the secret.
    clone.git(&["config", "--unset", &format!("http.{}/.extraheader", server.url())]);
    let unauthenticated =
        gitops_env::git::deepen::GixFetcher::detect(clone.path(), "origin", FetchLimits::default())
            .unwrap();
    let err = gitops_env::git::diff_base::HistoryFetcher::deepen(&unauthenticated, 1).unwrap_err();
    assert!(!err.contains("s3cret"), "{err}");
}
