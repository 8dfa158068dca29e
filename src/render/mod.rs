//! The renderer as the rest of the pipeline sees it: a unit's `kustomize build` as a typed
//! value — its objects, and their text exactly as kustomize prints it — or the kustomize crate's
//! typed [`BuildError`]. Nothing downstream re-parses rendered text, and nothing recovers a file
//! or a line from an error message: [`RenderFailure`] carries both as data.
//!
//! Detection renders through here (to take read sets and to compare both sides) and hands the
//! renders on; the conductor never renders a unit a second time. `images` rewrites the images of
//! rendered objects (the `images` input), a transform every target applies. `sources` holds
//! what renders take from outside the repository (helm, remote bases), one of each per run.
//!
//! Pure apart from reading through the `FileSystem` it is given and what the run's `Renderer`
//! brings in (helm, remote bases); it decides nothing.

pub mod images;
pub mod sources;

pub use sources::{Renderer, Resolved};

use kustomize::{BuildError, BuildOptions, FileSystem, Value};

/// A unit's render: its objects in output order and their YAML as `kubectl kustomize` prints
/// them. Two renders are equal when their text is byte-identical (what "unchanged output"
/// means everywhere).
#[derive(Clone, Debug)]
pub struct Rendered {
    pub objects: Vec<Value>,
    pub yaml: String,
}

impl PartialEq for Rendered {
    fn eq(&self, other: &Self) -> bool {
        self.yaml == other.yaml
    }
}

impl Eq for Rendered {}

/// A render, or why it failed.
pub type Render = Result<Rendered, BuildError>;

/// Renders the kustomization in `dir` of `fs` with `options`.
pub fn render_unit(fs: &dyn FileSystem, dir: &str, options: &BuildOptions) -> Render {
    let objects = kustomize::build(fs, dir, options)?;
    let yaml = kustomize::yaml::emit_documents(&objects);
    Ok(Rendered { objects, yaml })
}

/// The production renderer as detection takes it: kustomize's default options (load
/// restrictor `rootonly`).
pub fn render_default(fs: &dyn FileSystem, dir: &str) -> Render {
    render_unit(fs, dir, &BuildOptions::default())
}

/// Which side of a change a render belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The diff base (before the change).
    Base,
    /// The change itself.
    Head,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Head => "head",
        }
    }
}

/// A unit that failed to render on one side, with the renderer's typed error.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderFailure {
    pub side: Side,
    pub error: BuildError,
}

impl RenderFailure {
    /// The repository file at fault.
    pub fn file(&self) -> &str {
        self.error.file()
    }

    /// The 1-based line at fault, when the renderer knows it.
    pub fn line(&self) -> Option<u32> {
        self.error.line()
    }
}

impl std::fmt::Display for RenderFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.side {
            Side::Base => write!(f, "at the diff base: {}", self.error),
            Side::Head => write!(f, "{}", self.error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kustomize::MemoryFs;

    #[test]
    fn a_render_is_its_objects_and_kustomizes_text() {
        let fs = MemoryFs::new()
            .with("app/kustomization.yaml", "resources: [cm.yaml]\nnamespace: web\n")
            .with("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n");
        let rendered = render_default(&fs, "app").unwrap();
        assert_eq!(rendered.objects.len(), 1);
        assert_eq!(
            rendered.yaml,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: web\n"
        );
    }

    #[test]
    fn a_yaml_failure_names_its_line() {
        let fs = MemoryFs::new()
            .with("app/kustomization.yaml", "resources: [cm.yaml]\n")
            .with("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n");
        let error = render_default(&fs, "app").unwrap_err();
        let failure = RenderFailure { side: Side::Head, error };
        assert_eq!(failure.file(), "app/cm.yaml");
        assert!(failure.line().is_some_and(|line| line >= 4), "{:?}", failure.line());
    }

    #[test]
    fn a_failure_names_its_file_and_side() {
        let fs = MemoryFs::new().with("app/kustomization.yaml", "resourcez: []\n");
        let error = render_default(&fs, "app").unwrap_err();
        let failure = RenderFailure { side: Side::Base, error };
        assert_eq!(failure.file(), "app/kustomization.yaml");
        assert!(failure.to_string().starts_with("at the diff base: app/kustomization.yaml"));
    }
}
