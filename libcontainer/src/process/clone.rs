//! `clone3` into new namespaces, with a pidfd for the child.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::sched::CloneFlags;

/// `CLONE_INTO_CGROUP` (linux/sched.h); libc's constant is an `i32` that overflows.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Who we are after a fork-like clone.
pub enum Forked {
    /// In the parent: the child's PID and a pidfd for it.
    Parent {
        /// The child's PID in our pid namespace.
        pid: i32,
        /// A pidfd for the child.
        pidfd: OwnedFd,
    },
    /// In the child.
    Child,
}

/// `clone3` with fork semantics (no shared memory), `flags` namespaces and a pidfd;
/// with `cgroup` (a cgroup2 directory fd) the child starts in that cgroup
/// (`CLONE_INTO_CGROUP`). The caller must be single-threaded: the child continues as a
/// copy of it.
pub fn clone3(flags: CloneFlags, cgroup: Option<BorrowedFd<'_>>) -> io::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    // SAFETY: clone_args is plain data; all-zero is its documented default.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.flags = (flags.bits() as u64) | libc::CLONE_PIDFD as u64;
    if let Some(fd) = cgroup {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd.as_raw_fd() as u64;
    }
    args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    // The kernel refuses an exit signal with CLONE_PARENT: the child then sends its
    // parent's (the caller's own exit signal) to the caller's parent.
    if !flags.contains(CloneFlags::CLONE_PARENT) {
        args.exit_signal = libc::SIGCHLD as u64;
    }
    // SAFETY: clone3 without CLONE_VM behaves like fork; `args` is valid for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        // SAFETY: the kernel stored a new pidfd for us.
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}
