//! `quai delete [--force] <id>`.

use std::path::Path;

use libcontainer::container::{Container, ContainerError};

use crate::cli::DeleteArgs;
use crate::exit::CliError;
use crate::logging::Logger;

/// Deletes container `id`; with `--force` a missing container is not an error
/// (containerd and podman delete with force to clean up whatever is left).
pub fn run(root: &Path, a: &DeleteArgs, log: &mut Logger) -> Result<i32, CliError> {
    let c = match Container::load(root, &a.id) {
        Ok(c) => c,
        Err(libcontainer::Error::Container(ContainerError::NotExist(_))) if a.force => {
            return Ok(0)
        }
        Err(e) => return Err(e.into()),
    };
    match c.delete(a.force) {
        Ok(warnings) => {
            for w in warnings {
                log.warn(&w);
            }
            Ok(0)
        }
        // Another `delete --force` removed it while we waited for its lock: it is gone,
        // which is what was asked.
        Err(libcontainer::Error::Container(ContainerError::NotExist(_))) if a.force => Ok(0),
        Err(e) => Err(e.into()),
    }
}
