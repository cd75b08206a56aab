//! `run` in the foreground: the runtime stays the init's parent, forwards the signals it
//! receives to it, relays the terminal if the process has one, and returns the exit
//! code (128+N when the init was killed by signal N).

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::{Init, ProcessError};
use crate::tty;

/// Signals that are about the runtime itself and must not be blocked or forwarded.
const SYNCHRONOUS: [Signal; 7] = [
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGILL,
    Signal::SIGFPE,
    Signal::SIGABRT,
    Signal::SIGTRAP,
    Signal::SIGSYS,
];

fn forwardable() -> SigSet {
    let mut set = SigSet::all();
    for s in SYNCHRONOUS {
        set.remove(s);
    }
    set
}

/// The runtime's signals, blocked and read from a signalfd so they can be forwarded to
/// the container. Installed before `start`, so a signal that arrives as soon as the
/// container's process runs is queued, not lost; the old mask comes back on drop.
#[derive(Debug)]
pub struct Forwarder {
    sfd: SignalFd,
    old: SigSet,
}

impl Forwarder {
    /// Blocks the forwardable signals in the calling thread and opens a signalfd.
    pub fn install() -> Result<Self, ProcessError> {
        let sys = |what| {
            move |e: nix::Error| ProcessError::Sys {
                what,
                source: e.into(),
            }
        };
        let set = forwardable();
        let mut old = SigSet::empty();
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))
            .map_err(sys("sigprocmask"))?;
        match SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(sfd) => Ok(Self { sfd, old }),
            Err(e) => {
                let _ =
                    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
                Err(sys("signalfd")(e))
            }
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}

/// Waits for `init` to exit, forwarding the signals `fwd` collects and relaying
/// `console`.
pub fn wait_foreground(
    init: &Init,
    console: Option<OwnedFd>,
    fwd: &Forwarder,
) -> Result<i32, ProcessError> {
    let relay = match &console {
        Some(master) => {
            let _ = tty::inherit_size(master.as_fd());
            let raw = tty::RawMode::enable_on_stdin()
                .map_err(|e| ProcessError::Runtime(e.to_string()))?;
            let dup = master.try_clone().map_err(|source| ProcessError::Sys {
                what: "dup pty master",
                source,
            })?;
            Some((raw, std::thread::spawn(move || tty::relay(&dup))))
        }
        None => None,
    };
    let code = wait_loop(init, &fwd.sfd, console.as_ref())?;
    // The raw-mode guard lives until the relay has drained the pty.
    if let Some((_raw, handle)) = relay {
        let _ = handle.join();
    }
    Ok(code)
}

fn wait_loop(init: &Init, sfd: &SignalFd, console: Option<&OwnedFd>) -> Result<i32, ProcessError> {
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sfd.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: init.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(ProcessError::Sys {
                what: "poll",
                source: e,
            });
        }
        if fds[0].revents != 0 {
            while let Ok(Some(info)) = sfd.read_signal() {
                let sig = info.ssi_signo as i32;
                match sig {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => {
                        if let Some(m) = console {
                            let _ = tty::inherit_size(m.as_fd());
                        }
                    }
                    _ => {
                        let _ = init.pidfd.signal(sig);
                    }
                }
            }
        }
        if fds[1].revents != 0 {
            let mut status = 0;
            // SAFETY: reaping our own child.
            let r = unsafe { libc::waitpid(init.pid, &mut status, libc::WNOHANG) };
            if r == init.pid {
                return Ok(exit_code(status));
            }
            if r < 0 {
                return Err(ProcessError::Sys {
                    what: "waitpid",
                    source: std::io::Error::last_os_error(),
                });
            }
        }
    }
}

/// The shell's convention: the exit status, or 128+N for a signal.
pub fn exit_code(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(exit_code(3 << 8), 3);
        assert_eq!(exit_code(9), 137);
        assert_eq!(exit_code(15), 143);
    }
}
