//! Making the rootfs the container's `/`: pivot_root, or MS_MOVE + chroot (`--no-pivot`).

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::{io_err, sys, RootfsError};
use crate::rootdir::openat2;

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn chdir(path: &Path) -> Result<(), RootfsError> {
    std::env::set_current_dir(path).map_err(io_err("chdir", path))
}

/// `pivot_root(".", ".")` from inside the new root, then detaches the old root, which
/// was stacked on the same directory; no directory for the old root is needed.
pub(super) fn pivot_root(rootfs: &Path) -> Result<(), RootfsError> {
    let slash = Path::new("/");
    let dir = libc::O_DIRECTORY | libc::O_RDONLY;
    let old = openat2(libc::AT_FDCWD, slash, dir, 0, 0).map_err(io_err("open old root", slash))?;
    let new =
        openat2(libc::AT_FDCWD, rootfs, dir, 0, 0).map_err(io_err("open new root", rootfs))?;
    // SAFETY: fchdir on an open directory fd.
    check(unsafe { libc::fchdir(new.as_raw_fd()) }).map_err(io_err("fchdir", rootfs))?;
    // SAFETY: both paths are NUL-terminated literals.
    let r = unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) };
    check(r as libc::c_int).map_err(io_err("pivot_root", rootfs))?;
    // SAFETY: as above; the old root is still reachable through its fd.
    check(unsafe { libc::fchdir(old.as_raw_fd()) }).map_err(io_err("fchdir", slash))?;
    let dot = Path::new(".");
    // rslave first so the detach cannot propagate to the host's mounts.
    sys::mount(None, dot, None, libc::MS_SLAVE | libc::MS_REC, None)
        .map_err(io_err("make old root rslave", slash))?;
    nix::mount::umount2(dot, nix::mount::MntFlags::MNT_DETACH)
        .map_err(|e| io_err("unmount old root", slash)(io::Error::from(e)))?;
    chdir(slash)
}

/// `--no-pivot`: moves the rootfs mount onto `/` and chroots into it. The old root stays
/// in the namespace under the rootfs, so first every full procfs and sysfs outside the
/// rootfs is detached: while one is there, the kernel lets the container mount a fresh,
/// unmasked procfs (from a user namespace of its own), as runc's no_pivot.bats shows.
pub(super) fn move_root(rootfs: &Path) -> Result<(), RootfsError> {
    detach_full_proc_and_sys(rootfs)?;
    chdir(rootfs)?;
    sys::mount(Some(rootfs), Path::new("/"), None, libc::MS_MOVE, None)
        .map_err(io_err("move rootfs to /", rootfs))?;
    nix::unistd::chroot(".").map_err(|e| io_err("chroot", rootfs)(io::Error::from(e)))?;
    chdir(Path::new("/"))
}

/// Without a mount namespace of its own: chroot into the rootfs, moving no mount (the
/// mounts around it are the runtime's, and the host's).
pub(super) fn chroot_into(rootfs: &Path) -> Result<(), RootfsError> {
    chdir(rootfs)?;
    nix::unistd::chroot(".").map_err(|e| io_err("chroot", rootfs)(io::Error::from(e)))?;
    chdir(Path::new("/"))
}

/// Detaches (after making them slaves, so nothing reaches the host) the full procfs and
/// sysfs mounts outside `rootfs`; where one cannot be detached, covers it with a tmpfs.
fn detach_full_proc_and_sys(rootfs: &Path) -> Result<(), RootfsError> {
    let mut points: Vec<_> = super::propagation::read_mountinfo()?
        .into_iter()
        .filter(|m| m.root == "/" && (m.fstype == "proc" || m.fstype == "sysfs"))
        .map(|m| m.mount_point)
        .filter(|p| !p.starts_with(rootfs))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in &points {
        match sys::mount(None, p, None, libc::MS_SLAVE | libc::MS_REC, None) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            other => other.map_err(io_err("make rslave", p))?,
        }
        match nix::mount::umount2(p.as_path(), nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::EPERM) => {
                sys::mount(Some(Path::new("tmpfs")), p, Some("tmpfs"), 0, None)
                    .map_err(io_err("cover with tmpfs", p))?;
            }
            Err(e) => return Err(io_err("unmount", p)(e.into())),
        }
    }
    Ok(())
}
