//! `quai state`: the container's state as indented JSON, without a trailing newline
//! (as runc prints it).

use std::path::Path;

use libcontainer::container::Container;

use super::print;
use crate::exit::CliError;

/// Prints the state of container `id`.
pub fn run(root: &Path, id: &str) -> Result<i32, CliError> {
    let state = Container::load(root, id)?.state()?;
    let json = serde_json::to_string_pretty(&state).expect("a state always serializes");
    print(&json)?;
    Ok(0)
}
