//! `linux.netDevices` for the init: the runtime moves each host interface into the
//! init's network namespace once the init is in it (at `MountsDone`, before the
//! `prestart` hooks and the init's `net.*` sysctls), and moves them back if `create`
//! fails afterwards, so a failed create never loses the host's interface.

use std::os::fd::{AsFd, OwnedFd};

use crate::netdev;
use crate::procfs::ProcHandle;
use crate::spec::Spec;

/// Moves every interface of `spec` into the network namespace of `pid`, and returns
/// that namespace (held open, it outlives an init that fails later, so the interfaces
/// can still come back); on a failure, those already moved go back first.
pub(super) fn move_in(proc: &ProcHandle, pid: i32, spec: &Spec) -> Result<Option<OwnedFd>, String> {
    let planned = netdev::planned(spec);
    if planned.is_empty() {
        return Ok(None);
    }
    let netns = proc
        .open_ns(pid, "net")
        .map_err(|e| format!("linux.netDevices: open the container's network namespace: {e}"))?;
    for (i, (host, to)) in planned.iter().enumerate() {
        if let Err(e) = netdev::move_in(host, to, netns.as_fd()) {
            let _ = move_out_these(proc, &netns, &planned[..i]);
            return Err(e.to_string());
        }
    }
    Ok(Some(netns))
}

/// Moves every interface of `spec` back from `netns` to the host.
pub(super) fn move_out(proc: &ProcHandle, netns: &OwnedFd, spec: &Spec) -> Result<(), String> {
    move_out_these(proc, netns, &netdev::planned(spec))
}

fn move_out_these(
    proc: &ProcHandle,
    netns: &OwnedFd,
    list: &[(String, String)],
) -> Result<(), String> {
    if list.is_empty() {
        return Ok(());
    }
    let host = proc
        .open_ns(std::process::id() as i32, "net")
        .map_err(|e| e.to_string())?;
    let mut first_err = Ok(());
    for (host_name, name) in list {
        if let Err(e) = netdev::move_out(host_name, name, netns.as_fd(), host.as_fd()) {
            first_err = first_err.and(Err(e.to_string()));
        }
    }
    first_err
}
