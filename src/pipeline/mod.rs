//! The conductor: runs the stages in order for the commands that span several of them (`plan`,
//! `diff`, `action`). It owns the glue between stages — which settings select which units, how a
//! detection becomes the plan's state, how a plan and renders become a report — and nothing
//! else: every decision lives in its stage (`plan`, `detect`, `diff`, `report`), every effect in
//! an edge module (`git`, `github`, `cluster`, `actions`).

pub mod assemble;
pub mod changes;

use std::path::Path;

use kustomize::{EntryKind, FileSystem, Value};

use crate::actions::inputs::Inputs;
use crate::config::{Config, ConfigError};
use crate::detect::{DetectOptions, Detection};
use crate::git::GitRepo;
use crate::git::diff_base::DiffRequest;
use crate::plan::Target;
use crate::preview::{SlugSource, preview_names};
use crate::units::UnitSelection;

/// The settings for a repository: defaults, then its config file (read through `fs`, so it can
/// come from a checkout or a commit's tree), then the non-empty inputs.
pub fn load_config(
    fs: &dyn FileSystem,
    config_file: &str,
    inputs: &Inputs,
) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let path = config_file.trim_start_matches("./");
    let file_error =
        |message: String| ConfigError { origin: path.to_owned(), key: "(file)".into(), message };
    if fs.kind(path).map_err(|err| file_error(err.to_string()))? == Some(EntryKind::File) {
        let bytes = fs.read_file(path).map_err(|err| file_error(err.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| file_error("not UTF-8".into()))?;
        let value = kustomize::yaml::parse_document(&text, path)
            .map_err(|err| file_error(err.to_string()))?;
        config.merge_file(&value, path)?;
    }
    config.merge_inputs(inputs)?;
    Ok(config)
}

/// Which units discovery looks for under these settings.
pub fn unit_selection(config: &Config) -> UnitSelection {
    let mut environments: Vec<String> =
        config.environments.iter().map(|env| env.overlay.clone()).collect();
    environments.sort();
    environments.dedup();
    UnitSelection {
        roots: Some(config.roots.iter().map(|root| root.path.clone()).collect()),
        environments: Some(environments),
        globs: config.units.clone(),
    }
}

/// Parses a unit's rendered text back into objects (the renderer printed it; parsing it again is
/// cheap and keeps detection's renders plain text).
pub fn objects(rendered: &str, unit: &str) -> Result<Vec<Value>, String> {
    kustomize::yaml::parse_documents(rendered, unit).map_err(|err| err.to_string())
}

/// Detection between two revisions of the repository at `repo`, with the settings read at head
/// (that is the repository the change is for).
pub fn detect_between(
    repo: &Path,
    base: &str,
    head: &str,
    config_file: &str,
) -> Result<(Config, Detection), String> {
    let request = DiffRequest::Explicit { base: base.to_owned(), head: head.to_owned() };
    let git = GitRepo::open(repo).map_err(|err| err.to_string())?;
    let head_commit = git.resolve(head).map_err(|err| err.to_string())?;
    let head_fs = git.tree_fs(&head_commit).map_err(|err| err.to_string())?;
    let config =
        load_config(&head_fs, config_file, &Inputs::default()).map_err(|err| err.to_string())?;
    let detection = crate::detect::detect_request(
        repo,
        &request,
        &unit_selection(&config),
        "origin",
        None,
        &kustomize::BuildOptions::default(),
        DetectOptions::default(),
    )
    .map_err(|err| err.to_string())?;
    Ok((config, detection))
}

/// How a step's target is named for people: environments by name, previews by namespace.
pub fn target_name(config: &Config, target: &Target) -> String {
    match target {
        Target::Environment { name } => name.clone(),
        Target::Preview(preview) => {
            let source = match preview.pr {
                Some(number) if preview.fork => SlugSource::PullRequest(number),
                _ => SlugSource::Branch(&preview.branch),
            };
            match preview_names(&config.preview.namespace_template, source) {
                Ok((_, namespace)) => format!("preview {namespace}"),
                Err(_) => target.to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::MemoryFs;

    #[test]
    fn config_file_is_read_through_the_file_system_and_inputs_win() {
        let fs = MemoryFs::new()
            .with(".github/gitops-env.yaml", "preview:\n  ttl: 7d\n  branches: [feature/*]\n");
        let inputs = Inputs::with(&[("preview-ttl", "1h")]);
        let config = load_config(&fs, ".github/gitops-env.yaml", &inputs).unwrap();
        assert!(config.is_preview_branch("feature/x"));
        assert_eq!(config.preview.ttl.as_secs(), 3600);
    }

    #[test]
    fn a_missing_config_file_means_defaults_and_a_broken_one_names_itself() {
        let fs = MemoryFs::new().with("README.md", "hi");
        assert_eq!(
            load_config(&fs, ".github/gitops-env.yaml", &Inputs::default()).unwrap(),
            Config::default()
        );
        let fs = MemoryFs::new().with(".github/gitops-env.yaml", "preview: [\n");
        let err = load_config(&fs, ".github/gitops-env.yaml", &Inputs::default()).unwrap_err();
        assert_eq!(err.origin, ".github/gitops-env.yaml");
    }

    #[test]
    fn selection_follows_roots_and_overlays() {
        let selection = unit_selection(&Config::default());
        assert_eq!(selection.roots.unwrap(), ["apps", "infrastructure"]);
        assert_eq!(selection.environments.unwrap(), ["production", "testing"]);
    }
}
