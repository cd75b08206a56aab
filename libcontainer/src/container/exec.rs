//! `exec`: a new process in a container that runs (or is created), with the
//! container's process as the base and runc's flags on top, or a whole process given.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use super::state::{self, read_state};
use super::status::observe;
use super::{Container, ContainerError, Status};
use crate::process::{self, Forwarder, Init};
use crate::spec::{Bundle, LinuxCapabilities, Process};
use crate::{tty, Result};

/// How `exec` runs the process: runc's `exec` flags that are not part of the process.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Return once the process runs (`--detach`); otherwise [`ExecProcess::wait`].
    pub detach: bool,
    /// Where to write the process's host PID (`--pid-file`).
    pub pid_file: Option<PathBuf>,
    /// Unix socket that receives the pty master (`--console-socket`).
    pub console_socket: Option<PathBuf>,
    /// Pass fds 3..3+N to the process (`--preserve-fds`).
    pub preserve_fds: u32,
    /// Sub-cgroups to join, in runc's `--cgroup` syntax.
    pub cgroup: Vec<String>,
    /// Exec into a paused container too (the process starts when it is resumed).
    pub ignore_paused: bool,
    /// Unix socket that receives a pidfd of the process (`--pidfd-socket`).
    pub pidfd_socket: Option<PathBuf>,
}

/// runc's `exec` flags that change the container's own process (see
/// [`Container::exec_process`]).
#[derive(Debug, Clone, Default)]
pub struct ProcessOverrides {
    /// The command and its arguments (required).
    pub args: Vec<String>,
    /// `NAME=value` entries added to the environment; a name given again replaces it.
    pub env: Vec<String>,
    /// The working directory (`--cwd`).
    pub cwd: Option<PathBuf>,
    /// uid and optional gid (`--user uid[:gid]`).
    pub user: Option<(u32, Option<u32>)>,
    /// Supplementary groups added (`--additional-gids`).
    pub additional_gids: Vec<u32>,
    /// Capabilities added to the bounding, effective and permitted sets (`--cap`),
    /// with or without `CAP_`.
    pub caps: Vec<String>,
    /// Set no_new_privs (`--no-new-privs`).
    pub no_new_privs: bool,
    /// Give the process a terminal (`--tty`).
    pub tty: bool,
    /// AppArmor profile (`--apparmor`).
    pub apparmor: Option<String>,
    /// SELinux label (`--process-label`).
    pub process_label: Option<String>,
}

/// A process started by [`Container::exec`].
#[derive(Debug)]
pub struct ExecProcess {
    process: Init,
    forwarder: Option<Forwarder>,
}

impl ExecProcess {
    /// Its PID in the caller's pid namespace.
    pub fn pid(&self) -> i32 {
        self.process.pid
    }

    /// The pty master when it has a terminal and no console socket was given;
    /// [`ExecProcess::wait`] relays it unless taken first.
    pub fn take_console(&mut self) -> Option<OwnedFd> {
        self.process.console.take()
    }

    /// Waits for the process to exit, forwarding the caller's signals to it (and
    /// relaying its terminal), and returns its exit status, 128+N for signal N. Only
    /// without `detach`.
    pub fn wait(&mut self) -> Result<i32> {
        let Some(fwd) = self.forwarder.as_ref() else {
            return Err(ContainerError::NotParent.into());
        };
        let console = self.process.console.take();
        Ok(process::wait_foreground(&self.process, console, fwd)?)
    }
}

impl Container {
    /// The container's own process (from its bundle's config.json) with runc's `exec`
    /// flags applied, ready for [`Container::exec`].
    pub fn exec_process(&self, ov: &ProcessOverrides) -> Result<Process> {
        let st = read_state(&self.dir())?
            .ok_or_else(|| ContainerError::NotExist(self.id.to_string()))?;
        let b = Bundle::load(&st.bundle)?;
        let mut p = b.process().clone();
        p.set_args(Some(ov.args.clone()));
        if let Some(cwd) = &ov.cwd {
            p.set_cwd(cwd.clone());
        }
        if ov.apparmor.is_some() {
            p.set_apparmor_profile(ov.apparmor.clone());
        }
        if ov.process_label.is_some() {
            p.set_selinux_label(ov.process_label.clone());
        }
        if !ov.caps.is_empty() {
            p.set_capabilities(Some(add_caps(p.capabilities().clone(), &ov.caps)?));
        }
        let mut env = p.env().clone().unwrap_or_default();
        env.extend(ov.env.iter().cloned());
        p.set_env(Some(env));
        p.set_terminal(Some(ov.tty));
        if ov.no_new_privs {
            p.set_no_new_privileges(Some(true));
        }
        let mut user = p.user().clone();
        if let Some((uid, gid)) = ov.user {
            user.set_uid(uid);
            if let Some(g) = gid {
                user.set_gid(g);
            }
        }
        if !ov.additional_gids.is_empty() {
            let mut g = user.additional_gids().clone().unwrap_or_default();
            g.extend(&ov.additional_gids);
            user.set_additional_gids(Some(g));
        }
        p.set_user(user);
        Ok(p)
    }

