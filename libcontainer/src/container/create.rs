//! `create`: from a bundle to an init waiting on the exec fifo, with the state on disk.
//! Whatever fails on the way is undone, so a refused bundle leaves nothing behind.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::SystemTime;

use super::state::{self, StateDir, StateFile};
use super::{Container, ContainerBuilder, ContainerError, Status};
use crate::cgroups::{self, Cgroup, Layout};
use crate::process::{self, InitOptions, Observer};
use crate::rdt::{RdtError, RdtGroup};
use crate::seccomp::Filter;
use crate::spec::{Bundle, Spec};
use crate::{hooks, tty, Result};

impl ContainerBuilder {
    /// Creates the container from the bundle at `bundle`: returns once the init is in
    /// its namespaces and cgroups, waiting for `start`.
    pub fn create(self, bundle: &Path) -> Result<Container> {
        // Before anything is made: every fd we are to pass must be one we were passed.
        process::check_preserved_fds(self.preserve_fds.saturating_add(socket_activation().0))?;
        let b = Bundle::load(bundle)?;
        self.create_bundle(b)
    }

    /// Creates the container from a spec built in memory, with its root filesystem at
    /// `rootfs`: no `config.json` on disk. The spec is validated as a loaded one is;
    /// its `root.path` becomes `rootfs`, and the state's `bundle` is the rootfs's
    /// parent directory (where relative bind sources resolve), so `state`, `list` and
    /// the hooks see a real directory.
    pub fn create_from_spec(self, spec: Spec, rootfs: &Path) -> Result<Container> {
        process::check_preserved_fds(self.preserve_fds.saturating_add(socket_activation().0))?;
        let b = Bundle::from_spec(spec, rootfs)?;
        self.create_bundle(b)
    }

