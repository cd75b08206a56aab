//! A `--console-socket` receiver: accepts one connection, takes the pty master fd passed
//! with `SCM_RIGHTS`, and reads the container's terminal output through it.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A listening console socket whose first connection is served on a thread.
pub struct ConsoleSocket {
    path: PathBuf,
    handle: Option<JoinHandle<std::io::Result<(OwnedFd, String)>>>,
}

impl ConsoleSocket {
    /// Bind at `path` and wait for the runtime in the background.
    pub fn listen(path: &Path) -> ConsoleSocket {
        let listener = UnixListener::bind(path).expect("bind console socket");
        let handle = std::thread::spawn(move || {
            // Poll first so that a runtime that never connects fails the test, not hangs it.
            let mut pfd = libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, 30_000) } <= 0 {
                return Err(std::io::Error::other(
                    "nothing connected to the console socket within 30 s",
                ));
            }
            let (stream, _) = listener.accept()?;
            stream.set_read_timeout(Some(Duration::from_secs(30)))?;
            recv_fd(stream.as_raw_fd())
        });
        ConsoleSocket {
            path: path.to_path_buf(),
            handle: Some(handle),
        }
    }

    /// The socket path to pass as `--console-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The received pty master and the name sent with it.
    pub fn receive(&mut self) -> (OwnedFd, String) {
        let handle = self.handle.take().expect("receive called once");
        handle
            .join()
            .expect("console thread")
            .expect("receiving the console fd")
    }
}

/// recvmsg one message carrying one fd in SCM_RIGHTS: the fd and the text with it.
fn recv_fd(sock: i32) -> std::io::Result<(OwnedFd, String)> {
    let (text, mut fds) = crate::fdpass::recv_with_fds(sock, 4096)?;
    if fds.is_empty() {
        return Err(std::io::Error::other(
            "no SCM_RIGHTS fd in the console message",
        ));
    }
    Ok((
        fds.swap_remove(0),
        String::from_utf8_lossy(&text).into_owned(),
    ))
}

/// Read everything from a pty master until the other side closes (EIO) or `timeout`.
pub fn read_pty(master: &OwnedFd, timeout: Duration) -> String {
    let start = Instant::now();
    let mut file = std::fs::File::from(master.try_clone().expect("dup pty master"));
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < timeout {
        let mut pfd = libc::pollfd {
            fd: file.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r <= 0 {
            continue;
        }
        match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Open a new pty pair: (master, slave).
pub fn open_pty() -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds; the name/termios/winsize pointers may be null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty returned two fresh fds we now own.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}
