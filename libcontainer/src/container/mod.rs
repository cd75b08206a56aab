//! The container's life: create, start, exec, state, kill, delete, and the state on disk.
//! This is the public API the `quai` CLI and embedders use.
//!
//! ```no_run
//! use libcontainer::container::{Container, ContainerBuilder, ExecOptions, ProcessOverrides};
//! let mut c = ContainerBuilder::new("demo")?
//!     .root("/run/quai")
//!     .create("/path/to/bundle".as_ref())?;
//! c.start()?;
//! // A second process in the running container, in the foreground (`exec`).
//! let extra = c.exec_process(&ProcessOverrides {
//!     args: vec!["/bin/true".into()],
//!     ..Default::default()
//! })?;
//! let status = c.exec(&extra, &ExecOptions::default())?.wait()?;
//! let code = c.wait()?;
//! c.delete(true)?;
//! # Ok::<(), libcontainer::Error>(())
//! ```
//!
//! Without a bundle on disk, [`ContainerBuilder::create_from_spec`] takes a spec built
//! in memory and a rootfs path, and [`ContainerBuilder::stdout`] (and `stdin`,
//! `stderr`) give the process the caller's fds: see `examples/in_memory.rs`.

mod agent;
mod create;
mod exec;
mod id;
mod lifecycle;
mod members;
mod resources;
mod signal;
mod state;
mod status;
mod timestamp;

pub use crate::selfexe::run_from_read_only_view;
pub use exec::{read_process, ExecOptions, ExecProcess, ProcessOverrides};
pub use id::ContainerId;
pub use resources::Event;
pub use signal::parse_signal;
pub use timestamp::rfc3339_nanos;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Result;

/// The state root of root of the host; [`crate::caller::default_root`] is the default
/// for whoever runs the runtime (`$XDG_RUNTIME_DIR/quai` when rootless).
pub const DEFAULT_ROOT: &str = crate::caller::HOST_ROOT;

/// Lifecycle errors, worded with the phrases callers match on.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The id has characters outside `[A-Za-z0-9_+.-]` or is `.`/`..`.
    #[error("invalid container id {0:?}: it must match [A-Za-z0-9_+.-]+ and not be . or ..")]
    InvalidId(String),
    /// No container with this id.
    #[error("container {0:?} does not exist")]
    NotExist(String),
    /// The id is taken.
    #[error("container with id {0:?} already exists")]
    Exists(String),
    /// A rootless container asks for cgroup limits, and no cgroup could be made for it.
    #[error("cannot set the cgroup limits of linux.resources for a rootless container: {0}; give it a writable (delegated) cgroup v2 subtree in cgroupsPath, or ask for no limits")]
    RootlessCgroup(String),
    /// The container is not in a state that allows the operation.
    #[error("container not running")]
    NotRunning,
    /// `exec` into a container that is stopped, or paused without `ignore_paused`.
    #[error("{0}")]
    CannotExec(&'static str),
    /// `exec --cap` names no capability this runtime knows.
    #[error("unknown capability {0:?}")]
    InvalidCapability(String),
    /// `exec --process FILE` could not be read or parsed.
    #[error("{0}")]
    ProcessFile(String),
    /// `start` on a container that is not `created`.
    #[error("{0}")]
    CannotStart(&'static str),
    /// `delete` without force on a running or paused container.
    #[error("cannot delete container {id} that is not stopped: {status}")]
    NotStopped {
        /// The container id.
        id: String,
        /// Its current status.
        status: Status,
    },
    /// The signal is not one `kill` knows.
    #[error("invalid signal {0:?}")]
    InvalidSignal(String),
    /// Terminal and console socket options that cannot work together.
    #[error("{0}")]
    Console(&'static str),
    /// `pause` of a container that is paused already.
    #[error("container already paused")]
    AlreadyPaused,
    /// `resume` of a container that is not paused.
    #[error("container not paused")]
    NotPaused,
    /// `wait` is only possible in the process that created the container.
    #[error("only the process that created the container can wait for it")]
    NotParent,
    /// The cgroup the container is to join is frozen (runc's words).
    #[error("container's cgroup unexpectedly frozen")]
    CgroupFrozen,
    /// A process would not die.
    #[error("container {0} did not stop within {1} seconds of SIGKILL")]
    KillTimeout(String, u64),
    /// Reading or writing the state directory failed.
    #[error("{what} {path}: {source}")]
    StateIo {
        /// The step.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A container's status, derived from what is true now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `create` is still running.
    Creating,
    /// The init waits for `start`.
    Created,
    /// The user's process runs.
    Running,
    /// Frozen by the freezer.
    Paused,
    /// The init has exited.
    Stopped,
    /// The state on disk cannot be read (`list` only; `delete --force` removes it).
    Unknown,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
            Status::Unknown => "unknown",
        })
    }
}

