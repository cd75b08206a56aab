//! Process handles that cannot hit a recycled PID: a pidfd opened after checking the
//! process's start time, used for signals and for waiting on exit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::procfs::ProcHandle;

/// A pidfd for a process we have verified by start time.
#[derive(Debug)]
pub struct Pidfd {
    fd: OwnedFd,
    pid: i32,
}

impl Pidfd {
    /// Opens a pidfd for `pid` without any identity check (for our own children).
    pub fn open(pid: i32) -> io::Result<Self> {
        // SAFETY: plain syscall; returns a new fd or -1.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh fd from the kernel.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(r as i32) },
            pid,
        })
    }

    /// Wraps a pidfd the kernel gave us (for example from `clone3`).
    pub fn from_owned(fd: OwnedFd, pid: i32) -> Self {
        Self { fd, pid }
    }

    /// The pidfd itself, for polling.
    pub fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Opens a pidfd for `pid` only if it is still the process that started at
    /// `start_time` and has not exited; `Ok(None)` when it is gone.
    pub fn open_verified(proc: &ProcHandle, pid: i32, start_time: u64) -> io::Result<Option<Self>> {
        if pid <= 0 {
            return Ok(None);
        }
        let fd = match Self::open(pid) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Checked after opening: if it matches now, the pidfd names that process.
        match proc.stat(pid) {
            Ok(st) if st.is_alive_since(start_time) => Ok(Some(fd)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The PID in the caller's namespace.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends `sig` through the pidfd.
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        // SAFETY: plain syscall on an fd we own.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends the pidfd over a connected Unix socket with `SCM_RIGHTS` (runc 1.2's
    /// `--pidfd-socket`), the payload being its name.
    pub fn send_over(&self, socket: &OwnedFd) -> io::Result<()> {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
        let fds = [self.fd.as_raw_fd()];
        let iov = [io::IoSlice::new(b"pidfd")];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        sendmsg::<UnixAddr>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
        Ok(())
    }

    /// Waits until the process has exited (not necessarily been reaped); true if it did
    /// within `timeout` (`None` waits forever).
    pub fn wait_exit(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout
            .map(|t| t.as_millis().min(i32::MAX as u128) as i32)
            .unwrap_or(-1);
        loop {
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r >= 0 {
                return Ok(r > 0);
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(e);
            }
        }
    }
}

/// Connects a Unix stream socket to `path` (close-on-exec), to send a pidfd over.
pub fn connect_socket(path: &std::path::Path) -> io::Result<OwnedFd> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType, UnixAddr};
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    connect(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
    Ok(fd)
}
