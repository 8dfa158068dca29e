//! Symlinks on disk meet the load restrictor as in kustomize: a path is checked where its links
//! lead. Inside the kustomization's directory a link is followed; a link out of it is refused
//! under `rootonly` (kustomize's message), allowed under `none`; out of the repository, or into
//! its `.git` folder, it is always refused — the one place we are stricter than kustomize, which
//! under `none` would read the checkout's token from `.git/config`.
//!
//! Each case was run through `kubectl kustomize` (v5.5.0) to learn the expected outcome; when
//! `kubectl` is on PATH, the last test runs it again on the same layout and checks that we agree
//! (byte for byte where both build).

#![allow(clippy::print_stderr)]

use std::path::{Path, PathBuf};

use kustomize::{BuildError, BuildOptions, DiskFs, LoadRestrictor, build_yaml};

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";

/// A scratch repository with every layout of the cases, and a secret beside it.
struct Lab {
    scratch: PathBuf,
    token: String,
}

impl Lab {
    fn new() -> Lab {
        let unique = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let scratch = std::env::temp_dir().join(format!("kustomize-symlinks-{unique}"));
        let token = format!("ghs_{unique}TOKEN");
        let lab = Lab { scratch, token };
        lab.lay_out();
        lab
    }

    fn repo(&self) -> PathBuf {
        self.scratch.join("repo")
    }

    fn file(&self, path: &str, text: &str) {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn kustomization(&self, dir: &str, text: &str) {
        self.file(&format!("{dir}/kustomization.yaml"), text);
    }

    fn link(&self, path: &str, target: &str) {
        let path = self.repo().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, path).unwrap();
    }

