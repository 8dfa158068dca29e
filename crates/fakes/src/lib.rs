//! Stateful fake servers that stand in for a Kubernetes API server and GitHub's REST API in
//! tests and local demos. Tests start them in-process on `127.0.0.1:0` and assert on their end
//! state; the `fake-kube` and `fake-github` binaries serve them from the command line.
//!
//! Test support only: this crate is a dev-dependency of `gitops-env` and must never be linked
//! into the shipped binary.

pub mod github;
pub mod kube;
