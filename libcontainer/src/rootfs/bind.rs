//! Bind mounts: source checked on the host, destination created to match (directory or
//! empty file), optional id-mapping, then the read-only/nosuid/... remount a bind needs.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::landing::Kind;
use super::options::MountOptions;
use super::target::{after_mount, mount_err, open_dir_target, open_file_target, reopen};
use super::{io_err, sys, Ctx, Result, RootfsError};
use crate::rootdir::{fd_path, openat2};
use crate::spec::Mount;

/// The bind source on the host: relative sources are relative to the bundle directory.
fn host_source(ctx: &Ctx, m: &Mount) -> Result<PathBuf> {
    let src = m.source().as_ref().ok_or_else(|| RootfsError::WrongType {
        path: m.destination().clone(),
        reason: "bind mount has no source".into(),
    })?;
    Ok(if src.is_absolute() {
        src.clone()
    } else {
        ctx.bundle().dir.join(src)
    })
}

/// Opens the host source as an `O_PATH` fd; a missing source is its own clear error.
fn open_source(src: &Path, dest: &Path) -> Result<OwnedFd> {
    openat2(libc::AT_FDCWD, src, libc::O_PATH, 0, 0).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => RootfsError::MissingSource {
            source_path: src.to_path_buf(),
            dest: dest.to_path_buf(),
        },
        _ => RootfsError::Io {
            what: "open bind source",
            path: src.to_path_buf(),
            source: e,
        },
    })
}

/// What the landing rule needs to know of a bind source: whether it is on procfs, and
/// whether it is `/dev/null` (the masking a config may do itself).
fn source_kind(fd: &OwnedFd, st: &libc::stat, src: &Path) -> Result<Kind> {
    let fs = sys::fstatfs_type(fd.as_fd()).map_err(io_err("statfs bind source", src))?;
    Ok(Kind::Bind {
        procfs: fs == libc::PROC_SUPER_MAGIC,
        null: st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == libc::makedev(1, 3),
    })
}

/// One `bind`/`rbind` spec mount (also the sysfs and cgroup fallbacks).
/// `index` is the mount's place in the spec's `mounts` (None for the fallbacks), to find
/// an id-mapped mount the parent prepared.
pub(super) fn bind_mount(
    ctx: &Ctx,
    index: Option<usize>,
    m: &Mount,
    opts: &MountOptions,
) -> Result<()> {
    let dest = m.destination();
    let src = host_source(ctx, m)?;
    let prepared = index.and_then(|i| ctx.idmapped.get(i));
    // A source the runtime cloned for us is attached as it is; opening it by path here,
    // in the container's user namespace, may not even be allowed.
    if let (Some(tree), None) = (prepared, opts.idmap) {
        let st = sys::fstat(tree.as_fd()).map_err(io_err("stat bind source", &src))?;
        let kind = source_kind(tree, &st, &src)?;
        let target = if sys::is_dir(&st) {
            open_dir_target(ctx, dest, kind)?
        } else {
            open_file_target(ctx, dest, kind)?
        };
        sys::move_mount(tree.as_fd(), target.as_fd()).map_err(|e| mount_err(m, e))?;
        return finish_bind(ctx, dest, opts);
    }
    let src_fd = open_source(&src, dest)?;
    let st = sys::fstat(src_fd.as_fd()).map_err(io_err("stat bind source", &src))?;
    let kind = source_kind(&src_fd, &st, &src)?;
    let target = if sys::is_dir(&st) {
        open_dir_target(ctx, dest, kind)?
    } else {
        open_file_target(ctx, dest, kind)?
    };
    if let Some(map_recursive) = opts.idmap {
        super::idmap::attach(
            prepared,
            &src_fd,
            &target,
            opts.is_recursive(),
            map_recursive,
            dest,
        )?;
    } else {
        let flags = libc::MS_BIND | (opts.flags & libc::MS_REC);
        sys::mount(
            Some(&fd_path(src_fd.as_fd())),
            &fd_path(target.as_fd()),
            None,
            flags,
            None,
        )
        .map_err(|e| mount_err(m, e))?;
    }
    finish_bind(ctx, dest, opts)
}

/// The read-only/nosuid/... remount a bind needs, then propagation and attributes.
fn finish_bind(ctx: &Ctx, dest: &Path, opts: &MountOptions) -> Result<()> {
    let extra = opts.remount_flags();
    if extra != 0 {
        remount(ctx, dest, libc::MS_BIND | extra)?;
    }
    after_mount(ctx, dest, opts)
}

/// Remounts the mount at `dest` with `flags` (MS_REMOUNT added). In a user namespace
/// the kernel refuses to drop flags it locked (nosuid, nodev, ...): on EPERM, retry with
/// the flags statvfs reports as already set, as runc does.
pub(super) fn remount(ctx: &Ctx, dest: &Path, flags: libc::c_ulong) -> Result<()> {
    let fd = reopen(ctx, dest)?;
    remount_fd(&fd, dest, flags)
}

/// [`remount`] on an fd already open on the mount.
pub(super) fn remount_fd(fd: &OwnedFd, dest: &Path, flags: libc::c_ulong) -> Result<()> {
    let target = fd_path(fd.as_fd());
    let flags = flags | libc::MS_REMOUNT;
    match sys::mount(None, &target, None, flags, None) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let locked = sys::locked_flags(fd.as_fd()).map_err(io_err("statvfs", dest))?;
            sys::mount(None, &target, None, flags | locked, None).map_err(io_err("remount", dest))
        }
        r => r.map_err(io_err("remount", dest)),
    }
}
