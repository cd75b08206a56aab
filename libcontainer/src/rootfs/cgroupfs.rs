//! A spec mount of type `cgroup`: on a v1 or hybrid host a tmpfs with one mount per
//! hierarchy (as runc does), on a pure v2 host a cgroup2 mount. Without a cgroup
//! namespace, the container's own cgroup directories are bind-mounted instead, so it
//! sees only its own part of the tree.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::landing::Kind;
use super::options::MountOptions;
use super::target::{after_mount, mount_err, open_dir_target, reopen};
use super::{io_err, sys, Ctx, Result, RootfsError};
use crate::mountinfo::MountInfo;
use crate::rootdir::{fd_path, openat2};
use crate::spec::Mount;

const DEFAULT_FLAGS: libc::c_ulong = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;

/// The controllers (and `name=` hierarchies) of a v1 mount, from its super options.
pub(super) fn subsystems(super_options: &str) -> Vec<String> {
    super_options
        .split(',')
        .filter(|o| *o != "rw" && *o != "ro" && (!o.contains('=') || o.starts_with("name=")))
        .filter(|o| {
            !matches!(
                *o,
                "clone_children" | "noprefix" | "xattr" | "cpuset_v2_mode" | "nsdelegate"
            )
        })
        .map(str::to_string)
        .collect()
}

/// This process's cgroup path in the hierarchy with exactly these subsystems (empty
/// slice: the unified hierarchy), from /proc/self/cgroup text.
pub(super) fn own_path(proc_cgroup: &str, subs: &[String]) -> Option<String> {
    proc_cgroup.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
        let mut have: Vec<&str> = ctrls.split(',').filter(|c| !c.is_empty()).collect();
        let mut want: Vec<&str> = subs.iter().map(String::as_str).collect();
        have.sort_unstable();
        want.sort_unstable();
        (have == want).then(|| path.to_string())
    })
}

/// The host directory of our own cgroup under mount `mi`.
fn host_dir(mi: &MountInfo, proc_cgroup: &str, subs: &[String]) -> Result<PathBuf> {
    let own = own_path(proc_cgroup, subs).ok_or_else(|| RootfsError::WrongType {
        path: mi.mount_point.clone(),
        reason: format!("no entry for {subs:?} in /proc/self/cgroup"),
    })?;
    let rel = Path::new(&own)
        .strip_prefix(&mi.root)
        .map_err(|_| RootfsError::WrongType {
            path: mi.mount_point.clone(),
            reason: format!("our cgroup {own} is outside the mount's root {}", mi.root),
        })?;
    Ok(mi.mount_point.join(rel))
}

/// Mounts one hierarchy at `dest`: a new cgroup(2) mount in a cgroup namespace, else a
/// bind of our own directory.
fn mount_hierarchy(
    ctx: &Ctx,
    m: &Mount,
    opts: &MountOptions,
    dest: &Path,
    mi: &MountInfo,
    pc: &str,
) -> Result<()> {
    let v2 = mi.fstype == "cgroup2";
    let subs = if v2 {
        Vec::new()
    } else {
        subsystems(&mi.super_options)
    };
    let flags = (opts.flags | DEFAULT_FLAGS) & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    if ctx.opts.cgroup_ns {
        let fd = open_dir_target(ctx, dest, Kind::Other)?;
        let typ = if v2 { "cgroup2" } else { "cgroup" };
        let data = subs.join(",");
        // runc's source names: a named hierarchy's name (`systemd`), else the type.
        let source = subs
            .iter()
            .find_map(|s| s.strip_prefix("name="))
            .unwrap_or(typ);
        return sys::mount(
            Some(Path::new(source)),
            &fd_path(fd.as_fd()),
            Some(typ),
            flags,
            Some(&data),
        )
        .map_err(|e| mount_err(m, e));
    }
    let src = host_dir(mi, pc, &subs)?;
    let mut bind = m.clone();
    bind.set_source(Some(src))
        .set_destination(dest.to_path_buf())
        .set_typ(Some("bind".into()));
    let mut o = MountOptions {
        flags: libc::MS_BIND | libc::MS_REC | flags,
        ..MountOptions::default()
    };
    o.idmap = None;
    super::bind::bind_mount(ctx, None, &bind, &o)
}

/// Binds our own directory of one v1 hierarchy at `name` in the container's fresh
/// cgroup tmpfs (`tmpfs`, at `dest`); its flags are set after ([`set_hierarchy_flags`]). Everything
/// is relative to two fds: the tmpfs, which the runtime has just mounted (no process of
/// the container exists yet, so nothing in it can be a planted link), and the host's
/// hierarchies' parent directory (`host_base`, at `base`). No path walk from `/`
/// through sysfs, whose kernfs lock new network namespaces hold, and no landing check
/// to read back (`benches/README.md`, 100 creates at once).
fn bind_hierarchy_at(
    tmpfs: &OwnedFd,
    dest: &Path,
    host_base: &OwnedFd,
    base: &Path,
    name: &str,
    mi: &MountInfo,
    pc: &str,
) -> Result<()> {
    let at = dest.join(name);
    let src = host_dir(mi, pc, &subsystems(&mi.super_options))?;
    let rel = src.strip_prefix(base).map_err(|_| RootfsError::WrongType {
        path: at.clone(),
        reason: format!("{} is not below {}", src.display(), base.display()),
    })?;
    let c = CString::new(name)
        .map_err(|_| io_err("mkdir", &at)(std::io::ErrorKind::InvalidInput.into()))?;
    // SAFETY: `tmpfs` is a directory fd; `c` is a NUL-terminated single component.
    if unsafe { libc::mkdirat(tmpfs.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(io_err("create mount point", &at)(e));
        }
    }
    let tree = sys::clone_tree_at(host_base.as_fd(), rel).map_err(io_err("open_tree", &src))?;
    sys::move_mount_at(tree.as_fd(), tmpfs.as_fd(), Path::new(name))
        .map_err(io_err("attach cgroup mount at", &at))
}

