//! The container's init process: cloning it into its namespaces and walking it through
//! set-up over a typed channel. [`spawn`] is the runtime's side; `init` is the child's.

mod clone;
mod credentials;
mod exec;
mod exec_into;
mod facts;
mod fds;
mod fields;
mod filter;
mod foreground;
mod idle;
mod init;
mod messages;
mod netdevs;

pub use exec_into::{exec_into, ExecObserver, ExecOptions};
pub use fds::check_preserved_fds;
pub use foreground::{wait_foreground, Forwarder};

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use messages::{FromInit, ToInit};

use crate::cgroups::Cgroup;
use crate::channel::{self, Channel};
use crate::pidfd::Pidfd;
use crate::procfs::ProcHandle;
use crate::spec::Bundle;
use crate::{namespaces, rootfs};

/// Why starting or talking to the init failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A system call in the runtime failed.
    #[error("{what}: {source}")]
    Sys {
        /// The step.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The init reported an error.
    #[error("{0}")]
    Init(String),
    /// `--preserve-fds` (or LISTEN_FDS) names fds the caller did not pass.
    #[error("{0}")]
    PreservedFds(String),
    /// The init exited without saying why.
    #[error("container init exited unexpectedly")]
    InitDied,
    /// A step the runtime runs for the init (cgroups, maps, hooks) failed.
    #[error("{0}")]
    Runtime(String),
}

/// What the init needs besides the bundle.
#[derive(Debug)]
pub struct InitOptions<'a> {
    /// The container id (names the session keyring).
    pub id: &'a str,
    /// The validated bundle.
    pub bundle: &'a Bundle,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// `--no-new-keyring`.
    pub no_new_keyring: bool,
    /// fds 3..3+N reach the container's process; each must be open and inheritable in
    /// the caller ([`check_preserved_fds`]).
    pub preserve_fds: u32,
    /// Variables added to the process's environment (LISTEN_FDS, LISTEN_PID).
    pub extra_env: Vec<String>,
    /// The caller's fds for the process's stdin, stdout and stderr (`None`: the
    /// runtime's own is inherited), installed as 0, 1 and 2 by the init.
    pub stdio: [Option<std::os::fd::RawFd>; 3],
    /// fds of the runtime the init must close at once (the state lock, which the
    /// init would otherwise hold until `start`).
    pub close_in_init: Vec<i32>,
    /// The compiled `linux.seccomp`, loaded by the init.
    pub seccomp: Option<&'a crate::seccomp::Filter>,
    /// The runtime's mounts as read before the clone, for the init's rootfs set-up
    /// (`RootfsOptions::host_mounts`); `None`: the init reads them.
    pub host_mounts: Option<&'a [crate::mountinfo::MountInfo]>,
}

/// The runtime's callbacks at the points of set-up that need the lifecycle layer.
pub trait Observer {
    /// The init exists (PID and start time known): record it so an interrupted create
    /// can be cleaned.
    fn spawned(&mut self, pid: i32, start_time: u64) -> Result<(), String>;
    /// Mounts are done: run prestart and createRuntime hooks; return the state JSON for
    /// the hooks the init runs.
    fn mounts_done(&mut self, pid: i32) -> Result<String, String>;
    /// The init loaded a seccomp filter that notifies: hand its listener to the agent.
    fn seccomp_listener(&mut self, pid: i32, listener: OwnedFd) -> Result<(), String>;
    /// The init is ready: write the state and pid files.
    fn ready(&mut self, pid: i32) -> Result<(), String>;
}

/// A running init, as seen by the process that created it.
#[derive(Debug)]
pub struct Init {
    /// Its PID in our pid namespace.
    pub pid: i32,
    /// A pidfd for it (it is our child).
    pub pidfd: Pidfd,
    /// The pty master when the process has a terminal.
    pub console: Option<OwnedFd>,
}

