//! Running the helm binary, bounded: every run has a deadline and a cap on what it may print, so a
//! hung or runaway helm (or a chart pull against a server that never answers) fails the build
//! instead of stalling it.
//!
//! This module only runs a program and collects its output; it knows nothing of charts. It never
//! opens a socket itself: the network, when there is any, is helm's.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a run may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub timeout: Duration,
    /// The most bytes stdout (and, separately, stderr) may hold.
    pub max_output: u64,
}

/// Why a run failed.
#[derive(Debug)]
pub(crate) enum RunError {
    /// The program could not be started (not found, not executable...).
    Spawn(std::io::Error),
    TimedOut,
    OutputTooLarge,
    /// It ran and exited unsuccessfully.
    Exit {
        status: ExitStatus,
        stderr: Vec<u8>,
    },
}

/// Runs `program` with `args` and the extra environment `env` (on top of ours), stdin closed,
/// and returns its stdout when it exits successfully within `limits`.
pub(crate) fn run(
    program: &Path,
    args: &[OsString],
    env: &[(&str, OsString)],
    limits: Limits,
) -> Result<Vec<u8>, RunError> {
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().map_err(RunError::Spawn)?;
    let deadline = Instant::now() + limits.timeout;
    let (sender, receiver) = mpsc::channel();
    for (stream, reader) in [
        (Stream::Out, child.stdout.take().map(|r| Box::new(r) as Box<dyn Read + Send>)),
        (Stream::Err, child.stderr.take().map(|r| Box::new(r) as Box<dyn Read + Send>)),
    ] {
        let Some(reader) = reader else { continue };
        let sender = sender.clone();
        let max = limits.max_output;
        // Readers are not joined: after a kill, a grandchild may still hold the pipe open, and
        // the build must not wait for it.
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let result = reader.take(max + 1).read_to_end(&mut bytes);
            let _ = sender.send((stream, result.map(|_| bytes)));
        });
    }
    drop(sender);
    let (mut stdout, mut stderr) = (None, None);
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match receiver.recv_timeout(left) {
            Ok((stream, Ok(bytes))) => {
                if bytes.len() as u64 > limits.max_output {
                    kill(&mut child);
                    return Err(RunError::OutputTooLarge);
                }
                match stream {
                    Stream::Out => stdout = Some(bytes),
                    Stream::Err => stderr = Some(bytes),
                }
            }
            Ok((stream, Err(_))) => match stream {
                // A read error ends that stream; what was read is lost, as helm's exit status
                // will tell.
                Stream::Out => stdout = Some(Vec::new()),
                Stream::Err => stderr = Some(Vec::new()),
            },
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill(&mut child);
                return Err(RunError::TimedOut);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // Both pipes are closed; the process is exiting (or has closed them and lingers).
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                kill(&mut child);
                return Err(RunError::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(err) => return Err(RunError::Spawn(err)),
        }
    };
    if status.success() {
        Ok(stdout.unwrap_or_default())
    } else {
        Err(RunError::Exit { status, stderr: stderr.unwrap_or_default() })
    }
}

#[derive(Clone, Copy, Debug)]
enum Stream {
    Out,
    Err,
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str, limits: Limits) -> Result<Vec<u8>, RunError> {
        run(
            Path::new("/bin/sh"),
            &["-c".into(), script.into()],
            &[("GREETING", "hi".into())],
            limits,
        )
    }

    const ROOMY: Limits = Limits { timeout: Duration::from_secs(20), max_output: 1 << 20 };

    #[test]
    fn output_environment_and_exit_status_are_reported() {
        assert_eq!(sh("printf \"$GREETING\"", ROOMY).unwrap(), b"hi");
        match sh("echo oops >&2; exit 3", ROOMY) {
            Err(RunError::Exit { status, stderr }) => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(stderr, b"oops\n");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(Path::new("/nonexistent/helm"), &[], &[], ROOMY),
            Err(RunError::Spawn(_))
        ));
    }

    #[test]
    fn a_hung_program_is_killed_at_the_deadline() {
        let limits = Limits { timeout: Duration::from_millis(300), ..ROOMY };
        let start = Instant::now();
        assert!(matches!(sh("exec sleep 30", limits), Err(RunError::TimedOut)));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn runaway_output_is_cut_off() {
        let limits = Limits { max_output: 1000, ..ROOMY };
        assert!(matches!(sh("exec yes", limits), Err(RunError::OutputTooLarge)));
        assert!(matches!(sh("exec yes >&2", limits), Err(RunError::OutputTooLarge)));
        assert_eq!(sh("printf %0999d 0", limits).unwrap().len(), 999);
    }
}