/// The state as `quai state` prints it (runc's JSON keys).
#[derive(Debug, Clone, Serialize)]
pub struct ContainerState {
    /// Spec version of the bundle.
    #[serde(rename = "ociVersion")]
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Host PID of the init, 0 once stopped.
    pub pid: i32,
    /// Current status.
    pub status: Status,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// Creation time, RFC 3339 with nanoseconds.
    pub created: String,
    /// Owner user name (empty as in runc when running as root).
    pub owner: String,
    /// Annotations from the spec; omitted when empty.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

impl ContainerState {
    /// What `list` shows for a container whose state cannot be read.
    fn unknown(id: &str) -> Self {
        Self {
            oci_version: String::new(),
            id: id.to_string(),
            pid: 0,
            status: Status::Unknown,
            bundle: PathBuf::new(),
            rootfs: PathBuf::new(),
            created: String::new(),
            owner: String::new(),
            annotations: HashMap::new(),
        }
    }
}

/// Builds and creates a container.
#[derive(Debug, Clone)]
pub struct ContainerBuilder {
    id: ContainerId,
    root: PathBuf,
    pid_file: Option<PathBuf>,
    console_socket: Option<PathBuf>,
    no_pivot: bool,
    no_new_keyring: bool,
    preserve_fds: u32,
    detach: bool,
    systemd_cgroup: bool,
    rootless: bool,
    /// The process's stdin, stdout, stderr when the caller gives them.
    stdio: [Option<std::sync::Arc<OwnedFd>>; 3],
}

impl ContainerBuilder {
    /// Starts a builder for `id` (checked) with the caller's default root
    /// ([`crate::caller::default_root`]).
    pub fn new(id: &str) -> Result<Self> {
        Ok(Self {
            id: ContainerId::new(id)?,
            root: crate::caller::default_root(),
            pid_file: None,
            console_socket: None,
            no_pivot: false,
            no_new_keyring: false,
            preserve_fds: 0,
            detach: false,
            systemd_cgroup: false,
            rootless: crate::caller::is_rootless(),
            stdio: [None, None, None],
        })
    }

    /// The container process reads `fd` as its stdin instead of the caller's own.
    /// The builder keeps it until `create` returns (a pipe's end is then the
    /// container's alone). Not with `process.terminal`, whose stdio is the pty.
    pub fn stdin(mut self, fd: impl Into<OwnedFd>) -> Self {
        self.stdio[0] = Some(std::sync::Arc::new(fd.into()));
        self
    }

    /// The container process writes its stdout to `fd` (see [`ContainerBuilder::stdin`]).
    pub fn stdout(mut self, fd: impl Into<OwnedFd>) -> Self {
        self.stdio[1] = Some(std::sync::Arc::new(fd.into()));
        self
    }

    /// The container process writes its stderr to `fd` (see [`ContainerBuilder::stdin`]).
    pub fn stderr(mut self, fd: impl Into<OwnedFd>) -> Self {
        self.stdio[2] = Some(std::sync::Arc::new(fd.into()));
        self
    }

    /// Let systemd make the cgroups (`--systemd-cgroup`), with `slice:prefix:name`
    /// paths; fails clearly where systemd is not running.
    pub fn systemd_cgroup(mut self, v: bool) -> Self {
        self.systemd_cgroup = v;
        self
    }

