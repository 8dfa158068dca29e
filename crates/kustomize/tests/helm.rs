//! `helmCharts` against the real tool: every case of `tests/helm-cases/cases` is built by us with
//! helm v3.17.2 and compared with what `kubectl kustomize --enable-helm --helm-command <helm>`
//! printed for it (`expected.yaml`), or, where kustomize failed (`expected-error.txt`), must
//! fail too (outcome parity). Charts come from the case's chartHome, from a chart repository
//! this test serves on loopback (index.yaml + packaged charts) and from an OCI registry on
//! loopback (Debian's `docker-registry`). See `tests/helm-cases/README.md` for the layout.
//!
//! When kubectl is on the PATH the references are re-checked against it in the same run, so they
//! cannot rot; `UPDATE_HELM_CASES=1` rewrites them from kubectl. Cases we do not match yet are
//! listed in `helm-known-deviations.txt` (case<TAB>reason), a list that may only shrink.
//!
//! Without helm (or, for the OCI cases, `docker-registry`) the tests skip, unless `CI=true`. The
//! tests at the end use a fake helm (a shell script) and need neither.

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kustomize::{
    BuildError, BuildOptions, ChartSource, DiskFs, Helm, HelmError, HelmOptions, MemoryFs,
    RecordingFs,
};

const KNOWN_DEVIATIONS: &str = "tests/helm-known-deviations.txt";
/// The repository versions of the `webapp` chart: the test packages the chart source at each.
const REPO_VERSIONS: [&str; 2] = ["1.0.0", "1.1.0"];

fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm-cases")
}

/// A static file server on loopback that remembers the paths it was asked for.
struct ChartServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    address: std::net::SocketAddr,
}

impl ChartServer {
    fn start(root: PathBuf) -> ChartServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let address = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (root, log) = (root.clone(), log.clone());
                std::thread::spawn(move || serve(stream, &root, &log));
            }
        });
        ChartServer { url: format!("http://{address}"), requests, stop, address }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ChartServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.address);
    }
}

