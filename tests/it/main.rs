//! The one integration-test binary: each module tests one area end to end, in-process, against
//! real inputs built by the test (git repositories, files on disk, fake servers).

mod support;

mod action_yml;
mod container;
mod detect;
mod events;
mod git;
mod github;
mod preview_homelab;
mod render;
mod report;
