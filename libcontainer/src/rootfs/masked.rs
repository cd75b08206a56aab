//! After pivot: `linux.readonlyPaths`, `linux.maskedPaths`, read-only /dev and root.
//! Done with the new mount API on fds, so they do not depend on the container's /proc.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::devices::{verify_node, Device};
use super::{io_err, sys, Result};
use crate::rootdir::RootfsDir;

/// Opens `path` as `O_PATH`, or `None` when it does not exist (such paths are skipped).
fn open_existing(root: &RootfsDir, path: &Path) -> Result<Option<OwnedFd>> {
    match root.open_path(path) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(io_err("open", path)(e)),
    }
}

/// A read-only path: a recursive bind of the path onto itself whose top mount is made
/// read-only before it is attached (as runc's bind then read-only remount; a detached
/// tree takes `mount_setattr` like any mount, and nothing sees it writable).
pub(super) fn readonly_path(root: &RootfsDir, path: &Path) -> Result<()> {
    let Some(fd) = open_existing(root, path)? else {
        return Ok(());
    };
    let tree = sys::clone_tree(fd.as_fd(), true).map_err(io_err("bind", path))?;
    sys::mount_setattr(tree.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, None)
        .map_err(io_err("make read-only", path))?;
    sys::move_mount(tree.as_fd(), fd.as_fd()).map_err(io_err("bind", path))
}

/// Makes the mount at `path` read-only; `mount_setattr` changes only that attribute, so
/// flags the kernel locked in a user namespace stay as they are.
pub(super) fn remount_readonly(root: &RootfsDir, path: &Path) -> Result<()> {
    let fd = root.open_path(path).map_err(io_err("open", path))?;
    sys::mount_setattr(fd.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, None)
        .map_err(io_err("make read-only", path))
}

/// The container's /dev/null, opened with no symlink on the way and checked to really
/// be 1:3 (an image's `/dev/null -> /proc/sys/kernel/core_pattern` would otherwise
/// bind that file, writable, over a masked path: CVE-2025-31133). Opened once for all
/// the masked files.
pub(super) struct DevNull(Option<OwnedFd>);

impl DevNull {
    /// Nothing opened yet.
    pub(super) fn new() -> Self {
        DevNull(None)
    }

    fn get(&mut self, root: &RootfsDir) -> Result<BorrowedFd<'_>> {
        if self.0.is_none() {
            let null_path = Path::new("/dev/null");
            let null = root
                .open_no_symlinks(null_path, libc::O_PATH)
                .map_err(io_err("open (no symlinks)", null_path))?;
            let expect = Device {
                path: null_path.into(),
                kind: libc::S_IFCHR,
                major: 1,
                minor: 3,
                mode: 0,
                uid: 0,
                gid: 0,
            };
            verify_node(null.as_fd(), &expect)?;
            self.0 = Some(null);
        }
        Ok(self.0.as_ref().expect("opened above").as_fd())
    }
}

/// A masked path: a directory gets an empty read-only tmpfs, anything else the
/// container's /dev/null ([`DevNull`]). The masked path's own last component is not
/// followed: a symlink there is masked itself, so the mask lands on the path the config
/// names, not wherever the image points it.
pub(super) fn mask_path(root: &RootfsDir, path: &Path, null: &mut DevNull) -> Result<()> {
    let fd = match root.open_in(path, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let st = sys::fstat(fd.as_fd()).map_err(io_err("stat", path))?;
    let mnt = if sys::is_dir(&st) {
        sys::new_tmpfs(libc::MOUNT_ATTR_RDONLY).map_err(io_err("create tmpfs to mask", path))?
    } else {
        sys::clone_tree(null.get(root)?, false).map_err(io_err("bind /dev/null to mask", path))?
    };
    sys::move_mount(mnt.as_fd(), fd.as_fd()).map_err(|e: io::Error| io_err("mask", path)(e))
}

/// `root.readonly`: remount `/` read-only, keeping the flags the kernel locked.
pub(super) fn readonly_root() -> Result<()> {
    let slash = Path::new("/");
    let fd = crate::rootdir::openat2(
        libc::AT_FDCWD,
        slash,
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        0,
    )
    .map_err(io_err("open", slash))?;
    let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
    match sys::mount(None, slash, None, flags, None) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let locked = sys::locked_flags(fd.as_fd()).map_err(io_err("statvfs", slash))?;
            sys::mount(None, slash, None, flags | locked, None)
                .map_err(io_err("remount read-only", slash))
        }
        r => r.map_err(io_err("remount read-only", slash)),
    }
}