/// Clones the init and walks it to the point where it waits on the exec fifo.
/// `console_socket` (already connected) receives the pty master if there is one.
pub fn spawn(
    opts: &InitOptions,
    cgroup: &Cgroup,
    fifo: &OwnedFd,
    console_socket: Option<&OwnedFd>,
    obs: &mut dyn Observer,
) -> Result<Init, ProcessError> {
    let sys = |what| move |source| ProcessError::Sys { what, source };
    check_preserved_fds(opts.preserve_fds)?;
    let proc = ProcHandle::open().map_err(sys("open /proc"))?;
    // Read here, in the host's mount namespace: the init uses only this copy.
    let facts = facts::KernelFacts::read(&proc)?;
    let joins =
        namespaces::open_joins(opts.bundle).map_err(|e| ProcessError::Runtime(e.to_string()))?;
    let flags =
        namespaces::clone_flags(opts.bundle).map_err(|e| ProcessError::Runtime(e.to_string()))?;
    let flags = joins.adjust_clone_flags(flags);
    namespaces::join_pid_for_children(opts.bundle)
        .map_err(|e| ProcessError::Runtime(e.to_string()))?;
    let (ours, theirs) = channel::pair().map_err(sys("socketpair"))?;
    // The clone inherits this: the init is never dumpable (its /proc files and our
    // binary behind /proc/<pid>/exe closed to the container) from its first instruction.
    // Except where a rootless runtime must write the init's id maps (or newuidmap must,
    // which checks that it owns the process): a non-dumpable process's /proc files
    // belong to the host's root. The init then turns non-dumpable once the maps are
    // written, before it touches anything of the container (as runc's nsexec does).
    let rootless = crate::caller::is_rootless();
    let maps_by_user = rootless
        && opts
            .bundle
            .makes_namespace(crate::spec::LinuxNamespaceType::User);
    // SAFETY: plain prctl with integer arguments.
    if !maps_by_user && unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(ProcessError::Sys {
            what: "prctl(PR_SET_DUMPABLE)",
            source: std::io::Error::last_os_error(),
        });
    }

    // Born in its unified cgroup, and joining the v1 ones itself at `Go`: the runtime
    // never writes its PID into cgroup.procs (see cgroups::SelfJoin).
    let join =
        crate::cgroups::SelfJoin::open(cgroup).map_err(|e| ProcessError::Runtime(e.to_string()))?;
    let (pid, pidfd) = match clone::clone3(flags, join.clone_into()).map_err(sys("clone3"))? {
        clone::Forked::Child => {
            drop(ours);
            init::run(theirs, joins, opts, &join, fifo, &facts)
        }
        clone::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(join);
    drop(theirs);
    let init = Init {
        pid,
        pidfd: Pidfd::from_owned(pidfd, pid),
        console: None,
    };
    let side = RuntimeSide {
        ch: &ours,
        opts,
        proc: &proc,
        console_socket,
        netns: std::cell::OnceCell::new(),
        rootless,
    };
    match side.drive(init, obs) {
        Ok(init) => Ok(init),
        Err((init, e)) => {
            // Interfaces moved in go back (their namespace is held open until then).
            if let Some(ns) = side.netns.get() {
                let _ = netdevs::move_out(&proc, ns, &opts.bundle.spec);
            }
            let _ = init.pidfd.signal(libc::SIGKILL);
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(init.pid, std::ptr::null_mut(), 0) };
            Err(e)
        }
    }
}

type Failed = (Init, ProcessError);

/// What the runtime's side of the handshake works with.
struct RuntimeSide<'a> {
    ch: &'a Channel,
    opts: &'a InitOptions<'a>,
    proc: &'a ProcHandle,
    console_socket: Option<&'a OwnedFd>,
    /// The container's network namespace, once `linux.netDevices` were moved into it.
    netns: std::cell::OnceCell<OwnedFd>,
    /// The caller is not root of the host ([`crate::caller::is_rootless`]).
    rootless: bool,
}

