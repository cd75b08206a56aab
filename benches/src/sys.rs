//! The system calls std does not offer: `wait4`,
//! `prctl(PR_SET_CHILD_SUBREAPER)`, a non-blocking `waitpid(-1)`, and pidfds (to wait
//! for a child with a deadline and kill it by its fd, never by a reusable pid), and a
//! SIGINT/SIGTERM handler that asks the run to stop and clean up.
//!
//! These are declared here by hand; the ptrace of crate::peak uses the libc crate.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::raw::{c_int, c_long, c_short, c_uint, c_ulong};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const PR_SET_CHILD_SUBREAPER: c_int = 36;
const WNOHANG: c_int = 1;
const SYS_PIDFD_SEND_SIGNAL: c_long = 424;
const SYS_PIDFD_OPEN: c_long = 434;
const POLLIN: c_short = 1;
const SIGINT: c_int = 2;
const SIGKILL: c_int = 9;
const SIGTERM: c_int = 15;

static STOP: AtomicBool = AtomicBool::new(false);

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

#[repr(C)]
#[derive(Default)]
struct Timeval {
    tv_sec: c_long,
    tv_usec: c_long,
}

/// `struct rusage` of Linux: two timevals, then fourteen longs (ru_maxrss first).
#[repr(C)]
#[derive(Default)]
struct Rusage {
    ru_utime: Timeval,
    ru_stime: Timeval,
    ru_maxrss: c_long,
    rest: [c_long; 13],
}

extern "C" {
    fn wait4(pid: c_int, status: *mut c_int, options: c_int, rusage: *mut Rusage) -> c_int;
    fn prctl(option: c_int, ...) -> c_int;
    fn syscall(number: c_long, ...) -> c_long;
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
}

extern "C" fn on_stop_signal(_: c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM only ask the run to stop: it finishes the command in
/// flight, deletes its containers and removes its cgroups, then reports what it has.
pub fn stop_on_signals() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        signal(SIGINT, on_stop_signal);
        signal(SIGTERM, on_stop_signal);
    }
}

/// Whether SIGINT or SIGTERM has come.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// A pidfd of one child: readable once the child has exited (before it is reaped).
pub struct PidFd(OwnedFd);

impl PidFd {
    /// Opens a pidfd for `pid`, which must be our unreaped child (so it cannot be reused).
    pub fn open(pid: u32) -> io::Result<PidFd> {
        let pid = c_int::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { syscall(SYS_PIDFD_OPEN, pid, 0 as c_uint) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the fd was just returned by the kernel and is owned by nobody else.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd as c_int) }))
    }

    /// Waits until the process has exited or `timeout` has passed; true if it exited.
    pub fn wait_exit(&self, timeout: Duration) -> io::Result<bool> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let ms = c_int::try_from(left.as_millis()).unwrap_or(c_int::MAX);
            let mut fds = PollFd {
                fd: self.0.as_raw_fd(),
                events: POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, live across the call.
            match unsafe { poll(&mut fds, 1, ms) } {
                n if n > 0 => return Ok(true),
                0 => return Ok(false),
                _ => {
                    let err = io::Error::last_os_error();
                    if err.kind() != io::ErrorKind::Interrupted {
                        return Err(err);
                    }
                }
            }
        }
    }

    /// Sends SIGKILL to the process this fd refers to (a no-op once it has exited).
    pub fn kill(&self) -> io::Result<()> {
        let null: *const u8 = std::ptr::null();
        // SAFETY: pidfd_send_signal(fd, sig, info = NULL, flags = 0).
        let r = unsafe {
            syscall(
                SYS_PIDFD_SEND_SIGNAL,
                self.0.as_raw_fd(),
                SIGKILL,
                null,
                0 as c_uint,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// How a reaped process ended. (Not its `ru_maxrss`: that includes the peak of the
/// address space it left at exec, ours; see crate::peak.)
#[derive(Debug, Clone, Copy)]
pub struct Reaped {
    /// Exit code, or 128 + signal number when it was killed.
    pub code: i32,
}

/// Waits for the child `pid` and returns how it ended.
pub fn wait_child(pid: u32) -> io::Result<Reaped> {
    let pid = c_int::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut status: c_int = 0;
    let mut usage = Rusage::default();
    loop {
        // SAFETY: status and usage are valid, writable and live across the call.
        let r = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(Reaped {
        code: decode_status(status),
    })
}

/// Reaps every child that has already exited, without blocking.
///
/// Only call it when no `std::process::Child` is outstanding, or it could steal its status.
pub fn reap_exited() {
    let mut status: c_int = 0;
    // SAFETY: status is valid; a null rusage is allowed.
    while unsafe { wait4(-1, &mut status, WNOHANG, std::ptr::null_mut()) } > 0 {}
}

/// Makes orphaned descendants (a container's init once `create` exits) our children,
/// as an engine's shim does, so the benchmark can wait for them like an engine would.
pub fn become_subreaper() -> io::Result<()> {
    let one: std::os::raw::c_ulong = 1;
    // SAFETY: PR_SET_CHILD_SUBREAPER takes one integer argument.
    if unsafe { prctl(PR_SET_CHILD_SUBREAPER, one) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn decode_status(status: c_int) -> i32 {
    let signal = status & 0x7f;
    if signal == 0 {
        (status >> 8) & 0xff
    } else {
        128 + signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exit_and_signal() {
        assert_eq!(decode_status(3 << 8), 3);
        assert_eq!(decode_status(9), 137);
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped by wait_child's wait4, not Child::wait
    fn pidfd_times_out_then_sees_the_kill() {
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let fd = PidFd::open(child.id()).expect("pidfd_open");
        assert!(!fd.wait_exit(Duration::from_millis(20)).expect("poll"));
        fd.kill().expect("pidfd_send_signal");
        assert!(fd.wait_exit(Duration::from_secs(10)).expect("poll"));
        assert_eq!(wait_child(child.id()).expect("wait4").code, 137);
    }

    #[test]
    #[allow(clippy::zombie_processes)] // reaped by wait_child's wait4, not Child::wait
    fn wait_child_reports_status() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 7"])
            .spawn()
            .expect("spawn sh");
        let r = wait_child(child.id()).expect("wait4");
        assert_eq!(r.code, 7);
    }
}