    fn create_bundle(self, b: Bundle) -> Result<Container> {
        let terminal = b.process().terminal() == Some(true);
        if terminal && self.stdio.iter().any(Option::is_some) {
            return Err(ContainerError::Console(
                "cannot give stdio fds to a process with a terminal: its stdio is the pty",
            )
            .into());
        }
        if terminal && self.detach && self.console_socket.is_none() {
            return Err(ContainerError::Console(
                "cannot allocate tty if quai will detach without setting console socket",
            )
            .into());
        }
        if !terminal && self.console_socket.is_some() {
            return Err(ContainerError::Console(
                "cannot use console socket if quai will not detach or allocate tty",
            )
            .into());
        }
        // Compiled before anything is made: a profile refused leaves nothing behind.
        let seccomp = match b.spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            Some(profile) => Some(Filter::compile(profile)?),
            None => None,
        };
        let console_socket = match &self.console_socket {
            Some(p) => Some(tty::connect_console_socket(p)?),
            None => None,
        };
        let dir = StateDir::create(&self.root, &self.id)?;
        let mut cg = None;
        let mut rdt = None;
        match self.create_in(
            &b,
            &dir,
            console_socket.as_ref(),
            seccomp.as_ref(),
            &mut cg,
            &mut rdt,
        ) {
            Ok(c) => Ok(c),
            Err(e) => {
                // Where a cgroup cannot be removed (a fault of the host), the state
                // directory stays, with the cgroup recorded in it, for `delete --force`
                // to finish; otherwise nothing is left.
                let cgroups_gone = cg.is_none_or(|cg| cg.remove().is_ok());
                if let Some(rdt) = rdt {
                    let _ = rdt.remove();
                }
                if b.shares_mount_namespace() {
                    let _ = crate::rootfs::unmount_under(&b.rootfs);
                }
                if cgroups_gone {
                    let _ = dir.remove();
                }
                Err(e)
            }
        }
    }

    fn create_in(
        &self,
        b: &Bundle,
        dir: &StateDir,
        console_socket: Option<&OwnedFd>,
        seccomp: Option<&Filter>,
        cg_out: &mut Option<Cgroup>,
        rdt_out: &mut Option<RdtGroup>,
    ) -> Result<Container> {
        let mut warnings = Vec::new();
        let fifo_path = dir.fifo();
        make_fifo(&fifo_path, b)?;
        let fifo = crate::rootdir::openat2(libc::AT_FDCWD, &fifo_path, libc::O_PATH, 0, 0)
            .map_err(|source| super::ContainerError::StateIo {
                what: "open",
                path: fifo_path.clone(),
                source,
            })?;

        let layout = Layout::detect().map_err(|e| cgroups::CgroupError::Io {
            what: "read layout",
            path: "/proc/self/mountinfo".into(),
            source: e,
        })?;
        let linux = b.spec.linux().as_ref();
        let spec_cg_path = linux.and_then(|l| l.cgroups_path().as_deref());
        let mut cg = if self.systemd_cgroup {
            cgroups::systemd::create(spec_cg_path.and_then(|p| p.to_str()), self.id.as_str())?
        } else {
            Cgroup::plan(
                &layout,
                &cgroups::cgroup_path(spec_cg_path, self.id.as_str())?,
            )?
        };
        // As runc, before anything is made: a frozen cgroup would hold the init frozen
        // for ever, and one that others' processes are in is shared, with a warning.
        // (A cgroup none of whose directories exists yet is neither.)
        if !cg.is_new() && cg.is_frozen() {
            return Err(ContainerError::CgroupFrozen.into());
        }
        let others = if cg.is_new() { 0 } else { cg.pids().len() };
        if others > 0 {
            cg.shared = true;
            warnings.push(format!(
                "container's cgroup is not empty: {others} process(es) found"
            ));
        }
        // Recorded before anything is made, so `delete --force` finds every directory
        // whatever point a killed `create` reached.
        dir.write_cgroup(&cg)?;
        *cg_out = Some(cg.clone());
        let none = crate::spec::LinuxResources::default();
        let res = linux.and_then(|l| l.resources().as_ref()).unwrap_or(&none);
        if !self.systemd_cgroup {
            if let Err(e) = cg.make(&layout) {
                if !(self.rootless && e.is_permission()) {
                    return Err(e.into());
                }
                if cgroups::asks_limits(res) {
                    return Err(ContainerError::RootlessCgroup(e.to_string()).into());
                }
                // As runc and crun: a rootless container that asks for no limits runs
                // without a cgroup of its own rather than not at all. Whatever was made
                // goes, and the state records no cgroup.
                cg.remove()?;
                warnings.push(format!(
                    "{e}: the rootless container runs without a cgroup of its own"
                ));
                cg = Cgroup::none(layout.mode());
                dir.write_cgroup(&cg)?;
                *cg_out = Some(cg.clone());
            }
        }
        if self.rootless {
            // The device rules need the host's root (a BPF program on v2, devices.deny
            // on v1); a user namespace cannot make device nodes anyway.
            if !cg.is_none() {
                cg.update(&layout, res)?;
            }
        } else {
            // Applied even without `linux.resources`: the device rules (deny all but
            // the default devices and `linux.devices`) are part of every container, as
            // in runc.
            let devices = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
            cg.apply(&layout, res, devices)?;
        }
        // Planned and recorded (below) before it is made, as the cgroup is.
        let rdt = match linux.and_then(|l| l.intel_rdt().as_ref()) {
            Some(r) => {
                let mount = crate::rdt::resctrl_mount()
                    .ok_or_else(|| RdtError::Invalid("no resctrl filesystem is mounted".into()))?;
                Some(RdtGroup::plan(&mount, self.id.as_str(), r)?)
            }
            None => None,
        };
        rdt_out.clone_from(&rdt);

        let hooks = b.spec.hooks().clone().unwrap_or_default();
        let mut st = StateFile {
            oci_version: b.spec.version().clone(),
            id: self.id.to_string(),
            pid: 0,
            init_start_time: 0,
            bundle: b.dir.clone(),
            rootfs: b.rootfs.clone(),
            created: super::rfc3339_nanos(SystemTime::now()),
            owner: state::owner_name(nix::unistd::geteuid().as_raw()),
            annotations: b.annotations(),
            cgroup: cg.clone(),
            poststart: hooks.poststart().clone().unwrap_or_default(),
            poststop: hooks.poststop().clone().unwrap_or_default(),
            complete: false,
            shared_mounts: b.shares_mount_namespace(),
            net_devices: crate::netdev::planned(&b.spec),
            net_ns_path: b
                .namespace(crate::spec::LinuxNamespaceType::Network)
                .and_then(|n| n.path().clone()),
            exec_linux: exec_linux(b),
            intel_rdt: rdt.clone(),
        };
        dir.write_interim(&st)?;
        if let Some(profile) = linux.and_then(|l| l.seccomp().as_ref()) {
            dir.write_seccomp(profile)?;
        }
        if let Some(r) = &rdt {
            r.make()?;
        }

        let (listen_fds, extra_env) = socket_activation();
        let opts = InitOptions {
            id: self.id.as_str(),
            bundle: b,
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds.saturating_add(listen_fds),
            extra_env,
            stdio: self
                .stdio
                .each_ref()
                .map(|fd| fd.as_ref().map(|fd| fd.as_raw_fd())),
            close_in_init: vec![dir.lock_fd()],
            seccomp,
            host_mounts: Some(&layout.mounts),
        };
        if !self.detach {
            // As runc's `run`: orphans of the container (and an init that had to be
            // forked once more) are reparented to us, so we can reap them.
            // SAFETY: plain prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        }
        let mut obs = CreateObserver {
            dir,
            st: &mut st,
            b,
            pid_file: self.pid_file.as_deref(),
            seccomp,
        };
        // In the foreground the caller forwards our signals: catch them from before the
        // init exists (so that failing here leaves nothing to clean up; the init
        // inherits the mask and clears it before its execve, as an exec'd process does).
        let forwarder = if self.detach {
            None
        } else {
            Some(process::Forwarder::install()?)
        };
        let mut init = process::spawn(&opts, &cg, &fifo, console_socket, &mut obs)?;
        Ok(Container {
            id: self.id.clone(),
            root: self.root.clone(),
            console: init.console.take(),
            init: Some(init),
            forwarder,
            warnings,
        })
    }
}