impl RuntimeSide<'_> {
    /// Tells the observer the init exists, with its start time read through our procfs.
    fn spawned(&self, obs: &mut dyn Observer, pid: i32) -> Result<(), ProcessError> {
        let st = self.proc.stat(pid).map_err(|source| ProcessError::Sys {
            what: "read the init's /proc/<pid>/stat",
            source,
        })?;
        obs.spawned(pid, st.start_time)
            .map_err(ProcessError::Runtime)
    }

    fn drive(&self, mut init: Init, obs: &mut dyn Observer) -> Result<Init, Failed> {
        macro_rules! tryf {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Err((init, e)),
                }
            };
        }
        let pid = init.pid;
        tryf!(self.spawned(obs, pid));
        // execCPUAffinity.initial: the init's part before it joins the cgroup.
        tryf!(
            fields::apply_initial(pid, self.opts.bundle.spec.process().as_ref())
                .map_err(ProcessError::Runtime)
        );
        tryf!(namespaces::write_id_maps(self.proc, pid, self.opts.bundle)
            .map_err(|e| ProcessError::Runtime(e.to_string())));
        let (idmap, idmap_fds) = tryf!(prepared_sources(
            self.proc,
            pid,
            self.opts.bundle,
            self.rootless
        ))
        .into_parts();
        let raw: Vec<i32> = idmap_fds.iter().map(|f| f.as_raw_fd()).collect();
        tryf!(self
            .ch
            .send(&ToInit::Go { idmap }, &raw)
            .map_err(|source| ProcessError::Sys {
                what: "send to init",
                source
            }));
        drop(idmap_fds);
        loop {
            let (msg, mut fds) = tryf!(receive(self.ch));
            match msg {
                FromInit::Reparent { pid: new } => {
                    // The intermediate exits now; the new init is ours as subreaper or
                    // is reparented when the runtime exits.
                    // SAFETY: reaping our own child.
                    unsafe { libc::waitpid(init.pid, std::ptr::null_mut(), 0) };
                    let pidfd = tryf!(Pidfd::open(new).map_err(|source| ProcessError::Sys {
                        what: "pidfd_open",
                        source
                    }));
                    init = Init {
                        pid: new,
                        pidfd,
                        console: init.console,
                    };
                    tryf!(self.spawned(obs, new));
                }
                FromInit::MountsDone => {
                    let moved = netdevs::move_in(self.proc, init.pid, &self.opts.bundle.spec);
                    if let Some(ns) = tryf!(moved.map_err(ProcessError::Runtime)) {
                        let _ = self.netns.set(ns);
                    }
                    let state = tryf!(obs.mounts_done(init.pid).map_err(ProcessError::Runtime));
                    tryf!(send(self.ch, &ToInit::HooksDone { state }));
                }
                FromInit::Console => {
                    let Some(master) = fds.pop() else {
                        return Err((
                            init,
                            ProcessError::Runtime("init sent no pty master".into()),
                        ));
                    };
                    match self.console_socket {
                        Some(sock) => {
                            tryf!(crate::tty::send_master(sock.as_fd(), master.as_fd())
                                .map_err(|e| ProcessError::Runtime(e.to_string())));
                        }
                        None => init.console = Some(master),
                    }
                }
                FromInit::SeccompListener => {
                    let Some(listener) = fds.pop() else {
                        return Err((
                            init,
                            ProcessError::Runtime("init sent no seccomp listener".into()),
                        ));
                    };
                    tryf!(obs
                        .seccomp_listener(init.pid, listener)
                        .map_err(ProcessError::Runtime));
                }
                FromInit::Ready => {
                    tryf!(obs.ready(init.pid).map_err(ProcessError::Runtime));
                    tryf!(send(self.ch, &ToInit::Committed));
                }
                FromInit::Detached => return Ok(init),
                FromInit::Error(msg) => return Err((init, ProcessError::Init(msg))),
            }
        }
    }
}

/// Bind sources the init cannot open or map itself, prepared by the runtime: the
/// sources of every bind mount when the container has a user namespace, and the
/// id-mapped ones (mapped with the init's user namespace unless they bring their own).
fn prepared_sources(
    proc: &ProcHandle,
    pid: i32,
    b: &Bundle,
    rootless: bool,
) -> Result<rootfs::PreparedSources, ProcessError> {
    let in_userns = b.namespace(crate::spec::LinuxNamespaceType::User).is_some();
    // A rootless runtime can clone no mount of the host's mount namespace, and reaches
    // no file its init cannot: the init binds those sources itself.
    let clone_binds = in_userns && !rootless;
    if !rootfs::needs_prepared_sources(b, clone_binds) {
        return Ok(rootfs::PreparedSources::none());
    }
    let userns = if in_userns {
        Some(
            proc.open_ns(pid, "user")
                .map_err(|source| ProcessError::Sys {
                    what: "open init's user namespace",
                    source,
                })?,
        )
    } else {
        None
    };
    rootfs::open_prepared_sources(b, userns.as_ref().map(|f| f.as_fd()), clone_binds)
        .map_err(|e| ProcessError::Runtime(e.to_string()))
}

fn send(ch: &Channel, m: &ToInit) -> Result<(), ProcessError> {
    ch.send(m, &[]).map_err(|e| {
        if e.raw_os_error() == Some(libc::EPIPE) || e.raw_os_error() == Some(libc::ECONNRESET) {
            ProcessError::InitDied
        } else {
            ProcessError::Sys {
                what: "send to init",
                source: e,
            }
        }
    })
}

fn receive(ch: &Channel) -> Result<(FromInit, Vec<OwnedFd>), ProcessError> {
    ch.recv::<FromInit>().map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ProcessError::InitDied,
        _ => ProcessError::Sys {
            what: "receive from init",
            source: e,
        },
    })
}
