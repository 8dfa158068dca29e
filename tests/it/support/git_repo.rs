//! A real git repository in a temporary directory, built with the git CLI so tests exercise
//! history exactly as users' clones have it (commits, branches, merges, force pushes, shallow
//! clones).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A repository in a temporary directory, deleted when dropped.
pub struct TestRepo {
    dir: tempfile::TempDir,
}

impl TestRepo {
    /// An empty repository whose first branch is `main`.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let repo = Self { dir };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    /// A bare clone at `target`, as a git server would hold it: what the remote-base tests
    /// serve over smart HTTP, git daemon or `file://`.
    pub fn bare_clone(&self, target: &Path) {
        let status = Command::new("git")
            .args(["clone", "--quiet", "--bare"])
            .arg(self.path())
            .arg(target)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git");
        assert!(status.success());
        // GitHub lets clients fetch any commit by SHA; so do these servers.
        let status = Command::new("git")
            .arg("-C")
            .arg(target)
            .args(["config", "uploadpack.allowAnySHA1InWant", "true"])
            .status()
            .expect("git");
        assert!(status.success());
    }

    /// A clone of `url` made with `extra` arguments (e.g. `--depth=1`, `--branch=x`).
    pub fn clone_from(url: &str, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut args = vec!["clone", "--quiet"];
        args.extend_from_slice(extra);
        args.push(url);
        args.push(".");
        run_git(dir.path(), &args);
        let repo = Self { dir };
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A `file://` URL of this repository, for shallow clones (a plain path ignores `--depth`).
    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// Runs git in the repository and returns its trimmed standard output; panics on failure.
    pub fn git(&self, args: &[&str]) -> String {
        run_git(self.path(), args)
    }

    /// Writes `content` to `path` (creating folders).
    pub fn write(&self, path: &str, content: &str) -> &Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("create folders");
        std::fs::write(full, content).expect("write file");
        self
    }

    pub fn remove(&self, path: &str) -> &Self {
        self.git(&["rm", "--quiet", "-r", path]);
        self
    }

    pub fn rename(&self, from: &str, to: &str) -> &Self {
        let target: PathBuf = self.path().join(to);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("create folders");
        self.git(&["mv", from, to]);
        self
    }

    /// A symlink at `path` pointing to `target` (as stored in git: the target text).
    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("create folders");
        std::os::unix::fs::symlink(target, full).expect("symlink");
        self
    }

    /// Commits everything in the work tree; returns the new commit's full SHA.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn checkout_new(&self, branch: &str) -> &Self {
        self.git(&["checkout", "--quiet", "-b", branch]);
        self
    }

    pub fn checkout(&self, rev: &str) -> &Self {
        self.git(&["checkout", "--quiet", rev]);
        self
    }

    /// Merges `branch` into the current branch with a merge commit; returns its SHA.
    pub fn merge(&self, branch: &str) -> String {
        self.git(&["merge", "--quiet", "--no-ff", "--no-edit", branch]);
        self.head()
    }
}

fn run_git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .expect("git is installed");
    assert!(
        output.status.success(),
        "git {} failed in {}: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}
