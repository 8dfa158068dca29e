//! The git edge over real repositories: revisions, ancestry, tree diffs, reading a commit's tree,
//! diff bases for every event shape, shallow clones with and without a remote.

use std::path::PathBuf;

use gitops_env::git::deepen::GitCliFetcher;
use gitops_env::git::diff_base::{
    self, BaseRule, ChangedFilesSource, ChangesSource, DiffBaseError, DiffRequest, FetchPolicy,
    ListedChanges, ListingLimit,
};
use gitops_env::git::{Change, ChangedPath, CommitId, GitError, GitRepo};
use kustomize::{EntryKind, FileSystem, FsError};

use crate::support::git_repo::TestRepo;

fn id(sha: &str) -> CommitId {
    CommitId::parse(sha).expect("full sha")
}

fn changed(repo: &TestRepo, base: &str, head: &str) -> Vec<ChangedPath> {
    GitRepo::open(repo.path()).unwrap().changed_paths(&id(base), &id(head)).unwrap()
}

#[test]
fn changed_paths_reports_added_modified_deleted_and_renamed_files() {
    let repo = TestRepo::new();
    repo.write("a.yaml", "a: 1\n").write("keep.yaml", "k: 1\n").write("gone.yaml", "g: 1\n");
    repo.write("dir/moved.yaml", "content that moves\n").write("untouched/x.yaml", "x\n");
    let base = repo.commit("base");
    repo.write("a.yaml", "a: 2\n").write("new/b.yaml", "b\n");
    repo.remove("gone.yaml");
    repo.rename("dir/moved.yaml", "elsewhere/moved.yaml");
    let head = repo.commit("head");

    let changes = changed(&repo, &base, &head);
    let expected = vec![
        ChangedPath { path: "a.yaml".into(), change: Change::Modified },
        ChangedPath {
            path: "elsewhere/moved.yaml".into(),
            change: Change::Renamed { from: "dir/moved.yaml".into() },
        },
        ChangedPath { path: "gone.yaml".into(), change: Change::Deleted },
        ChangedPath { path: "new/b.yaml".into(), change: Change::Added },
    ];
    assert_eq!(changes, expected);
    let all: Vec<&str> = changes.iter().flat_map(ChangedPath::paths).collect();
    assert!(all.contains(&"dir/moved.yaml") && all.contains(&"elsewhere/moved.yaml"));
}

#[test]
fn a_file_replaced_by_a_folder_is_a_deletion_plus_additions() {
    let repo = TestRepo::new();
    repo.write("thing", "file\n");
    let base = repo.commit("file");
    repo.remove("thing");
    repo.write("thing/inner.yaml", "x\n");
    let head = repo.commit("folder");
    let changes = changed(&repo, &base, &head);
    assert_eq!(
        changes,
        vec![
            ChangedPath { path: "thing".into(), change: Change::Deleted },
            ChangedPath { path: "thing/inner.yaml".into(), change: Change::Added },
        ]
    );
}

#[test]
fn resolve_gives_full_shas_for_branches_abbreviations_and_relative_revisions() {
    let repo = TestRepo::new();
    repo.write("a", "1\n");
    let first = repo.commit("one");
    repo.write("a", "2\n");
    let second = repo.commit("two");
    let git = GitRepo::open(repo.path()).unwrap();
    assert_eq!(git.resolve("main").unwrap().as_str(), second);
    assert_eq!(git.resolve("HEAD~1").unwrap().as_str(), first);
    assert_eq!(git.resolve(&first[..10]).unwrap().as_str(), first);
    assert_eq!(git.resolve(&first).unwrap().as_str(), first);

    let absent = "1234567890".repeat(4);
    assert!(matches!(git.resolve(&absent), Err(GitError::MissingCommit { .. })));
    let err = git.resolve("no-such-branch").unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err}");
    assert!(err.to_string().contains("no-such-branch"));
}

