//! Id-mapped bind mounts (`idmap`, `ridmap`). The kernel lets only a process with
//! CAP_SYS_ADMIN over the filesystem (the host's root) id-map a host mount, and the init
//! already runs inside the container's user namespace. So the parent makes the mapped
//! mounts, detached ([`super::sources`]), passes the fds to the init, and
//! [`prepare_with`](super::prepare_with) attaches them with `move_mount`, as runc 1.2 does.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::{io_err, sys, Result, RootfsError};
use crate::rootdir::openat2;
use crate::spec::LinuxIdMapping;

pub(super) fn unsupported(dest: &Path, reason: &str) -> RootfsError {
    RootfsError::Unsupported {
        what: "idmap".into(),
        path: dest.to_path_buf(),
        reason: reason.into(),
    }
}

/// A detached clone of `src` (recursive for rbind) with MOUNT_ATTR_IDMAP set.
pub(super) fn map_tree(
    src: BorrowedFd<'_>,
    recursive: bool,
    map_recursive: bool,
    userns: i32,
    dest: &Path,
) -> Result<OwnedFd> {
    let not_root = |e: io::Error| {
        unsupported(
            dest,
            &format!(
                "{e}: only the host's root can id-map a host filesystem (a rootless runtime \
                 cannot; the runtime prepares these mounts before the init enters its user \
                 namespace)"
            ),
        )
    };
    let tree = match sys::clone_tree(src, recursive) {
        Ok(t) => t,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return Err(not_root(e)),
        Err(e) => return Err(io_err("open_tree for idmap of", dest)(e)),
    };
    match sys::mount_setattr(
        tree.as_fd(),
        map_recursive,
        libc::MOUNT_ATTR_IDMAP,
        0,
        Some(userns),
    ) {
        Ok(()) => Ok(tree),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(not_root(e)),
        // The filesystem does not support id-mapped mounts (sysfs, procfs, ...).
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(unsupported(
            dest,
            &format!("{e}: the source's filesystem cannot be id-mapped"),
        )),
        Err(e) => Err(io_err("id-map mount", dest)(e)),
    }
}

/// Attaches a spec idmap mount in the init: the fd the parent prepared, or, failing
/// that, an attempt here (which works only outside a user namespace).
pub(super) fn attach(
    prepared: Option<&OwnedFd>,
    src: &OwnedFd,
    target: &OwnedFd,
    rec: bool,
    map_rec: bool,
    dest: &Path,
) -> Result<()> {
    let made;
    let tree = match prepared {
        Some(fd) => fd,
        None => {
            let ns_path = PathBuf::from("/proc/thread-self/ns/user");
            let userns = openat2(libc::AT_FDCWD, &ns_path, libc::O_RDONLY, 0, 0)
                .map_err(io_err("open", &ns_path))?;
            let host_ns = std::fs::metadata("/proc/1/ns/user").ok();
            let ours = sys::fstat(userns.as_fd()).map_err(io_err("stat", &ns_path))?;
            if host_ns.is_some_and(|h| std::os::unix::fs::MetadataExt::ino(&h) == ours.st_ino) {
                return Err(unsupported(
                    dest,
                    "the container has no user namespace and the mount no mappings",
                ));
            }
            made = map_tree(src.as_fd(), rec, map_rec, userns.as_raw_fd(), dest)?;
            &made
        }
    };
    sys::move_mount(tree.as_fd(), target.as_fd()).map_err(io_err("attach id-mapped mount at", dest))
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// A user namespace with these mappings: a child unshares it and waits while we write
/// its maps and open its ns file, then exits.
pub(super) fn userns_with_maps(
    uids: &[LinuxIdMapping],
    gids: &[LinuxIdMapping],
) -> io::Result<OwnedFd> {
    let (ready_r, ready_w) = nix::unistd::pipe().map_err(io::Error::from)?;
    let (done_r, done_w) = nix::unistd::pipe().map_err(io::Error::from)?;
    // SAFETY: the child only calls async-signal-safe functions (unshare, write, read, _exit).
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Child => {
            drop(ready_r);
            drop(done_w);
            // SAFETY: plain system calls in the forked child.
            unsafe {
                let ok = libc::unshare(libc::CLONE_NEWUSER) == 0;
                libc::write(ready_w.as_raw_fd(), [ok as u8].as_ptr().cast(), 1);
                let mut b = [0u8; 1];
                libc::read(done_r.as_raw_fd(), b.as_mut_ptr().cast(), 1);
                libc::_exit(0)
            }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(ready_w);
            drop(done_r);
            let result = (|| {
                let mut b = [0u8; 1];
                std::fs::File::from(ready_r).read_exact(&mut b)?;
                if b[0] != 1 {
                    return Err(io::Error::other(
                        "unshare(CLONE_NEWUSER) failed in the helper",
                    ));
                }
                let dir = PathBuf::from(format!("/proc/{child}"));
                std::fs::write(dir.join("uid_map"), map_text(uids))?;
                std::fs::write(dir.join("gid_map"), map_text(gids))?;
                openat2(libc::AT_FDCWD, &dir.join("ns/user"), libc::O_RDONLY, 0, 0)
            })();
            let _ = std::fs::File::from(done_w).write_all(b"x");
            let _ = nix::sys::wait::waitpid(child, None);
            result
        }
    }
}
