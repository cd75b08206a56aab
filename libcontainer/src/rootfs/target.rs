//! The target of a spec mount inside the rootfs: created to match what is mounted,
//! opened as an fd, and checked by where it really lands ([`landing`]); plus the steps
//! every mount kind shares (the mount(2) of a filesystem, propagation and recursive
//! attributes after it). The mount kinds (bind, cgroupfs, copyup) and the dispatcher
//! (`mount.rs`) import this file; it imports none of them.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use super::landing::{self, Kind};
use super::options::{self, MountOptions};
use super::{io_err, sys, Ctx, Result, RootfsError};
use crate::rootdir::fd_path;
use crate::spec::Mount;

/// The fs type of a spec mount ("" when absent).
pub(super) fn fstype(m: &Mount) -> &str {
    m.typ().as_deref().unwrap_or("")
}

/// The parsed options of a spec mount ([`options::of_mount`]).
pub(super) fn options_of(m: &Mount) -> MountOptions {
    options::of_mount(m)
}

/// True when the destination is `/dev` (written any way: `/dev/`, `/./dev`).
pub(super) fn is_dev(dest: &Path) -> bool {
    crate::rootdir::relative(dest) == Path::new("dev")
}

/// Builds the error for a failed mount(2) of `m`.
pub(super) fn mount_err(m: &Mount, source: io::Error) -> RootfsError {
    let src = m
        .source()
        .as_ref()
        .map_or_else(|| fstype(m).to_string(), |s| s.display().to_string());
    RootfsError::Mount {
        source_path: src,
        dest: m.destination().clone(),
        fstype: fstype(m).to_string(),
        source,
    }
}

/// Where `fd` (opened inside the rootfs) really is, as an absolute path inside the
/// rootfs: the kernel's name for it, through the verified procfs, minus the rootfs's own.
pub(super) fn landing_of(ctx: &Ctx, fd: BorrowedFd<'_>, dest: &Path) -> Result<PathBuf> {
    let real = ctx
        .proc
        .fd_target(fd)
        .map_err(io_err("find where it lands:", dest))?;
    match real.strip_prefix(&ctx.root_real) {
        Ok(rel) => Ok(Path::new("/").join(rel)),
        Err(_) => Err(RootfsError::WrongType {
            path: dest.to_path_buf(),
            reason: format!("resolves to {} outside the rootfs", real.display()),
        }),
    }
}

/// Refuses `kind` at the place `fd` (opened for `dest`) lands, by [`landing::check`].
pub(super) fn check_landing(
    ctx: &Ctx,
    what: &'static str,
    dest: &Path,
    fd: BorrowedFd<'_>,
    kind: Kind,
    is_dir: bool,
) -> Result<()> {
    let at = landing_of(ctx, fd, dest)?;
    landing::check(&at, kind, is_dir, &ctx.masked).map_err(|reason| RootfsError::Refused {
        what,
        dest: dest.to_path_buf(),
        landing: at,
        reason,
    })
}

/// Before anything is created for `dest`: where it will land is where its deepest
/// existing ancestor really is, plus the rest of the path; refuse `kind` there by the
/// same rule, so nothing is even created inside /proc. (Once it exists, the opened
/// target is checked again: [`check_landing`].)
pub(super) fn precheck(
    ctx: &Ctx,
    what: &'static str,
    dest: &Path,
    kind: Kind,
    is_dir: bool,
) -> Result<()> {
    precheck_from(ctx, what, dest, kind, is_dir, false).map(drop)
}

/// [`precheck`]; `missing`: the caller already found that `dest` does not resolve, so
/// the walk starts at its parent. Returns the deepest existing ancestor when only the
/// last component of `dest` is missing, with that component's name.
fn precheck_from(
    ctx: &Ctx,
    what: &'static str,
    dest: &Path,
    kind: Kind,
    is_dir: bool,
    missing: bool,
) -> Result<Option<(OwnedFd, PathBuf)>> {
    let rel = crate::rootdir::relative(dest);
    let mut ancestor = rel.clone();
    if missing && !ancestor.pop() {
        return Err(io_err("open", dest)(io::Error::from_raw_os_error(
            libc::ENOENT,
        )));
    }
    let fd = loop {
        match ctx.root.open_path(&ancestor) {
            Ok(fd) => break fd,
            Err(_) if ancestor.pop() => continue,
            Err(e) => return Err(io_err("open", Path::new("/"))(e)),
        }
    };
    if ancestor == rel {
        return Ok(None);
    }
    let rest = rel.strip_prefix(&ancestor).unwrap_or(&rel).to_path_buf();
    let mut at = landing_of(ctx, fd.as_fd(), dest)?;
    for c in rest.components() {
        match c {
            Component::ParentDir => {
                at.pop();
            }
            Component::Normal(n) => at.push(n),
            _ => {}
        }
    }
    landing::check(&at, kind, is_dir, &ctx.masked).map_err(|reason| RootfsError::Refused {
        what,
        dest: dest.to_path_buf(),
        landing: at,
        reason,
    })?;
    let one_name = matches!(
        rest.components().collect::<Vec<_>>()[..],
        [Component::Normal(_)]
    );
    Ok(one_name.then_some((fd, rest)))
}

