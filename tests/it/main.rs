//! The root package's one integration-test binary: each module drives the library (or the CLI,
//! in-process) against real inputs built by the test — git repositories, files on disk, fake
//! GitHub and Kubernetes servers — and asserts on end state.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

mod action_yml;
mod cluster;
mod container;
mod detect;
mod events;
mod flows;
mod git;
mod github;
mod homelab;
mod plan;
mod preview_homelab;
mod remote;
mod render;
mod report;
