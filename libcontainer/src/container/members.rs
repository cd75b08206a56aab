//! The container's processes: those in its cgroup, or — for a rootless container that
//! runs without a cgroup of its own — those in its pid namespace.

use std::os::fd::AsFd;

use super::state::StateFile;
use crate::pidfd::Pidfd;
use crate::procfs::ProcHandle;
use crate::Result;

/// The container's host PIDs.
pub(super) fn pids(st: &StateFile) -> Vec<i32> {
    if !st.cgroup.is_none() {
        return st.cgroup.pids();
    }
    let Ok(proc) = ProcHandle::open() else {
        return Vec::new();
    };
    in_pid_namespace(&proc, st)
}

/// Sends `sig` to every process of the container (see [`pids`]).
pub(super) fn signal_all(st: &StateFile, sig: i32) -> Result<()> {
    if !st.cgroup.is_none() {
        return Ok(st.cgroup.signal_all(sig)?);
    }
    let Ok(proc) = ProcHandle::open() else {
        return Ok(());
    };
    let Some(ns) = namespace_of(&proc, st) else {
        return Ok(());
    };
    // Each process is pinned by a pidfd, then checked to be in the namespace still: a
    // PID reused by a process outside it between the listing and the pin gets nothing.
    for pid in in_pid_namespace(&proc, st) {
        let Ok(p) = Pidfd::open(pid) else { continue };
        if pid_ns(&proc, pid) == Some(ns) {
            // An exited process gives ESRCH: nothing to do.
            let _ = p.signal(sig);
        }
    }
    Ok(())
}

/// The (device, inode) of the init's pid namespace, when the init lives and is PID 1
/// of a namespace of its own. A container in the host's (or another's) pid namespace
/// has no namespace to itself: only its init is known to be its own.
fn namespace_of(proc: &ProcHandle, st: &StateFile) -> Option<(u64, u64)> {
    let init = Pidfd::open_verified(proc, st.pid, st.init_start_time).ok()??;
    let own = is_pid_namespace_init(proc, st.pid);
    drop(init);
    own.then(|| pid_ns(proc, st.pid)).flatten()
}

/// True when `pid` is PID 1 of its innermost pid namespace (the last `NSpid` field).
pub(super) fn is_pid_namespace_init(proc: &ProcHandle, pid: i32) -> bool {
    proc.read(&format!("{pid}/status")).is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("NSpid:"))
            .and_then(|v| v.split_whitespace().last())
            == Some("1")
    })
}

fn pid_ns(proc: &ProcHandle, pid: i32) -> Option<(u64, u64)> {
    let fd = proc.open_ns(pid, "pid").ok()?;
    let s = nix::sys::stat::fstat(fd.as_fd()).ok()?;
    Some((s.st_dev as u64, s.st_ino as u64))
}

fn in_pid_namespace(proc: &ProcHandle, st: &StateFile) -> Vec<i32> {
    let Some(ns) = namespace_of(proc, st) else {
        return match Pidfd::open_verified(proc, st.pid, st.init_start_time) {
            Ok(Some(_)) => vec![st.pid],
            _ => Vec::new(),
        };
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid_ns(proc, pid) == Some(ns))
        .collect()
}