    /// Starts `process` in the container: in every namespace of its init, in its
    /// cgroup (or a sub-cgroup), with the process's credentials and limits. Returns once
    /// the process has `execve`d; errors before that are returned with their reason.
    pub fn exec(&self, process: &Process, opts: &ExecOptions) -> Result<ExecProcess> {
        let st = read_state(&self.dir())?.ok_or(ContainerError::NotRunning)?;
        let (status, init) = observe(&self.dir(), &st);
        match status {
            Status::Stopped | Status::Unknown => {
                return Err(ContainerError::CannotExec("cannot exec in a stopped container").into())
            }
            Status::Paused if !opts.ignore_paused => {
                return Err(ContainerError::CannotExec(
                    "cannot exec in a paused container (use --ignore-paused to override)",
                )
                .into())
            }
            Status::Creating => return Err(ContainerError::NotRunning.into()),
            _ => {}
        }
        let init = init.ok_or(ContainerError::NotRunning)?;
        crate::spec::check_exec_process(process)?;
        let terminal = process.terminal() == Some(true);
        if terminal && opts.detach && opts.console_socket.is_none() {
            return Err(ContainerError::Console(
                "cannot allocate tty if quai will detach without setting console socket",
            )
            .into());
        }
        if !terminal && opts.console_socket.is_some() {
            return Err(ContainerError::Console(
                "cannot use console socket if quai will not detach or allocate tty",
            )
            .into());
        }
        let console_socket = match &opts.console_socket {
            Some(p) => Some(tty::connect_console_socket(p)?),
            None => None,
        };
        let pidfd_socket =
            match &opts.pidfd_socket {
                Some(p) => Some(crate::pidfd::connect_socket(p).map_err(|source| {
                    ContainerError::StateIo {
                        what: "connect to pidfd socket",
                        path: p.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let cgroup = st.cgroup.sub(&opts.cgroup)?;
        // Before the process exists: a signal sent as soon as it runs is forwarded.
        let forwarder = if opts.detach {
            None
        } else {
            Some(Forwarder::install()?)
        };
        // The container's profile, recorded at create, compiled afresh (as runc does).
        let seccomp = match state::read_seccomp(&self.dir())? {
            Some(profile) => Some(crate::seccomp::Filter::compile(&profile)?),
            None => None,
        };
        let xo = process::ExecOptions {
            init: &init,
            process,
            rootfs: &st.rootfs,
            cgroup: &cgroup,
            preserve_fds: opts.preserve_fds,
            console_socket: console_socket.as_ref(),
            linux: st.exec_linux.as_ref(),
            seccomp: seccomp.as_ref(),
        };
        let mut obs = ExecSide {
            st: &st,
            pid_file: opts.pid_file.as_deref(),
            seccomp: seccomp.as_ref(),
        };
        let p = process::exec_into(&xo, &mut obs)?;
        if let Some(sock) = &pidfd_socket {
            p.pidfd
                .send_over(sock)
                .map_err(|source| ContainerError::StateIo {
                    what: "send pidfd to",
                    path: opts.pidfd_socket.clone().unwrap_or_default(),
                    source,
                })?;
        }
        Ok(ExecProcess {
            process: p,
            forwarder,
        })
    }
}

/// The lifecycle's part while an `exec`'d process is set up.
struct ExecSide<'a> {
    st: &'a state::StateFile,
    pid_file: Option<&'a std::path::Path>,
    seccomp: Option<&'a crate::seccomp::Filter>,
}

impl process::ExecObserver for ExecSide<'_> {
    fn seccomp_listener(&mut self, pid: i32, fd: OwnedFd) -> std::result::Result<(), String> {
        super::agent::hand_listener(self.seccomp, self.st, Status::Running, pid, fd)
    }

    fn started(&mut self, pid: i32) -> std::result::Result<(), String> {
        if let Some(p) = self.pid_file {
            state::write_pid_file(p, pid).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// `caps` added to the bounding, effective and permitted sets of `have` (runc's
/// `exec --cap`).
fn add_caps(have: Option<LinuxCapabilities>, caps: &[String]) -> Result<LinuxCapabilities> {
    let mut c = have.unwrap_or_default();
    for name in caps {
        let up = name.to_ascii_uppercase();
        let full = if up.starts_with("CAP_") {
            up
        } else {
            format!("CAP_{up}")
        };
        let cap: crate::spec::Capability = serde_json::from_value(serde_json::Value::String(full))
            .map_err(|_| ContainerError::InvalidCapability(name.clone()))?;
        let add = |set: &Option<crate::spec::Capabilities>| {
            let mut s = set.clone().unwrap_or_default();
            s.insert(cap);
            Some(s)
        };
        c.set_bounding(add(c.bounding()));
        c.set_effective(add(c.effective()));
        c.set_permitted(add(c.permitted()));
        // As runc: not inheritable, so ambient only where the spec has inheritable ones
        // (the kernel refuses an ambient capability that is not inheritable).
        if c.inheritable().as_ref().is_some_and(|i| !i.is_empty()) {
            c.set_ambient(add(c.ambient()));
        }
    }
    Ok(c)
}

/// Reads a runtime-spec Process from a JSON file (`exec --process FILE`).
pub fn read_process(path: &std::path::Path) -> Result<Process> {
    let text = std::fs::read_to_string(path).map_err(|source| ContainerError::StateIo {
        what: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let bad =
        |e: &dyn std::fmt::Display| ContainerError::ProcessFile(format!("{}: {e}", path.display()));
    let mut v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e))?;
    // runc reads a missing user as Go's zero value, root; engines and runc's own tests
    // send process files without one.
    if let Some(obj) = v.as_object_mut() {
        obj.entry("user")
            .or_insert_with(|| serde_json::json!({ "uid": 0, "gid": 0 }));
    }
    // Plain serde first; the path-tracking one only to word an error (see spec::parse).
    match serde_json::from_value(v.clone()) {
        Ok(p) => Ok(p),
        Err(_) => serde_path_to_error::deserialize(v).map_err(|e| bad(&e).into()),
    }
}