    fn lay_out(&self) {
        let outside = self.scratch.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), format!("OUTSIDE={}\n", self.token)).unwrap();
        // What actions/checkout leaves in a checkout: the token in the git config.
        self.file(
            ".git/config",
            &format!(
                "[core]\n\tbare = false\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic {}\n",
                self.token
            ),
        );
        let files = |name: &str| format!("configMapGenerator:\n- name: c\n  files:\n  - {name}\n");
        self.kustomization("apps/token", &files("pw"));
        self.link("apps/token/pw", "../../.git/config");
        self.kustomization("apps/token-secret", "secretGenerator:\n- name: s\n  envs:\n  - pw\n");
        self.link("apps/token-secret/pw", "../../.git/config");
        self.kustomization("apps/gitdir", &files("g/config"));
        self.link("apps/gitdir/g", "../../.git");
        self.kustomization("apps/inner", &format!("{}resources:\n- r.yaml\n", files("pw")));
        self.file("apps/inner/sub/real", "hi\n");
        self.link("apps/inner/pw", "sub/real");
        self.file("apps/inner/sub/r.yaml", CM);
        self.link("apps/inner/r.yaml", "sub/r.yaml");
        self.file("shared/file", "shared\n");
        self.file("shared/env", "A=1\n");
        self.file("shared/r.yaml", CM);
        self.file("shared/p.yaml", &format!("{CM}data:\n  a: b\n"));
        self.file("shared/c.yaml", "namePrefix: []\n");
        self.kustomization("apps/sib", &files("pw"));
        self.link("apps/sib/pw", "../../shared/file");
        self.kustomization("apps/sibenv", "configMapGenerator:\n- name: c\n  envs:\n  - pw\n");
        self.link("apps/sibenv/pw", "../../shared/env");
        self.kustomization("apps/sibres", "resources:\n- r.yaml\n");
        self.link("apps/sibres/r.yaml", "../../shared/r.yaml");
        self.kustomization("apps/patch", "resources:\n- r.yaml\npatches:\n- path: p.yaml\n");
        self.file("apps/patch/r.yaml", CM);
        self.link("apps/patch/p.yaml", "../../shared/p.yaml");
        self.kustomization("apps/conf", "configurations:\n- c.yaml\nresources:\n- r.yaml\n");
        self.file("apps/conf/r.yaml", CM);
        self.link("apps/conf/c.yaml", "../../shared/c.yaml");
        self.kustomization("apps/dirlink", &files("d/file"));
        self.link("apps/dirlink/d", "../../shared");
        self.kustomization("apps/out", "configMapGenerator:\n- name: c\n  envs:\n  - pw\n");
        self.link("apps/out/pw", outside.join("secret").to_str().unwrap());
        self.kustomization("bases/real", "resources:\n- r.yaml\n");
        self.file("bases/real/r.yaml", CM);
        self.link("bases/link", "real");
        self.kustomization("apps/base-link", "resources:\n- ../../bases/link\n");
        self.kustomization("apps/base-link-local", "resources:\n- base\n");
        self.link("apps/base-link-local/base", "../../bases/real");
        self.file(
            "comps/real/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nlabels:\n- pairs:\n    a: b\n",
        );
        self.kustomization("apps/comp", "resources:\n- r.yaml\ncomponents:\n- comp\n");
        self.file("apps/comp/r.yaml", CM);
        self.link("apps/comp/comp", "../../comps/real");
        self.file("shared/k.yaml", "resources:\n- r.yaml\n");
        self.link("apps/klink/kustomization.yaml", "../../shared/k.yaml");
        self.link("apps/kgit/kustomization.yaml", "../../.git/config");
        // A linked kustomization directory: `../base` is taken from where the link leads.
        self.kustomization("real-place/base", "resources:\n- r.yaml\n");
        self.file("real-place/base/r.yaml", CM);
        self.kustomization("real-place/prod", "resources:\n- ../base\n");
        self.link("apps/env/prod", "../../real-place/prod");
        self.kustomization("apps/env/base", "resources:\n- wrong.yaml\n");
        // Out of the kustomization and back in: only where the chain ends counts.
        self.kustomization("apps/chain", &files("pw"));
        self.file("apps/chain/sub/real", "chained\n");
        self.link("shared/back", "../apps/chain/sub/real");
        self.link("apps/chain/pw", "../../shared/back");
        self.kustomization("apps/dangle", &files("pw"));
        self.link("apps/dangle/pw", "nothing");
        self.kustomization("apps/loop", &files("pw"));
        self.link("apps/loop/pw", "pw2");
        self.link("apps/loop/pw2", "pw");
        self.kustomization("apps/cyc", "resources:\n- up\n");
        self.link("apps/cyc/up", "..");
    }

    fn build(&self, dir: &str, restrictor: LoadRestrictor) -> Result<String, BuildError> {
        let fs = DiskFs::new(self.repo()).unwrap();
        build_yaml(&fs, dir, &BuildOptions { load_restrictor: restrictor, ..Default::default() })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// What a case must give.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Builds to exactly this text.
    Output(&'static str),
    /// Builds, and the output holds this text (what was read through the link).
    Holds(&'static str),
    /// Refused by the restrictor (kustomize: "security; file … is not in or below …").
    Restricted,
    /// Refused by the file system: out of the repository or into `.git` (under `rootonly` the
    /// restrictor refuses these first, with its own message).
    OutsideRoot,
    /// No kustomization file counts.
    Missing,
    /// Some other error (a dangling link, a loop, a cycle, a missing file).
    Error,
}

use Expect::*;

const INNER: &str = "apiVersion: v1\ndata:\n  pw: |\n    hi\nkind: ConfigMap\nmetadata:\n  name: c-bfmmd489g4\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n";
const CHAIN: &str = "apiVersion: v1\ndata:\n  pw: |\n    chained\nkind: ConfigMap\nmetadata:\n  name: c-588k52mh57\n";
const COMP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    a: b\n  name: x\n";

/// (directory, under rootonly, under none).
const CASES: &[(&str, Expect, Expect)] = &[
    ("apps/token", Restricted, OutsideRoot),
    ("apps/token-secret", Restricted, OutsideRoot),
    ("apps/gitdir", Restricted, OutsideRoot),
    ("apps/inner", Output(INNER), Output(INNER)),
    ("apps/sib", Restricted, Holds("  pw: |\n    shared\n")),
    ("apps/sibenv", Restricted, Holds("  A: \"1\"\n")),
    ("apps/sibres", Restricted, Output(CM)),
    ("apps/patch", Restricted, Holds("data:\n  a: b\n")),
    ("apps/conf", Restricted, Output(CM)),
    ("apps/dirlink", Restricted, Holds("  file: |\n    shared\n")),
    ("apps/out", Restricted, OutsideRoot),
    ("apps/base-link", Output(CM), Output(CM)),
    ("apps/base-link-local", Output(CM), Output(CM)),
    ("apps/comp", Output(COMP), Output(COMP)),
    ("apps/klink", Missing, Error),
    ("apps/kgit", Missing, OutsideRoot),
    ("apps/env/prod", Output(CM), Output(CM)),
    ("apps/chain", Output(CHAIN), Output(CHAIN)),
    ("apps/dangle", Error, Error),
    ("apps/loop", Error, Error),
    ("apps/cyc", Error, Error),
];

fn check(lab: &Lab, dir: &str, restrictor: LoadRestrictor, expect: Expect) {
    let result = lab.build(dir, restrictor);
    let shown = match &result {
        Ok(text) => text.clone(),
        Err(err) => err.to_string(),
    };
    assert!(!shown.contains(&lab.token), "{dir} ({restrictor:?}) leaked the secret: {shown}");
    let ok = match (expect, &result) {
        (Output(expected), Ok(text)) => text == expected,
        (Holds(fragment), Ok(text)) => text.contains(fragment),
        // Generators report what they could not read inside their own error, as text.
        (Restricted, Err(err)) => err.to_string().contains(&format!("security; file '{dir}/")),
        (OutsideRoot, Err(err)) => err.to_string().contains(": refused: "),
        (Missing, Err(BuildError::MissingKustomization { .. })) => true,
        (Error, Err(_)) => true,
        _ => false,
    };
    assert!(ok, "{dir} ({restrictor:?}): expected {expect:?}, got {result:?}");
}

#[test]
fn links_are_checked_where_they_lead() {
    let lab = Lab::new();
    for &(dir, root_only, none) in CASES {
        check(&lab, dir, LoadRestrictor::RootOnly, root_only);
        check(&lab, dir, LoadRestrictor::None, none);
    }
}

#[test]
fn the_checkout_token_never_reaches_output_or_error() {
    let lab = Lab::new();
    for dir in ["apps/token", "apps/token-secret", "apps/gitdir"] {
        for restrictor in [LoadRestrictor::RootOnly, LoadRestrictor::None] {
            let shown = match lab.build(dir, restrictor) {
                Ok(text) => panic!("{dir} ({restrictor:?}) built: {text}"),
                Err(err) => format!("{err} {err:?}"),
            };
            assert!(!shown.contains(&lab.token), "{shown}");
            assert!(!shown.contains("extraheader"), "{shown}");
        }
    }
    // kustomize's wording, naming the path as written and the kustomization's real folder.
    let err = lab.build("apps/token", LoadRestrictor::RootOnly).unwrap_err();
    assert!(
        err.to_string().contains("security; file 'apps/token/pw' is not in or below 'apps/token'"),
        "{err}"
    );
    // Even a kustomization at the root may not name the `.git` folder directly.
    let fs = DiskFs::new(lab.repo()).unwrap();
    assert!(matches!(
        kustomize::FileSystem::read_file(&fs, ".git/config"),
        Err(kustomize::FsError::OutsideRoot { .. })
    ));
    let listed = kustomize::FileSystem::read_dir(&fs, "").unwrap();
    assert!(listed.iter().all(|entry| entry.name != ".git"), "{listed:?}");
}

fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("kubectl")).find(|c| c.is_file())
}

