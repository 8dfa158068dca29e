//! The `gitops-env` binary: everything lives in the library so tests can run it in-process.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let env: Vec<(String, String)> = std::env::vars().collect();
    gitops_env::run(args, &env, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())
}
