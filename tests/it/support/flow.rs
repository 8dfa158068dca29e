//! A whole world for the action's end-to-end flows, in-process: a real git repository laid out
//! as PRODUCT §1 says, a fake GitHub holding the repository's pull requests, comments and
//! deployments, and two fake Kubernetes clusters (testing and production). A flow writes an
//! event payload shaped like GitHub's real webhooks, runs `gitops-env action` with the
//! runner's environment, and asserts on the end state of the fakes.

use std::ffi::OsString;
use std::path::PathBuf;

use fakes::github::{FakeGitHub, Pull};
use fakes::kube::FakeKube;
use serde_json::{Value as Json, json};

use super::git_repo::TestRepo;

pub const REPOSITORY: &str = "me/homelab";
pub const TOKEN: &str = "ghs_flowtesttoken0123456789";
pub const BOT: &str = "github-actions[bot]";
pub const ZERO: &str = "0000000000000000000000000000000000000000";

/// The repository, GitHub and both clusters.
pub struct World {
    pub repo: TestRepo,
    pub github: FakeGitHub,
    pub testing: FakeKube,
    pub production: FakeKube,
    runner: tempfile::TempDir,
    runs: std::cell::Cell<u32>,
    /// The checkout the action runs in, when it is not `repo` itself (e.g. a shallow clone).
    workspace: std::cell::RefCell<Option<PathBuf>>,
}

/// What one run of the action left behind.
#[derive(Debug)]
pub struct Run {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
    pub outputs: std::collections::BTreeMap<String, String>,
    pub summary: String,
}

const WEB_BASE: &str = "resources: [deployment.yaml, service.yaml, ingress.yaml]\n";
const WEB_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: web
    spec:
      containers:
      - name: web
        image: ghcr.io/me/web:1.0.0
";
const WEB_SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app.kubernetes.io/name: web
  ports:
  - port: 80
";
const WEB_INGRESS: &str = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
  - hosts: [web.homelab.example]
    secretName: web-tls
  rules:
  - host: web.homelab.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
";
const API_BASE: &str = "resources: [deployment.yaml]\nconfigMapGenerator:\n- name: api-config\n  literals: [LOG_LEVEL=info]\n";
const API_DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
      - name: api
        image: ghcr.io/me/api:2.0.0
        envFrom:
        - configMapRef:
            name: api-config
";

impl World {
    /// A repository with two apps (`web`, `api`) and infrastructure, on `main` and `develop`.
    pub fn new() -> World {
        let repo = TestRepo::new();
        repo.write("apps/base/web/kustomization.yaml", WEB_BASE)
            .write("apps/base/web/deployment.yaml", WEB_DEPLOYMENT)
            .write("apps/base/web/service.yaml", WEB_SERVICE)
            .write("apps/base/web/ingress.yaml", WEB_INGRESS)
            .write("apps/base/api/kustomization.yaml", API_BASE)
            .write("apps/base/api/deployment.yaml", API_DEPLOYMENT);
        for env in ["testing", "production"] {
            let replicas = if env == "production" { 2 } else { 1 };
            for app in ["web", "api"] {
                repo.write(
                    &format!("apps/overlays/{env}/{app}/kustomization.yaml"),
                    &format!("namespace: {app}\nresources: [../../../base/{app}]\nreplicas:\n- name: {app}\n  count: {replicas}\n"),
                );
            }
            repo.write(
                &format!("infrastructure/overlays/{env}/kustomization.yaml"),
                "resources: [../../base]\n",
            );
        }
        repo.write("infrastructure/base/kustomization.yaml", "resources: [namespaces.yaml]\n").write(
            "infrastructure/base/namespaces.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: api\n",
        );
        repo.commit("homelab");
        World::around(repo)
    }

    /// A world around a repository holding only a README on `main` and `develop`, for flows
    /// that bring their own layout (the bundled example, for one).
    pub fn empty() -> World {
        let repo = TestRepo::new();
        repo.write("README.md", "# homelab\n");
        repo.commit("start");
        World::around(repo)
    }

    /// GitHub and two empty clusters around `repo`, whose `main` gets a `develop` branch.
    fn around(repo: TestRepo) -> World {
        repo.git(&["branch", "develop"]);
        let github = FakeGitHub::start();
        github.add_token(TOKEN, BOT);
        github.add_repo(REPOSITORY);
        World {
            repo,
            github,
            testing: FakeKube::start(),
            production: FakeKube::start(),
            runner: tempfile::tempdir().expect("runner folder"),
            runs: std::cell::Cell::new(0),
            workspace: std::cell::RefCell::new(None),
        }
    }