/// The exec fifo: writable by the container's root (mapped through its user namespace)
/// and nobody else, whatever the umask.
fn make_fifo(path: &Path, b: &Bundle) -> Result<()> {
    let err = |what| {
        move |e: nix::Error| ContainerError::StateIo {
            what,
            path: path.to_path_buf(),
            source: e.into(),
        }
    };
    nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .map_err(err("mkfifo"))?;
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        path,
        nix::sys::stat::Mode::from_bits_truncate(0o622),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )
    .map_err(err("chmod"))?;
    let linux = b.spec.linux().as_ref();
    let root_of = |maps: Option<&Vec<crate::spec::LinuxIdMapping>>| {
        maps.and_then(|m| m.iter().find(|m| m.container_id() == 0))
            .map(|m| m.host_id())
    };
    let uid = root_of(linux.and_then(|l| l.uid_mappings().as_ref()));
    let gid = root_of(linux.and_then(|l| l.gid_mappings().as_ref()));
    if uid.is_some() || gid.is_some() {
        nix::unistd::chown(path, uid.map(Into::into), gid.map(Into::into)).map_err(err("chown"))?;
    }
    Ok(())
}

/// systemd socket activation: when LISTEN_FDS names fds passed to us (LISTEN_PID is
/// ours), pass them on as runc does, with LISTEN_PID=1 for the container's process.
fn socket_activation() -> (u32, Vec<String>) {
    if std::env::var("LISTEN_PID").ok() != Some(std::process::id().to_string()) {
        return (0, Vec::new());
    }
    let n: u32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if n == 0 {
        return (0, Vec::new());
    }
    (
        n,
        vec![format!("LISTEN_FDS={n}"), "LISTEN_PID=1".to_string()],
    )
}

struct CreateObserver<'a> {
    dir: &'a StateDir,
    st: &'a mut StateFile,
    b: &'a Bundle,
    pid_file: Option<&'a Path>,
    seccomp: Option<&'a Filter>,
}

impl CreateObserver<'_> {
    fn hook_state(&self, status: Status) -> String {
        serde_json::to_string(&super::status::public_state(self.st, status)).unwrap_or_default()
    }
}

impl Observer for CreateObserver<'_> {
    fn spawned(&mut self, pid: i32, start_time: u64) -> std::result::Result<(), String> {
        if let Some(r) = &self.st.intel_rdt {
            r.add(pid).map_err(|e| e.to_string())?;
        }
        self.st.pid = pid;
        self.st.init_start_time = start_time;
        self.dir.write_interim(self.st).map_err(|e| e.to_string())
    }

    fn mounts_done(&mut self, _pid: i32) -> std::result::Result<String, String> {
        let state = self.hook_state(Status::Creating);
        let h = self.b.spec.hooks().clone().unwrap_or_default();
        if let Some(list) = h.prestart() {
            hooks::run_all("prestart", list, &state).map_err(|e| e.to_string())?;
        }
        if let Some(list) = h.create_runtime() {
            hooks::run_all("createRuntime", list, &state).map_err(|e| e.to_string())?;
        }
        Ok(self.hook_state(Status::Created))
    }

    fn seccomp_listener(&mut self, pid: i32, fd: OwnedFd) -> std::result::Result<(), String> {
        super::agent::hand_listener(self.seccomp, self.st, Status::Creating, pid, fd)
    }

    fn ready(&mut self, pid: i32) -> std::result::Result<(), String> {
        self.st.complete = true;
        self.dir.write(self.st).map_err(|e| e.to_string())?;
        if let Some(p) = self.pid_file {
            state::write_pid_file(p, pid).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// What of `linux` an exec'd process takes as the init does (`personality`,
/// `memoryPolicy`); `None` when the spec sets neither.
fn exec_linux(b: &Bundle) -> Option<crate::spec::Linux> {
    let l = b.spec.linux().as_ref()?;
    if l.personality().is_none() && l.memory_policy().is_none() {
        return None;
    }
    let mut out = crate::spec::Linux::default();
    out.set_personality(l.personality().clone());
    out.set_memory_policy(l.memory_policy().clone());
    Some(out)
}
