//! The messages of `exec`'s runtime and its new process.

use serde::{Deserialize, Serialize};

/// From the runtime to the process.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToExec {
    /// The process is in the container's cgroup: go on.
    Go,
    /// The runtime has the pty master (sized from its own terminal when it keeps it).
    ConsoleDone,
}

/// From the helper and the process to the runtime.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromExec {
    /// The helper cloned the process (its pidfd comes with this, SCM_RIGHTS) and exits.
    Spawned {
        /// Its PID in the runtime's pid namespace.
        pid: i32,
    },
    /// The pty master comes with this message (SCM_RIGHTS).
    Console,
    /// The seccomp filter is loaded; its notification listener fd comes with this.
    SeccompListener,
    /// Every check passed; the process `execve`s now.
    Ready,
    /// A step failed; the sender exits.
    Error(String),
}