fn kubectl_build(kubectl: &Path, repo: &Path, dir: &str, none: bool) -> Result<String, String> {
    let mut command = std::process::Command::new(kubectl);
    command.current_dir(repo).arg("kustomize");
    if none {
        command.arg("--load-restrictor").arg("LoadRestrictionsNone");
    }
    let output = command.arg(dir).output().expect("run kubectl");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn kubectl_agrees_except_where_we_are_stricter() {
    let Some(kubectl) = kubectl() else {
        eprintln!("kubectl not found on PATH: skipping the comparison with kubectl kustomize");
        return;
    };
    let lab = Lab::new();
    for &(dir, root_only, none) in CASES {
        for (restrictor, expect) in
            [(LoadRestrictor::RootOnly, root_only), (LoadRestrictor::None, none)]
        {
            let theirs =
                kubectl_build(&kubectl, &lab.repo(), dir, restrictor == LoadRestrictor::None);
            let ours = lab.build(dir, restrictor);
            if matches!(expect, OutsideRoot) {
                // Stricter on purpose: kustomize refuses these only under rootonly.
                assert!(ours.is_err(), "{dir} ({restrictor:?})");
                continue;
            }
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{dir} ({restrictor:?})"),
                (Err(_), Err(_)) => {}
                _ => panic!("{dir} ({restrictor:?}): ours {ours:?}, kubectl {theirs:?}"),
            }
        }
    }
}
