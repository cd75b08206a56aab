//! OOM notification: a descriptor that becomes readable when the kernel reports memory
//! trouble in the cgroup. v1 registers an eventfd on `memory.oom_control` through
//! `cgroup.event_control`; v2 watches `memory.events` with inotify. Either way, the
//! reader then compares [`super::Cgroup::oom_kill_count`] with what it saw before.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::watch::FileWatch;
use super::{files, CgroupError};

/// A pollable OOM notification.
#[derive(Debug)]
pub struct OomWatch {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    /// v1: the eventfd, and `memory.oom_control` kept open while registered.
    EventFd { efd: OwnedFd, _control: OwnedFd },
    /// v2: inotify on `memory.events`.
    Inotify(FileWatch),
}

impl OomWatch {
    /// v1: registers an eventfd for OOM events of the memory cgroup `dir`.
    pub(crate) fn v1(dir: &Path) -> Result<Self, CgroupError> {
        let control_path = dir.join("memory.oom_control");
        let control = std::fs::File::open(&control_path).map_err(|source| CgroupError::Io {
            what: "open",
            path: control_path,
            source,
        })?;
        // SAFETY: plain syscall; the result is checked.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(CgroupError::Io {
                what: "eventfd for",
                path: dir.to_path_buf(),
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let efd = unsafe { OwnedFd::from_raw_fd(raw) };
        files::write(
            dir,
            "cgroup.event_control",
            format!("{} {}", efd.as_raw_fd(), control.as_raw_fd()),
        )?;
        Ok(OomWatch {
            inner: Inner::EventFd {
                efd,
                _control: control.into(),
            },
        })
    }

    /// v2: watches `memory.events` of `dir`.
    pub(crate) fn v2(dir: &Path) -> Result<Self, CgroupError> {
        Ok(OomWatch {
            inner: Inner::Inotify(FileWatch::new(&dir.join("memory.events"))?),
        })
    }

    /// Consumes the pending notifications, so the descriptor is quiet until the next.
    pub fn drain(&self) {
        match &self.inner {
            Inner::EventFd { efd, .. } => {
                let mut v = 0u64;
                // SAFETY: reads 8 bytes into a u64 we own; non-blocking.
                unsafe {
                    libc::read(efd.as_raw_fd(), (&mut v as *mut u64).cast(), 8);
                }
            }
            Inner::Inotify(w) => w.drain(),
        }
    }
}

impl AsFd for OomWatch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.inner {
            Inner::EventFd { efd, .. } => efd.as_fd(),
            Inner::Inotify(w) => w.as_fd(),
        }
    }
}
