//! `fake-github`: serves the fake GitHub REST API from the command line, for local demos, for
//! inspecting a run with plain HTTP (`curl http://ADDR/repos/o/r/issues/1/comments`) and for
//! tests that run the product as a process. See `USAGE`. Requests that GitHub's API description
//! rejects are printed to stderr as they arrive.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use fakes::github::{FakeGitHub, Permission, Pull};

const USAGE: &str = "\
usage: fake-github [--listen ADDR] [SETUP]...

Serves a stateful fake of the GitHub REST API gitops-env uses (pull requests, comments,
deployments, branches, collaborator permissions, labels), checking every request against
GitHub's OpenAPI description. On start it prints `fake-github listening on http://HOST:PORT` as
the first line on stdout; violations of the description go to stderr. Reads need no token.

  --listen ADDR                    address to listen on (default 127.0.0.1:0, a free port)
SETUP (each repeatable):
  --token TOKEN=LOGIN              a user's token (GET /user answers LOGIN)
  --app-token TOKEN=BOT            an installation token (like GITHUB_TOKEN), e.g. github-actions[bot]
  --read-only-app-token TOKEN=BOT  an installation token that may only read, like a fork's
                                   GITHUB_TOKEN: writes get 403 Resource not accessible by integration
  --repo OWNER/NAME                a repository (also created by the flags below)
  --pull OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA
                                   an open pull request (its head and base branches exist)
  --draft-pull SPEC                the same, as a draft
  --merged-pull SPEC@MERGE_SHA     the same, merged by commit MERGE_SHA
  --label OWNER/NAME#N=LABEL       a label on pull request N
  --branch OWNER/NAME:BRANCH@SHA   a branch
  --permission OWNER/NAME:LOGIN=ROLE
                                   a collaborator's role: admin, maintain, write, triage, read, none
                                   (default: the owner is admin, everyone else read)
  -h, --help                       this text";

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
            "--token"
            | "--app-token"
            | "--read-only-app-token"
            | "--repo"
            | "--pull"
            | "--draft-pull"
            | "--merged-pull"
            | "--label"
            | "--branch"
            | "--permission" => setup.push((flag, value)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let listen = listen.unwrap_or("127.0.0.1:0");
    let fake =
        FakeGitHub::listen(listen).map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    for (flag, value) in setup {
        match flag {
            "--token" | "--app-token" | "--read-only-app-token" => {
                let (token, login) = value
                    .split_once('=')
                    .ok_or_else(|| format!("{flag} wants TOKEN=LOGIN, got {value:?}"))?;
                match flag {
                    "--token" => fake.add_token(token, login),
                    "--app-token" => fake.add_app_token(token, login),
                    _ => fake.add_read_only_app_token(token, login),
                }
            }
            "--repo" => fake.add_repo(value),
            "--label" => {
                let (repo, number, label) = value
                    .split_once('#')
                    .and_then(|(repo, rest)| rest.split_once('=').map(|(n, l)| (repo, n, l)))
                    .and_then(|(repo, n, l)| Some((repo, n.parse::<u64>().ok()?, l)))
                    .ok_or_else(|| format!("--label wants OWNER/NAME#N=LABEL, got {value:?}"))?;
                if fake.pull(repo, number).is_none() {
                    return Err(format!(
                        "--label {value:?}: no pull request {repo}#{number} (give --pull first)"
                    ));
                }
                fake.add_label(repo, number, label);
            }
            "--branch" => {
                let (repo, branch, sha) = value
                    .split_once(':')
                    .and_then(|(repo, rest)| rest.rsplit_once('@').map(|(b, s)| (repo, b, s)))
                    .ok_or_else(|| {
                        format!("--branch wants OWNER/NAME:BRANCH@SHA, got {value:?}")
                    })?;
                fake.add_branch(repo, branch, sha);
            }
            "--permission" => {
                let parsed = value.split_once(':').and_then(|(repo, rest)| {
                    let (login, role) = rest.split_once('=')?;
                    Some((repo, login, parse_permission(role)?))
                });
                let (repo, login, permission) = parsed.ok_or_else(|| {
                    format!("--permission wants OWNER/NAME:LOGIN=admin|maintain|write|triage|read|none, got {value:?}")
                })?;
                fake.set_permission(repo, login, permission);
            }
            _ => {
                let (spec, merge_sha) = match flag {
                    "--merged-pull" => match value.rsplit_once('@') {
                        Some((spec, sha)) if spec.matches('@').count() == 2 => (spec, Some(sha)),
                        _ => (value, None),
                    },
                    _ => (value, None),
                };
                let wanted = if flag == "--merged-pull" {
                    "OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA@MERGE_SHA"
                } else {
                    "OWNER/NAME#N=HEAD_REF@HEAD_SHA:BASE_REF@BASE_SHA"
                };
                let (repo, mut pull) = parse_pull(spec)
                    .filter(|_| flag != "--merged-pull" || merge_sha.is_some())
                    .ok_or_else(|| format!("{flag} wants {wanted}, got {value:?}"))?;
                if flag == "--draft-pull" {
                    pull = pull.draft();
                }
                if let Some(sha) = merge_sha {
                    pull = pull.merged_as(sha);
                }
                fake.add_pull(repo, pull);
            }
        }
    }
    println!("fake-github listening on {}", fake.url());
    let _ = std::io::stdout().flush();
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

fn parse_permission(role: &str) -> Option<Permission> {
    Some(match role {
        "admin" => Permission::Admin,
        "maintain" => Permission::Maintain,
        "write" => Permission::Write,
        "triage" => Permission::Triage,
        "read" => Permission::Read,
        "none" => Permission::None,
        _ => return None,
    })
}
