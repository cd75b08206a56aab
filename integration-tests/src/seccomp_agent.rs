//! A seccomp notify agent for the tests (`SCMP_ACT_NOTIFY` with `listenerPath`).
//!
//! The runtime connects to the Unix socket at `listenerPath` and sends, in one message, the
//! container process state as JSON (`{"ociVersion","fds":["seccompFd"],"pid","metadata",
//! "state":{..}}`) with the filter's listener fd in `SCM_RIGHTS`. [`Agent::accept`] takes
//! both; [`Handoff::serve`] then answers notifications with `SECCOMP_IOCTL_NOTIF_RECV` /
//! `SECCOMP_IOCTL_NOTIF_SEND` until every process using the filter is gone.

use serde_json::Value;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `SECCOMP_IOWR(0, struct seccomp_notif)` from `<linux/seccomp.h>`.
pub const SECCOMP_IOCTL_NOTIF_RECV: u64 = 0xc050_2100;
/// `SECCOMP_IOWR(1, struct seccomp_notif_resp)`.
pub const SECCOMP_IOCTL_NOTIF_SEND: u64 = 0xc018_2101;
/// `seccomp_notif_resp.flags`: let the system call run as if the filter allowed it.
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
/// `AUDIT_ARCH_X86_64`, as `seccomp_data.arch` reports a native call.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SeccompData {
    nr: i32,
    arch: u32,
    instruction_pointer: u64,
    args: [u64; 6],
}

/// `struct seccomp_notif` (80 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SeccompNotif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

/// `struct seccomp_notif_resp` (24 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct SeccompNotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const _: () = assert!(std::mem::size_of::<SeccompNotif>() == 80);
const _: () = assert!(std::mem::size_of::<SeccompNotifResp>() == 24);

/// One notified system call, as the agent received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    /// The caller's pid in the agent's (the host's) pid namespace.
    pub pid: u32,
    /// The system call number.
    pub nr: i32,
    /// The `AUDIT_ARCH_*` of the call.
    pub arch: u32,
    /// The six argument registers.
    pub args: [u64; 6],
}

/// How the agent answers a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The system call returns this value.
    Return(i64),
    /// The system call fails with this errno (positive).
    Error(i32),
    /// The system call runs (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`).
    Continue,
}

/// A Unix socket listening where the profile's `listenerPath` points.
pub struct Agent {
    listener: UnixListener,
    path: PathBuf,
}

/// What the runtime sent: the container process state and the fds that came with it.
pub struct Handoff {
    /// The JSON document sent with the fds.
    pub state: Value,
    /// Every fd received in `SCM_RIGHTS` (the spec says one: the listener).
    pub fds: Vec<OwnedFd>,
}

impl Agent {
    /// Bind a listening socket at `path`.
    pub fn listen(path: &Path) -> Agent {
        let listener = UnixListener::bind(path)
            .unwrap_or_else(|e| panic!("bind agent socket {}: {e}", path.display()));
        Agent {
            listener,
            path: path.to_path_buf(),
        }
    }

    /// The socket path, for `listenerPath`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wait up to `timeout` for the runtime's connection and take its message.
    pub fn accept(&self, timeout: Duration) -> std::io::Result<Handoff> {
        if !poll_in(self.listener.as_raw_fd(), timeout) {
            return Err(std::io::Error::other(format!(
                "nothing connected to the agent socket within {timeout:?}"
            )));
        }
        let (stream, _) = self.listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        recv_handoff(stream)
    }

    /// On a thread: accept, then serve the listener fd with `answer` until every process
    /// using the filter is gone. The thread returns the state and the notifications seen.
    pub fn spawn_serving(
        self,
        answer: impl Fn(&Notification) -> Answer + Send + 'static,
    ) -> JoinHandle<std::io::Result<(Value, usize, Vec<Notification>)>> {
        std::thread::spawn(move || {
            let mut h = self.accept(Duration::from_secs(20))?;
            let n = h.fds.len();
            let fd = h
                .fds
                .pop()
                .ok_or_else(|| std::io::Error::other("no fd came with the state"))?;
            let seen = serve(&fd, Duration::from_secs(20), answer)?;
            Ok((h.state, n, seen))
        })
    }
}

impl Handoff {
    /// Serve the last received fd (see [`serve`]).
    pub fn serve(
        &self,
        answer: impl Fn(&Notification) -> Answer,
    ) -> std::io::Result<Vec<Notification>> {
        let fd = self
            .fds
            .last()
            .ok_or_else(|| std::io::Error::other("no fd came with the state"))?;
        serve(fd, Duration::from_secs(20), answer)
    }
}

/// Answer notifications on a seccomp listener fd until the kernel reports that no process
/// uses the filter any more (POLLHUP), or fail after `limit`.
pub fn serve(
    fd: &OwnedFd,
    limit: Duration,
    answer: impl Fn(&Notification) -> Answer,
) -> std::io::Result<Vec<Notification>> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        if start.elapsed() > limit {
            return Err(std::io::Error::other(format!(
                "the filter's processes were still alive after {limit:?}; seen {seen:?}"
            )));
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            continue;
        }
        if pfd.revents & libc::POLLIN != 0 {
            let mut req = SeccompNotif::default();
            // SAFETY: the ioctl fills a zeroed struct seccomp_notif of the right size.
            let r = unsafe { libc::ioctl(fd.as_raw_fd(), SECCOMP_IOCTL_NOTIF_RECV, &mut req) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                // ENOENT: the caller died before we read it; EINTR: try again.
                if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EINTR)) {
                    continue;
                }
                return Err(e);
            }
            let n = Notification {
                pid: req.pid,
                nr: req.data.nr,
                arch: req.data.arch,
                args: req.data.args,
            };
            seen.push(n);
            let mut resp = SeccompNotifResp {
                id: req.id,
                ..Default::default()
            };
            match answer(&n) {
                Answer::Return(v) => resp.val = v,
                Answer::Error(e) => resp.error = -e,
                Answer::Continue => resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE,
            }
            // SAFETY: a valid struct seccomp_notif_resp for the id just received.
            let r = unsafe { libc::ioctl(fd.as_raw_fd(), SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                // ENOENT: the caller was killed while we answered.
                if e.raw_os_error() != Some(libc::ENOENT) {
                    return Err(e);
                }
            }
        } else if pfd.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
            return Ok(seen);
        }
    }
}

fn poll_in(fd: RawFd, timeout: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) > 0 }
}

/// One recvmsg for the fds and the start of the JSON, then the rest of the stream.
fn recv_handoff(mut stream: UnixStream) -> std::io::Result<Handoff> {
    let (mut text, fds) = crate::fdpass::recv_with_fds(stream.as_raw_fd(), 1 << 16)?;
    if serde_json::from_slice::<Value>(&text).is_err() {
        // A document longer than one read: the rest follows until the runtime closes.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        text.extend_from_slice(&rest);
    }
    let state = serde_json::from_slice(&text).map_err(|e| {
        std::io::Error::other(format!(
            "the agent's message is not JSON ({e}): {}",
            String::from_utf8_lossy(&text)
        ))
    })?;
    Ok(Handoff { state, fds })
}
