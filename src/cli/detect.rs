//! `gitops-env detect`: the affected units between two revisions of a repository, as text or
//! JSON: stage 2 of the pipeline on its own. Argument syntax and exit codes only; the work is
//! `detect::detect_request`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::EXIT_BAD_INPUT;
use crate::cli::render::Restrictor;
use crate::detect::DetectOptions;
use crate::detect::units::UnitSelection;
use crate::git::diff_base::DiffRequest;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Arguments of `gitops-env detect`.
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// The repository: its work tree or git directory.
    #[arg(long, value_name = "PATH", default_value = ".")]
    pub repo: PathBuf,
    /// The old side: any revision (SHA, branch, tag, HEAD~1…).
    #[arg(long, value_name = "REV")]
    pub base: String,
    /// The new side.
    #[arg(long, value_name = "REV", default_value = "HEAD")]
    pub head: String,
    /// Units as directory globs instead of discovery; `{env}` stands for each environment and
    /// `**` makes every kustomization directory a unit. Repeatable.
    #[arg(long = "units", value_name = "GLOB")]
    pub units: Vec<String>,
    /// Only these environments (folder names under `overlays/`). Repeatable; default: all.
    #[arg(long = "environment", value_name = "ENV")]
    pub environments: Vec<String>,
    /// Only these root folders (default: every top folder with `overlays/`). Repeatable.
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Report every unit whose read set a change touched, without rendering both sides to set
    /// aside those whose output did not change.
    #[arg(long)]
    pub no_refine: bool,
    /// Take the read set of every unit, not only of those whose kustomizations' folders a change
    /// can reach (slower; the result is the same).
    #[arg(long)]
    pub render_all: bool,
    /// kustomize's load restrictor: `rootonly` (its default) or `none` (Flux's setting).
    #[arg(long, value_enum, default_value_t = Restrictor::Rootonly)]
    pub load_restrictor: Restrictor,
    /// The remote to fetch missing history from when the clone is shallow.
    #[arg(long, value_name = "NAME", default_value = "origin")]
    pub remote: String,
    #[command(flatten)]
    pub sources: super::SourceArgs,
}

/// Runs the command. Exit codes: 0 done, 1 a unit failed to render or git failed, 2 bad input.
pub fn run(
    args: DetectArgs,
    env: &[(String, String)],
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> ExitCode {
    let request = DiffRequest::Explicit { base: args.base.clone(), head: args.head.clone() };
    let selection = UnitSelection {
        roots: (!args.roots.is_empty()).then(|| args.roots.clone()),
        environments: (!args.environments.is_empty()).then(|| args.environments.clone()),
        globs: args.units.clone(),
    };
    let options = DetectOptions { refine: !args.no_refine, prune_by_scope: !args.render_all };
    let renderer = args.sources.renderer(args.load_restrictor.to_kustomize(), env, None);
    let detection = match crate::detect::detect_request(
        &args.repo,
        &request,
        &selection,
        &args.remote,
        None,
        &|fs: &dyn kustomize::FileSystem, dir: &str| renderer.render(fs, dir),
        renderer.load_restrictor(),
        options,
    ) {
        Ok(detection) => detection,
        Err(err) => {
            let _ = writeln!(stderr, "error: {err}");
            return ExitCode::from(if err.is_bad_input() { EXIT_BAD_INPUT } else { 1 });
        }
    };
    let written = match args.format {
        Format::Json => writeln!(stdout, "{}", detection.to_json()),
        Format::Text => detection.write_text(stdout),
    };
    if let Err(err) = written {
        let _ = writeln!(stderr, "error: writing the result: {err}");
        return ExitCode::FAILURE;
    }
    for line in crate::report::resolved::lines(&renderer.resolved()) {
        let _ = writeln!(stderr, "note: {line}");
    }
    if detection.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
