//! Harness for quai's integration tests.
//!
//! Every test gets a [`Ctr`]: its own runtime root, its own bundle (a busybox root
//! filesystem with the static `probe` in `/bin`) and a unique container id, all removed on
//! drop after `delete --force`. The runtime binary is `$QUAI_BIN`, or the workspace's
//! `target/debug/quai`; the same tests run against runc (`QUAI_BIN=/usr/sbin/runc`).

pub mod assets;
pub mod bundle;
pub mod check;
pub mod console;
pub mod ctr;
pub mod docker;
pub mod fdpass;
pub mod host;
pub mod interrupt;
pub mod out;
pub mod report;
pub mod rootless;
pub mod seccomp_agent;
pub mod tempdir;

pub use bundle::Bundle;
pub use console::ConsoleSocket;
pub use ctr::Ctr;
pub use out::Out;
pub use serde_json::{json, Value};
pub use tempdir::TempDir;
