//! Remote bases, components and files, built through an in-memory `RemoteLoader`: the build's
//! side of remote targets (which repository tree is read, with which restrictions, and what
//! errors name), without any network. The fetching side is tested in the root package against
//! real git servers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kustomize::{
    BuildError, BuildOptions, FileSystem, GitTarget, LoadRestrictor, MemoryFs, RemoteError,
    RemoteErrorKind, RemoteLoader, RemoteTree, build_yaml,
};

/// Repositories by clone URL and ref, files by URL; remembers what was asked.
#[derive(Debug, Default)]
struct FakeRemote {
    repos: BTreeMap<(String, String), MemoryFs>,
    files: BTreeMap<String, Result<String, u16>>,
    asked: Mutex<Vec<String>>,
}

impl FakeRemote {
    fn repo(mut self, url: &str, git_ref: &str, fs: MemoryFs) -> Self {
        self.repos.insert((url.to_owned(), git_ref.to_owned()), fs);
        self
    }
    fn file(mut self, url: &str, body: Result<&str, u16>) -> Self {
        self.files.insert(url.to_owned(), body.map(str::to_owned));
        self
    }
}

impl RemoteLoader for FakeRemote {
    fn git_tree(&self, target: &GitTarget) -> Result<RemoteTree, RemoteError> {
        self.asked.lock().unwrap().push(format!(
            "git {} {}",
            target.clone_url(),
            target.ref_or_head()
        ));
        let fs = self
            .repos
            .get(&(target.clone_url(), target.ref_or_head().to_owned()))
            .ok_or_else(|| RemoteError::new(RemoteErrorKind::RefNotFound, "no such ref"))?;
        Ok(RemoteTree { fs: Arc::new(fs.clone()) as Arc<dyn FileSystem>, commit: "c0ffee".into() })
    }
    fn http_file(&self, url: &str) -> Result<Vec<u8>, RemoteError> {
        self.asked.lock().unwrap().push(format!("get {url}"));
        match self.files.get(url) {
            Some(Ok(body)) => Ok(body.clone().into_bytes()),
            Some(Err(status)) => {
                Err(RemoteError::new(RemoteErrorKind::HttpStatus(*status), "status"))
            }
            None => Err(RemoteError::new(RemoteErrorKind::HttpStatus(404), "404 Not Found")),
        }
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: NAME\ndata:\n  a: b\n";

fn cm(name: &str) -> String {
    CM.replace("NAME", name)
}

fn options(remote: FakeRemote) -> (BuildOptions, Arc<FakeRemote>) {
    let remote = Arc::new(remote);
    let options = BuildOptions {
        load_restrictor: LoadRestrictor::None,
        remote: Some(remote.clone() as Arc<dyn RemoteLoader>),
        ..BuildOptions::default()
    };
    (options, remote)
}

fn upstream() -> MemoryFs {
    MemoryFs::new()
        .with("deploy/base/kustomization.yaml", "resources:\n- cm.yaml\n")
        .with("deploy/base/cm.yaml", cm("upstream"))
        .with("deploy/prod/kustomization.yaml", "namePrefix: prod-\nresources:\n- ../base\n")
        .with(
            "deploy/label/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonLabels:\n  from: component\n",
        )
        .with("deploy/escape/kustomization.yaml", "resources:\n- ../base/cm.yaml\n")
        .with("deploy/nested/kustomization.yaml", "resources:\n- https://git.example/org/other.git//x?ref=v2\n")
        .with("README.md", "hi")
}

#[test]
fn a_remote_base_builds_from_its_repository_with_local_bases_inside_it() {
    let (options, remote) =
        options(FakeRemote::default().repo("https://github.com/org/up", "v1", upstream()));
    let local = MemoryFs::new().with(
        "app/kustomization.yaml",
        "namespace: team\nresources:\n- github.com/org/up//deploy/prod?ref=v1\ncomponents:\n- https://github.com/org/up//deploy/label?ref=v1\n",
    );
    let out = build_yaml(&local, "app", &options).unwrap();
    assert!(out.contains("name: prod-upstream\n  namespace: team"), "{out}");
    assert!(out.contains("from: component"), "{out}");
    // The https component is a repository at once (components never GET); the resource form
    // without a scheme is not a URL either.
    assert_eq!(
        *remote.asked.lock().unwrap(),
        vec!["git https://github.com/org/up v1", "git https://github.com/org/up v1"]
    );
}

#[test]
fn remote_kustomizations_are_root_only_whatever_the_callers_restrictor() {
    let (options, _) =
        options(FakeRemote::default().repo("https://github.com/org/up", "v1", upstream()));
    let local = MemoryFs::new()
        .with("app/kustomization.yaml", "resources:\n- github.com/org/up//deploy/escape?ref=v1\n");
    let err = build_yaml(&local, "app", &options).unwrap_err();
    let BuildError::InRemote { file, url, source, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        (file.as_str(), url.as_str()),
        ("app/kustomization.yaml", "github.com/org/up//deploy/escape?ref=v1")
    );
    assert!(matches!(**source, BuildError::Restricted { .. }), "{err}");
}

#[test]
fn nested_remote_bases_are_fetched_from_inside_a_remote() {
    let other = MemoryFs::new()
        .with("x/kustomization.yaml", "resources:\n- cm.yaml\n")
        .with("x/cm.yaml", cm("other"));
    let (options, remote) =
        options(FakeRemote::default().repo("https://github.com/org/up", "v1", upstream()).repo(
            "https://git.example/org/other.git",
            "v2",
            other,
        ));
    let local = MemoryFs::new().with(
        "kustomization.yaml",
        "resources:\n- https://github.com/org/up//deploy/nested?ref=v1\n",
    );
    let out = build_yaml(&local, "", &options).unwrap();
    assert!(out.contains("name: other"), "{out}");
    // Each https URL is first tried as a file (kustomize GETs it), then as a repository.
    assert_eq!(
        *remote.asked.lock().unwrap(),
        vec![
            "get https://github.com/org/up//deploy/nested?ref=v1",
            "git https://github.com/org/up v1",
            "get https://git.example/org/other.git//x?ref=v2",
            "git https://git.example/org/other.git v2",
        ]
    );
}

#[test]
fn plain_http_files_are_objects_and_error_statuses_are_errors_naming_the_url() {
    let two = format!("{}---\n{}", cm("one"), cm("two"));
    let (options, _) = options(
        FakeRemote::default()
            .file("https://raw.example/o/r/v1/install.yaml", Ok(&two))
            .file("https://example.com/gone.yaml", Err(410)),
    );
    let local = MemoryFs::new()
        .with("kustomization.yaml", "resources:\n- https://raw.example/o/r/v1/install.yaml\n");
    let out = build_yaml(&local, "", &options).unwrap();
    assert!(out.contains("name: one") && out.contains("name: two"), "{out}");
    // Not a repository URL (one path segment): the status is the error.
    let gone =
        MemoryFs::new().with("kustomization.yaml", "resources:\n- https://example.com/gone.yaml\n");
    let err = build_yaml(&gone, "", &options).unwrap_err();
    assert!(
        matches!(&err, BuildError::Remote { url, .. } if url == "https://example.com/gone.yaml"),
        "{err:?}"
    );
    // A 404 of a URL that reads as a repository falls through to the repository, whose
    // failure is then the error.
    let missing = MemoryFs::new()
        .with("kustomization.yaml", "resources:\n- https://raw.example/o/r/v9/install.yaml\n");
    let err = build_yaml(&missing, "", &options).unwrap_err();
    match &err {
        BuildError::Remote { source, url, .. } => {
            assert_eq!(source.kind, RemoteErrorKind::RefNotFound);
            assert_eq!(url, "https://raw.example/o/r/v9/install.yaml");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_paths_cycles_and_kind_mismatches_are_errors_naming_the_url() {
    let mut looping = upstream();
    looping.insert("loop/kustomization.yaml", "resources:\n- github.com/org/up//loop?ref=v1\n");
    let (options, _) =
        options(FakeRemote::default().repo("https://github.com/org/up", "v1", looping));
    let build = |entry: &str| {
        let local = MemoryFs::new().with("kustomization.yaml", format!("resources:\n- {entry}\n"));
        build_yaml(&local, "", &options).unwrap_err()
    };
    let err = build("github.com/org/up//nothing/here?ref=v1");
    assert!(err.to_string().contains("'nothing/here' does not exist in the repository"), "{err}");
    assert!(err.to_string().contains("github.com/org/up//nothing/here?ref=v1"), "{err}");
    let err = build("github.com/org/up//README.md?ref=v1");
    assert!(err.to_string().contains("is a file; expecting a directory"), "{err}");
    let err = build("github.com/org/up//loop?ref=v1");
    let BuildError::InRemote { source, .. } = &err else { panic!("{err:?}") };
    assert!(matches!(**source, BuildError::Cycle { .. }), "{err}");
    let err = build("github.com/org/up//deploy/label?ref=v1");
    assert!(err.to_string().contains("expected kind != 'Component'"), "{err}");
    let err = build("github.com/org/up//deploy/base?ref=nope");
    assert!(
        matches!(&err, BuildError::Remote { source, .. } if source.kind == RemoteErrorKind::RefNotFound),
        "{err:?}"
    );
}

#[test]
fn without_a_loader_remote_targets_are_refused_naming_field_and_file() {
    for (field, entry) in [
        ("resources", "github.com/org/up//deploy?ref=v1"),
        ("resources", "https://raw.example/o/r/v1/install.yaml"),
        ("components", "https://github.com/org/up//deploy/label?ref=v1"),
    ] {
        let local =
            MemoryFs::new().with("app/kustomization.yaml", format!("{field}:\n- {entry}\n"));
        match build_yaml(&local, "app", &BuildOptions::default()) {
            Err(BuildError::Unsupported { file, field: named, what }) => {
                assert_eq!((file.as_str(), named.as_str()), ("app/kustomization.yaml", field));
                assert!(what.contains(entry), "{what}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn origins_of_remote_objects_name_the_repository_and_ref() {
    let (options, _) =
        options(FakeRemote::default().repo("https://github.com/org/up", "v1", upstream()));
    let local = MemoryFs::new().with(
        "kustomization.yaml",
        "buildMetadata: [originAnnotations]\nresources:\n- github.com/org/up//deploy/prod?ref=v1\n",
    );
    let out = build_yaml(&local, "", &options).unwrap();
    assert!(
        out.contains(
            "path: deploy/base/cm.yaml\n      repo: https://github.com/org/up\n      ref: v1\n"
        ),
        "{out}"
    );
}
