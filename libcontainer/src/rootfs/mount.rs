//! One spec mount: picks bind, cgroup, sysfs, tmpcopyup or a plain filesystem mount,
//! then applies propagation and recursive attributes.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::options::{self, MountOptions};
use super::{bind, cgroupfs, copyup, sys, Ctx, Result, RootfsError};
use crate::rootdir::fd_path;
use crate::spec::{LinuxNamespaceType, Mount};

/// The fs type of a spec mount ("" when absent).
pub(super) fn fstype(m: &Mount) -> &str {
    m.typ().as_deref().unwrap_or("")
}

/// The parsed options of a spec mount.
pub(super) fn options_of(m: &Mount) -> MountOptions {
    options::parse(m.options().as_deref().unwrap_or(&[]))
}

/// True when the destination is `/dev` (written any way: `/dev/`, `/./dev`).
pub(super) fn is_dev(dest: &Path) -> bool {
    crate::rootdir::relative(dest) == Path::new("dev")
}

/// True when a spec mount at /dev asks for read-only: it is mounted writable so devices
/// can be created in it and made read-only in `finalize`, as runc does.
pub(super) fn dev_wants_readonly(mounts: &[Mount]) -> bool {
    mounts
        .iter()
        .any(|m| is_dev(m.destination()) && options_of(m).flags & libc::MS_RDONLY != 0)
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

/// Creates (if needed) and opens a mount destination that must be a directory.
pub(super) fn open_dir_target(ctx: &Ctx, dest: &Path) -> Result<OwnedFd> {
    let fd = ctx
        .root
        .mkdir_all(dest, 0o755)
        .map_err(|source| RootfsError::Io {
            what: "create mount point",
            path: dest.to_path_buf(),
            source,
        })?;
    // mkdir_all opens with O_DIRECTORY, but check again: this is the security boundary.
    let st = sys::fstat(fd.as_fd()).map_err(super::io_err("stat mount point", dest))?;
    if !sys::is_dir(&st) {
        return Err(RootfsError::WrongType {
            path: dest.to_path_buf(),
            reason: "mount point is not a directory".into(),
        });
    }
    Ok(fd)
}

/// Re-opens the destination after a mount, so the fd is on the new mount, not under it.
pub(super) fn reopen(ctx: &Ctx, dest: &Path) -> Result<OwnedFd> {
    ctx.root
        .open_path(dest)
        .map_err(super::io_err("reopen mount point", dest))
}

/// Mounts one entry of the spec's `mounts`.
pub(super) fn mount_one(ctx: &Ctx, index: usize, m: &Mount) -> Result<()> {
    let opts = options_of(m);
    let typ = fstype(m);
    if opts.is_bind() || typ == "bind" {
        return bind::bind_mount(ctx, Some(index), m, &opts);
    }
    if opts.idmap.is_some() {
        return Err(RootfsError::Unsupported {
            what: "idmap".into(),
            path: m.destination().clone(),
            reason: "id-mapped mounts are only supported for bind mounts".into(),
        });
    }
    check_proc_sys_mount(ctx, m, &opts)?;
    match typ {
        "cgroup" | "cgroup2" => cgroupfs::mount_cgroup(ctx, m, &opts),
        "sysfs" => mount_sysfs(ctx, m, &opts),
        "tmpfs" if opts.tmpcopyup => copyup::mount_tmpfs_copyup(ctx, m, &opts),
        _ => {
            let dest = m.destination();
            let mut flags = opts.flags;
            if is_dev(dest) {
                flags &= !libc::MS_RDONLY;
            }
            mount_fs(ctx, m, dest, flags, &opts.data)?;
            after_mount(ctx, dest, &opts)
        }
    }
}

/// Files below /proc that may be bind-mounted over (lxcfs does), as in runc.
const PROC_ALLOWED: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// True when the host path `source` is on procfs.
fn is_procfs(ctx: &Ctx, source: Option<&PathBuf>) -> bool {
    source.is_some_and(|s| {
        nix::sys::statfs::statfs(ctx.bundle().dir.join(s).as_path())
            .is_ok_and(|f| f.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
    })
}

/// runc's rules for /proc and /sys (the CVE-2019-19921 class): procfs and sysfs never
/// onto a symlink or file (which would put them elsewhere in the rootfs); at /proc only
/// procfs; below /proc only procfs or the files lxcfs emulates.
fn check_proc_sys_mount(ctx: &Ctx, m: &Mount, opts: &MountOptions) -> Result<()> {
    let dest = crate::rootdir::relative(m.destination());
    let bad = |reason: &str| RootfsError::WrongType {
        path: m.destination().clone(),
        reason: reason.into(),
    };
    let typ = fstype(m);
    if typ == "proc" || typ == "sysfs" {
        match ctx.root.open_in(&dest, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => {
                let st = sys::fstat(fd.as_fd()).map_err(super::io_err("stat", m.destination()))?;
                if !sys::is_dir(&st) {
                    return Err(bad(
                        "proc and sysfs must be mounted on an ordinary directory",
                    ));
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(super::io_err("open", m.destination())(e)),
        }
        if typ == "proc" {
            return Ok(());
        }
    }
    if !dest.starts_with("proc") {
        return Ok(());
    }
    let bind = opts.is_bind() || typ == "bind";
    if dest == Path::new("proc") {
        if bind && is_procfs(ctx, m.source().as_ref()) {
            return Ok(());
        }
        return Err(bad("only procfs can be mounted at /proc"));
    }
    let abs = Path::new("/").join(&dest);
    if PROC_ALLOWED.iter().any(|p| Path::new(p) == abs)
        || (bind && is_procfs(ctx, m.source().as_ref()))
    {
        return Ok(());
    }
    Err(bad("cannot be mounted because it is inside /proc"))
}

/// mount(2) of a filesystem (not a bind) onto `dest`, which is created as a directory.
pub(super) fn mount_fs(
    ctx: &Ctx,
    m: &Mount,
    dest: &Path,
    flags: libc::c_ulong,
    data: &str,
) -> Result<()> {
    let fd = open_dir_target(ctx, dest)?;
    let typ = fstype(m);
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

/// sysfs; in a user namespace without a network namespace of its own the kernel refuses
/// a new sysfs, so fall back to a recursive bind of the host's /sys, as runc does.
fn mount_sysfs(ctx: &Ctx, m: &Mount, opts: &MountOptions) -> Result<()> {
    let dest = m.destination();
    match mount_fs(ctx, m, dest, opts.flags, &opts.data) {
        Err(RootfsError::Mount { source, .. })
            if ctx.userns
                && !ctx.bundle().makes_namespace(LinuxNamespaceType::Network)
                && matches!(source.raw_os_error(), Some(libc::EPERM) | Some(libc::EBUSY)) =>
        {
            let mut fallback = m.clone();
            fallback
                .set_typ(Some("bind".into()))
                .set_source(Some(PathBuf::from("/sys")));
            let mut o = opts.clone();
            o.flags |= libc::MS_BIND | libc::MS_REC;
            bind::bind_mount(ctx, None, &fallback, &o)
        }
        other => {
            other?;
            after_mount(ctx, dest, opts)
        }
    }
}

/// Propagation changes, then recursive attributes, on the new mount at `dest`.
pub(super) fn after_mount(ctx: &Ctx, dest: &Path, opts: &MountOptions) -> Result<()> {
    if opts.propagation.is_empty() && !opts.has_recursive_attrs() {
        return Ok(());
    }
    let fd = reopen(ctx, dest)?;
    for &p in &opts.propagation {
        sys::mount(None, &fd_path(fd.as_fd()), None, p, None)
            .map_err(super::io_err("set propagation of", dest))?;
    }
    if opts.has_recursive_attrs() {
        sys::mount_setattr(fd.as_fd(), true, opts.attr_set, opts.attr_clr, None)
            .map_err(super::io_err("set recursive mount attributes of", dest))?;
    }
    Ok(())
}