#[test]
fn merge_base_and_is_ancestor_follow_branches_and_merges() {
    let repo = TestRepo::new();
    repo.write("a", "1\n");
    let root = repo.commit("root");
    repo.checkout_new("feature");
    repo.write("f", "1\n");
    let feature = repo.commit("feature work");
    repo.checkout("main");
    repo.write("m", "1\n");
    let main = repo.commit("main work");
    let git = GitRepo::open(repo.path()).unwrap();
    assert_eq!(git.merge_base(&id(&main), &id(&feature)).unwrap(), Some(id(&root)));
    assert!(git.is_ancestor(&id(&root), &id(&feature)).unwrap());
    assert!(!git.is_ancestor(&id(&main), &id(&feature)).unwrap());

    let merged = repo.merge("feature");
    let git = GitRepo::open(repo.path()).unwrap();
    assert_eq!(git.merge_base(&id(&merged), &id(&feature)).unwrap(), Some(id(&feature)));
    assert!(git.is_ancestor(&id(&feature), &id(&merged)).unwrap());
}

#[test]
fn tree_fs_reads_a_past_commit_without_checking_it_out() {
    let repo = TestRepo::new();
    repo.write("apps/base/web/kustomization.yaml", "resources: [deploy.yaml]\n");
    repo.write("apps/base/web/deploy.yaml", "old\n");
    let base = repo.commit("base");
    repo.write("apps/base/web/deploy.yaml", "new\n").write("apps/base/web/extra.yaml", "x\n");
    repo.commit("head");

    let git = GitRepo::open(repo.path()).unwrap();
    let fs = git.tree_fs(&id(&base)).unwrap();
    assert_eq!(fs.read_file("apps/base/web/deploy.yaml").unwrap(), b"old\n");
    let names: Vec<String> =
        fs.read_dir("apps/base/web").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["deploy.yaml", "kustomization.yaml"]);
    assert_eq!(fs.kind("apps/base").unwrap(), Some(EntryKind::Dir));
    assert_eq!(fs.kind("").unwrap(), Some(EntryKind::Dir));
    assert_eq!(fs.kind("apps/base/web/extra.yaml").unwrap(), None);
    assert_eq!(fs.kind("apps/base/web/deploy.yaml/below").unwrap(), None);
    assert!(matches!(fs.read_file("apps/base"), Err(FsError::IsADirectory { .. })));
    assert!(matches!(fs.read_dir("apps/base/web/deploy.yaml"), Err(FsError::NotADirectory { .. })));
    assert!(matches!(fs.read_file("nope.yaml"), Err(FsError::NotFound { .. })));
}

#[test]
fn tree_fs_follows_symlinks_inside_the_tree_and_refuses_those_that_leave_it() {
    let repo = TestRepo::new();
    repo.write("shared/config.env", "A=1\n");
    repo.symlink("apps/web/config.env", "../../shared/config.env");
    repo.symlink("apps/linked-dir", "../shared");
    repo.symlink("apps/escape", "../../outside.txt");
    repo.symlink("apps/absolute", "/etc/passwd");
    repo.symlink("apps/loop-a", "loop-b").symlink("apps/loop-b", "loop-a");
    let commit = repo.commit("links");

    let git = GitRepo::open(repo.path()).unwrap();
    let fs = git.tree_fs(&id(&commit)).unwrap();
    assert_eq!(fs.read_file("apps/web/config.env").unwrap(), b"A=1\n");
    assert_eq!(fs.read_file("apps/linked-dir/config.env").unwrap(), b"A=1\n");
    assert_eq!(fs.kind("apps/linked-dir").unwrap(), Some(EntryKind::Dir));
    let listing = fs.read_dir("apps").unwrap();
    let linked = listing.iter().find(|e| e.name == "linked-dir").unwrap();
    assert_eq!(linked.kind, EntryKind::Dir);
    assert!(matches!(fs.read_file("apps/escape"), Err(FsError::OutsideRoot { .. })));
    assert!(matches!(fs.read_file("apps/absolute"), Err(FsError::OutsideRoot { .. })));
    let looped = fs.read_file("apps/loop-a").unwrap_err();
    assert!(looped.to_string().contains("too many levels"), "{looped}");
}

