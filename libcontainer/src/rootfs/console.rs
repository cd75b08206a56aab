//! `/dev/console`: with a terminal, the container's console is its pty slave, bind-mounted
//! over an empty file as runc does, so programs that write to /dev/console reach it.
//!
//! The image may have made `/dev/console` (or `/dev`) a symlink, say to
//! `/proc/sys/kernel/core_pattern`, so that the bind would put a writable pty over a
//! procfs file before the masks and read-only binds come (CVE-2025-52565). So: `/dev` is
//! opened refusing every symlink, the name `console` in it is never followed (a symlink
//! or anything but a file or character device there is replaced by an empty file), and
//! what is mounted onto is checked to be a file or character device of the container's
//! /dev, not of procfs or sysfs.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::{entry, io_err, sys, RootfsError};
use crate::rootdir::RootfsDir;

/// The majors of Unix-98 pty slaves (`UNIX98_PTY_SLAVE_MAJOR` and the next seven).
const PTY_SLAVE_MAJORS: std::ops::RangeInclusive<u32> = 136..=143;

fn wrong(path: &Path, reason: impl Into<String>) -> RootfsError {
    RootfsError::WrongType {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Fails unless `fd` is on neither procfs nor sysfs.
fn not_on_kernel_fs(fd: BorrowedFd<'_>, path: &Path) -> Result<(), RootfsError> {
    let fs = sys::fstatfs_type(fd).map_err(io_err("statfs", path))?;
    if fs == libc::PROC_SUPER_MAGIC || fs == libc::SYSFS_MAGIC {
        return Err(wrong(
            path,
            "is on procfs or sysfs, not the container's /dev",
        ));
    }
    Ok(())
}

/// The container's `/dev`, created if missing, with no symlink on the way.
fn open_dev(root: &RootfsDir) -> Result<OwnedFd, RootfsError> {
    let dev = Path::new("/dev");
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    let fd = match root.open_no_symlinks(dev, flags) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            root.mkdir_all(dev, 0o755).map_err(io_err("create", dev))?;
            root.open_no_symlinks(dev, flags)
        }
        r => r,
    };
    let fd = fd.map_err(|e| match e.raw_os_error() {
        Some(libc::ELOOP) => wrong(
            dev,
            "is a symlink; the console is only mounted in a real /dev",
        ),
        _ => io_err("open", dev)(e),
    })?;
    not_on_kernel_fs(fd.as_fd(), dev)?;
    Ok(fd)
}

/// Opens `/dev/console` for the bind, making or replacing it as needed.
fn open_target(dev: BorrowedFd<'_>, console: &Path) -> Result<OwnedFd, RootfsError> {
    let name = OsStr::new("console");
    match entry::lstat_at(dev, name).map_err(io_err("stat", console))? {
        None => entry::create_file(dev, name, 0o600).map_err(io_err("create", console))?,
        Some(st) if matches!(st.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFCHR) => {}
        Some(st) if sys::is_dir(&st) => return Err(wrong(console, "is a directory")),
        Some(_) => {
            entry::remove(dev, name).map_err(io_err("replace", console))?;
            entry::create_file(dev, name, 0o600).map_err(io_err("create", console))?;
        }
    }
    // A mount over /dev/console (an engine's bind) is opened through; a link never is.
    let target = entry::open_nofollow(dev, name).map_err(io_err("open", console))?;
    let st = sys::fstat(target.as_fd()).map_err(io_err("stat", console))?;
    if !matches!(st.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFCHR) {
        return Err(wrong(console, "is not a file or character device"));
    }
    not_on_kernel_fs(target.as_fd(), console)?;
    Ok(target)
}

/// After pivot_root: bind `slave` (the pty slave, checked to be one) onto `/dev/console`.
pub fn mount_console(slave: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let console = Path::new("/dev/console");
    let st = sys::fstat(slave).map_err(io_err("stat the pty for", console))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR
        || !PTY_SLAVE_MAJORS.contains(&libc::major(st.st_rdev))
    {
        return Err(wrong(console, "the terminal given is not a pty slave"));
    }
    let root = RootfsDir::open(Path::new("/")).map_err(io_err("open", Path::new("/")))?;
    let dev = open_dev(&root)?;
    let target = open_target(dev.as_fd(), console)?;
    // Through the new mount API: no path of the container's own /proc is involved.
    let tree = sys::clone_tree(slave, false).map_err(io_err("clone the pty for", console))?;
    sys::move_mount(tree.as_fd(), target.as_fd())
        .map_err(|e: io::Error| io_err("bind the pty onto", console)(e))
}
