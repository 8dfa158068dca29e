//! The one integration-test binary: each module tests one area end to end, in-process.

mod action_yml;
mod cluster;
mod container;
mod events;
mod github;
mod preview_homelab;
mod render;
mod report;