#[test]
fn tree_fs_and_disk_apply_the_load_restrictor_where_links_lead() {
    // kustomize's rule, the same from a commit's tree as from the checkout: a link inside the
    // kustomization's folder is followed; one that stays in the repository but leaves the
    // folder is refused under rootonly and followed under none; a linked kustomization folder
    // resolves its entries from where the link leads.
    let repo = TestRepo::new();
    let generator = "configMapGenerator:\n- name: c\n  files:\n  - pw\n";
    repo.write("shared/pw", "shared\n");
    repo.write("apps/inner/kustomization.yaml", generator).write("apps/inner/sub/pw", "inner\n");
    repo.symlink("apps/inner/pw", "sub/pw");
    repo.write("apps/sibling/kustomization.yaml", generator);
    repo.symlink("apps/sibling/pw", "../../shared/pw");
    repo.write("real/base/kustomization.yaml", generator).write("real/base/pw", "real\n");
    repo.write("real/prod/kustomization.yaml", "resources:\n- ../base\n");
    repo.symlink("apps/prod", "../real/prod");
    let commit = repo.commit("links");
    let git = GitRepo::open(repo.path()).unwrap();
    let tree = git.tree_fs(&id(&commit)).unwrap();
    let disk = kustomize::DiskFs::new(repo.path()).unwrap();
    let build = |fs: &dyn FileSystem, dir: &str, load_restrictor| {
        let options = kustomize::BuildOptions { load_restrictor, ..Default::default() };
        kustomize::build_yaml(fs, dir, &options)
    };
    for fs in [&tree as &dyn FileSystem, &disk] {
        let root_only = kustomize::LoadRestrictor::RootOnly;
        assert!(build(fs, "apps/inner", root_only).unwrap().contains("pw: |\n    inner\n"));
        assert!(build(fs, "apps/prod", root_only).unwrap().contains("pw: |\n    real\n"));
        match build(fs, "apps/sibling", root_only) {
            Err(kustomize::BuildError::Transform { message, .. }) => assert!(
                message
                    .contains("security; file 'apps/sibling/pw' is not in or below 'apps/sibling'"),
                "{message}"
            ),
            other => panic!("{fs:?}: {other:?}"),
        }
        let none = kustomize::LoadRestrictor::None;
        assert!(build(fs, "apps/sibling", none).unwrap().contains("pw: |\n    shared\n"));
    }
}

/// A stand-in for the GitHub API's changed-file listing.
struct ListedFiles {
    base: String,
    files: Vec<&'static str>,
    truncated: Option<ListingLimit>,
}

impl ChangedFilesSource for ListedFiles {
    fn name(&self) -> String {
        "the test listing".into()
    }
    fn changed_files(&self, _request: &DiffRequest) -> Result<ListedChanges, String> {
        Ok(ListedChanges {
            base: id(&self.base),
            files: self
                .files
                .iter()
                .map(|path| ChangedPath { path: path.to_string(), change: Change::Modified })
                .collect(),
            truncated: self.truncated.clone(),
        })
    }
}

/// origin: main r0..r5 (each commit changes `n`), then a feature branch from r3 with one commit.
pub(crate) fn origin_with_history() -> (TestRepo, Vec<String>, String) {
    let origin = TestRepo::new();
    let mut main = Vec::new();
    for n in 0..6 {
        origin.write("n", &format!("{n}\n"));
        main.push(origin.commit(&format!("r{n}")));
    }
    origin.checkout_new("feature");
    origin.git(&["reset", "--quiet", "--hard", &main[3]]);
    origin.write("apps/feature.yaml", "f\n");
    let feature = origin.commit("feature");
    origin.checkout("main");
    (origin, main, feature)
}

