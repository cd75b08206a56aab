//! The standard symlinks of /dev and /dev/ptmx.

use std::ffi::CString;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::{io_err, Result};
use crate::rootdir::RootfsDir;

/// `(target, link)` pairs every container's /dev gets.
const DEV_LINKS: [(&str, &str); 4] = [
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
];

/// Creates `name -> target` in the /dev of `root`; an existing entry is left alone.
fn link(root: &RootfsDir, target: &str, name: &str) -> Result<()> {
    let path = Path::new("/dev").join(name);
    let dev = root
        .mkdir_all(Path::new("/dev"), 0o755)
        .map_err(io_err("create", Path::new("/dev")))?;
    let (t, n) = (CString::new(target), CString::new(name));
    let (Ok(t), Ok(n)) = (t, n) else {
        return Err(io_err("symlink", &path)(io::Error::from_raw_os_error(
            libc::EINVAL,
        )));
    };
    // SAFETY: `dev` is a directory fd; both strings are NUL-terminated; `n` is one component.
    if unsafe { libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), n.as_ptr()) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(io_err("symlink", &path)(e));
        }
    }
    Ok(())
}

/// /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, and /dev/core when the host has
/// /proc/kcore.
pub(super) fn setup_dev_symlinks(root: &RootfsDir) -> Result<()> {
    for (target, name) in DEV_LINKS {
        link(root, target, name)?;
    }
    if Path::new("/proc/kcore").exists() {
        link(root, "/proc/kcore", "core")?;
    }
    Ok(())
}

/// /dev/ptmx -> pts/ptmx, replacing any node there, so the devpts instance of the
/// container (newinstance) is the one used.
pub(super) fn setup_ptmx(root: &RootfsDir) -> Result<()> {
    let path = Path::new("/dev/ptmx");
    let dev = root
        .mkdir_all(Path::new("/dev"), 0o755)
        .map_err(io_err("create", Path::new("/dev")))?;
    // SAFETY: `dev` is a directory fd; the name is one component.
    if unsafe { libc::unlinkat(dev.as_raw_fd(), c"ptmx".as_ptr(), 0) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOENT) {
            return Err(io_err("remove", path)(e));
        }
    }
    link(root, "pts/ptmx", "ptmx")
}
