//! start, kill and delete: each loads the state under the directory lock, checks the
//! status derived from the kernel, and acts through pidfds and the cgroup.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use super::state::{StateDir, StateFile};
use super::status::{live_init, observe, public_state};
use super::{ContainerError, ContainerId, Status};
use crate::pidfd::Pidfd;
use crate::{hooks, Result};

/// How long delete waits for SIGKILLed processes to be gone.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

fn load(root: &Path, id: &ContainerId) -> Result<(StateDir, Option<StateFile>)> {
    let dir = StateDir::open(root, id)?;
    let st = dir.read()?;
    Ok((dir, st))
}

fn hook_state(st: &StateFile, status: Status) -> String {
    serde_json::to_string(&public_state(st, status)).unwrap_or_default()
}

pub(super) fn start(root: &Path, id: &ContainerId) -> Result<Vec<String>> {
    let (dir, st) = load(root, id)?;
    let st = st.ok_or(ContainerError::CannotStart(
        "cannot start a container that is still being created",
    ))?;
    let (status, init) = observe(dir.path(), &st);
    match status {
        Status::Created => {}
        Status::Stopped | Status::Unknown => {
            return Err(
                ContainerError::CannotStart("cannot start a container that has stopped").into(),
            )
        }
        Status::Creating => {
            return Err(ContainerError::CannotStart(
                "cannot start a container that is still being created",
            )
            .into())
        }
        Status::Running => {
            return Err(
                ContainerError::CannotStart("cannot start an already running container").into(),
            )
        }
        Status::Paused => {
            return Err(
                ContainerError::CannotStart("cannot start a container in the paused state").into(),
            )
        }
    }
    let init = init.ok_or(ContainerError::NotRunning)?;
    let fifo_path = dir.fifo();
    let fifo = crate::rootdir::openat2(
        libc::AT_FDCWD,
        &fifo_path,
        libc::O_RDONLY | libc::O_NONBLOCK,
        0,
        0,
    )
    .map_err(|source| ContainerError::StateIo {
        what: "open",
        path: fifo_path.clone(),
        source,
    })?;
    await_exec(&fifo, &init).map_err(|e| match e {
        Some(source) => ContainerError::StateIo {
            what: "wait on",
            path: fifo_path.clone(),
            source,
        },
        None => ContainerError::NotRunning,
    })?;
    let _ = std::fs::remove_file(&fifo_path);
    // runtime-spec 1.3 (runtime.md, step 9): a failing poststart hook fails `start`, and
    // the container is stopped, left for `delete` (which runs poststop).
    if let Err(e) = hooks::run_all(
        "poststart",
        &st.poststart,
        &hook_state(&st, Status::Running),
    ) {
        let _ = kill_everything(&st, Some(init));
        return Err(e.into());
    }
    Ok(Vec::new())
}

/// Waits until the init has read its go-ahead from the fifo and then `execve`d: it
/// writes one byte, and its write end (close-on-exec) closes when it execs or dies.
/// `Err(None)` when the init died before writing.
fn await_exec(fifo: &OwnedFd, init: &Pidfd) -> std::result::Result<(), Option<std::io::Error>> {
    let mut got_byte = false;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: fifo.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: init.as_raw_fd(),
                events: if got_byte { 0 } else { libc::POLLIN },
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Some(e));
        }
        if fds[0].revents != 0 {
            let mut b = [0u8; 16];
            match nix::unistd::read(fifo, &mut b) {
                Ok(0) if got_byte => return Ok(()),
                Ok(0) => return Err(None),
                Ok(_) => got_byte = true,
                Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(Some(e.into())),
            }
        }
        if !got_byte && fds[1].revents != 0 {
            return Err(None);
        }
    }
}

pub(super) fn kill(root: &Path, id: &ContainerId, sig: i32, all: bool) -> Result<()> {
    let st =
        super::state::read_state(&root.join(id.as_str()))?.ok_or(ContainerError::NotRunning)?;
    let init = live_init(&st);
    if all {
        super::members::signal_all(&st, sig)?;
        if let Some(p) = &init {
            let _ = p.signal(sig);
        }
        return Ok(());
    }
    let init = init.ok_or(ContainerError::NotRunning)?;
    // SIGKILL to a pid namespace's init kills the whole namespace; an init that is not
    // PID 1 of its own (a shared or joined pid namespace) would leave the rest running,
    // so they are killed through the cgroup too, as runc 1.2 does.
    let killed_all = sig == libc::SIGKILL && !is_pid_namespace_init(st.pid);
    if killed_all {
        st.cgroup.signal_all(sig)?;
    }
    match init.signal(sig) {
        // The cgroup's SIGKILL got there first and the parent (conmon) already reaped the
        // init: the kill asked for is done (podman's `rm -f` of a container sharing
        // another's pid namespace failed on this "container not running").
        Err(e) if killed_all && e.raw_os_error() == Some(libc::ESRCH) => return Ok(()),
        r => r,
    }
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ESRCH) => ContainerError::NotRunning,
        _ => ContainerError::StateIo {
            what: "signal",
            path: root.join(id.as_str()),
            source: e,
        },
    })?;
    Ok(())
}

/// True when `pid` is PID 1 of its innermost pid namespace.
fn is_pid_namespace_init(pid: i32) -> bool {
    crate::procfs::ProcHandle::open().is_ok_and(|p| super::members::is_pid_namespace_init(&p, pid))
}

