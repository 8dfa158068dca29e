//! `gitops-env render`: stage 4 on its own — builds kustomization directories with our own renderer (the
//! `kustomize` crate) and prints or writes the result as `kubectl kustomize` would.
//!
//! One directory goes to stdout (exit 0) or its error to stderr (exit 1). With `--out-dir`,
//! every directory is built in this one process, in parallel, and written to
//! `OUT/DIR/build.yaml` or `OUT/DIR/build-error.txt`; the exit code is 1 when any failed (all
//! are still written). This module owns the disk edge of rendering (choosing the file-system
//! root, writing files); what a build means belongs to the `kustomize` crate.
//!
//! The file-system root of a build is the enclosing git work tree (the nearest ancestor holding
//! `.git`), else the current directory when the target lies inside it, else the target itself:
//! a build may read any file of its repository (bases elsewhere in it) but nothing outside.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use kustomize::{BuildOptions, DiskFs, LoadRestrictor};
use rayon::prelude::*;

/// Arguments of `gitops-env render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Write each build to OUT/DIR/build.yaml (or OUT/DIR/build-error.txt) instead of stdout.
    #[arg(long, value_name = "OUT")]
    pub out_dir: Option<PathBuf>,
    /// Which files a kustomization may read: `rootonly` (kustomize's default: only files in or
    /// below its own directory) or `none` (any file of the repository, as Flux allows).
    #[arg(long, value_enum, default_value_t = Restrictor::Rootonly)]
    pub load_restrictor: Restrictor,
    #[command(flatten)]
    pub sources: super::SourceArgs,
    /// Kustomization directories, relative to the current directory.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

/// The `--load-restrictor` values, spelled as kustomize spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Restrictor {
    Rootonly,
    None,
}

impl Restrictor {
    pub fn to_kustomize(self) -> LoadRestrictor {
        match self {
            Restrictor::Rootonly => LoadRestrictor::RootOnly,
            Restrictor::None => LoadRestrictor::None,
        }
    }
}

/// Why one directory could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{dir}: {message}")]
    Target { dir: String, message: String },
    #[error(transparent)]
    Build(#[from] kustomize::BuildError),
}

/// Runs the command. Exit codes: 0 rendered, 1 a build failed, 2 bad arguments.
pub fn run(
    args: &RenderArgs,
    env: &[(String, String)],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    if args.out_dir.is_some()
        && let Some((first, second)) = colliding_outputs(&args.dirs)
    {
        let _ = writeln!(
            stderr,
            "error: {} and {} would both be written to the same folder under --out-dir; \
             render them with separate --out-dir calls",
            first.display(),
            second.display()
        );
        return ExitCode::from(super::EXIT_BAD_INPUT);
    }
    // No repository settings here: `render` is `kubectl kustomize`, flags only.
    let renderer = args.sources.renderer(args.load_restrictor.to_kustomize(), env, None);
    let options = renderer.options_for("");
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(err) => {
            let _ = writeln!(stderr, "error: cannot read the current directory: {err}");
            return ExitCode::FAILURE;
        }
    };
    let status = match &args.out_dir {
        None => render_to_stdout(&cwd, &args.dirs, options, stdout, stderr),
        Some(out_dir) => render_to_dir(&cwd, &args.dirs, out_dir, options, stderr),
    };
    for line in crate::report::resolved::lines(&renderer.resolved()) {
        let _ = writeln!(stderr, "note: {line}");
    }
    status
}

