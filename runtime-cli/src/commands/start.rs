//! `quai start`: let a created container's init exec the user's process.

use std::path::Path;

use libcontainer::container::Container;

use crate::exit::CliError;

/// Starts container `id`.
pub fn run(root: &Path, id: &str) -> Result<i32, CliError> {
    Container::load(root, id)?.start()?;
    Ok(0)
}
