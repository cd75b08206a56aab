//! A container's status, derived from what is true now: the init alive with the
//! recorded start time, the exec fifo present, the freezer state.

use std::path::Path;

use super::state::StateFile;
use super::{ContainerState, Status};
use crate::pidfd::Pidfd;
use crate::procfs::ProcHandle;

/// A pidfd for the init if it is still the process `create` started.
pub fn live_init(st: &StateFile) -> Option<Pidfd> {
    let proc = ProcHandle::open().ok()?;
    Pidfd::open_verified(&proc, st.pid, st.init_start_time)
        .ok()
        .flatten()
}

/// The status of the container whose state directory is `dir`.
pub fn derive(dir: &Path, st: &StateFile) -> Status {
    observe(dir, st).0
}

/// The status and, while the init lives, a verified pidfd for it: commands that act on
/// the init after checking its status look it up once.
pub fn observe(dir: &Path, st: &StateFile) -> (Status, Option<Pidfd>) {
    let init = live_init(st);
    let status = match (init.is_some(), st.complete) {
        (false, _) => Status::Stopped,
        (true, false) => Status::Creating,
        (true, true) if dir.join("exec.fifo").exists() => Status::Created,
        (true, true) if st.cgroup.is_frozen() => Status::Paused,
        (true, true) => Status::Running,
    };
    (status, init)
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