fn render_to_stdout(
    cwd: &Path,
    dirs: &[PathBuf],
    options: &BuildOptions,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let mut status = ExitCode::SUCCESS;
    for dir in dirs {
        match render_dir(cwd, dir, options) {
            Ok(yaml) => {
                if let Err(err) = stdout.write_all(yaml.as_bytes()) {
                    let _ = writeln!(stderr, "error: writing output: {err}");
                    return ExitCode::FAILURE;
                }
            }
            Err(err) => {
                let _ = writeln!(stderr, "error: {}: {err}", dir.display());
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}

fn render_to_dir(
    cwd: &Path,
    dirs: &[PathBuf],
    out_dir: &Path,
    options: &BuildOptions,
    stderr: &mut dyn Write,
) -> ExitCode {
    // Roots are shared between directories of one repository; finding them once keeps the
    // parallel builds from repeating the upward search.
    let roots: HashMap<PathBuf, Result<(DiskFs, String), String>> = dirs
        .iter()
        .map(|dir| (dir.clone(), file_system_for(cwd, dir).map_err(|err| err.to_string())))
        .collect();
    let outcomes: Vec<(PathBuf, Result<(), String>)> = dirs
        .par_iter()
        .map(|dir| {
            let rendered = match &roots[dir] {
                Ok((fs, relative)) => {
                    kustomize::build_yaml(fs, relative, options).map_err(|err| err.to_string())
                }
                Err(message) => Err(message.clone()),
            };
            let written = write_outcome(out_dir, dir, rendered.as_deref().map_err(String::as_str));
            (dir.clone(), written.and(rendered.map(|_| ())))
        })
        .collect();
    let mut status = ExitCode::SUCCESS;
    for (dir, outcome) in outcomes {
        if let Err(message) = outcome {
            let _ = writeln!(stderr, "error: {}: {message}", dir.display());
            status = ExitCode::FAILURE;
        }
    }
    status
}

/// Writes `OUT/DIR/build.yaml` or `OUT/DIR/build-error.txt`, removing the other one.
fn write_outcome(out_dir: &Path, dir: &Path, rendered: Result<&str, &str>) -> Result<(), String> {
    let target = out_dir.join(output_subdir(dir));
    std::fs::create_dir_all(&target)
        .map_err(|err| format!("creating {}: {err}", target.display()))?;
    let (name, other, text) = match rendered {
        Ok(yaml) => ("build.yaml", "build-error.txt", yaml.to_owned()),
        Err(message) => ("build-error.txt", "build.yaml", format!("{message}\n")),
    };
    let _ = std::fs::remove_file(target.join(other));
    let path = target.join(name);
    std::fs::write(&path, text).map_err(|err| format!("writing {}: {err}", path.display()))
}

/// Two directories whose outputs would land in the same folder under `--out-dir` (the later one
/// would silently replace the earlier), e.g. `x` and `../x`.
fn colliding_outputs(dirs: &[PathBuf]) -> Option<(&PathBuf, &PathBuf)> {
    let mut seen: HashMap<PathBuf, &PathBuf> = HashMap::new();
    for dir in dirs {
        if let Some(first) = seen.insert(output_subdir(dir), dir)
            && first != dir
        {
            return Some((first, dir));
        }
    }
    None
}

/// `DIR` as a relative path under OUT, normalised lexically; `..` never climbs out of OUT.
fn output_subdir(dir: &Path) -> PathBuf {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for component in dir.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    parts.into_iter().collect()
}

/// Renders one directory (relative to `cwd`).
pub fn render_dir(cwd: &Path, dir: &Path, options: &BuildOptions) -> Result<String, RenderError> {
    let (fs, relative) = file_system_for(cwd, dir)?;
    Ok(kustomize::build_yaml(&fs, &relative, options)?)
}

/// The confined file system for building `dir`, and `dir`'s path inside it.
fn file_system_for(cwd: &Path, dir: &Path) -> Result<(DiskFs, String), RenderError> {
    let target_error =
        |message: String| RenderError::Target { dir: dir.display().to_string(), message };
    let absolute = cwd.join(dir).canonicalize().map_err(|err| target_error(err.to_string()))?;
    if !absolute.is_dir() {
        return Err(target_error("not a directory".into()));
    }
    let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    let root = absolute
        .ancestors()
        .find(|ancestor| ancestor.join(".git").exists())
        .map(Path::to_path_buf)
        .or_else(|| absolute.starts_with(&cwd).then(|| cwd.clone()))
        .unwrap_or_else(|| absolute.clone());
    let relative = absolute
        .strip_prefix(&root)
        .map_err(|err| target_error(err.to_string()))?
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    let fs = DiskFs::new(&root).map_err(|err| target_error(err.to_string()))?;
    Ok((fs, relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_subdir_stays_inside_the_output_directory() {
        assert_eq!(output_subdir(Path::new("./apps/../prod")), PathBuf::from("prod"));
        assert_eq!(output_subdir(Path::new("../../x")), PathBuf::from("x"));
        assert_eq!(output_subdir(Path::new("overlays/dev")), PathBuf::from("overlays/dev"));
    }

    #[test]
    fn outputs_that_would_overwrite_each_other_are_found() {
        let dirs = |names: &[&str]| names.iter().map(PathBuf::from).collect::<Vec<_>>();
        let colliding = dirs(&["x", "y", "../x"]);
        assert_eq!(
            colliding_outputs(&colliding),
            Some((&PathBuf::from("x"), &PathBuf::from("../x")))
        );
        assert_eq!(colliding_outputs(&dirs(&["x", "y", "x"])), None);
    }
}
