//! The root package's one integration-test binary: each module drives the library (or the CLI,
//! in-process) against real inputs built by the test — git repositories, files on disk.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

mod detect;
mod git;