pub(super) fn delete(root: &Path, id: &ContainerId, force: bool) -> Result<Vec<String>> {
    let dir = StateDir::open(root, id)?;
    let st = match dir.read() {
        Ok(st) => st,
        Err(e) if force => return delete_unreadable(dir, id, &e.to_string()),
        Err(e) => return Err(e.into()),
    };
    let Some(st) = st else {
        // `create` was interrupted before its first record: at most the cgroup it
        // recorded exists, with no process in it yet.
        if let Some(cg) = dir.read_cgroup() {
            if !cg.shared {
                cg.signal_all(libc::SIGKILL)?;
            }
            cg.remove()?;
        }
        dir.remove()?;
        return Ok(Vec::new());
    };
    let (status, init) = observe(dir.path(), &st);
    match status {
        Status::Stopped | Status::Created => {}
        _ if force => {}
        _ => {
            return Err(ContainerError::NotStopped {
                id: id.to_string(),
                status,
            }
            .into())
        }
    }
    let mut warnings = net_devices_back(&st, init.is_some());
    kill_everything(&st, init)?;
    st.cgroup.remove()?;
    if let Some(r) = &st.intel_rdt {
        r.remove()?;
    }
    if st.shared_mounts {
        crate::rootfs::unmount_under(&st.rootfs)?;
    }
    warnings.extend(hooks::run_all_warn(
        "poststop",
        &st.poststop,
        &hook_state(&st, Status::Stopped),
    ));
    dir.remove()?;
    Ok(warnings)
}

/// `linux.netDevices` go back to the host under their host names while their network
/// namespace exists: the live init's, or one joined by path. A new namespace whose init
/// is gone took them with it (the kernel itself returns physical interfaces to the
/// host). A failure is a warning: `delete` goes on.
fn net_devices_back(st: &StateFile, init_alive: bool) -> Vec<String> {
    use std::os::fd::AsFd;
    if st.net_devices.is_empty() {
        return Vec::new();
    }
    let fds = || -> std::io::Result<Option<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)>> {
        let proc = crate::procfs::ProcHandle::open()?;
        let netns = match (&st.net_ns_path, init_alive) {
            (_, true) => proc.open_ns(st.pid, "net")?,
            (Some(path), false) => std::fs::File::open(path)?.into(),
            (None, false) => return Ok(None),
        };
        Ok(Some((
            netns,
            proc.open_ns(std::process::id() as i32, "net")?,
        )))
    };
    let (netns, host) = match fds() {
        Ok(Some(f)) => f,
        Ok(None) => return Vec::new(),
        Err(e) => return vec![format!("linux.netDevices: open network namespaces: {e}")],
    };
    st.net_devices
        .iter()
        .filter_map(|(host_name, name)| {
            crate::netdev::move_out(host_name, name, netns.as_fd(), host.as_fd())
                .err()
                .map(|e| e.to_string())
        })
        .collect()
}

/// `delete --force` of a container whose `state.json` cannot be read: its processes
/// are found through its cgroup (as recorded before it was made, else the default path
/// the id gives), killed, and the cgroup and state removed. Says what it did.
fn delete_unreadable(dir: StateDir, id: &ContainerId, why: &str) -> Result<Vec<String>> {
    let cg = match dir.read_cgroup() {
        Some(cg) => cg,
        None => {
            let layout =
                crate::cgroups::Layout::detect().map_err(|source| ContainerError::StateIo {
                    what: "read cgroup layout",
                    path: "/proc/self/mountinfo".into(),
                    source,
                })?;
            crate::cgroups::Cgroup::plan(&layout, &crate::cgroups::cgroup_path(None, id.as_str())?)?
        }
    };
    if cg.shared {
        // Others' processes are in it too: which are this container's is unknowable.
        let _ = cg.remove();
        dir.remove()?;
        return Ok(vec![format!(
            "the state of container {id} could not be read ({why}): its cgroup is shared with \
             other processes, so none was killed; removed the state directory"
        )]);
    }
    let pids = cg.pids();
    cg.signal_all(libc::SIGKILL)?;
    // remove() waits (bounded) for the killed processes to leave the cgroup.
    cg.remove()?;
    dir.remove()?;
    Ok(vec![format!(
        "the state of container {id} could not be read ({why}): killed {} process(es) in its \
         cgroup {}, removed the cgroup and the state directory; poststop hooks were not run",
        pids.len(),
        cg.dirs
            .first()
            .map_or_else(String::new, |d| d.display().to_string()),
    )])
}

/// SIGKILL to the init and to every process in the cgroup, then wait for the init to
/// be gone (its children die with it when it is a pid namespace's init).
fn kill_everything(st: &StateFile, init: Option<Pidfd>) -> Result<()> {
    // A cgroup shared with others' processes is not ours to empty: the init only (its
    // pid namespace goes with it).
    if !st.cgroup.shared {
        st.cgroup.signal_all(libc::SIGKILL)?;
    }
    if let Some(init) = init {
        let _ = init.signal(libc::SIGKILL);
        let gone =
            init.wait_exit(Some(KILL_TIMEOUT))
                .map_err(|source| ContainerError::StateIo {
                    what: "wait for",
                    path: format!("pid {}", st.pid).into(),
                    source,
                })?;
        if !gone {
            return Err(ContainerError::KillTimeout(st.id.clone(), KILL_TIMEOUT.as_secs()).into());
        }
    }
    Ok(())
}
