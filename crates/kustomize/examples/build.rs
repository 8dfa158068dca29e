//! `kubectl kustomize` on this crate, for comparing outputs by hand and for `bench/helm.sh`:
//! `cargo run -p kustomize --example build -- [--enable-helm] [--helm-command PATH]
//! [--chart-cache DIR] [--load-restrictor LoadRestrictionsNone] DIR...` prints each build (or its
//! error on stderr, exit status 1), as `kubectl kustomize DIR` does.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use kustomize::{BuildOptions, DiskFs, Helm, HelmOptions, LoadRestrictor};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut helm, mut command, mut cache, mut restrictor, mut dirs) =
        (false, "helm".to_owned(), None, LoadRestrictor::RootOnly, Vec::new());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--enable-helm" => helm = true,
            "--helm-command" => command = args.next().unwrap_or_default(),
            "--chart-cache" => cache = args.next(),
            "--load-restrictor" => {
                if args.next().as_deref() == Some("LoadRestrictionsNone") {
                    restrictor = LoadRestrictor::None;
                }
            }
            _ => dirs.push(arg),
        }
    }
    let helm = helm.then(|| {
        let mut options = HelmOptions::new(command);
        options.chart_cache = cache.map(Into::into);
        Helm::new(options)
    });
    let options = BuildOptions { load_restrictor: restrictor, helm, ..BuildOptions::default() };
    let mut status = ExitCode::SUCCESS;
    for dir in dirs {
        // The build's root is the directory itself, as for `kubectl kustomize DIR` under
        // rootonly (use the parent to allow `..` references).
        let result = DiskFs::new(&dir)
            .map_err(|e| e.to_string())
            .and_then(|fs| kustomize::build_yaml(&fs, "", &options).map_err(|e| e.to_string()));
        match result {
            Ok(text) => print!("{text}"),
            Err(err) => {
                eprintln!("{dir}: {err}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
