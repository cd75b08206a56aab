//! `quai create`: set the container up and leave its init waiting for `start`.

use std::path::Path;

use libcontainer::container::{Container, ContainerBuilder};

use super::absolute;
use crate::cli::{CreateArgs, Global, Rootless};
use crate::exit::CliError;
use crate::logging::Logger;

/// Creates the container described by `a` under `root`.
pub fn run(root: &Path, a: &CreateArgs, g: &Global, log: &mut Logger) -> Result<i32, CliError> {
    create(root, a, true, g, log)?;
    Ok(0)
}

/// The create step `run` shares: every path made absolute first.
pub fn create(
    root: &Path,
    a: &CreateArgs,
    detach: bool,
    g: &Global,
    log: &mut Logger,
) -> Result<Container, CliError> {
    let bundle = absolute(&a.bundle)?;
    let pid_file = a.pid_file.as_deref().map(absolute).transpose()?;
    let console_socket = a.console_socket.as_deref().map(absolute).transpose()?;
    let mut b = ContainerBuilder::new(&a.id)?;
    match g.rootless {
        Rootless::True => b = b.rootless(true),
        Rootless::False => b = b.rootless(false),
        // The builder's default: the caller is not root of the host.
        Rootless::Auto => {}
    }
    let mut c = b
        .root(root)
        .pid_file(pid_file)
        .console_socket(console_socket)
        .no_pivot(a.no_pivot)
        .no_new_keyring(a.no_new_keyring)
        .preserve_fds(a.preserve_fds)
        .detach(detach)
        .systemd_cgroup(g.systemd_cgroup)
        .create(&bundle)?;
    c.take_warnings().iter().for_each(|w| log.warn(w));
    Ok(c)
}