/// The bound hierarchies' flags, once for all of them: recursively from the tmpfs,
/// whose own read-only bit is then cleared again (runc leaves the tmpfs writable).
/// Two `mount_setattr` calls instead of one per hierarchy, each of which takes the
/// mount lock every container being set up waits for. No process of the container
/// exists yet to see the hierarchies before they are read-only.
fn set_hierarchy_flags(tmpfs: &OwnedFd, dest: &Path, flags: libc::c_ulong) -> Result<()> {
    let attrs = sys::attrs_of(flags);
    sys::mount_setattr(tmpfs.as_fd(), true, attrs, 0, None)
        .map_err(io_err("set mount attributes of the hierarchies in", dest))?;
    if attrs & libc::MOUNT_ATTR_RDONLY != 0 {
        sys::mount_setattr(tmpfs.as_fd(), false, 0, libc::MOUNT_ATTR_RDONLY, None)
            .map_err(io_err("keep writable", dest))?;
    }
    Ok(())
}

/// Creates `name -> target` (for `cpu -> cpu,cpuacct`) in the directory `dir` (at `dest`).
fn symlink_in(dir: &OwnedFd, dest: &Path, name: &str, target: &str) -> Result<()> {
    let path = dest.join(name);
    let (Ok(t), Ok(n)) = (CString::new(target), CString::new(name)) else {
        return Ok(());
    };
    // SAFETY: `dir` is a directory fd; both names are NUL-terminated single components.
    if unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(io_err("symlink", &path)(e));
        }
    }
    Ok(())
}

/// The cgroup spec mount.
pub(super) fn mount_cgroup(ctx: &Ctx, m: &Mount, opts: &MountOptions) -> Result<()> {
    let dest = m.destination();
    let infos = &ctx.host_mounts;
    let pc_path = Path::new("/proc/self/cgroup");
    let pc = crate::rootdir::read_text(pc_path).map_err(io_err("read", pc_path))?;
    let v1: Vec<&MountInfo> = infos.iter().filter(|i| i.fstype == "cgroup").collect();
    if v1.is_empty() {
        // Pure v2: the cgroup2 mount itself.
        let v2 = infos
            .iter()
            .find(|i| i.fstype == "cgroup2")
            .ok_or_else(|| RootfsError::WrongType {
                path: dest.clone(),
                reason: "the host has no cgroup filesystem mounted".into(),
            })?;
        mount_hierarchy(ctx, m, opts, dest, v2, &pc)?;
        return after_mount(ctx, dest, opts);
    }
    // v1 or hybrid: a tmpfs like the host's /sys/fs/cgroup, then each hierarchy below it.
    let parent = v1[0]
        .mount_point
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let fd = open_dir_target(ctx, dest, Kind::Other)?;
    sys::mount(
        Some(Path::new("tmpfs")),
        &fd_path(fd.as_fd()),
        Some("tmpfs"),
        DEFAULT_FLAGS,
        Some("mode=755"),
    )
    .map_err(|e| mount_err(m, e))?;
    let tmpfs = reopen(ctx, dest)?;
    let host_base = openat2(
        libc::AT_FDCWD,
        &parent,
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        0,
    )
    .map_err(io_err("open", &parent))?;
    let flags = (opts.flags | DEFAULT_FLAGS) & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT);
    // The v1 hierarchies only: on a hybrid host runc mounts no cgroup2 at
    // `unified` in the container, and engines expect the view runc gives.
    let hierarchies = infos
        .iter()
        .filter(|i| i.fstype == "cgroup" && i.mount_point.parent() == Some(parent.as_path()));
    let mut bound = false;
    for mi in hierarchies {
        let Some(name) = mi.mount_point.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if ctx.opts.cgroup_ns {
            mount_hierarchy(ctx, m, opts, &dest.join(name), mi, &pc)?;
        } else {
            bind_hierarchy_at(&tmpfs, dest, &host_base, &parent, name, mi, &pc)?;
            bound = true;
        }
        if name.contains(',') {
            for part in name.split(',') {
                symlink_in(&tmpfs, dest, part, name)?;
            }
        }
    }
    if bound {
        set_hierarchy_flags(&tmpfs, dest, flags)?;
    }
    // The tmpfs itself stays writable, as runc leaves it (its hierarchies take `ro`).
    after_mount(ctx, dest, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PC: &str = "9:name=systemd:/\n4:memory:/a/b\n2:cpuacct,cpu:/c\n0::/u\n";

    #[test]
    fn finds_subsystems() {
        assert_eq!(subsystems("rw,cpu,cpuacct"), vec!["cpu", "cpuacct"]);
        assert_eq!(subsystems("rw,name=systemd"), vec!["name=systemd"]);
        assert_eq!(
            subsystems("rw,xattr,release_agent=/x,memory"),
            vec!["memory"]
        );
    }

    #[test]
    fn finds_own_paths() {
        assert_eq!(
            own_path(PC, &["memory".to_string()]).as_deref(),
            Some("/a/b")
        );
        assert_eq!(
            own_path(PC, &["cpu".to_string(), "cpuacct".to_string()]).as_deref(),
            Some("/c")
        );
        assert_eq!(
            own_path(PC, &["name=systemd".to_string()]).as_deref(),
            Some("/")
        );
        assert_eq!(own_path(PC, &[]).as_deref(), Some("/u"));
        assert_eq!(own_path(PC, &["pids".to_string()]), None);
    }
}
