//! `kbuild DIR [--load-restrictor none]`: builds the kustomization in DIR from disk and prints
//! it as `kubectl kustomize DIR` does (errors on stderr, exit 1). For measuring the library
//! alone (time, peak memory with `/usr/bin/time -v`) without the whole gitops-env binary.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;

use kustomize::{BuildOptions, DiskFs, LoadRestrictor, build_yaml};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: kbuild DIR [--load-restrictor none]");
        return ExitCode::from(2);
    };
    let mut options = BuildOptions::default();
    if args.get(1..) == Some(&["--load-restrictor".to_owned(), "none".to_owned()][..]) {
        options.load_restrictor = LoadRestrictor::None;
    }
    let fs = match DiskFs::new(dir) {
        Ok(fs) => fs,
        Err(err) => {
            eprintln!("{dir}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match build_yaml(&fs, "", &options) {
        Ok(text) => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("Error: {err}");
            ExitCode::FAILURE
        }
    }
}
