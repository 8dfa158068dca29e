//! Builders shared by the integration tests.

pub mod git_repo;
