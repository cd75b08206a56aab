//! `quai start`: let a created container's init exec the user's process.

use std::path::Path;

use libcontainer::container::Container;

use crate::exit::CliError;
use crate::logging::Logger;

/// Starts container `id`.
pub fn run(root: &Path, id: &str, log: &mut Logger) -> Result<i32, CliError> {
    for w in Container::load(root, id)?.start()? {
        log.warn(&w);
    }
    Ok(0)
}