    /// Rootless mode (runc's `--rootless`; by default, whether the caller is not root of
    /// the host): cgroups that cannot be made for want of permission are skipped with
    /// a warning when the spec asks for no limits (an error when it does), and the
    /// device rules, which need the host's root, are left out.
    pub fn rootless(mut self, v: bool) -> Self {
        self.rootless = v;
        self
    }

    /// The caller will not stay to relay a terminal (`create`, `run --detach`): a
    /// process with a terminal then needs a console socket.
    pub fn detach(mut self, v: bool) -> Self {
        self.detach = v;
        self
    }

    /// The state root (`--root`).
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Where to write the init's PID (`--pid-file`).
    pub fn pid_file(mut self, path: Option<PathBuf>) -> Self {
        self.pid_file = path;
        self
    }

    /// Unix socket that receives the pty master (`--console-socket`).
    pub fn console_socket(mut self, path: Option<PathBuf>) -> Self {
        self.console_socket = path;
        self
    }

    /// Use MS_MOVE + chroot instead of pivot_root (`--no-pivot`).
    pub fn no_pivot(mut self, v: bool) -> Self {
        self.no_pivot = v;
        self
    }

    /// Do not give the container a session keyring of its own (`--no-new-keyring`).
    pub fn no_new_keyring(mut self, v: bool) -> Self {
        self.no_new_keyring = v;
        self
    }

