//! `exec`: a new process in a container that already runs. The runtime clones a helper
//! (into the container's cgroup on cgroup v2), which joins every namespace of the
//! container's init with one `setns(pidfd, CLONE_NEW*)` (the kernel orders the user
//! namespace first and leaves a time namespace's offsets alone), then clones the
//! process itself with `CLONE_PARENT`: a member of the container's pid namespace and
//! the runtime's own child. The helper sends its pidfd and exits. The runtime places the
//! process in the cgroup (v1 and hybrid), and the process finishes its set-up and
//! `execve`s; every error before `execve` comes back over the channel.

mod child;
mod messages;

use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use messages::{FromExec, ToExec};

use super::facts::KernelFacts;
use super::{clone, Init, ProcessError};
use crate::cgroups::Cgroup;
use crate::channel::{self, Channel};
use crate::pidfd::Pidfd;
use crate::procfs::ProcHandle;
use crate::spec::Process;

/// The namespaces `setns` can join, with the name of their `/proc/<pid>/ns` link; the
/// user namespace is listed first, as it must be joined first (the kernel does that
/// for a pidfd and a flag set).
const KINDS: [(&str, libc::c_int); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
    ("net", libc::CLONE_NEWNET),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

/// What `exec` needs to start a process in a container.
#[derive(Debug)]
pub struct ExecOptions<'a> {
    /// A pidfd of the container's init, verified by start time.
    pub init: &'a Pidfd,
    /// The process to run (validated).
    pub process: &'a Process,
    /// The container's root (used when it shares the runtime's mount namespace).
    pub rootfs: &'a Path,
    /// The cgroup to join: the container's, or a sub-cgroup of it.
    pub cgroup: &'a Cgroup,
    /// fds 3..3+N reach the process; each must be open and inheritable in the caller.
    pub preserve_fds: u32,
    /// A connected console socket that receives the pty master.
    pub console_socket: Option<&'a OwnedFd>,
    /// The container's `personality` and `memoryPolicy`, which the process takes too.
    pub linux: Option<&'a crate::spec::Linux>,
    /// The container's seccomp profile, compiled: the process loads its own copy.
    pub seccomp: Option<&'a crate::seccomp::Filter>,
}

/// The runtime's callbacks while an `exec`'d process is set up.
pub trait ExecObserver {
    /// The process (this PID) loaded a seccomp filter that notifies: hand its listener
    /// to the agent.
    fn seccomp_listener(&mut self, pid: i32, listener: OwnedFd) -> Result<(), String>;
    /// It is about to run user code: write the pid file.
    fn started(&mut self, pid: i32) -> Result<(), String>;
}

/// Starts the process; returns once it has `execve`d (its PID, a pidfd, and the pty
/// master when it has a terminal and no console socket was given). `obs` is told of
/// its seccomp listener and, before it may run user code, of its PID.
pub fn exec_into(opts: &ExecOptions, obs: &mut dyn ExecObserver) -> Result<Init, ProcessError> {
    let sys = |what| move |source| ProcessError::Sys { what, source };
    super::check_preserved_fds(opts.preserve_fds)?;
    let proc = ProcHandle::open().map_err(sys("open /proc"))?;
    // Read here, from the host's procfs: the process uses only these copies.
    let facts = KernelFacts::read(&proc)?;
    let me = std::process::id() as i32;
    let mut flags = 0;
    for (kind, flag) in KINDS {
        let ino = |pid| {
            let fd = proc.open_ns(pid, kind).map_err(sys("open namespace"))?;
            nix::sys::stat::fstat(&fd)
                .map(|s| (s.st_dev, s.st_ino))
                .map_err(|e| ProcessError::Sys {
                    what: "stat namespace",
                    source: e.into(),
                })
        };
        if ino(me)? != ino(opts.init.pid())? {
            flags |= flag;
        }
    }
    // Still the init we verified: the namespaces read above are its own.
    if opts.init.signal(0).is_err() {
        return Err(ProcessError::Runtime("container not running".into()));
    }
    let shares_mounts = flags & libc::CLONE_NEWNS == 0;
    let (ours, theirs) = channel::pair().map_err(sys("socketpair"))?;
    // Inherited by the clones: never dumpable before execve.
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(ProcessError::Sys {
            what: "prctl(PR_SET_DUMPABLE)",
            source: std::io::Error::last_os_error(),
        });
    }
    // Born in its unified cgroup, joining the v1 ones itself at `Go` (cgroups::SelfJoin).
    let join = opts
        .cgroup
        .open_join()
        .map_err(|e| ProcessError::Runtime(e.to_string()))?;
    let empty = nix::sched::CloneFlags::empty();
    let helper = match clone::clone3(empty, join.clone_into()).map_err(sys("clone3"))? {
        clone::Forked::Child => {
            drop(ours);
            let job = child::Job {
                ch: theirs,
                init: opts.init,
                flags,
                shares_mounts,
                rootfs: opts.rootfs,
                process: opts.process,
                linux: opts.linux,
                seccomp: opts.seccomp,
                preserve_fds: opts.preserve_fds,
                cgroup: &join,
                proc: &proc,
                facts: &facts,
            };
            child::helper(job)
        }
        clone::Forked::Parent { pid, .. } => pid,
    };
    drop(theirs);
    drop(join);
    let got = receive(&ours);
    // The helper exits right after sending the pidfd (or its error).
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(helper, std::ptr::null_mut(), 0) };
    let (pid, pidfd) = match got? {
        (FromExec::Spawned { pid }, mut fds) => match fds.pop() {
            Some(fd) => (pid, Pidfd::from_owned(fd, pid)),
            None => return Err(ProcessError::Runtime("exec helper sent no pidfd".into())),
        },
        (FromExec::Error(e), _) => return Err(ProcessError::Init(e)),
        (other, _) => return Err(ProcessError::Runtime(format!("unexpected {other:?}"))),
    };
    let process = Init {
        pid,
        pidfd,
        console: None,
    };
    match drive(&ours, process, opts, obs) {
        Ok(p) => Ok(p),
        Err((p, e)) => {
            let _ = p.pidfd.signal(libc::SIGKILL);
            // SAFETY: reaping our own child (CLONE_PARENT made it ours).
            unsafe { libc::waitpid(p.pid, std::ptr::null_mut(), 0) };
            Err(e)
        }
    }
}

