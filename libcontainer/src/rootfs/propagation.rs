//! Mount propagation of the container's `/` and of the mount the rootfs lives on.

use crate::mountinfo::MountInfo;
use std::path::{Path, PathBuf};

use super::{io_err, options, sys, RootfsError};
use crate::spec::Bundle;

/// The `linux.rootfsPropagation` of the spec as flags, if set.
fn rootfs_propagation(bundle: &Bundle) -> Result<Option<libc::c_ulong>, RootfsError> {
    let Some(word) = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())
    else {
        return Ok(None);
    };
    options::parse_propagation(&word).map(Some).ok_or_else(|| RootfsError::Unsupported {
        what: format!("rootfsPropagation {word:?}"),
        path: PathBuf::from("/"),
        reason: "expected private, rprivate, slave, rslave, shared, rshared, unbindable or runbindable".into(),
    })
}

/// Sets `/` to rslave (or rootfsPropagation) so our mounts do not reach the host, makes
/// the rootfs's parent mount private when shared (pivot_root refuses a shared parent),
/// and bind-mounts the rootfs onto itself so it is a mount point.
/// Returns the mounts before any mount of ours: `known` (read by the caller before the
/// clone) when given and the propagation set is recursive slave or private, which
/// leaves no mount shared; else read after the propagation change.
pub(super) fn prepare_root(
    bundle: &Bundle,
    known: Option<&[MountInfo]>,
) -> Result<Vec<MountInfo>, RootfsError> {
    let mut flags = rootfs_propagation(bundle)?.unwrap_or(libc::MS_SLAVE | libc::MS_REC);
    // An unbindable rootfs could not be bound onto itself: private until the pivot,
    // unbindable after it ([`finalize_root`]), as crun does.
    if flags & libc::MS_UNBINDABLE != 0 {
        flags = libc::MS_PRIVATE | (flags & libc::MS_REC);
    }
    let slash = Path::new("/");
    sys::mount(None, slash, None, flags, None).map_err(io_err("set propagation of", slash))?;
    let none_shared = flags & libc::MS_REC != 0 && flags & (libc::MS_SLAVE | libc::MS_PRIVATE) != 0;
    let host = match known {
        Some(k) if none_shared => k.to_vec(),
        _ => {
            let host = read_mountinfo()?;
            make_parent_private(&bundle.rootfs, &host)?;
            host
        }
    };
    let r = &bundle.rootfs;
    sys::mount(Some(r), r, Some("bind"), libc::MS_BIND | libc::MS_REC, None)
        .map_err(io_err("bind rootfs", r))?;
    Ok(host)
}

/// Applies rootfsPropagation again after pivot, to the container's own `/`.
pub(super) fn finalize_root(bundle: &Bundle) -> Result<(), RootfsError> {
    if let Some(flags) = rootfs_propagation(bundle)? {
        let slash = Path::new("/");
        sys::mount(None, slash, None, flags, None).map_err(io_err("set propagation of", slash))?;
    }
    Ok(())
}

/// Reads and parses this process's mountinfo.
pub(super) fn read_mountinfo() -> Result<Vec<MountInfo>, RootfsError> {
    let p = Path::new("/proc/self/mountinfo");
    Ok(crate::mountinfo::parse(
        &crate::rootdir::read_text(p).map_err(io_err("read", p))?,
    ))
}

/// The mount `path` lives on: the one with the longest mount point that contains it.
pub(super) fn parent_mount<'m>(mounts: &'m [MountInfo], path: &Path) -> Option<&'m MountInfo> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
}

fn make_parent_private(rootfs: &Path, host: &[MountInfo]) -> Result<(), RootfsError> {
    if let Some(m) = parent_mount(host, rootfs) {
        if m.optional.iter().any(|o| o.starts_with("shared:")) {
            let mp = &m.mount_point;
            sys::mount(None, mp, None, libc::MS_PRIVATE, None)
                .map_err(io_err("make private", mp))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
        50 22 0:50 /sub /my\\040dir rw master:3 shared:4 - tmpfs tmpfs rw\n";

    #[test]
    fn parses_mountinfo() {
        let m = crate::mountinfo::parse(INFO);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].optional, vec!["shared:1"]);
        assert_eq!(m[2].super_options, "rw,cpu");
        assert_eq!(m[2].fstype, "cgroup");
        assert_eq!(m[3].mount_point, PathBuf::from("/my dir"));
        assert_eq!(m[3].root, "/sub");
        assert_eq!(m[3].optional, vec!["master:3", "shared:4"]);
    }

    #[test]
    fn finds_parent_mount() {
        let m = crate::mountinfo::parse(INFO);
        assert_eq!(
            parent_mount(&m, Path::new("/sys/fs/cgroup/cpu/x"))
                .unwrap()
                .mount_point,
            Path::new("/sys/fs/cgroup/cpu")
        );
        assert_eq!(
            parent_mount(&m, Path::new("/sys/fs/cgroupx"))
                .unwrap()
                .mount_point,
            Path::new("/")
        );
    }
}