#[test]
fn shallow_clone_with_a_remote_is_deepened_until_the_merge_base_is_found() {
    let (origin, main, feature) = origin_with_history();
    let clone = TestRepo::clone_from(&origin.url(), &["--depth=1", "--branch=feature"]);
    assert!(GitRepo::open(clone.path()).unwrap().is_shallow());
    let request = DiffRequest::PullRequest { base: main[5].clone(), head: feature.clone() };
    let fetcher = GitCliFetcher::detect(clone.path(), "origin").expect("a remote");
    let policy = FetchPolicy { max_rounds: 4, first_depth: 1 };
    let (_, changes) =
        diff_base::changes(clone.path(), &request, Some(&fetcher), None, policy).unwrap();
    assert_eq!(changes.diff_base.base, id(&main[3]));
    assert_eq!(changes.diff_base.head, id(&feature));
    assert_eq!(changes.source, ChangesSource::Git);
    assert!(changes.fetch_rounds >= 1);
    assert_eq!(
        changes.files,
        vec![ChangedPath { path: "apps/feature.yaml".into(), change: Change::Added }]
    );
}

#[test]
fn shallow_clone_without_a_remote_fails_naming_the_fetch_depth() {
    let (origin, main, feature) = origin_with_history();
    let clone = TestRepo::clone_from(&origin.url(), &["--depth=1", "--branch=feature"]);
    clone.git(&["remote", "remove", "origin"]);
    assert!(GitCliFetcher::detect(clone.path(), "origin").is_none());
    let request = DiffRequest::PullRequest { base: main[5].clone(), head: feature };
    let err =
        diff_base::changes(clone.path(), &request, None, None, FetchPolicy::default()).unwrap_err();
    assert!(matches!(err, DiffBaseError::ShallowHistory { .. }), "{err}");
    assert!(err.to_string().contains("fetch-depth: 0"), "{err}");
}

#[test]
fn shallow_clone_without_a_remote_uses_the_listing_and_reports_its_truncation() {
    let (origin, main, feature) = origin_with_history();
    let clone = TestRepo::clone_from(&origin.url(), &["--depth=1", "--branch=feature"]);
    clone.git(&["remote", "remove", "origin"]);
    let listing = ListedFiles {
        base: main[3].clone(),
        files: vec!["apps/feature.yaml"],
        truncated: Some(ListingLimit { listing: "compare".into(), limit: 300 }),
    };
    let request = DiffRequest::PullRequest { base: main[5].clone(), head: feature.clone() };
    let (_, changes) =
        diff_base::changes(clone.path(), &request, None, Some(&listing), FetchPolicy::default())
            .unwrap();
    assert_eq!(changes.diff_base.base, id(&main[3]));
    assert_eq!(changes.diff_base.head, id(&feature));
    let ChangesSource::Listing { truncated, .. } = &changes.source else {
        panic!("listing expected")
    };
    assert_eq!(truncated.as_ref().map(|limit| limit.limit), Some(300));
    assert_eq!(changes.files.len(), 1);
}

