//! The standard symlinks of /dev and /dev/ptmx, made by name in the container's /dev
//! (which may not land in /proc), never through what the image left at those names.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use super::devices::NodeDir;
use super::{entry, io_err, Result};

/// `(target, link)` pairs every container's /dev gets.
const DEV_LINKS: [(&str, &str); 4] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

/// Creates `/dev/name -> target` in `dev` (the container's /dev); an existing entry is
/// left alone, as runc does.
fn link(dev: &NodeDir, target: &str, name: &str) -> Result<()> {
    let path = Path::new("/dev").join(name);
    dev.check(name.as_ref())?;
    let (Ok(t), Ok(n)) = (CString::new(target), CString::new(name.as_bytes())) else {
        return Err(io_err("symlink", &path)(io::Error::from_raw_os_error(
            libc::EINVAL,
        )));
    };
    // SAFETY: `dev` is a directory fd; both strings are NUL-terminated; `n` is one component.
    if unsafe { libc::symlinkat(t.as_ptr(), dev.fd.as_raw_fd(), n.as_ptr()) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(io_err("symlink", &path)(e));
        }
    }
    Ok(())
}

/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, and /dev/core when the host has
/// /proc/kcore.
pub(super) fn setup_dev_symlinks(dev: &NodeDir) -> Result<()> {
    for (target, name) in DEV_LINKS {
        link(dev, target, name)?;
    }
    if Path::new("/proc/kcore").exists() {
        link(dev, "/proc/kcore", "core")?;
    }
    Ok(())
}

/// /dev/ptmx -> pts/ptmx, replacing any node there, so the devpts instance of the
/// container (newinstance) is the one used.
pub(super) fn setup_ptmx(dev: &NodeDir) -> Result<()> {
    let path = Path::new("/dev/ptmx");
    dev.check("ptmx".as_ref())?;
    match entry::remove(dev.fd.as_fd(), "ptmx".as_ref()) {
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Err(io_err("remove", path)(e)),
        _ => {}
    }
    link(dev, "pts/ptmx", "ptmx")
}
