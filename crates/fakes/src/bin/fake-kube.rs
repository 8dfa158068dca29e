//! `fake-kube`: serves the fake Kubernetes API server from the command line, for local demos,
//! fidelity checks and tests that run the product as a process. Prints its URL on stdout,
//! optionally writes a kubeconfig pointing at itself, then serves until killed. See `USAGE`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use fakes::kube::{Behaviour, FakeKube, Fault, parse_duration};

const USAGE: &str = "\
usage: fake-kube [--listen ADDR] [--kubeconfig PATH] [--tick DURATION] [--latency DURATION]
                 [--fault SPEC]... [--behaviour KIND/NAMESPACE/NAME=BEHAVIOUR]...

Serves a stateful fake Kubernetes API server (discovery, CRUD, server-side apply, patches,
watches, deletion with finalizers, workload controllers) over plain HTTP. On start it prints
`fake-kube listening on http://HOST:PORT` as the first line on stdout.

  --listen ADDR        address to listen on (default 127.0.0.1:0, a free port)
  --kubeconfig PATH    write a kubeconfig (context `fake`, namespace `default`) pointing here
  --tick DURATION      how often controllers run: workloads become ready one tick after each
                       change, terminating namespaces keep content for a few ticks (default 100ms)
  --latency DURATION   added to every request
  --fault SPEC         inject a fault, first matching one wins (repeatable):
                         [METHOD ]PATH_PART=ACTION[,times=N]
                       METHOD: GET, PATCH, ... or `*` (any; also when omitted)
                       PATH_PART: matches paths containing it (empty: every path)
                       ACTION: status:CODE[:RETRY_AFTER_SECONDS]  answer with this status
                               delay:DURATION                   wait, then serve normally
                               reset                            close the connection unanswered
                               hang                             accept and never answer
                       e.g. `PATCH /configmaps/=status:503,times=2`, `=delay:250ms`,
                            `GET /apis/apps=hang`, `* /api/v1/namespaces/x=reset`
  --behaviour SPEC     how a workload's status evolves: KIND/NAMESPACE/NAME=ready|never-ready|fail
                       (e.g. `Deployment/shop/web=fail`; the annotation
                       `fake-kube.gitops-env.io/behaviour` on the object does the same)
  -h, --help           this text

DURATION: 250ms, 2s, 1.5s, 1m.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("fake-kube: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Start(message)) => {
            eprintln!("fake-kube: {message}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(String),
    Start(String),
}

fn run(args: &[String]) -> Result<(), Failure> {
    let mut listen = "127.0.0.1:0".to_owned();
    let mut kubeconfig = None;
    let mut tick = Duration::from_millis(100);
    let mut latency = None;
    let mut faults = Vec::new();
    let mut behaviours = Vec::new();
    let mut pairs = args.iter();
    while let Some(flag) = pairs.next() {
        let value = pairs.next().ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))?;
        let duration = |v: &str| {
            parse_duration(v).ok_or_else(|| {
                Failure::Usage(format!("{flag}: {v:?} is not a duration like 250ms or 2s"))
            })
        };
        match flag.as_str() {
            "--listen" => listen = value.clone(),
            "--kubeconfig" => kubeconfig = Some(value.clone()),
            "--tick" => tick = duration(value)?.max(Duration::from_millis(1)),
            "--latency" => latency = Some(duration(value)?),
            "--fault" => faults.push(value.parse::<Fault>().map_err(Failure::Usage)?),
            "--behaviour" => behaviours.push(parse_behaviour(value).ok_or_else(|| {
                Failure::Usage(format!(
                    "--behaviour wants KIND/NAMESPACE/NAME=ready|never-ready|fail, got {value:?}"
                ))
            })?),
            other => return Err(Failure::Usage(format!("unexpected argument {other:?}"))),
        }
    }
    let server = FakeKube::start_on(&listen, tick)
        .map_err(|e| Failure::Start(format!("cannot listen on {listen}: {e}")))?;
    for fault in faults {
        server.inject(fault);
    }
    if let Some(latency) = latency {
        server.set_latency(latency);
    }
    for (kind, namespace, name, behaviour) in behaviours {
        server.set_behaviour(&kind, &namespace, &name, behaviour);
    }
    if let Some(path) = &kubeconfig {
        std::fs::write(path, server.kubeconfig_yaml())
            .map_err(|e| Failure::Start(format!("cannot write kubeconfig {path}: {e}")))?;
    }
    println!("fake-kube listening on {}", server.url());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

fn parse_behaviour(spec: &str) -> Option<(String, String, String, Behaviour)> {
    let (target, behaviour) = spec.split_once('=')?;
    let mut parts = target.splitn(3, '/');
    let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    let behaviour = match behaviour {
        "ready" => Behaviour::Ready,
        "never-ready" => Behaviour::NeverReady,
        "fail" => Behaviour::Fail,
        _ => return None,
    };
    Some((kind.to_owned(), namespace.to_owned(), name.to_owned(), behaviour))
}