    /// Deploys the whole of `environment` from its branch, as a maintainer setting it up would:
    /// a `workflow_dispatch` deploy of every unit, infrastructure first. The namespaces the
    /// apps need then exist because the repository's infrastructure made them, not the test.
    /// The checkout is back on the branch it was on afterwards.
    pub fn bootstrap(&self, environment: &str) {
        let branch = match environment {
            "testing" => "develop",
            "production" => "main",
            other => panic!("no branch for environment {other}"),
        };
        let previous = self.repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
        self.repo.checkout(branch);
        let run = self.dispatch_deploy(environment, &[]);
        assert_eq!(run.code, 0, "bootstrap of {environment}:\n{}\n{}", run.stdout, run.stderr);
        self.repo.checkout(&previous);
    }

    /// A `workflow_dispatch` run deploying every unit of `environment` from the checkout.
    pub fn dispatch_deploy(&self, environment: &str, inputs: &[(&str, &str)]) -> Run {
        let branch = self.repo.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
        let payload = json!({
            "ref": format!("refs/heads/{branch}"),
            "inputs": { "operation": "deploy", "environment": environment },
            "repository": repository(), "sender": { "login": "me" },
        });
        self.run("workflow_dispatch", Some(payload), inputs)
    }

    /// Runs the action in `checkout` instead of the repository itself from now on.
    pub fn use_workspace(&self, checkout: &std::path::Path) {
        *self.workspace.borrow_mut() = Some(checkout.to_path_buf());
    }

    fn workspace_path(&self) -> PathBuf {
        self.workspace.borrow().clone().unwrap_or_else(|| self.repo.path().to_path_buf())
    }

    /// Changes `path` on the current branch and commits; returns the commit.
    pub fn change(&self, path: &str, content: &str, message: &str) -> String {
        self.repo.write(path, content);
        self.repo.commit(message)
    }

    /// Runs `gitops-env action` for `event` with `payload`, and `inputs` beside the defaults.
    pub fn run(&self, event: &str, payload: Option<Json>, inputs: &[(&str, &str)]) -> Run {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let dir = self.runner.path().join(format!("run-{n}"));
        std::fs::create_dir_all(&dir).expect("run folder");
        let event_path = dir.join("event.json");
        let output = dir.join("output");
        let summary = dir.join("summary.md");
        let path = |p: &PathBuf| p.display().to_string();
        let mut env: Vec<(String, String)> = vec![
            ("GITHUB_EVENT_NAME".into(), event.into()),
            ("GITHUB_REPOSITORY".into(), REPOSITORY.into()),
            ("GITHUB_WORKSPACE".into(), self.workspace_path().display().to_string()),
            ("GITHUB_SHA".into(), self.repo.head()),
            ("GITHUB_API_URL".into(), self.github.url()),
            ("GITHUB_SERVER_URL".into(), "https://github.example".into()),
            ("GITHUB_RUN_ID".into(), n.to_string()),
            ("GITHUB_OUTPUT".into(), path(&output)),
            ("GITHUB_STEP_SUMMARY".into(), path(&summary)),
            ("RUNNER_TEMP".into(), path(&dir)),
            ("INPUT_GITHUB-TOKEN".into(), TOKEN.into()),
            ("INPUT_KUBECONFIG-TESTING".into(), self.testing.kubeconfig_yaml()),
            ("INPUT_KUBECONFIG-PRODUCTION".into(), self.production.kubeconfig_yaml()),
            ("INPUT_WAIT-TIMEOUT".into(), "20s".into()),
            ("INPUT_PREVIEW-HOST-TEMPLATE".into(), "{app}-{slug}.preview.homelab.example".into()),
            // Kept across the world's runs, as actions/cache keeps it, but outside the checkout
            // (whose commits add every file).
            ("INPUT_CACHE-DIRECTORY".into(), path(&self.runner.path().join("cache"))),
        ];
        if let Some(helm) = helm() {
            env.push(("INPUT_HELM-COMMAND".into(), path(&helm)));
        }
        if let Some(payload) = payload {
            std::fs::write(&event_path, serde_json::to_vec_pretty(&payload).unwrap()).unwrap();
            env.push(("GITHUB_EVENT_PATH".into(), path(&event_path)));
        }
        for (name, value) in inputs {
            let key = format!("INPUT_{}", name.to_uppercase());
            env.retain(|(k, _)| *k != key);
            env.push((key, (*value).to_owned()));
        }
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = gitops_env::run(
            vec![OsString::from("gitops-env"), OsString::from("action")],
            &env,
            &mut stdout,
            &mut stderr,
        );
        let code = [0u8, 1, 2]
            .into_iter()
            .find(|c| std::process::ExitCode::from(*c) == code)
            .unwrap_or(255);
        let run = Run {
            code,
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
            outputs: parse_outputs(&std::fs::read_to_string(&output).unwrap_or_default()),
            summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        };
        // Secrets never reach the log, in any run.
        assert!(
            !run.stdout.replace(&format!("::add-mask::{TOKEN}"), "").contains(TOKEN),
            "token printed"
        );
        assert!(!run.stderr.contains(TOKEN), "token printed on stderr");
        run
    }