/// The runtime's side once the process exists: cgroup, go-ahead, console, and the
/// wait for `execve` (the channel's end-of-file after `Ready`) or an error.
fn drive(
    ch: &Channel,
    mut p: Init,
    opts: &ExecOptions,
    obs: &mut dyn ExecObserver,
) -> Result<Init, (Init, ProcessError)> {
    macro_rules! tryf {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Err((p, e)),
            }
        };
    }
    // execCPUAffinity.initial, on the new process before it joins the cgroup at `Go`.
    tryf!(super::fields::apply_initial(p.pid, Some(opts.process)).map_err(ProcessError::Runtime));
    tryf!(ch
        .send(&ToExec::Go, &[])
        .map_err(|source| ProcessError::Sys {
            what: "send to exec process",
            source
        }));
    let mut ready = false;
    loop {
        let (msg, mut fds) = match receive(ch) {
            Ok(m) => m,
            // Its end is close-on-exec: end-of-file after `Ready` means it exec'd.
            Err(ProcessError::InitDied) if ready => {
                tryf!(obs.started(p.pid).map_err(ProcessError::Runtime));
                return Ok(p);
            }
            Err(e) => return Err((p, e)),
        };
        match msg {
            FromExec::Console => {
                let Some(master) = fds.pop() else {
                    return Err((p, ProcessError::Runtime("no pty master sent".into())));
                };
                match opts.console_socket {
                    Some(sock) => tryf!(crate::tty::send_master(sock.as_fd(), master.as_fd())
                        .map_err(|e| ProcessError::Runtime(e.to_string()))),
                    None => {
                        // Our terminal's size before the program runs (then on SIGWINCH).
                        let _ = crate::tty::inherit_size(master.as_fd());
                        p.console = Some(master);
                    }
                }
                tryf!(ch
                    .send(&ToExec::ConsoleDone, &[])
                    .map_err(|source| ProcessError::Sys {
                        what: "send to exec process",
                        source
                    }));
            }
            FromExec::SeccompListener => {
                let Some(listener) = fds.pop() else {
                    return Err((p, ProcessError::Runtime("no seccomp listener sent".into())));
                };
                tryf!(obs
                    .seccomp_listener(p.pid, listener)
                    .map_err(ProcessError::Runtime));
            }
            FromExec::Ready => ready = true,
            FromExec::Error(e) => return Err((p, ProcessError::Init(e))),
            FromExec::Spawned { .. } => {
                return Err((p, ProcessError::Runtime("unexpected message".into())))
            }
        }
    }
}

fn receive(ch: &Channel) -> Result<(FromExec, Vec<OwnedFd>), ProcessError> {
    ch.recv::<FromExec>().map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ProcessError::InitDied,
        _ => ProcessError::Sys {
            what: "receive from exec process",
            source: e,
        },
    })
}
