//! `fake-kube --listen ADDR --kubeconfig PATH`: serves the fake Kubernetes API server for local
//! demos and fidelity checks. Writes a kubeconfig pointing at itself, then serves until killed.

use std::process::ExitCode;
use std::time::Duration;

use fakes::kube::FakeKube;

const USAGE: &str = "usage: fake-kube --listen ADDR --kubeconfig PATH";

#[allow(clippy::print_stderr)]
fn main() -> ExitCode {
    let mut listen = None;
    let mut kubeconfig = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next(),
            "--kubeconfig" => kubeconfig = args.next(),
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("fake-kube: unexpected argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(listen), Some(kubeconfig)) = (listen, kubeconfig) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let server = match FakeKube::start_on(&listen, Duration::from_millis(100)) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("fake-kube: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&kubeconfig, server.kubeconfig_yaml()) {
        eprintln!("fake-kube: cannot write kubeconfig {kubeconfig}: {e}");
        return ExitCode::FAILURE;
    }
    eprintln!("fake-kube: serving {} (kubeconfig {kubeconfig})", server.url());
    loop {
        std::thread::park();
    }
}