fn serve(stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    log.lock().unwrap().push(path.clone());
    let file = root.join(path.trim_start_matches('/').split('?').next().unwrap_or(""));
    let mut stream = stream;
    let response = match std::fs::read(&file) {
        Ok(body) if file.is_file() => {
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            head.extend(body);
            head
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&response);
}

/// Debian's `docker-registry` serving on a loopback port, stopped on drop.
struct Registry {
    child: Child,
    url: String,
}

impl Registry {
    fn start(work: &Path) -> Option<Registry> {
        let Some(binary) = which("docker-registry") else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but docker-registry is missing (needed for the OCI helm cases)");
            }
            eprintln!("skipping the OCI helm cases: docker-registry is not installed");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let config = work.join("registry.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                work.join("registry-data").display()
            ),
        )
        .ok()?;
        let child = Command::new(binary)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry { child, url: format!("oci://127.0.0.1:{port}/charts") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

/// Runs helm for the test's own set-up (packaging, indexing, pushing), its homes in `work`.
fn helm_setup(helm: &Path, work: &Path, args: &[&str]) {
    let home = work.join("setup-helm-home");
    let output = Command::new(helm)
        .args(args)
        .env("HELM_CONFIG_HOME", &home)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("run helm");
    assert!(
        output.status.success(),
        "helm {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Everything the cases need: helm, the loopback repository and registry, a scratch directory.
struct World {
    helm: PathBuf,
    work: tempfile::TempDir,
    server: ChartServer,
    registry: Option<Registry>,
}

impl World {
    fn new(what: &str) -> Option<World> {
        let helm = testsupport::helm(what)?;
        let work = tempfile::tempdir().expect("temp dir");
        let repo = work.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        let server = ChartServer::start(repo.clone());
        let registry = Registry::start(work.path());
        for version in REPO_VERSIONS {
            let source = work.path().join(format!("source-{version}/webapp"));
            copy_tree(&cases_root().join("charts/webapp"), &source);
            let chart_yaml = source.join("Chart.yaml");
            let text = std::fs::read_to_string(&chart_yaml).unwrap();
            std::fs::write(
                &chart_yaml,
                text.replace("\nversion: 1.0.0\n", &format!("\nversion: {version}\n")),
            )
            .unwrap();
            helm_setup(
                &helm,
                work.path(),
                &["package", source.to_str().unwrap(), "-d", repo.to_str().unwrap()],
            );
            if let Some(registry) = &registry {
                let archive = repo.join(format!("webapp-{version}.tgz"));
                helm_setup(&helm, work.path(), &["push", archive.to_str().unwrap(), &registry.url]);
            }
        }
        helm_setup(
            &helm,
            work.path(),
            &["repo", "index", repo.to_str().unwrap(), "--url", &server.url],
        );
        Some(World { helm, work, server, registry })
    }

    /// Lays out case `name` under `<work>/<label>/<name>`: its input, its charts, the loopback
    /// URLs. Returns the directory to build, relative to the returned root.
    fn lay_out(&self, name: &str, label: &str) -> (PathBuf, String) {
        let case = cases_root().join("cases").join(name);
        let root = self.work.path().join(label).join(name);
        copy_tree(&case.join("input"), &root);
        if let Ok(charts) = std::fs::read_to_string(case.join("charts.txt")) {
            for line in charts.lines().filter(|l| !l.trim().is_empty()) {
                let (chart, target) = line.split_once(' ').expect("charts.txt: CHART TARGET");
                copy_tree(&cases_root().join("charts").join(chart), &root.join(target.trim()));
            }
        }
        let oci = self.registry.as_ref().map_or("oci://127.0.0.1:9/none", |r| r.url.as_str());
        substitute(&root, &self.server.url, oci);
        let dir = std::fs::read_to_string(case.join("build-dir.txt"))
            .map(|d| d.trim().to_owned())
            .unwrap_or_default();
        (root, dir)
    }

    fn options(&self, cache: &Path) -> BuildOptions {
        let mut options = HelmOptions::new(&self.helm);
        options.chart_cache = Some(cache.to_path_buf());
        options.timeout = Duration::from_secs(60);
        BuildOptions { helm: Some(Helm::new(options)), ..BuildOptions::default() }
    }

    /// Makes the placeholders of recorded text concrete again, and back.
    fn generalise(&self, text: &str, root: &Path) -> String {
        let mut text = text.replace(&root.display().to_string(), "<case>");
        text = text.replace(&self.helm.display().to_string(), "<helm>");
        text = text.replace(&self.server.url, "@REPO_URL@");
        if let Some(registry) = &self.registry {
            text = text.replace(&registry.url, "@OCI_URL@");
        }
        let tmp = regex::Regex::new(r"/tmp/kustomize-helm-[0-9]+").unwrap();
        tmp.replace_all(&text, "<tmp>").into_owned()
    }
}

fn substitute(dir: &Path, repo: &str, oci: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            substitute(&path, repo, oci);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if text.contains('@') {
                std::fs::write(&path, text.replace("@REPO_URL@", repo).replace("@OCI_URL@", oci))
                    .unwrap();
            }
        }
    }
}

/// What kubectl kustomize makes of a directory: its output, or its error message.
fn kubectl_kustomize(helm: &Path, dir: &Path) -> Option<Result<String, String>> {
    let output = Command::new("kubectl")
        .args(["kustomize", "--enable-helm", "--helm-command"])
        .arg(helm)
        .arg(dir)
        .output()
        .ok()?;
    Some(if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        let text = String::from_utf8_lossy(&output.stderr);
        // Keep kustomize's message only (kubectl wraps it in a log line).
        let message = text.split_once("\"command failed\" err=").map_or(&*text, |(_, m)| m);
        Err(message.trim().to_owned())
    })
}

fn case_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_root().join("cases"))
        .expect("helm-cases/cases")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn helm_cases_match_kubectl_kustomize_enable_helm() {
    let Some(world) = World::new("the helm cases") else { return };
    let update = std::env::var("UPDATE_HELM_CASES").is_ok_and(|v| v == "1");
    let kubectl = which("kubectl").is_some();
    if !kubectl {
        assert!(!update, "UPDATE_HELM_CASES=1 needs kubectl");
        eprintln!("kubectl not found: comparing with the recorded references only");
    }
    let names = case_names();
    assert!(names.len() >= 30, "expected the helm cases, found {}", names.len());
    let cache = world.work.path().join("chart-cache");
    // One `Helm` for all cases, as one run of gitops-env would have.
    let options = world.options(&cache);
    let known = testsupport::read_known_deviations(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join(KNOWN_DEVIATIONS),
    );
    let (mut failures, mut deviations, mut fixed, mut skipped) =
        (Vec::new(), Vec::new(), Vec::new(), 0);
    for name in &names {
        if name.starts_with("oci-") && world.registry.is_none() {
            skipped += 1;
            continue;
        }
        let case_dir = cases_root().join("cases").join(name);
        let (root, dir) = world.lay_out(name, "ours");
        let ours = DiskFs::new(&root)
            .map_err(|e| e.to_string())
            .and_then(|fs| kustomize::build_yaml(&fs, &dir, &options).map_err(|e| e.to_string()));
        let recorded = match std::fs::read_to_string(case_dir.join("expected.yaml")) {
            Ok(text) => Some(Ok(text)),
            Err(_) => std::fs::read_to_string(case_dir.join("expected-error.txt")).ok().map(Err),
        };
        let mut reference = recorded.clone();
        if kubectl {
            let (theirs_root, theirs_dir) = world.lay_out(name, "kubectl");
            let live = kubectl_kustomize(&world.helm, &theirs_root.join(&theirs_dir))
                .expect("run kubectl")
                .map_err(|e| world.generalise(&e, &theirs_root));
            if update {
                let _ = std::fs::remove_file(case_dir.join("expected.yaml"));
                let _ = std::fs::remove_file(case_dir.join("expected-error.txt"));
                match &live {
                    Ok(text) => std::fs::write(case_dir.join("expected.yaml"), text).unwrap(),
                    Err(text) => {
                        std::fs::write(case_dir.join("expected-error.txt"), format!("{text}\n"))
                            .unwrap()
                    }
                }
            } else {
                let same = match (&recorded, &live) {
                    (Some(Ok(a)), Ok(b)) => a == b,
                    (Some(Err(_)), Err(_)) => true,
                    _ => false,
                };
                if !same {
                    failures.push(format!(
                        "{name}: the recorded reference no longer matches kubectl kustomize \
                         (UPDATE_HELM_CASES=1 rewrites it): live {}",
                        match &live {
                            Ok(_) => "builds".to_owned(),
                            Err(e) => format!("fails: {}", e.lines().next().unwrap_or("")),
                        }
                    ));
                }
            }
            reference = Some(live);
        }
        let Some(reference) = reference else {
            failures.push(format!("{name}: no expected.yaml or expected-error.txt"));
            continue;
        };
        let deviation = match (&reference, &ours) {
            (Ok(expected), Ok(actual)) if expected == actual => None,
            (Err(_), Err(_)) => None,
            (Ok(expected), Ok(actual)) => {
                Some(format!("output differs:\n{}", testsupport::unified_diff(expected, actual)))
            }
            (Ok(_), Err(err)) => Some(format!("kustomize builds, we fail: {err}")),
            (Err(err), Ok(_)) => {
                Some(format!("kustomize fails ({}), we build", err.lines().next().unwrap_or("")))
            }
        };
        match (deviation, known.contains_key(name)) {
            (None, true) => fixed.push(name.clone()),
            (None, false) => {}
            (Some(_), true) => deviations.push(name.clone()),
            (Some(detail), false) => failures.push(format!("{name}: {detail}")),
        }
    }
    println!(
        "helm cases: {} of {} match kubectl kustomize --enable-helm ({} known deviations, {skipped} skipped)",
        names.len() - skipped - failures.len() - deviations.len(),
        names.len() - skipped,
        deviations.len()
    );
    assert!(
        failures.is_empty() && fixed.is_empty(),
        "helm cases drifted:\n{}\nlisted in {KNOWN_DEVIATIONS} but now matching (remove them): {fixed:?}",
        failures.join("\n")
    );
}