/// procfs and sysfs only on an ordinary directory: never on a file, nor on a symlink
/// (which would put them elsewhere in the rootfs), as runc requires.
pub(super) fn require_ordinary_dir(ctx: &Ctx, m: &Mount) -> Result<()> {
    let dest = m.destination();
    match ctx.root.open_in(dest, libc::O_PATH | libc::O_NOFOLLOW) {
        Ok(fd) => {
            let st = sys::fstat(fd.as_fd()).map_err(io_err("stat", dest))?;
            if sys::is_dir(&st) {
                Ok(())
            } else {
                Err(RootfsError::WrongType {
                    path: dest.clone(),
                    reason: format!(
                        "filesystem \"{}\" must be mounted on ordinary directory",
                        fstype(m)
                    ),
                })
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        Err(e) => Err(io_err("open", dest)(e)),
    }
}

/// Creates (if needed) and opens a mount destination that must be a directory, and
/// checks that `kind` may land where it resolves.
pub(super) fn open_dir_target(ctx: &Ctx, dest: &Path, kind: Kind) -> Result<OwnedFd> {
    // Most targets exist (the image's /proc, /dev, /sys): one lookup, and O_DIRECTORY
    // says what it is.
    if let Ok(fd) = ctx.root.open_in(dest, libc::O_PATH | libc::O_DIRECTORY) {
        check_landing(ctx, "mount", dest, fd.as_fd(), kind, true)?;
        return Ok(fd);
    }
    let fd = match precheck_from(ctx, "mount", dest, kind, true, true)? {
        // Only the last name is missing (/dev/pts in a fresh /dev): made in the parent
        // just opened and checked, then resolved from the root again, as mkdir_all
        // does. Anything else (a dangling link there) goes through mkdir_all.
        Some((parent, name)) if sys::mkdir_at(parent.as_fd(), &name, 0o755).is_ok() => ctx
            .root
            .open_in(dest, libc::O_PATH | libc::O_DIRECTORY)
            .map_err(io_err("open mount point", dest))?,
        _ => ctx
            .root
            .mkdir_all(dest, 0o755)
            .map_err(io_err("create mount point", dest))?,
    };
    // mkdir_all opens with O_DIRECTORY, but check again: this is the security boundary.
    let st = sys::fstat(fd.as_fd()).map_err(io_err("stat mount point", dest))?;
    check_landing(ctx, "mount", dest, fd.as_fd(), kind, sys::is_dir(&st))?;
    if !sys::is_dir(&st) {
        return Err(RootfsError::WrongType {
            path: dest.to_path_buf(),
            reason: "mount point is not a directory".into(),
        });
    }
    Ok(fd)
}

/// Creates (if needed, as an empty file) and opens a mount destination for a file, and
/// checks that `kind` may land where it resolves.
pub(super) fn open_file_target(ctx: &Ctx, dest: &Path, kind: Kind) -> Result<OwnedFd> {
    let fd = match ctx.root.open_path(dest) {
        Ok(fd) => fd,
        Err(_) => {
            precheck(ctx, "mount", dest, kind, false)?;
            ctx.root
                .create_file(dest, 0o644)
                .map_err(io_err("create mount point", dest))?
        }
    };
    let st = sys::fstat(fd.as_fd()).map_err(io_err("stat mount point", dest))?;
    check_landing(ctx, "mount", dest, fd.as_fd(), kind, sys::is_dir(&st))?;
    if sys::is_dir(&st) {
        // runc reports mount(2)'s ENOTDIR here; Docker looks for "not a directory" to
        // give such a container exit status 127 and its hint about mount types.
        return Err(RootfsError::WrongType {
            path: dest.to_path_buf(),
            reason: "the bind source is a file but the mount point is a directory: \
                     not a directory"
                .into(),
        });
    }
    Ok(fd)
}

/// Re-opens the destination after a mount, so the fd is on the new mount, not under it.
pub(super) fn reopen(ctx: &Ctx, dest: &Path) -> Result<OwnedFd> {
    ctx.root
        .open_path(dest)
        .map_err(io_err("reopen mount point", dest))
}

/// mount(2) of a filesystem (not a bind) onto `dest`, which is created as a directory.
pub(super) fn mount_fs(
    ctx: &Ctx,
    m: &Mount,
    dest: &Path,
    flags: libc::c_ulong,
    data: &str,
) -> Result<()> {
    let typ = fstype(m);
    let kind = match typ {
        "proc" => Kind::Procfs,
        "tmpfs" => Kind::Tmpfs,
        _ => Kind::Other,
    };
    let fd = open_dir_target(ctx, dest, kind)?;
    let source = m.source().clone().unwrap_or_else(|| PathBuf::from(typ));
    sys::mount(
        Some(&source),
        &fd_path(fd.as_fd()),
        Some(typ),
        flags,
        Some(data),
    )
    .map_err(|e| mount_err(m, e))
}

/// Propagation changes, then recursive attributes, on the new mount at `dest`.
pub(super) fn after_mount(ctx: &Ctx, dest: &Path, opts: &MountOptions) -> Result<()> {
    if opts.propagation.is_empty() && !opts.has_recursive_attrs() {
        return Ok(());
    }
    let fd = reopen(ctx, dest)?;
    for &p in &opts.propagation {
        sys::mount(None, &fd_path(fd.as_fd()), None, p, None)
            .map_err(io_err("set propagation of", dest))?;
    }
    if opts.has_recursive_attrs() {
        sys::mount_setattr(fd.as_fd(), true, opts.attr_set, opts.attr_clr, None)
            .map_err(io_err("set recursive mount attributes of", dest))?;
    }
    Ok(())
}
