//! `quai create`: set the container up and leave its init waiting for `start`.

use std::path::Path;

use libcontainer::container::{Container, ContainerBuilder};

use super::absolute;
use crate::cli::CreateArgs;
use crate::exit::CliError;
use crate::logging::Logger;

/// Creates the container described by `a` under `root`.
pub fn run(root: &Path, a: &CreateArgs, systemd: bool, log: &mut Logger) -> Result<i32, CliError> {
    create(root, a, true, systemd, log)?;
    Ok(0)
}

/// The create step `run` shares: every path made absolute first.
pub fn create(
    root: &Path,
    a: &CreateArgs,
    detach: bool,
    systemd: bool,
    log: &mut Logger,
) -> Result<Container, CliError> {
    let bundle = absolute(&a.bundle)?;
    let pid_file = a.pid_file.as_deref().map(absolute).transpose()?;
    let console_socket = a.console_socket.as_deref().map(absolute).transpose()?;
    let mut c = ContainerBuilder::new(&a.id)?
        .root(root)
        .pid_file(pid_file)
        .console_socket(console_socket)
        .no_pivot(a.no_pivot)
        .no_new_keyring(a.no_new_keyring)
        .preserve_fds(a.preserve_fds)
        .detach(detach)
        .systemd_cgroup(systemd)
        .create(&bundle)?;
    c.take_warnings().iter().for_each(|w| log.warn(w));
    Ok(c)
}