    /// Pass fds 3..3+N to the container's process (`--preserve-fds`).
    pub fn preserve_fds(mut self, n: u32) -> Self {
        self.preserve_fds = n;
        self
    }
}

/// A container on disk; the process that created it also holds its init.
#[derive(Debug)]
pub struct Container {
    id: ContainerId,
    root: PathBuf,
    console: Option<OwnedFd>,
    init: Option<crate::process::Init>,
    forwarder: Option<crate::process::Forwarder>,
    warnings: Vec<String>,
}

/// From how many containers `list` reads them in parallel.
const LIST_PARALLEL_FROM: usize = 64;
/// At most this many threads read states for `list`.
pub const LIST_MAX_WORKERS: usize = 4;

impl Container {
    /// Loads the container `id` from the state root.
    pub fn load(root: &Path, id: &str) -> Result<Self> {
        let id = ContainerId::new(id)?;
        let dir = root.join(id.as_str());
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            // Only a directory known not to be there is a container that does not exist:
            // one behind a root we may not enter (another user's) is an error, never a
            // `delete --force` that "succeeds".
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ContainerError::StateIo {
                    what: "stat",
                    path: dir,
                    source: e,
                }
                .into())
            }
            _ => return Err(ContainerError::NotExist(id.to_string()).into()),
        }
        Ok(Self {
            id,
            root: root.to_path_buf(),
            console: None,
            init: None,
            forwarder: None,
            warnings: Vec::new(),
        })
    }

    /// The states of every container under `root`, sorted by id (read by up to
    /// [`LIST_MAX_WORKERS`] threads when there are many). Containers whose
    /// `create` has not written a state yet are left out.
    pub fn list(root: &Path) -> Result<Vec<ContainerState>> {
        let entries = match std::fs::read_dir(root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(ContainerError::StateIo {
                    what: "read",
                    path: root.to_path_buf(),
                    source,
                }
                .into())
            }
        };
        let names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // One procfs handle for every container's liveness check, and one fd of the
        // cgroup mounts for every freezer state.
        let proc = crate::procfs::ProcHandle::open().ok();
        crate::cgroups::use_usual_base();
        let one = |name: &String| -> Option<ContainerState> {
            // Not `Container::load`: its stat of the directory is one system call in
            // ~15 per container; a missing state file (or a stray file in the root)
            // reads as none.
            ContainerId::new(name).ok()?;
            let dir = root.join(name);
            match state::read_state(&dir) {
                Ok(Some(st)) => {
                    let now = status::derive_in(proc.as_ref(), &dir, &st);
                    Some(status::public_state(&st, now))
                }
                // Still being created: not listed yet (runc lists only what it can load).
                Ok(None) => None,
                // Listed, so that it can be seen and `delete --force`d.
                Err(_) => Some(ContainerState::unknown(name)),
            }
        };
        // Each container costs a dozen system calls and a small JSON parse, all
        // independent: with many, the cores share them.
        let workers = match names.len() {
            n if n >= LIST_PARALLEL_FROM => std::thread::available_parallelism()
                .map_or(1, |c| c.get())
                .min(LIST_MAX_WORKERS),
            _ => 1,
        };
        let mut out: Vec<ContainerState> = if workers > 1 {
            let chunk = names.len().div_ceil(workers);
            std::thread::scope(|s| {
                let parts: Vec<_> = names
                    .chunks(chunk)
                    .map(|part| s.spawn(|| part.iter().filter_map(one).collect::<Vec<_>>()))
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        } else {
            names.iter().filter_map(one).collect()
        };
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// What `create` has to warn about (it went on): the caller logs these.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The container id.
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    fn dir(&self) -> PathBuf {
        self.root.join(self.id.as_str())
    }

    /// The current state, with the status derived from what is true now.
    pub fn state(&self) -> Result<ContainerState> {
        let st = state::read_state(&self.dir())?
            .ok_or_else(|| ContainerError::NotExist(self.id.to_string()))?;
        let status = status::derive(&self.dir(), &st);
        Ok(status::public_state(&st, status))
    }

    /// Lets the init `execve` the user's process, then runs poststart hooks (whose
    /// failures are returned as warnings, as the runtime-spec says).
    pub fn start(&self) -> Result<Vec<String>> {
        lifecycle::start(&self.root, &self.id)
    }

    /// Sends `signal` to the init, or with `all` to every process of the container.
    pub fn kill(&self, signal: i32, all: bool) -> Result<()> {
        lifecycle::kill(&self.root, &self.id, signal, all)
    }

    /// Removes the container; `force` kills it first if it is running. Returns the
    /// warnings of poststop hooks that failed.
    pub fn delete(self, force: bool) -> Result<Vec<String>> {
        lifecycle::delete(&self.root, &self.id, force)
    }

    /// Freezes every process of the container (`pause`).
    pub fn pause(&self) -> Result<()> {
        resources::pause(&self.root, &self.id)
    }

    /// Thaws a paused container (`resume`).
    pub fn resume(&self) -> Result<()> {
        resources::resume(&self.root, &self.id)
    }

    /// Changes the container's cgroup limits while it runs (`update`).
    pub fn update(&self, res: &crate::spec::LinuxResources) -> Result<()> {
        resources::update(&self.root, &self.id, res)
    }

    /// The container's cgroup statistics (`events --stats`).
    pub fn stats(&self) -> Result<crate::cgroups::Stats> {
        resources::stats(&self.root, &self.id)
    }

    /// The host PIDs of every process in the container's cgroup (`ps`).
    pub fn processes(&self) -> Result<Vec<i32>> {
        resources::processes(&self.root, &self.id)
    }

    /// Streams `stats` events every `interval` and `oom` events as they happen, until
    /// the container stops or `emit` returns false (`events`).
    pub fn events(
        &self,
        interval: std::time::Duration,
        emit: &mut dyn FnMut(&Event) -> bool,
    ) -> Result<()> {
        resources::events(&self.root, &self.id, interval, emit)
    }

    /// The pty master when the process has a terminal and no console socket was
    /// given; [`Container::wait`] relays it unless taken first.
    pub fn take_console(&mut self) -> Option<OwnedFd> {
        self.console.take()
    }

    /// For the process that created the container: waits for the init to exit while
    /// forwarding signals to it (and relaying the terminal, if it has one) and returns
    /// its exit code, 128+N when killed by signal N.
    pub fn wait(&mut self) -> Result<i32> {
        let (Some(init), Some(fwd)) = (self.init.as_ref(), self.forwarder.as_ref()) else {
            return Err(ContainerError::NotParent.into());
        };
        Ok(crate::process::wait_foreground(
            init,
            self.console.take(),
            fwd,
        )?)
    }
}
