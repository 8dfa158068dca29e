//! Builders shared by the integration tests.

pub mod charts;
pub mod flow;
pub mod git_repo;
pub mod git_server;
