//! A container's status, derived from what is true now: the init alive with the
//! recorded start time, the exec fifo present, the freezer state.

use std::path::Path;

use super::state::StateFile;
use super::{ContainerState, Status};
use crate::pidfd::Pidfd;
use crate::procfs::ProcHandle;

/// A pidfd for the init if it is still the process `create` started.
pub fn live_init(st: &StateFile) -> Option<Pidfd> {
    live_init_in(&ProcHandle::open().ok()?, st)
}

/// [`live_init`] through a procfs handle the caller holds (`list` opens one for all).
fn live_init_in(proc: &ProcHandle, st: &StateFile) -> Option<Pidfd> {
    Pidfd::open_verified(proc, st.pid, st.init_start_time)
        .ok()
        .flatten()
}

/// The status of the container whose state directory is `dir`.
pub fn derive(dir: &Path, st: &StateFile) -> Status {
    observe(dir, st).0
}

/// [`derive`] through a procfs handle the caller holds, if it could open one.
pub fn derive_in(proc: Option<&ProcHandle>, dir: &Path, st: &StateFile) -> Status {
    match proc {
        Some(p) => status_of(dir, st, init_alive(p, st)),
        None => derive(dir, st),
    }
}

/// True while the init is the process `create` started (same start time, not a
/// zombie), as [`live_init_in`] checks it but without a pidfd: a status that is only
/// printed (`list`) acts on nothing, and the pidfd was two more calls per container.
fn init_alive(proc: &ProcHandle, st: &StateFile) -> bool {
    st.pid > 0
        && proc
            .stat(st.pid)
            .is_ok_and(|s| s.is_alive_since(st.init_start_time))
}

/// The status and, while the init lives, a verified pidfd for it: commands that act on
/// the init after checking its status look it up once.
pub fn observe(dir: &Path, st: &StateFile) -> (Status, Option<Pidfd>) {
    let init = live_init(st);
    (status_of(dir, st, init.is_some()), init)
}

fn status_of(dir: &Path, st: &StateFile, alive: bool) -> Status {
    match (alive, st.complete) {
        (false, _) => Status::Stopped,
        (true, false) => Status::Creating,
        // Frozen first, as runc: a created container can be paused too, and must then
        // say so, or `resume` would refuse it and its `start` would wait forever.
        (true, true) if st.cgroup.is_frozen() => Status::Paused,
        (true, true) if dir.join("exec.fifo").exists() => Status::Created,
        (true, true) => Status::Running,
    }
}

/// The state as `quai state` prints it.
pub fn public_state(st: &StateFile, status: Status) -> ContainerState {
    ContainerState {
        oci_version: st.oci_version.clone(),
        id: st.id.clone(),
        pid: if status == Status::Stopped { 0 } else { st.pid },
        status,
        bundle: st.bundle.clone(),
        rootfs: st.rootfs.clone(),
        created: st.created.clone(),
        owner: st.owner.clone(),
        annotations: st.annotations.clone(),
    }
}
