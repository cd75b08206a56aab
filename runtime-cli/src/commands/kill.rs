//! `quai kill [--all] <id> [signal]`.

use std::path::Path;

use libcontainer::container::{parse_signal, Container};

use crate::cli::KillArgs;
use crate::exit::CliError;

/// Sends the signal; the container is looked up first so a missing one reports
/// "does not exist" whatever the signal, as runc does.
pub fn run(root: &Path, a: &KillArgs) -> Result<i32, CliError> {
    let c = Container::load(root, &a.id)?;
    let signal = parse_signal(&a.signal).map_err(libcontainer::Error::from)?;
    c.kill(signal, a.all)?;
    Ok(0)
}
