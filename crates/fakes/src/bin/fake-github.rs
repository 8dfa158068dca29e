//! `fake-github --listen ADDR [--token TOKEN=LOGIN]... [--app-token TOKEN=BOT]... [--repo OWNER/NAME]...
//! [--pull OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA]...`
//!
//! Serves the fake GitHub until killed, for local demos and for inspecting a run with plain HTTP
//! (`curl http://ADDR/repos/o/r/issues/1/comments`). Requests that GitHub's API description
//! rejects are printed to stderr as they arrive.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;
use std::time::Duration;

use fakes::github::{FakeGitHub, Pull};

const USAGE: &str = "usage: fake-github --listen ADDR [--token TOKEN=LOGIN]... [--app-token TOKEN=BOT]... \
[--repo OWNER/NAME]... [--pull OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA]...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-github: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut listen = None;
    let mut setup: Vec<(&str, &str)> = Vec::new();
    let mut pairs = args.iter();
    while let Some(flag) = pairs.next() {
        let value = pairs.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = Some(value.as_str()),
            "--token" | "--app-token" | "--repo" | "--pull" => setup.push((flag, value)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let listen = listen.ok_or("--listen ADDR is required")?;
    let fake =
        FakeGitHub::listen(listen).map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    for (flag, value) in setup {
        match flag {
            "--token" | "--app-token" => {
                let (token, login) = value
                    .split_once('=')
                    .ok_or_else(|| format!("{flag} wants TOKEN=LOGIN, got {value:?}"))?;
                if flag == "--token" {
                    fake.add_token(token, login);
                } else {
                    fake.add_app_token(token, login);
                }
            }
            "--repo" => fake.add_repo(value),
            _ => {
                let (repo, pull) = parse_pull(value).ok_or_else(|| {
                    format!("--pull wants OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA, got {value:?}")
                })?;
                fake.add_pull(repo, pull);
            }
        }
    }
    println!("fake-github listening on {}", fake.url());
    let mut reported = 0;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let violations = fake.violations();
        for violation in &violations[reported..] {
            eprintln!("violation: {violation}");
        }
        reported = violations.len();
    }
}

fn parse_pull(value: &str) -> Option<(&str, Pull)> {
    let (repo, rest) = value.split_once('#')?;
    let (number, sides) = rest.split_once('=')?;
    let (head, base) = sides.split_once(':')?;
    let (head_ref, head_sha) = head.split_once('@')?;
    let (base_ref, base_sha) = base.split_once('@')?;
    Some((repo, Pull::open(number.parse().ok()?, head_ref, head_sha, base_ref, base_sha)))
}
