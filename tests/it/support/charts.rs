//! Helm chart repositories for tests: a small chart written here, packaged at each version with
//! the pinned helm, and served with its `index.yaml` by the loopback HTTP server
//! (`git_server::GitHttpServer`), as a chart repository on the internet serves them.

use std::path::Path;
use std::process::Command;

use super::git_server::GitHttpServer;

/// The chart's one template: a ConfigMap that says which chart version rendered it.
const TEMPLATE: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
data:
  chart-version: {{ .Chart.Version | quote }}
";

/// Publishes chart `name` at each of `versions` under `/charts/` of `server`; returns the
/// repository's URL.
pub fn publish(server: &GitHttpServer, helm: &Path, name: &str, versions: &[&str]) -> String {
    let work = tempfile::tempdir().expect("temp");
    let out = work.path().join("repo");
    std::fs::create_dir_all(&out).unwrap();
    for version in versions {
        let source = work.path().join(format!("src-{version}")).join(name);
        std::fs::create_dir_all(source.join("templates")).unwrap();
        std::fs::write(
            source.join("Chart.yaml"),
            format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
        )
        .unwrap();
        std::fs::write(source.join("values.yaml"), "{}\n").unwrap();
        std::fs::write(source.join("templates/configmap.yaml"), TEMPLATE).unwrap();
        run_helm(
            helm,
            work.path(),
            &["package", source.to_str().unwrap(), "-d", out.to_str().unwrap()],
        );
    }
    let url = format!("{}/charts", server.url());
    run_helm(helm, work.path(), &["repo", "index", out.to_str().unwrap(), "--url", &url]);
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        server.bytes(&format!("/charts/{file}"), std::fs::read(&path).unwrap());
    }
    url
}

/// helm with homes of its own (nothing of the user's is read or written).
fn run_helm(helm: &Path, work: &Path, args: &[&str]) {
    let home = work.join("helm-home");
    let output = Command::new(helm)
        .args(args)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("run helm");
    assert!(output.status.success(), "helm {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}
