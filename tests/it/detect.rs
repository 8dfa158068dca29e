//! Affected-unit detection over real repositories built by the test: each case of issue 5's
//! list, from a base change reaching several overlays to shallow clones.

use std::path::Path;

use gitops_env::detect::units::{self, UnitSelection};
use gitops_env::detect::{self, DetectOptions, Detection};
use gitops_env::git::GitRepo;
use gitops_env::git::deepen::GitCliFetcher;
use gitops_env::git::diff_base::{self, DiffRequest, FetchPolicy, HistoryFetcher};

use crate::support::git_repo::TestRepo;

const WEB_DEPLOY: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

const DB_STATEFULSET: &str = "\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: db
        image: postgres:16
";

/// A strategic-merge patch giving the web container a memory limit.
fn memory_patch(limit: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      \
         containers:\n      - name: web\n        resources:\n          limits:\n            memory: {limit}\n"
    )
}

/// The layout of PRODUCT §1 with one overlay per app and environment, plus an infrastructure tree
/// whose environment folder is itself the unit.
fn homelab() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "apps/base/web/kustomization.yaml",
        "resources:\n- deployment.yaml\nconfigMapGenerator:\n- name: web-config\n  files:\n  - config.env\n",
    );
    repo.write("apps/base/web/deployment.yaml", WEB_DEPLOY);
    repo.write("apps/base/web/config.env", "GREETING=hello\n");
    repo.write("apps/base/db/kustomization.yaml", "resources:\n- statefulset.yaml\n");
    repo.write("apps/base/db/statefulset.yaml", DB_STATEFULSET);
    for env in ["testing", "production"] {
        repo.write(
            &format!("apps/overlays/{env}/web/kustomization.yaml"),
            &format!(
                "namespace: {env}\nresources:\n- ../../../base/web\nreplicas:\n- name: web\n  count: 2\n\
                 configMapGenerator:\n- name: web-settings\n  envs:\n  - settings.env\npatches:\n- path: memory.yaml\n"
            ),
        );
        repo.write(&format!("apps/overlays/{env}/web/memory.yaml"), &memory_patch("128Mi"));
        repo.write(
            &format!("apps/overlays/{env}/web/settings.env"),
            &format!("ENVIRONMENT={env}\n"),
        );
        repo.write(
            &format!("apps/overlays/{env}/db/kustomization.yaml"),
            &format!("namespace: {env}\nresources:\n- ../../../base/db\n"),
        );
        repo.write(
            &format!("infrastructure/overlays/{env}/kustomization.yaml"),
            "resources:\n- namespaces.yaml\n",
        );
        repo.write(
            &format!("infrastructure/overlays/{env}/namespaces.yaml"),
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {env}\n"),
        );
    }
    repo.write("README.md", "# homelab\n");
    repo.commit("homelab");
    repo
}

fn detect_between(path: &Path, base: &str, head: &str) -> Detection {
    let request = DiffRequest::Explicit { base: base.into(), head: head.into() };
    detect_request(path, &request, None)
}

fn detect_request(
    path: &Path,
    request: &DiffRequest,
    fetcher: Option<&dyn HistoryFetcher>,
) -> Detection {
    let policy = FetchPolicy { max_rounds: 4, first_depth: 1 };
    let (repo, changes) =
        diff_base::changes(path, request, fetcher, None, policy).expect("changes");
    detect_changes(&repo, &changes)
}

fn detect_changes(repo: &GitRepo, changes: &diff_base::Changes) -> Detection {
    detect::detect(
        repo,
        changes,
        &UnitSelection::default(),
        &units::read_kustomization,
        &gitops_env::render::render_default,
        DetectOptions::default(),
    )
    .expect("detection")
}

