//! The operations on a container's cgroup: pause, resume, update, stats, the process
//! list, and the event stream (`events`).

use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::state::{read_state, StateDir, StateFile};
use super::status::derive;
use super::{ContainerError, ContainerId, Status};
use crate::cgroups::{Layout, Stats};
use crate::spec::LinuxResources;
use crate::Result;

/// One line of `events`: runc's `{"type":..,"id":..,"data":..}`.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// `stats` or `oom`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The container id.
    pub id: String,
    /// The statistics, for `stats` events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Stats>,
}

fn locked(root: &Path, id: &ContainerId) -> Result<(StateDir, StateFile, Status)> {
    let dir = StateDir::open(root, id)?;
    let st = dir.read()?.ok_or(ContainerError::NotRunning)?;
    let status = derive(dir.path(), &st);
    Ok((dir, st, status))
}

fn unlocked(root: &Path, id: &ContainerId) -> Result<(StateFile, Status)> {
    let dir = root.join(id.as_str());
    let st = read_state(&dir)?.ok_or_else(|| ContainerError::NotExist(id.to_string()))?;
    let status = derive(&dir, &st);
    Ok((st, status))
}

pub(super) fn pause(root: &Path, id: &ContainerId) -> Result<()> {
    let (_dir, st, status) = locked(root, id)?;
    match status {
        Status::Running | Status::Created => Ok(st.cgroup.freeze()?),
        Status::Paused => Err(ContainerError::AlreadyPaused.into()),
        _ => Err(ContainerError::NotRunning.into()),
    }
}

pub(super) fn resume(root: &Path, id: &ContainerId) -> Result<()> {
    let (_dir, st, status) = locked(root, id)?;
    match status {
        Status::Paused => Ok(st.cgroup.thaw()?),
        _ => Err(ContainerError::NotPaused.into()),
    }
}

pub(super) fn update(root: &Path, id: &ContainerId, res: &LinuxResources) -> Result<()> {
    let (_dir, st, status) = locked(root, id)?;
    if status == Status::Stopped {
        return Err(ContainerError::NotRunning.into());
    }
    let layout = Layout::detect().map_err(|e| ContainerError::StateIo {
        what: "read cgroup layout from",
        path: "/proc/self/mountinfo".into(),
        source: e,
    })?;
    Ok(st.cgroup.update(&layout, res)?)
}

pub(super) fn stats(root: &Path, id: &ContainerId) -> Result<Stats> {
    let (st, status) = unlocked(root, id)?;
    if status == Status::Stopped {
        return Err(ContainerError::NotRunning.into());
    }
    Ok(st.cgroup.stats()?)
}

pub(super) fn processes(root: &Path, id: &ContainerId) -> Result<Vec<i32>> {
    let (st, _) = unlocked(root, id)?;
    let mut pids = super::members::pids(&st);
    pids.sort_unstable();
    Ok(pids)
}

/// Emits a `stats` event every `interval` and an `oom` event when the kernel OOM-kills
/// in the container, until the container stops or `emit` returns false.
pub(super) fn events(
    root: &Path,
    id: &ContainerId,
    interval: Duration,
    emit: &mut dyn FnMut(&Event) -> bool,
) -> Result<()> {
    let (st, status) = unlocked(root, id)?;
    if status == Status::Stopped {
        return Err(ContainerError::NotRunning.into());
    }
    let cg = &st.cgroup;
    // A host without a memory controller has no OOM events; stats still flow.
    let watch = cg.oom_watch().ok();
    let mut ooms = cg.oom_kill_count().unwrap_or(0);
    let mut next = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next {
            if unlocked(root, id)
                .map(|(_, s)| s == Status::Stopped)
                .unwrap_or(true)
            {
                return Ok(());
            }
            let ev = Event {
                kind: "stats",
                id: id.to_string(),
                data: Some(cg.stats()?),
            };
            if !emit(&ev) {
                return Ok(());
            }
            next = now + interval;
        }
        let wait = next.saturating_duration_since(Instant::now());
        let ms = wait.as_millis().min(i32::MAX as u128) as i32;
        let readable = match &watch {
            Some(w) => {
                let mut p = libc::pollfd {
                    fd: w.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, ms) > 0 }
            }
            None => {
                std::thread::sleep(wait);
                false
            }
        };
        if let (true, Some(w)) = (readable, &watch) {
            w.drain();
        }
        // The v1 notification can come before the kill is counted: the count is
        // compared on every wake-up, so a kill is reported one interval later at worst.
        let now_ooms = cg.oom_kill_count().unwrap_or(ooms);
        if now_ooms > ooms {
            ooms = now_ooms;
            if !emit(&Event {
                kind: "oom",
                id: id.to_string(),
                data: None,
            }) {
                return Ok(());
            }
        }
    }
}
