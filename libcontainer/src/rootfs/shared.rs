//! Containers without a mount namespace of their own: their mounts are made in the
//! runtime's namespace, under the rootfs, and undone from there when they go.

use std::path::Path;

use super::{io_err, propagation, Result};

/// Detaches every mount below `rootfs` in this process's mount namespace, deepest
/// first; returns how many. The rootfs itself (an engine's overlay, often) stays.
pub fn unmount_under(rootfs: &Path) -> Result<usize> {
    let mut points: Vec<_> = propagation::read_mountinfo()?
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(rootfs) && p != rootfs)
        .collect();
    // Deepest first; a point mounted twice is listed (and detached) twice.
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in &points {
        match nix::mount::umount2(p.as_path(), nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
            Err(e) => return Err(io_err("unmount", p)(e.into())),
        }
    }
    Ok(points.len())
}