/// Commits a change made by `edit` on top of the homelab and detects it.
fn change(edit: impl FnOnce(&TestRepo)) -> (TestRepo, Detection) {
    let repo = homelab();
    let base = repo.head();
    edit(&repo);
    let head = repo.commit("change");
    let detection = detect_between(repo.path(), &base, &head);
    (repo, detection)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_base_change_reaches_every_overlay_that_includes_it() {
    let (_repo, detection) = change(|repo| {
        repo.write(
            "apps/base/web/deployment.yaml",
            &WEB_DEPLOY.replace("nginx:1.27", "nginx:1.28"),
        );
    });
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
    assert_eq!(
        detection.reasons["apps/overlays/testing/web"],
        strings(&["apps/base/web/deployment.yaml"])
    );
    assert!(detection.unchanged_output.is_empty() && detection.failed.is_empty());
    assert_eq!(detection.units.len(), 6, "{:?}", detection.units);
}

#[test]
fn an_overlay_only_change_affects_that_overlay_alone() {
    let (_repo, detection) = change(|repo| {
        repo.write(
            "apps/overlays/production/db/kustomization.yaml",
            "namespace: prod\nresources:\n- ../../../base/db\n",
        );
    });
    assert_eq!(detection.affected, strings(&["apps/overlays/production/db"]));
}

#[test]
fn a_patch_file_change_affects_its_overlay() {
    let (_repo, detection) = change(|repo| {
        repo.write("apps/overlays/testing/web/memory.yaml", &memory_patch("256Mi"));
    });
    assert_eq!(detection.affected, strings(&["apps/overlays/testing/web"]));
    assert_eq!(
        detection.reasons["apps/overlays/testing/web"],
        strings(&["apps/overlays/testing/web/memory.yaml"])
    );
    let head = detection.renders["apps/overlays/testing/web"].head.clone().unwrap().unwrap();
    assert!(head.yaml.contains("memory: 256Mi"), "{}", head.yaml);
}

#[test]
fn an_overlay_file_change_affects_that_overlay_alone() {
    let (_repo, detection) = change(|repo| {
        repo.write("apps/overlays/testing/web/settings.env", "ENVIRONMENT=qa\n");
    });
    assert_eq!(detection.affected, strings(&["apps/overlays/testing/web"]));
    assert_eq!(
        detection.reasons["apps/overlays/testing/web"],
        strings(&["apps/overlays/testing/web/settings.env"])
    );
}

#[test]
fn a_unit_broken_the_same_way_on_both_sides_is_noted_not_blamed_on_the_change() {
    let repo = homelab();
    repo.write(
        "apps/overlays/testing/db/kustomization.yaml",
        "resources:\n- ../../../base/missing\n",
    );
    let base = repo.commit("break db");
    repo.write("README.md", "unrelated\n");
    let head = repo.commit("docs");
    // Rendering every unit (as with LoadRestrictor::None) reaches the broken one.
    let request = DiffRequest::Explicit { base, head };
    let (git, changes) =
        diff_base::changes(repo.path(), &request, None, None, FetchPolicy::default()).unwrap();
    let options = DetectOptions { prune_by_scope: false, ..DetectOptions::default() };
    let detection = detect::detect(
        &git,
        &changes,
        &UnitSelection::default(),
        &units::read_kustomization,
        &gitops_env::render::render_default,
        options,
    )
    .unwrap();
    assert!(detection.affected.is_empty() && detection.failed.is_empty(), "{detection:?}");
    assert!(
        detection.notes.iter().any(|note| note.contains("apps/overlays/testing/db")),
        "{:?}",
        detection.notes
    );
}

#[test]
fn a_generator_input_change_affects_every_overlay_of_the_base() {
    let (_repo, detection) = change(|repo| {
        repo.write("apps/base/web/config.env", "GREETING=bonjour\n");
    });
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
}

#[test]
fn a_file_added_to_a_resource_directory_touches_its_units_without_changing_output() {
    let (_repo, detection) = change(|repo| {
        repo.write("apps/base/db/notes.yaml", "# not referenced\n");
    });
    assert!(detection.affected.is_empty(), "{:?}", detection.affected);
    assert_eq!(
        detection.unchanged_output,
        strings(&["apps/overlays/production/db", "apps/overlays/testing/db"])
    );
    assert_eq!(
        detection.reasons["apps/overlays/testing/db"],
        strings(&["apps/base/db/notes.yaml"])
    );
}

#[test]
fn a_rename_with_its_reference_updated_leaves_the_output_unchanged() {
    let (_repo, detection) = change(|repo| {
        repo.rename("apps/base/db/statefulset.yaml", "apps/base/db/db.yaml");
        repo.write("apps/base/db/kustomization.yaml", "resources:\n- db.yaml\n");
    });
    assert!(detection.affected.is_empty(), "{:?}", detection.affected);
    assert_eq!(
        detection.unchanged_output,
        strings(&["apps/overlays/production/db", "apps/overlays/testing/db"])
    );
    let changed: Vec<&str> = detection.changed_files.iter().flat_map(|c| c.paths()).collect();
    assert!(
        changed.contains(&"apps/base/db/statefulset.yaml")
            && changed.contains(&"apps/base/db/db.yaml")
    );
}

#[test]
fn a_deleted_overlay_is_reported_deleted_not_affected() {
    let (_repo, detection) = change(|repo| {
        repo.remove("apps/overlays/production/db");
    });
    assert_eq!(detection.deleted, strings(&["apps/overlays/production/db"]));
    assert!(detection.affected.is_empty(), "{:?}", detection.affected);
}

#[test]
fn a_new_overlay_is_new_and_affected() {
    let (_repo, detection) = change(|repo| {
        repo.write(
            "apps/overlays/testing/db2/kustomization.yaml",
            "namespace: testing\nresources:\n- ../../../base/db\n",
        );
    });
    assert_eq!(detection.new, strings(&["apps/overlays/testing/db2"]));
    assert_eq!(detection.affected, strings(&["apps/overlays/testing/db2"]));
}

#[test]
fn a_comment_only_change_leaves_every_output_unchanged() {
    let (_repo, detection) = change(|repo| {
        repo.write("apps/base/web/deployment.yaml", &format!("# the web front end\n{WEB_DEPLOY}"));
    });
    assert!(detection.affected.is_empty(), "{:?}", detection.affected);
    assert_eq!(
        detection.unchanged_output,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
}

#[test]
fn a_change_outside_every_unit_affects_nothing() {
    let (_repo, detection) = change(|repo| {
        repo.write("README.md", "# homelab, documented\n").write("docs/setup.md", "steps\n");
    });
    assert!(detection.affected.is_empty() && detection.unchanged_output.is_empty());
    assert!(detection.reasons.is_empty());
    assert_eq!(detection.changed_files.len(), 2);
}

#[test]
fn a_unit_that_fails_to_render_at_head_is_affected_and_failed() {
    let (_repo, detection) = change(|repo| {
        repo.write(
            "apps/overlays/testing/db/kustomization.yaml",
            "resources:\n- ../../../base/missing\n",
        );
    });
    assert_eq!(detection.affected, strings(&["apps/overlays/testing/db"]));
    assert_eq!(detection.failed.len(), 1);
    assert!(
        detection.failed[0].head_error.as_ref().is_some_and(|e| e.to_string().contains("missing")),
        "{:?}",
        detection.failed
    );
    assert!(detection.failed[0].base_error.is_none());
}

#[test]
fn a_new_branch_with_a_zero_before_is_compared_with_the_integration_branch() {
    let repo = homelab();
    repo.checkout_new("develop");
    repo.write(
        "apps/overlays/testing/db/kustomization.yaml",
        "namespace: qa\nresources:\n- ../../../base/db\n",
    );
    repo.commit("develop moves on");
    repo.checkout("main");
    repo.checkout_new("feat/web");
    repo.write("apps/base/web/config.env", "GREETING=hi\n");
    let after = repo.commit("feature");
    let request =
        DiffRequest::Push { before: "0".repeat(40), after, integration_branch: "develop".into() };
    let detection = detect_request(repo.path(), &request, None);
    // develop's own change is not the feature's: only the web overlays are affected.
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
}

#[test]
fn a_forced_push_is_compared_with_the_merge_base_not_the_lost_commit() {
    let repo = homelab();
    let root = repo.head();
    repo.checkout_new("feat/x");
    repo.write(
        "apps/base/db/statefulset.yaml",
        &DB_STATEFULSET.replace("postgres:16", "postgres:17"),
    );
    let before = repo.commit("db upgrade, later dropped");
    repo.git(&["reset", "--quiet", "--hard", &root]);
    repo.write("apps/base/web/config.env", "GREETING=hey\n");
    let after = repo.commit("web only");
    let request = DiffRequest::Push { before, after, integration_branch: "main".into() };
    let detection = detect_request(repo.path(), &request, None);
    assert_eq!(detection.base.as_ref().map(|b| b.as_str()), Some(root.as_str()));
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
}

#[test]
fn a_shallow_clone_with_a_remote_is_deepened_then_detected() {
    let origin = homelab();
    let base = origin.head();
    for n in 0..3 {
        origin.write("README.md", &format!("# homelab {n}\n"));
        origin.commit("docs");
    }
    origin.write("apps/base/web/config.env", "GREETING=deep\n");
    let head = origin.commit("web config");
    let clone = TestRepo::clone_from(&origin.url(), &["--depth=1"]);
    let fetcher = GitCliFetcher::detect(clone.path(), "origin").expect("remote");
    let request = DiffRequest::PullRequest { base: base.clone(), head };
    let detection = detect_request(clone.path(), &request, Some(&fetcher));
    assert_eq!(detection.base.as_ref().map(|b| b.as_str()), Some(base.as_str()));
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
}

#[test]
fn a_shallow_clone_without_a_remote_fails_with_the_fetch_depth_to_set() {
    let origin = homelab();
    let base = origin.head();
    origin.write("apps/base/web/config.env", "GREETING=x\n");
    origin.commit("one");
    origin.write("README.md", "more\n");
    let head = origin.commit("two");
    let clone = TestRepo::clone_from(&origin.url(), &["--depth=1"]);
    clone.git(&["remote", "remove", "origin"]);
    let request = DiffRequest::PullRequest { base, head };
    let err =
        diff_base::changes(clone.path(), &request, None, None, FetchPolicy::default()).unwrap_err();
    assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
}

/// Runs the CLI in-process; returns (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (std::process::ExitCode, String, String) {
    let mut argv: Vec<std::ffi::OsString> = vec!["gitops-env".into()];
    argv.extend(args.iter().map(|a| a.into()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = gitops_env::run(argv, &[], &mut out, &mut err);
    (code, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
}

#[test]
fn the_detect_command_prints_json_with_full_shas_sorted_units_and_reasons() {
    let repo = homelab();
    let base = repo.head();
    repo.write("apps/base/web/config.env", "GREETING=json\n");
    repo.write("apps/base/db/notes.txt", "not referenced\n");
    let head = repo.commit("change");
    let path = repo.path().to_str().unwrap();
    let (code, out, err) =
        cli(&["detect", "--repo", path, "--base", "HEAD~1", "--head", "main", "--format", "json"]);
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["base"], base.as_str());
    assert_eq!(json["head"], head.as_str());
    assert_eq!(
        json["affected"],
        serde_json::json!(["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
    assert_eq!(
        json["unchanged_output"],
        serde_json::json!(["apps/overlays/production/db", "apps/overlays/testing/db"])
    );
    assert_eq!(
        json["reasons"]["apps/overlays/testing/web"],
        serde_json::json!(["apps/base/web/config.env"])
    );
    assert_eq!(
        json["changed_files"][0],
        serde_json::json!({"path": "apps/base/db/notes.txt", "status": "added"})
    );
    assert_eq!(json["failed"], serde_json::json!([]));
}

#[test]
fn the_detect_command_prints_text_and_honours_unit_globs() {
    let repo = homelab();
    repo.write("apps/base/web/config.env", "GREETING=text\n");
    repo.commit("change");
    let path = repo.path().to_str().unwrap();
    let (code, out, err) = cli(&[
        "detect",
        "--repo",
        path,
        "--base",
        "HEAD~1",
        "--units",
        "apps/overlays/{env}/*",
        "--environment",
        "testing",
    ]);
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{err}");
    assert!(
        out.contains("affected: 1\n  apps/overlays/testing/web  <- apps/base/web/config.env\n"),
        "{out}"
    );
    assert!(out.contains("M apps/base/web/config.env"), "{out}");
}

#[test]
fn the_detect_command_rejects_an_unknown_revision_as_bad_input() {
    let repo = homelab();
    let path = repo.path().to_str().unwrap();
    let (code, _, err) = cli(&["detect", "--repo", path, "--base", "no-such-branch"]);
    assert_eq!(code, std::process::ExitCode::from(2));
    assert!(err.contains("no-such-branch"), "{err}");
}

#[test]
fn the_detect_command_fails_when_a_unit_fails_to_render() {
    let repo = homelab();
    repo.write("apps/overlays/testing/db/kustomization.yaml", "resources:\n- missing.yaml\n");
    repo.commit("break");
    let path = repo.path().to_str().unwrap();
    let (code, out, _) = cli(&["detect", "--repo", path, "--base", "HEAD~1"]);
    assert_eq!(code, std::process::ExitCode::FAILURE);
    assert!(out.contains("failed: 1\n  apps/overlays/testing/db (head): "), "{out}");
}

#[test]
fn every_path_a_real_build_reads_lies_in_the_scope_used_to_skip_units() {
    // The pruning is sound only if this holds: checked against the real renderer on the homelab,
    // with a symlinked generator input and a probe of a missing kustomization name.
    let repo = homelab();
    repo.write("apps/base/db/env/common.env", "SHARED=1\n");
    repo.symlink("apps/base/db/common.env", "env/common.env");
    repo.write(
        "apps/base/db/kustomization.yaml",
        "resources:\n- statefulset.yaml\nconfigMapGenerator:\n- name: db-common\n  envs:\n  - common.env\n",
    );
    let head = repo.commit("symlinked input");
    let git = GitRepo::open(repo.path()).unwrap();
    let fs = git.tree_fs(&gitops_env::git::CommitId::parse(&head).unwrap()).unwrap();
    let found =
        units::discover(&fs, &UnitSelection::default(), &units::read_kustomization).unwrap();
    let mut known = found.kustomizations.clone();
    for unit in &found.units {
        let recording = kustomize::RecordingFs::new(git.tree_fs(fs.commit()).unwrap());
        gitops_env::render::render_default(&recording, &unit.path).expect("renders");
        let scope =
            units::dependency_scope(&fs, &unit.path, &mut known, &units::read_kustomization);
        for path in recording.read_set() {
            assert!(scope.covers(&path), "{}: read {path} outside its scope {scope:?}", unit.path);
        }
    }
}

#[test]
fn a_change_to_a_symlinked_file_reaches_the_units_that_read_it_through_the_link() {
    // The link stays inside its kustomization's folder: under rootonly one that leaves it is
    // refused, as kustomize refuses it.
    let repo = homelab();
    repo.write("apps/base/db/env/common.env", "SHARED=1\n");
    repo.symlink("apps/base/db/common.env", "env/common.env");
    repo.write(
        "apps/base/db/kustomization.yaml",
        "resources:\n- statefulset.yaml\nconfigMapGenerator:\n- name: db-common\n  envs:\n  - common.env\n",
    );
    let base = repo.commit("symlinked input");
    repo.write("apps/base/db/env/common.env", "SHARED=2\n");
    let head = repo.commit("change the target only");
    let detection = detect_between(repo.path(), &base, &head);
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/db", "apps/overlays/testing/db"])
    );
    assert!(detection.failed.is_empty(), "{:?}", detection.failed);
    assert_eq!(
        detection.reasons["apps/overlays/testing/db"],
        strings(&["apps/base/db/env/common.env"])
    );
}

/// The GitHub API's view of a pull request, for clones that cannot be deepened.
struct ApiListing {
    base: String,
    files: Vec<(&'static str, gitops_env::git::Change)>,
    truncated: Option<diff_base::ListingLimit>,
}

impl diff_base::ChangedFilesSource for ApiListing {
    fn name(&self) -> String {
        "the GitHub API".into()
    }
    fn changed_files(&self, _request: &DiffRequest) -> Result<diff_base::ListedChanges, String> {
        Ok(diff_base::ListedChanges {
            base: gitops_env::git::CommitId::parse(&self.base).unwrap(),
            files: self
                .files
                .iter()
                .map(|(path, change)| gitops_env::git::ChangedPath {
                    path: path.to_string(),
                    change: change.clone(),
                })
                .collect(),
            truncated: self.truncated.clone(),
        })
    }
}

/// A depth-1 clone without a remote of a homelab whose head changed the web config.
fn unreachable_base_clone() -> (TestRepo, TestRepo, String, String) {
    let origin = homelab();
    let base = origin.head();
    origin.write("apps/base/web/config.env", "GREETING=api\n");
    origin.commit("web config");
    origin.write("README.md", "later\n");
    let head = origin.commit("docs");
    let clone = TestRepo::clone_from(&origin.url(), &["--depth=1"]);
    clone.git(&["remote", "remove", "origin"]);
    (origin, clone, base, head)
}

#[test]
fn without_history_the_api_listing_is_matched_at_head_without_refinement() {
    let (_origin, clone, base, head) = unreachable_base_clone();
    let listing = ApiListing {
        base: base.clone(),
        files: vec![
            ("apps/base/web/config.env", gitops_env::git::Change::Modified),
            ("README.md", gitops_env::git::Change::Modified),
        ],
        truncated: None,
    };
    let request = DiffRequest::PullRequest { base: base.clone(), head };
    let detection = detect::detect_request(
        clone.path(),
        &request,
        &UnitSelection::default(),
        "origin",
        Some(&listing),
        &gitops_env::render::render_default,
        kustomize::LoadRestrictor::RootOnly,
        DetectOptions::default(),
    )
    .unwrap();
    assert_eq!(
        detection.affected,
        strings(&["apps/overlays/production/web", "apps/overlays/testing/web"])
    );
    assert!(detection.unchanged_output.is_empty());
    assert!(
        detection.notes.iter().any(|note| note.contains("not in the clone")),
        "{:?}",
        detection.notes
    );
}

#[test]
fn a_truncated_api_listing_makes_every_unit_affected_and_says_why() {
    let (_origin, clone, base, head) = unreachable_base_clone();
    let listing = ApiListing {
        base: base.clone(),
        files: vec![("README.md", gitops_env::git::Change::Modified)],
        truncated: Some(diff_base::ListingLimit {
            listing: "pull request files".into(),
            limit: 3000,
        }),
    };
    let request = DiffRequest::PullRequest { base, head };
    let detection = detect::detect_request(
        clone.path(),
        &request,
        &UnitSelection::default(),
        "origin",
        Some(&listing),
        &gitops_env::render::render_default,
        kustomize::LoadRestrictor::RootOnly,
        DetectOptions::default(),
    )
    .unwrap();
    assert_eq!(detection.affected.len(), 6, "{:?}", detection.affected);
    assert!(detection.notes.iter().any(|note| note.contains("3000")), "{:?}", detection.notes);
}

#[test]
fn the_plan_receives_changes_per_environment_with_their_kind() {
    use gitops_env::detect::ChangeKind;
    let (_repo, detection) = change(|repo| {
        repo.write("apps/base/web/config.env", "GREETING=plan\n");
        repo.remove("apps/overlays/production/db");
        repo.write(
            "apps/overlays/testing/cache/kustomization.yaml",
            "namespace: testing\nresources:\n- ../../../base/db\n",
        );
        repo.write(
            "apps/overlays/testing/db/kustomization.yaml",
            "resources:\n- ../../../base/gone\n",
        );
    });
    let by_env = detection.changes_by_environment();
    let kinds = |env: &str| -> Vec<(String, ChangeKind)> {
        by_env[env].iter().map(|c| (c.unit.clone(), c.change.clone())).collect()
    };
    assert_eq!(
        kinds("production"),
        vec![
            ("apps/overlays/production/db".to_string(), ChangeKind::Deleted),
            ("apps/overlays/production/web".to_string(), ChangeKind::Modified),
        ]
    );
    let testing = kinds("testing");
    assert_eq!(testing[0], ("apps/overlays/testing/cache".to_string(), ChangeKind::Added));
    assert!(
        matches!(&testing[1], (unit, ChangeKind::Failed(error)) if unit == "apps/overlays/testing/db" && error.starts_with("head: "))
    );
    assert_eq!(testing[2], ("apps/overlays/testing/web".to_string(), ChangeKind::Modified));
}

#[test]
fn with_load_restrictor_none_a_file_outside_the_unit_is_followed() {
    let repo = homelab();
    repo.write("shared/quota.yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\nspec:\n  hard:\n    pods: \"10\"\n");
    repo.write(
        "apps/overlays/testing/quota/kustomization.yaml",
        "resources:\n- ../../../../shared/quota.yaml\n",
    );
    repo.commit("quota from a shared file");
    repo.write("shared/quota.yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\nspec:\n  hard:\n    pods: \"20\"\n");
    repo.commit("more pods");
    let path = repo.path().to_str().unwrap();
    let (code, out, err) = cli(&[
        "detect",
        "--repo",
        path,
        "--base",
        "HEAD~1",
        "--load-restrictor",
        "none",
        "--format",
        "json",
    ]);
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["affected"], serde_json::json!(["apps/overlays/testing/quota"]));
    assert_eq!(
        json["reasons"]["apps/overlays/testing/quota"],
        serde_json::json!(["shared/quota.yaml"])
    );
}

/// A repository whose `notes` unit inflates a chart kept outside its folder (helmGlobals'
/// chartHome through `..`) with a values file of its own, next to a plain unit.
fn chart_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "charts/notes/Chart.yaml",
        "apiVersion: v2\nname: notes\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    )
    .write("charts/notes/values.yaml", "greeting: hello\n")
    .write(
        "charts/notes/templates/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    \
         chart: {{ .Chart.Name }}-{{ .Chart.Version }}\ndata:\n  greeting: {{ .Values.greeting }}\n  \
         color: {{ .Values.color | default \"none\" }}\n",
    )
    .write("apps/overlays/testing/notes/values.yaml", "greeting: hi\n")
    .write(
        "apps/overlays/testing/notes/kustomization.yaml",
        "helmGlobals:\n  chartHome: ../../../../charts\nhelmCharts:\n- name: notes\n  \
         releaseName: notes\n  version: 0.1.0\n  valuesFile: values.yaml\n  \
         valuesInline:\n    color: blue\n",
    )
    .write("apps/overlays/testing/plain/kustomization.yaml", "resources: [cm.yaml]\n")
    .write(
        "apps/overlays/testing/plain/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
    )
    .write("README.md", "# charts\n");
    repo.commit("charts");
    repo
}

#[test]
fn chart_files_values_files_versions_and_inline_values_reach_the_unit_that_inflates_them() {
    let Some(helm) = testsupport::helm("detecting helm chart changes") else { return };
    let renderer = gitops_env::render::Renderer::new(
        kustomize::LoadRestrictor::RootOnly,
        Some(kustomize::Helm::new(kustomize::HelmOptions::new(helm))),
        None,
    );
    let render = |fs: &dyn kustomize::FileSystem, dir: &str| renderer.render(fs, dir);
    let notes = "apps/overlays/testing/notes";
    let kustomization = "apps/overlays/testing/notes/kustomization.yaml";
    let cases: [(&str, &str, &str, bool); 6] = [
        ("a chart template", "charts/notes/templates/configmap.yaml", "", true),
        ("the chart's version", "charts/notes/Chart.yaml", "", true),
        ("the values file", "apps/overlays/testing/notes/values.yaml", "greeting: hey\n", true),
        ("valuesInline", kustomization, "color: blue", true),
        // A local chart's `version:` is not passed to helm: touched, the output is the same.
        ("the entry's version", kustomization, "version: 0.1.0", false),
        ("a file no build reads", "README.md", "# other\n", false),
    ];
    for (what, path, replace, output_changes) in cases {
        let repo = chart_repo();
        let base = repo.head();
        let old = std::fs::read_to_string(repo.path().join(path)).unwrap();
        let new = match (path, replace) {
            (_, "") if path.ends_with("configmap.yaml") => old.replace("greeting:", "message:"),
            (_, "") => old.replace("version: 0.1.0", "version: 0.2.0"),
            (_, "color: blue") => old.replace("color: blue", "color: green"),
            (_, "version: 0.1.0") => old.replace("version: 0.1.0", "version: 0.1.1"),
            _ => replace.to_owned(),
        };
        assert_ne!(old, new, "{what}: the case changes nothing");
        repo.write(path, &new);
        let head = repo.commit(what);
        let (git, changes) = diff_base::changes(
            repo.path(),
            &DiffRequest::Explicit { base, head },
            None,
            None,
            FetchPolicy::default(),
        )
        .unwrap();
        let detection = detect::detect(
            &git,
            &changes,
            &UnitSelection::default(),
            &units::read_kustomization,
            &render,
            DetectOptions::default(),
        )
        .unwrap();
        assert!(detection.failed.is_empty(), "{what}: {:?}", detection.failed);
        assert!(!detection.affected.contains(&"apps/overlays/testing/plain".to_owned()), "{what}");
        if what == "a file no build reads" {
            assert!(detection.affected.is_empty() && detection.unchanged_output.is_empty());
            continue;
        }
        assert_eq!(detection.reasons[notes], strings(&[path]), "{what}");
        if output_changes {
            assert_eq!(detection.affected, strings(&[notes]), "{what}");
        } else {
            assert_eq!(detection.unchanged_output, strings(&[notes]), "{what}");
        }
    }
}