    /// Adds an open pull request `number` from `head` into `base` to the fake GitHub.
    pub fn open_pull(&self, number: u64, head: &str, base: &str) -> Pull {
        let pull = Pull::open(
            number,
            head,
            &self.repo.git(&["rev-parse", head]),
            base,
            &self.repo.git(&["rev-parse", base]),
        );
        self.github.add_pull(REPOSITORY, pull.clone());
        pull
    }

    /// The pull request `number` as the fake GitHub holds it now.
    pub fn github_pull(&self, number: u64) -> Pull {
        let mut found = None;
        self.github.update_pull(REPOSITORY, number, |p| found = Some(p.clone()));
        found.expect("pull request exists")
    }

    /// Namespaces of the testing cluster whose name starts with `prefix`.
    pub fn namespaces(&self, kube: &FakeKube, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = kube
            .list("v1", "Namespace", None)
            .iter()
            .filter(|ns| ns["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|ns| ns["metadata"]["name"].as_str().map(str::to_owned))
            .filter(|name| name.starts_with(prefix))
            .collect();
        names.sort();
        names
    }

    /// Kinds and names of the objects in a namespace of `kube`.
    pub fn objects_in(&self, kube: &FakeKube, namespace: &str) -> Vec<String> {
        let mut found: Vec<String> = kube
            .all_objects()
            .iter()
            .filter(|o| {
                o["metadata"]["namespace"] == namespace
                    && o["metadata"]["deletionTimestamp"].is_null()
            })
            .filter(|o| o["kind"] != "Event")
            .map(|o| {
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["metadata"]["name"].as_str().unwrap_or("")
                )
            })
            .collect();
        found.sort();
        found
    }
}

/// The pinned helm `.ci/run` installs, when it is there (tests that need it check with
/// `testsupport::helm`, which skips or fails; flows without charts never run it).
pub fn helm() -> Option<PathBuf> {
    let path = std::env::var_os("GITOPS_ENV_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| testsupport::workspace_root().join(testsupport::HELM_DEFAULT_PATH));
    path.is_file().then_some(path)
}

fn parse_outputs(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut outputs = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some((name, delimiter)) = line.split_once("<<") else { continue };
        let mut value = Vec::new();
        for line in lines.by_ref() {
            if line == delimiter {
                break;
            }
            value.push(line);
        }
        outputs.insert(name.to_owned(), value.join("\n"));
    }
    outputs
}

fn repository() -> Json {
    json!({ "full_name": REPOSITORY, "default_branch": "main", "fork": false,
            "name": "homelab", "owner": { "login": "me" } })
}

/// A `push` payload (GitHub's shape, cut to what matters).
pub fn push(branch: &str, before: &str, after: &str) -> Json {
    json!({
        "ref": format!("refs/heads/{branch}"), "before": before, "after": after,
        "created": before == ZERO, "deleted": after == ZERO, "forced": false,
        "base_ref": null, "commits": [], "head_commit": null,
        "repository": repository(), "pusher": { "name": "me" }, "sender": { "login": "me" },
    })
}

/// A `delete` payload for the branch `branch` (GitHub sends it when a branch is deleted).
pub fn delete_branch(branch: &str) -> Json {
    json!({
        "ref": branch, "ref_type": "branch", "pusher_type": "user",
        "repository": repository(), "sender": { "login": "me" },
    })
}

/// The `web` app's base Deployment running `image`: the usual change of a flow.
pub fn web_deployment(image: &str) -> String {
    WEB_DEPLOYMENT.replace("ghcr.io/me/web:1.0.0", image)
}

/// A `pull_request` payload for `pull` with `action`.
pub fn pull_request(action: &str, pull: &Pull, merged: bool, merge_commit: Option<&str>) -> Json {
    let head_repo = pull.head_repo.clone().unwrap_or_else(|| REPOSITORY.to_owned());
    let state = if action == "closed" { "closed" } else { "open" };
    json!({
        "action": action, "number": pull.number,
        "pull_request": {
            "number": pull.number, "state": state, "merged": merged, "draft": false,
            "merge_commit_sha": merge_commit,
            "title": pull.title, "user": { "login": pull.author },
            "head": { "ref": pull.head_ref, "sha": pull.head_sha, "repo": { "full_name": head_repo } },
            "base": { "ref": pull.base_ref, "sha": pull.base_sha, "repo": repository() },
            "labels": pull.labels.iter().map(|l| json!({ "name": l })).collect::<Vec<_>>(),
        },
        "repository": repository(), "sender": { "login": "me" },
    })
}