/// Builds one laid-out case with `options`.
fn build_case(
    world: &World,
    name: &str,
    label: &str,
    options: &BuildOptions,
) -> kustomize::BuildOutput {
    let (root, dir) = world.lay_out(name, label);
    let fs = DiskFs::new(&root).unwrap();
    kustomize::build_output(&fs, &dir, options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_pinned_chart_is_pulled_once_and_a_second_run_needs_no_network() {
    let Some(world) = World::new("helm chart cache") else { return };
    let cache = world.work.path().join("cache");
    let first = build_case(&world, "repo-pinned", "first", &world.options(&cache));
    let after_first = world.server.requests().len();
    assert!(world.server.requests().iter().any(|p| p.ends_with("webapp-1.0.0.tgz")));
    assert_eq!(first.charts.len(), 1);
    assert_eq!(first.charts[0].version, "1.0.0");
    assert_eq!(first.charts[0].source, ChartSource::Pulled { from_cache: false });
    // A new run (a new `Helm`) over the same cache directory: no request at all.
    let second = build_case(&world, "repo-pinned", "second", &world.options(&cache));
    assert_eq!(world.server.requests().len(), after_first, "{:?}", world.server.requests());
    assert_eq!(second.objects, first.objects);
    assert_eq!(second.charts[0].source, ChartSource::Pulled { from_cache: true });
}

#[test]
fn an_unpinned_chart_is_resolved_once_per_run_and_reported() {
    let Some(world) = World::new("unpinned helm charts") else { return };
    let options = world.options(&world.work.path().join("cache"));
    let units: Vec<_> = (0..3)
        .map(|i| build_case(&world, "repo-unpinned", &format!("unit-{i}"), &options))
        .collect();
    let index_requests =
        world.server.requests().iter().filter(|p| p.ends_with("index.yaml")).count();
    assert_eq!(index_requests, 1, "{:?}", world.server.requests());
    for unit in &units {
        assert_eq!(unit.charts[0].requested_version, "");
        assert_eq!(unit.charts[0].version, "1.1.0");
    }
    let pulled = options.helm.as_ref().unwrap().pulled_charts();
    assert_eq!(pulled.len(), 1);
    assert_eq!((pulled[0].name.as_str(), pulled[0].version.as_str()), ("webapp", "1.1.0"));
    // The next run resolves again (an unpinned version is never cached across runs).
    let next = world.options(&world.work.path().join("cache"));
    build_case(&world, "repo-unpinned", "next-run", &next);
    let index_requests =
        world.server.requests().iter().filter(|p| p.ends_with("index.yaml")).count();
    assert_eq!(index_requests, 2);
}

#[test]
fn values_never_reach_error_messages() {
    let Some(world) = World::new("helm error redaction") else { return };
    let (root, _) = world.lay_out("error-chart-fails", "redaction");
    std::fs::write(
        root.join("kustomization.yaml"),
        "helmCharts:\n- name: broken\n  releaseName: b\n  valuesInline:\n    mode: quote-values\n    token: tok-0123456789\n",
    )
    .unwrap();
    let fs = DiskFs::new(&root).unwrap();
    let options = world.options(&world.work.path().join("cache"));
    let err = kustomize::build_yaml(&fs, "", &options).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("refusing token ***"), "{text}");
    assert!(!text.contains("tok-0123456789"), "{text}");
    assert!(
        text.starts_with("kustomization.yaml: helmCharts[0] 'broken': helm template failed"),
        "{text}"
    );
}

#[test]
fn a_chart_in_memory_renders_and_lands_in_the_read_set() {
    let Some(world) = World::new("helm from a non-disk file system") else { return };
    let mut memory = MemoryFs::new();
    let chart = cases_root().join("charts/webapp");
    add_tree(&mut memory, &chart, "apps/web/charts/webapp");
    memory
        .insert("apps/web/kustomization.yaml", "helmCharts:\n- name: webapp\n  releaseName: mem\n");
    let fs = RecordingFs::new(memory);
    let options = world.options(&world.work.path().join("cache"));
    let output = kustomize::build_output(&fs, "apps/web", &options).unwrap();
    assert!(
        output
            .objects
            .iter()
            .any(|o| o.get_path(&["kind"]).and_then(|k| k.as_str()) == Some("StatefulSet"))
    );
    assert_eq!(
        output.charts[0].source,
        ChartSource::Local { dir: "apps/web/charts/webapp".into() }
    );
    assert_eq!(output.charts[0].version, "1.0.0");
    let read = fs.read_set();
    for path in [
        "apps/web/charts/webapp/templates/deployment.yaml",
        "apps/web/charts/webapp/charts/cache/values.yaml",
        "apps/web/charts/webapp/values.yaml",
        "apps/web/charts/webapp/files/motd.txt",
    ] {
        assert!(read.contains(path), "{path} missing from the read set");
    }
}

fn add_tree(fs: &mut MemoryFs, dir: &Path, at: &str) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = format!("{at}/{}", entry.file_name().to_string_lossy());
        if entry.file_type().unwrap().is_dir() {
            add_tree(fs, &entry.path(), &name);
        } else {
            let mut bytes = Vec::new();
            std::fs::File::open(entry.path()).unwrap().read_to_end(&mut bytes).unwrap();
            fs.insert(name, bytes);
        }
    }
}

