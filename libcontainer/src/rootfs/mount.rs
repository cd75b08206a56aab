//! One spec mount: picks bind, cgroup, sysfs, tmpcopyup or a plain filesystem mount,
//! then applies propagation and recursive attributes. This file imports the mount
//! kinds; they share only `target.rs`, below all of them.

use std::path::PathBuf;

use super::options::MountOptions;
use super::target::{after_mount, fstype, is_dev, mount_fs, options_of, require_ordinary_dir};
use super::{bind, cgroupfs, copyup, Ctx, Result, RootfsError};
use crate::spec::{LinuxNamespaceType, Mount};

/// True when a spec mount at /dev asks for read-only: it is mounted writable so devices
/// can be created in it and made read-only in `finalize`, as runc does.
pub(super) fn dev_wants_readonly(mounts: &[Mount]) -> bool {
    mounts
        .iter()
        .any(|m| is_dev(m.destination()) && options_of(m).flags & libc::MS_RDONLY != 0)
}

/// Mounts one entry of the spec's `mounts`. Every kind opens its target through
/// `target.rs`, which refuses it where it may not land (on or inside `/proc`).
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
    if typ == "proc" || typ == "sysfs" {
        require_ordinary_dir(ctx, m)?;
    }
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
