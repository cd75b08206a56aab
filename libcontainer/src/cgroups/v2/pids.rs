//! v2 pids: `pids.max`, the same file and values as on v1.

pub use super::super::v1::pids::apply;
