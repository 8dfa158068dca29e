//! What renders take from outside the repository, through the action: a unit inflating a
//! chart of its own and an unpinned chart from a chart repository, and a unit built on a
//! remote base at a branch — both served on loopback — deploy into a preview, and the comment
//! says which version and which commit they resolved to.

use crate::support::charts;
use crate::support::flow::{REPOSITORY, World, pull_request};
use crate::support::git_repo::TestRepo;
use crate::support::git_server::GitHttpServer;

const LOCAL_CHART: &str = "apiVersion: v2\nname: notes\nversion: 0.3.0\n";
const LOCAL_TEMPLATE: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
      - name: notes
        image: {{ .Values.image | quote }}
";

#[test]
fn charts_and_remote_bases_deploy_into_a_preview_and_the_comment_names_what_they_resolved_to() {
    let Some(helm) = testsupport::helm("the action inflating helm charts") else { return };
    let served = tempfile::tempdir().unwrap();
    let server = GitHttpServer::start(served.path());
    let repo_url = charts::publish(&server, &helm, "cache", &["1.0.0", "1.1.0"]);
    let upstream = TestRepo::new();
    upstream.write("deploy/kustomization.yaml", "resources: [cm.yaml]\n").write(
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upstream\ndata:\n  from: main\n",
    );
    let upstream_main = upstream.commit("upstream");
    upstream.bare_clone(&served.path().join("upstream.git"));

    let world = World::new();
    world.repo.checkout("develop").checkout_new("feat/sources");
    world
        .repo
        .write("apps/base/notes/charts/notes/Chart.yaml", LOCAL_CHART)
        .write("apps/base/notes/charts/notes/values.yaml", "image: ghcr.io/me/notes:1.0\n")
        .write("apps/base/notes/charts/notes/templates/deployment.yaml", LOCAL_TEMPLATE)
        .write(
            "apps/base/notes/kustomization.yaml",
            &format!(
                "helmCharts:\n- name: notes\n  releaseName: notes\n  valuesInline:\n    image: \
                 ghcr.io/me/notes:2.0\n- name: cache\n  repo: {repo_url}\n  releaseName: notes\n"
            ),
        )
        .write(
            "apps/overlays/testing/notes/kustomization.yaml",
            "namespace: notes\nresources: [../../../base/notes]\n",
        )
        .write(
            "apps/overlays/testing/upstream/kustomization.yaml",
            &format!(
                "namespace: upstream\nresources:\n- {}/upstream.git//deploy?ref=main\n",
                server.url()
            ),
        );
    world.repo.commit("notes from charts, upstream from a remote base");
    let pull = world.open_pull(21, "feat/sources", "develop");
    let run = world.run("pull_request", Some(pull_request("opened", &pull, false, None)), &[]);
    assert_eq!(run.code, 0, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);

    let previews = world.namespaces(&world.testing, "preview-");
    assert_eq!(previews.len(), 1, "{previews:?}");
    let objects = world.objects_in(&world.testing, &previews[0]);
    for object in ["Deployment/notes", "ConfigMap/notes-cache", "ConfigMap/upstream"] {
        assert!(objects.contains(&object.to_owned()), "{object} not deployed: {objects:?}");
    }
    let deployment = world.testing.get("apps/v1", "Deployment", &previews[0], "notes").unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/me/notes:2.0"
    );
    let cache = world.testing.get("v1", "ConfigMap", &previews[0], "notes-cache").unwrap();
    assert_eq!(cache["data"]["chart-version"], "1.1.0", "the newest version is the unpinned one");

    let comments = world.github.comments(REPOSITORY, 21);
    assert_eq!(comments.len(), 1);
    let body = &comments[0].body;
    assert!(body.contains("#### Resolved at render time"), "{body}");
    assert!(
        body.contains(&format!(
            "- chart `cache` from `{repo_url}` (no version pinned): version `1.1.0`"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "- remote `{}/upstream.git` at branch `main`: commit `{}`",
            server.url(),
            &upstream_main[..12]
        )),
        "{body}"
    );
    // The local chart is the repository's own: nothing about it was resolved at render time.
    assert!(!body.contains("chart `notes`"), "{body}");
    // One ref listing for the branch, though both sides of the change and the apply use it.
    let listings = server.seen().iter().filter(|s| s.target.contains("/info/refs")).count();
    assert_eq!(listings, 1, "{:?}", server.seen());
}

#[test]
fn the_default_cache_directory_in_the_workspace_spares_the_next_run_every_pinned_fetch() {
    // What the README's actions/cache step keeps: `.gitops-env/` under GITHUB_WORKSPACE. A
    // pinned chart and a tagged remote base, once fetched, need no network in the next run.
    let Some(helm) = testsupport::helm("the action's chart cache") else { return };
    let served = tempfile::tempdir().unwrap();
    let server = GitHttpServer::start(served.path());
    let repo_url = charts::publish(&server, &helm, "cache", &["1.0.0"]);
    let upstream = TestRepo::new();
    upstream
        .write("deploy/kustomization.yaml", "resources: [cm.yaml]\n")
        .write("deploy/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upstream\n");
    upstream.commit("upstream");
    upstream.git(&["tag", "v1"]);
    upstream.bare_clone(&served.path().join("upstream.git"));

    let world = World::new();
    world.repo.checkout("develop");
    world
        .repo
        .write(
            "apps/overlays/testing/cache/kustomization.yaml",
            &format!(
                "namespace: api\nhelmCharts:\n- name: cache\n  repo: {repo_url}\n  version: 1.0.0\n  \
                 releaseName: api\n"
            ),
        )
        .write(
            "apps/overlays/testing/upstream/kustomization.yaml",
            &format!("namespace: api\nresources:\n- {}/upstream.git//deploy?ref=v1\n", server.url()),
        );
    world.repo.commit("pinned sources");
    let inputs = [("cache-directory", ".gitops-env")];
    let first = world.dispatch_deploy("testing", &inputs);
    assert_eq!(first.code, 0, "stdout:\n{}\nstderr:\n{}", first.stdout, first.stderr);
    let cache = world.repo.path().join(".gitops-env");
    for kept in ["remote-cache", "charts"] {
        let entries = std::fs::read_dir(cache.join(kept)).map(Iterator::count).unwrap_or(0);
        assert!(entries > 0, "nothing kept in .gitops-env/{kept}");
    }
    assert!(server.seen().iter().any(|s| s.target.ends_with(".tgz")), "{:?}", server.seen());
    server.forget();
    let second = world.dispatch_deploy("testing", &inputs);
    assert_eq!(second.code, 0, "stdout:\n{}\nstderr:\n{}", second.stdout, second.stderr);
    // (kustomize first tries an http(s) resource as a plain file, so that GET is made in every
    // run; the repository itself is neither listed nor fetched again.)
    let fetched: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|seen| seen.is_git() || seen.target.starts_with("/charts/"))
        .collect();
    assert_eq!(fetched, vec![], "the second run fetched again");
    assert!(world.testing.get("v1", "ConfigMap", "api", "api-cache").is_some());
    assert!(world.testing.get("v1", "ConfigMap", "api", "upstream").is_some());
    // Pinned sources resolve nothing at render time: no footer.
    assert!(!second.summary.contains("Resolved at render time"), "{}", second.summary);
}
