//! `quai pause <id>` and `quai resume <id>`: freeze and thaw the container's processes.

use std::path::Path;

use libcontainer::container::Container;

use crate::exit::CliError;

/// Freezes container `id`.
pub fn pause(root: &Path, id: &str) -> Result<i32, CliError> {
    Container::load(root, id)?.pause()?;
    Ok(0)
}

/// Thaws container `id`.
pub fn resume(root: &Path, id: &str) -> Result<i32, CliError> {
    Container::load(root, id)?.resume()?;
    Ok(0)
}
