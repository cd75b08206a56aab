//! `quai exec`: a new process in a running container. In the foreground it waits,
//! forwards signals, relays the terminal, and exits with the process's status (128+N
//! for signal N); any failure exits 255 with "exec failed: ...", as runc does.

use std::path::Path;

use libcontainer::container::{self, Container, ExecOptions, ProcessOverrides};

use super::absolute;
use crate::commands::later::ExecArgs;
use crate::exit::CliError;

/// Runs `exec` as `a` says; failures are wrapped so that they exit 255.
pub fn run(root: &Path, a: &ExecArgs) -> Result<i32, CliError> {
    exec(root, a).map_err(|e| CliError::Exec(Box::new(e)))
}

fn exec(root: &Path, a: &ExecArgs) -> Result<i32, CliError> {
    let c = Container::load(root, &a.id)?;
    let process = match &a.process {
        Some(path) => container::read_process(path)?,
        None => {
            if a.command.is_empty() {
                return Err(CliError::Usage("process args cannot be empty".into()));
            }
            c.exec_process(&overrides(a)?)?
        }
    };
    let opts = ExecOptions {
        detach: a.detach,
        pid_file: a.pid_file.as_deref().map(absolute).transpose()?,
        console_socket: a.console_socket.as_deref().map(absolute).transpose()?,
        preserve_fds: a.preserve_fds,
        cgroup: a.cgroup.clone(),
        ignore_paused: a.ignore_paused,
        pidfd_socket: a.pidfd_socket.as_deref().map(absolute).transpose()?,
    };
    let mut p = c.exec(&process, &opts)?;
    if a.detach {
        return Ok(0);
    }
    Ok(p.wait()?)
}

/// runc's flags as changes to the container's process.
fn overrides(a: &ExecArgs) -> Result<ProcessOverrides, CliError> {
    let user = match &a.user {
        None => None,
        Some(u) => {
            let (uid, gid) = match u.split_once(':') {
                Some((u, g)) => (u, Some(g)),
                None => (u.as_str(), None),
            };
            let num = |s: &str, what: &str| {
                s.parse::<u32>().map_err(|e| {
                    CliError::Usage(format!("parsing {s} as int for {what} failed: {e}"))
                })
            };
            Some((num(uid, "uid")?, gid.map(|g| num(g, "gid")).transpose()?))
        }
    };
    let mut gids = Vec::new();
    for g in a.additional_gids.iter().flat_map(|g| g.split(',')) {
        gids.push(g.trim().parse::<u32>().map_err(|_| {
            CliError::Usage(format!("additional-gids must be a positive number {g}"))
        })?);
    }
    Ok(ProcessOverrides {
        args: a.command.clone(),
        env: a.env.clone(),
        cwd: a.cwd.as_ref().map(Into::into),
        user,
        additional_gids: gids,
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        tty: a.tty,
        apparmor: a.apparmor.clone().filter(|s| !s.is_empty()),
        process_label: a.process_label.clone().filter(|s| !s.is_empty()),
    })
}