#[test]
fn push_events_pick_before_new_branch_merge_base_and_forced_push_merge_base() {
    let repo = TestRepo::new();
    repo.write("a", "1\n");
    let root = repo.commit("root");
    repo.checkout_new("develop");
    repo.write("d", "1\n");
    repo.commit("develop work");
    repo.checkout("main");
    repo.checkout_new("feat/x");
    repo.write("x", "1\n");
    let first = repo.commit("x1");
    repo.write("x", "2\n");
    let second = repo.commit("x2");
    let path: PathBuf = repo.path().to_path_buf();
    let run = |request: DiffRequest| {
        diff_base::changes(&path, &request, None, None, FetchPolicy::default()).unwrap().1
    };

    let push = run(DiffRequest::Push {
        before: first.clone(),
        after: second.clone(),
        integration_branch: "develop".into(),
    });
    assert_eq!(
        (push.diff_base.base.as_str(), &push.diff_base.rule),
        (first.as_str(), &BaseRule::PushBefore)
    );

    let zero = "0".repeat(40);
    let new_branch = run(DiffRequest::Push {
        before: zero,
        after: second.clone(),
        integration_branch: "develop".into(),
    });
    assert_eq!(new_branch.diff_base.base, id(&root));
    assert_eq!(
        new_branch.diff_base.rule,
        BaseRule::NewBranchMergeBase { integration_branch: "develop".into() }
    );

    // Force push: rewrite feat/x from `first`'s parent, so `second` is no longer an ancestor.
    repo.git(&["reset", "--quiet", "--hard", &root]);
    repo.write("y", "1\n");
    let rewritten = repo.commit("y1");
    let forced = run(DiffRequest::Push {
        before: second.clone(),
        after: rewritten.clone(),
        integration_branch: "develop".into(),
    });
    assert_eq!(forced.diff_base.base, id(&root));
    assert_eq!(forced.diff_base.rule, BaseRule::ForcedPushMergeBase { before: id(&second) });
    assert_eq!(forced.files, vec![ChangedPath { path: "y".into(), change: Change::Added }]);
}

#[test]
fn works_on_a_checkout_owned_by_another_user_where_the_git_cli_refuses() {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    if !is_root {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipping: only root can give a checkout to another user");
        }
        return;
    }
    let repo = TestRepo::new();
    repo.write("a.yaml", "1\n");
    let base = repo.commit("one");
    repo.write("a.yaml", "2\n");
    let head = repo.commit("two");
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(repo.path())
        .status()
        .unwrap();
    assert!(chown.success());
    let cli = std::process::Command::new("git")
        .args(["status"])
        .current_dir(repo.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(!cli.status.success(), "the git CLI should refuse a checkout owned by someone else");
    let git = GitRepo::open(repo.path()).unwrap();
    assert_eq!(git.resolve("main").unwrap().as_str(), head);
    assert_eq!(git.changed_paths(&id(&base), &id(&head)).unwrap().len(), 1);
    assert_eq!(git.tree_fs(&id(&base)).unwrap().read_file("a.yaml").unwrap(), b"1\n");
}

#[test]
fn a_commit_tree_renders_exactly_like_the_checkout_on_disk() {
    // The example repository, committed: every unit must build byte-for-byte the same from the
    // git tree as from the files on disk — its Helm chart copied out of either.
    let Some(helm) = testsupport::helm("rendering the example's Helm chart") else { return };
    let renderer = gitops_env::render::Renderer::new(
        kustomize::LoadRestrictor::RootOnly,
        Some(kustomize::Helm::new(kustomize::HelmOptions::new(helm))),
        None,
    );
    let example = testsupport::workspace_root().join("examples/homelab");
    let repo = TestRepo::new();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(example.join("."))
        .arg(repo.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let head = repo.commit("example");
    let git = GitRepo::open(repo.path()).unwrap();
    let tree = git.tree_fs(&id(&head)).unwrap();
    let disk = kustomize::DiskFs::new(repo.path()).unwrap();
    let selection = gitops_env::detect::units::UnitSelection::default();
    let found = gitops_env::detect::units::discover(
        &tree,
        &selection,
        &gitops_env::detect::units::read_kustomization,
    )
    .unwrap();
    let on_disk = gitops_env::detect::units::discover(
        &disk,
        &selection,
        &gitops_env::detect::units::read_kustomization,
    )
    .unwrap();
    assert_eq!(found.units, on_disk.units);
    assert!(found.units.len() >= 10, "{:?}", found.units);
    for unit in &found.units {
        let from_tree = renderer.render(&tree, &unit.path);
        let from_disk = renderer.render(&disk, &unit.path);
        assert!(from_tree.is_ok(), "{}: {from_tree:?}", unit.path);
        assert_eq!(from_tree, from_disk, "{}", unit.path);
    }
}