// ---- With a fake helm: the glue, without the real binary. ----

/// A fake helm: answers `version` with `version_line`, logs every invocation's argv (and the
/// values file it was given) into `log`, and prints a ConfigMap for `template`.
#[cfg(unix)]
fn fake_helm(dir: &Path, version_line: &str, template_body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("helm");
    let log = dir.join("log");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{log}'\ncase \"$1\" in\n  version) echo '{version_line}' ;;\n  template)\n    prev=''\n    for a in \"$@\"; do [ \"$prev\" = -f ] && cat \"$a\" >> '{log}.values'; prev=\"$a\"; done\n    {template_body} ;;\nesac\n",
            log = log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[cfg(unix)]
fn fake_options(script: &Path) -> BuildOptions {
    let mut options = HelmOptions::new(script);
    options.timeout = Duration::from_secs(5);
    BuildOptions { helm: Some(Helm::new(options)), ..BuildOptions::default() }
}

#[cfg(unix)]
fn chart_fs(kustomization: &str) -> MemoryFs {
    MemoryFs::new()
        .with("kustomization.yaml", kustomization)
        .with("charts/demo/Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.4.2\n")
        .with("charts/demo/values.yaml", "replicas: 1\n")
}

#[cfg(unix)]
#[test]
fn helm_is_asked_for_its_version_once_per_run_and_given_kustomizes_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let script = fake_helm(
        dir.path(),
        "v3.17.2+gcc0bbbd",
        "printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-helm\\n'",
    );
    let options = fake_options(&script);
    let fs = chart_fs(
        "helmCharts:\n- name: demo\n  releaseName: r\n  namespace: ns\n  valuesInline:\n    replicas: 2\n",
    );
    for _ in 0..2 {
        let out = kustomize::build_yaml(&fs, "", &options).unwrap();
        assert_eq!(out, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-helm\n");
    }
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert_eq!(lines[0], "version -c --short");
    let template = regex::Regex::new(
        r"^template r /\S+/charts/demo --namespace ns -f /\S+/demo-kustomize-values\.yaml$",
    )
    .unwrap();
    assert!(template.is_match(lines[1]), "{}", lines[1]);
    let values = std::fs::read_to_string(dir.path().join("log.values")).unwrap();
    assert_eq!(values.lines().next(), Some("{\"replicas\":2}"));
}

#[cfg(unix)]
#[test]
fn helm_4_a_missing_helm_and_a_hung_helm_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fs = chart_fs("helmCharts:\n- name: demo\n  releaseName: r\n");
    let helm_error = |options: &BuildOptions| match kustomize::build_yaml(&fs, "", options) {
        Err(BuildError::Helm { file, index, chart, source }) => {
            assert_eq!((file.as_str(), index, chart.as_str()), ("kustomization.yaml", 0, "demo"));
            source
        }
        other => panic!("{other:?}"),
    };
    let v4 = fake_helm(dir.path(), "v4.0.0", "true");
    assert_eq!(helm_error(&fake_options(&v4)), HelmError::NotHelm3 { found: "4.0.0".into() });
    let missing = fake_options(Path::new("/nonexistent/helm"));
    assert!(matches!(helm_error(&missing), HelmError::CommandNotFound { .. }));
    let hung_dir = dir.path().join("hung");
    std::fs::create_dir_all(&hung_dir).unwrap();
    let hung = fake_helm(&hung_dir, "v3.17.2", "exec sleep 60");
    let mut options = HelmOptions::new(&hung);
    options.timeout = Duration::from_millis(500);
    let options = BuildOptions { helm: Some(Helm::new(options)), ..BuildOptions::default() };
    let start = Instant::now();
    assert!(matches!(helm_error(&options), HelmError::TimedOut { .. }));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[cfg(unix)]
#[test]
fn without_helm_a_chart_is_refused_by_name_and_a_disallowed_host_is_never_contacted() {
    let fs = chart_fs("helmCharts:\n- name: demo\n  releaseName: r\n");
    match kustomize::build_yaml(&fs, "", &BuildOptions::default()) {
        Err(BuildError::Helm { source: HelmError::Disabled, chart, .. }) => {
            assert_eq!(chart, "demo")
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    let script = fake_helm(dir.path(), "v3.17.2", "true");
    let mut options = HelmOptions::new(&script);
    options.allowed_repo_hosts = Some(vec!["charts.example.com".into()]);
    let options = BuildOptions { helm: Some(Helm::new(options)), ..BuildOptions::default() };
    let remote = MemoryFs::new().with(
        "kustomization.yaml",
        "helmCharts:\n- name: other\n  repo: https://evil.example.net/charts\n  version: 1.0.0\n",
    );
    match kustomize::build_yaml(&remote, "", &options) {
        Err(BuildError::Helm { source: HelmError::RepoNotAllowed { host, .. }, .. }) => {
            assert_eq!(host, "evil.example.net")
        }
        other => panic!("{other:?}"),
    }
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    assert!(!log.contains("pull"), "{log}");
}
