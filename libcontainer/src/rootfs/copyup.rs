//! `tmpcopyup`: a tmpfs over an image directory that starts with the directory's
//! contents (modes, owners and symlinks kept), as podman asks for.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::landing::Kind;
use super::options::MountOptions;
use super::target::{after_mount, mount_fs, open_dir_target, reopen};
use super::{io_err, sys, Ctx, Result};
use crate::rootdir::openat2;
use crate::spec::Mount;

/// Mounts the tmpfs writable, copies the old contents in through an fd opened on the
/// directory before the mount (it still reaches what is now hidden), then applies `ro`.
pub(super) fn mount_tmpfs_copyup(ctx: &Ctx, m: &Mount, opts: &MountOptions) -> Result<()> {
    let dest = m.destination();
    open_dir_target(ctx, dest, Kind::Tmpfs)?;
    let old = ctx
        .root
        .open_in(dest, libc::O_RDONLY | libc::O_DIRECTORY)
        .map_err(io_err("open", dest))?;
    mount_fs(ctx, m, dest, opts.flags & !libc::MS_RDONLY, &opts.data)?;
    let new = reopen(ctx, dest)?;
    let new = openat2(
        new.as_raw_fd(),
        Path::new("."),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
        0,
    )
    .map_err(io_err("open", dest))?;
    copy_dir(old.as_fd(), new.as_fd()).map_err(io_err("copy up into tmpfs at", dest))?;
    if opts.flags & libc::MS_RDONLY != 0 {
        let fd = reopen(ctx, dest)?;
        sys::mount_setattr(fd.as_fd(), false, libc::MOUNT_ATTR_RDONLY, 0, None)
            .map_err(io_err("make read-only", dest))?;
    }
    after_mount(ctx, dest, opts)
}

fn cname(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Opens a directory entry by name without following a symlink or crossing a mount.
fn open_entry(dir: BorrowedFd<'_>, name: &OsStr, flags: i32) -> io::Result<OwnedFd> {
    openat2(
        dir.as_raw_fd(),
        Path::new(name),
        flags | libc::O_NOFOLLOW,
        0,
        libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_XDEV,
    )
}

/// Copies the entries of `from` into `to`, recursively.
fn copy_dir(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    let dup = openat2(
        from.as_raw_fd(),
        Path::new("."),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
        0,
    )?;
    let mut dir = nix::dir::Dir::from_fd(dup).map_err(io::Error::from)?;
    for entry in dir.iter() {
        let entry = entry.map_err(io::Error::from)?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if name == "." || name == ".." {
            continue;
        }
        copy_entry(from, to, name)?;
    }
    Ok(())
}

fn copy_entry(from: BorrowedFd<'_>, to: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let c = cname(name)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` a valid out-pointer.
    check(unsafe {
        libc::fstatat(
            from.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    let mode = st.st_mode & 0o7777;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            // SAFETY: `to` is a directory fd and `c` one component.
            check(unsafe { libc::mkdirat(to.as_raw_fd(), c.as_ptr(), 0o700) })?;
            let src = match open_entry(from, name, libc::O_RDONLY | libc::O_DIRECTORY) {
                // A mount point below the directory: keep the empty directory, like a copy
                // that stays on one filesystem.
                Err(e) if e.raw_os_error() == Some(libc::EXDEV) => None,
                r => Some(r?),
            };
            let dst = open_entry(to, name, libc::O_RDONLY | libc::O_DIRECTORY)?;
            if let Some(src) = src {
                copy_dir(src.as_fd(), dst.as_fd())?;
            }
            set_owner_mode(dst.as_fd(), &st, mode)
        }
        libc::S_IFREG => {
            let src = open_entry(from, name, libc::O_RDONLY)?;
            // SAFETY: `c` is one component; O_EXCL|O_NOFOLLOW never follows a link.
            let fd = unsafe {
                libc::openat(
                    to.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC,
                    0o600,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a fresh fd we now own.
            let dst = unsafe { OwnedFd::from_raw_fd(fd) };
            io::copy(
                &mut std::fs::File::from(src),
                &mut std::fs::File::from(dst.try_clone()?),
            )?;
            set_owner_mode(dst.as_fd(), &st, mode)
        }
        libc::S_IFLNK => {
            let target = nix::fcntl::readlinkat(from, Path::new(name)).map_err(io::Error::from)?;
            let t = cname(&target)?;
            // SAFETY: both strings are NUL-terminated.
            check(unsafe { libc::symlinkat(t.as_ptr(), to.as_raw_fd(), c.as_ptr()) })?;
            // SAFETY: as above; AT_SYMLINK_NOFOLLOW changes the link itself.
            check(unsafe {
                libc::fchownat(
                    to.as_raw_fd(),
                    c.as_ptr(),
                    st.st_uid,
                    st.st_gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            })
        }
        _ => {
            // Devices, FIFOs, sockets: mknod (refused in a user namespace: say so).
            // SAFETY: `c` is one component.
            check(unsafe { libc::mknodat(to.as_raw_fd(), c.as_ptr(), st.st_mode, st.st_rdev) })?;
            // SAFETY: as above.
            check(unsafe {
                libc::fchownat(
                    to.as_raw_fd(),
                    c.as_ptr(),
                    st.st_uid,
                    st.st_gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            })?;
            // SAFETY: as above.
            check(unsafe { libc::fchmodat(to.as_raw_fd(), c.as_ptr(), mode, 0) })
        }
    }
}

/// Owner first: chown clears set-id bits, so the mode goes last.
fn set_owner_mode(fd: BorrowedFd<'_>, st: &libc::stat, mode: libc::mode_t) -> io::Result<()> {
    // SAFETY: `fd` is open.
    check(unsafe { libc::fchown(fd.as_raw_fd(), st.st_uid, st.st_gid) })?;
    // SAFETY: `fd` is open.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), mode) })
}
