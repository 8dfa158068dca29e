//! The root package's integration tests: one binary, one module per area.

mod github;
