//! Waiting on a cgroup file to change, with inotify: kernfs files such as
//! `cgroup.events` and `memory.events` raise a modify event when their value changes
//! (Documentation/admin-guide/cgroup-v2.rst), so nothing has to poll on a timer.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use super::CgroupError;

/// An inotify descriptor watching one file for modification.
#[derive(Debug)]
pub(crate) struct FileWatch {
    fd: OwnedFd,
}

impl FileWatch {
    /// Starts watching `path`.
    pub(crate) fn new(path: &Path) -> Result<Self, CgroupError> {
        let err = |source| CgroupError::Io {
            what: "watch",
            path: path.to_path_buf(),
            source,
        };
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if raw < 0 {
            return Err(err(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let c = std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| err(io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: `c` is a valid C string for the duration of the call.
        let wd = unsafe { libc::inotify_add_watch(raw, c.as_ptr(), libc::IN_MODIFY) };
        if wd < 0 {
            return Err(err(io::Error::last_os_error()));
        }
        Ok(FileWatch { fd })
    }

    /// Discards pending events.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reads into a buffer we own, of the length we pass.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return;
            }
        }
    }

    /// Waits until `done()` is true, re-checking after each modification, for at most
    /// `timeout`. Returns whether `done()` became true.
    pub(crate) fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut() -> Result<bool, CgroupError>,
    ) -> Result<bool, CgroupError> {
        let deadline = Instant::now() + timeout;
        loop {
            // Checked after the watch exists and after each drain: no change is missed.
            self.drain();
            if done()? {
                return Ok(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: one pollfd that lives for the call.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(CgroupError::Io {
                        what: "poll",
                        path: "inotify".into(),
                        source: e,
                    });
                }
            }
        }
    }
}

impl AsFd for FileWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_on_write() {
        let d = super::super::testutil::FakeDir::new(&[("cgroup.events", "frozen 0\n")]);
        let p = d.path().join("cgroup.events");
        let w = FileWatch::new(&p).unwrap();
        let p2 = p.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(p2, "frozen 1\n").unwrap();
        });
        let ok = w
            .wait_until(Duration::from_secs(5), || {
                Ok(std::fs::read_to_string(&p).unwrap().contains("frozen 1"))
            })
            .unwrap();
        t.join().unwrap();
        assert!(ok);
        assert!(!w
            .wait_until(Duration::from_millis(10), || Ok(false))
            .unwrap());
    }
}
