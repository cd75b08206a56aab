//! The messages the runtime and the init exchange over their socketpair.

use serde::{Deserialize, Serialize};

/// From the runtime to the init.
#[derive(Debug, Serialize, Deserialize)]
pub enum ToInit {
    /// The init is in its cgroups and its uid/gid maps are written: go on. The
    /// id-mapped mount sources the runtime prepared come with it (SCM_RIGHTS), and
    /// `idmap` lists the index in `mounts` of each.
    Go {
        /// Mount indexes of the passed fds, in order.
        idmap: Vec<usize>,
    },
    /// prestart and createRuntime hooks ran; the state JSON for createContainer and
    /// startContainer hooks comes with it.
    HooksDone {
        /// The state as hooks see it.
        state: String,
    },
    /// The state file and pid file are written: the init no longer needs to die with
    /// the runtime.
    Committed,
}

/// From the init to the runtime.
#[derive(Debug, Serialize, Deserialize)]
pub enum FromInit {
    /// The init forked into a pid namespace it could only make after joining a user
    /// namespace: this PID (in the runtime's namespace) is the init from now on, and
    /// the process that sent this exits.
    Reparent {
        /// The new init's PID.
        pid: i32,
    },
    /// Mounts are done; the runtime runs prestart and createRuntime hooks now.
    MountsDone,
    /// The pty master comes with this message (SCM_RIGHTS).
    Console,
    /// The seccomp filter is loaded; its notification listener fd comes with this
    /// (SCM_RIGHTS), for the runtime to hand to the agent.
    SeccompListener,
    /// Everything is set up; the init is about to wait on the exec fifo.
    Ready,
    /// The init no longer dies with the runtime: the runtime may exit now.
    Detached,
    /// A step failed; the init exits after sending this.
    Error(String),
}
