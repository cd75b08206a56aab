//! Real tests: a forked child unshares a mount namespace (and a user namespace where
//! relevant), runs prepare/pivot/finalize on a temporary rootfs and checks the result
//! from inside; the parent asserts the exit status and that the host was not touched.

use std::ffi::CString;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{prepare, RootfsOptions};
use crate::spec::Bundle;

mod full;
mod idmap;
mod landing;
mod more;
mod runc_spec;
mod userns;

/// A temporary bundle: `<dir>/rootfs` with busybox, and `<dir>/../outside`, a host
/// directory that planted symlinks point at.
pub(super) struct TestBundle {
    top: PathBuf,
    pub bundle: Bundle,
    pub outside: PathBuf,
}

impl Drop for TestBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}

pub(super) fn make_bundle(tag: &str, config: &str) -> TestBundle {
    let top = std::env::temp_dir().join(format!("quai-rootfs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    let dir = top.join("bundle");
    let rootfs = dir.join("rootfs");
    let outside = top.join("outside");
    for d in [
        &rootfs.join("bin"),
        &rootfs.join("etc"),
        &outside,
        &dir.join("src-dir"),
        &rootfs.join("data/sub"),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    std::fs::write(rootfs.join("etc/hostname"), "image\n").unwrap();
    std::fs::write(rootfs.join("etc/masked-file"), "secret\n").unwrap();
    std::fs::write(dir.join("hostname"), "from-bundle\n").unwrap();
    std::fs::write(dir.join("src-dir/f"), "bound\n").unwrap();
    std::fs::write(rootfs.join("data/a"), "hello\n").unwrap();
    symlink("a", rootfs.join("data/lnk")).unwrap();
    std::fs::set_permissions(
        rootfs.join("data/sub"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    // The planted symlink: a mount at /evil/escape must stay inside the rootfs.
    symlink(&outside, rootfs.join("evil")).unwrap();
    // Its target also exists inside the rootfs (rootdir's mkdir_all does not create a
    // dangling link's target), which is where the mount must land.
    std::fs::create_dir_all(rootfs.join(outside.strip_prefix("/").unwrap())).unwrap();
    let spec = crate::spec::parse(config).unwrap();
    let rootfs = std::fs::canonicalize(&rootfs).unwrap();
    TestBundle {
        top,
        bundle: Bundle { dir, spec, rootfs },
        outside,
    }
}

/// Runs `f` in a forked child; returns its exit status (0 when `f` returned Ok).
pub(super) fn in_child(f: impl FnOnce() -> Result<(), String>) -> i32 {
    // SAFETY: the child only runs `f` and exits with _exit; it never returns to the harness.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                Ok(Ok(())) => 0,
                Ok(Err(msg)) => {
                    eprintln!("child: {msg}");
                    1
                }
                Err(_) => 2,
            };
            // SAFETY: leave without running the parent's atexit handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            match nix::sys::wait::waitpid(child, None).unwrap() {
                nix::sys::wait::WaitStatus::Exited(_, code) => code,
                other => panic!("child ended with {other:?}"),
            }
        }
    }
}

pub(super) fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

pub(super) fn statvfs_flags(p: &str) -> Result<libc::c_ulong, String> {
    let c = CString::new(p).unwrap();
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut sv) } != 0 {
        return Err(format!("statvfs {p}: {}", std::io::Error::last_os_error()));
    }
    Ok(sv.f_flag)
}

pub(super) fn fs_type(p: &str) -> Result<i64, String> {
    let c = CString::new(p).unwrap();
    let mut sf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid string and out-pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut sf) } != 0 {
        return Err(format!("statfs {p}: {}", std::io::Error::last_os_error()));
    }
    Ok(sf.f_type)
}

pub(super) fn is_ro(p: &str) -> Result<bool, String> {
    Ok(statvfs_flags(p)? & libc::ST_RDONLY != 0)
}

/// A `ro` cgroup mount at /sys/fs/cgroup as runc makes it: on a v1 or hybrid host a
/// tmpfs left read-write holding read-only v1 hierarchies (the unified one not among
/// them); on a v2 host the read-only cgroup2 mount itself.
pub(super) fn cgroup_mount_ro_as_runc() -> Result<(), String> {
    let top = "/sys/fs/cgroup";
    if fs_type(top)? != libc::TMPFS_MAGIC {
        return ensure(is_ro(top)?, "/sys/fs/cgroup is not read-only");
    }
    ensure(
        !is_ro(top)?,
        "the /sys/fs/cgroup tmpfs is read-only (runc leaves it read-write)",
    )?;
    for entry in std::fs::read_dir(top).map_err(|e| e.to_string())? {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.is_symlink() {
            continue;
        }
        let name = p.to_string_lossy().into_owned();
        ensure(
            fs_type(&name)? == libc::CGROUP_SUPER_MAGIC,
            format!("{name} is not a cgroup v1 mount"),
        )?;
        ensure(is_ro(&name)?, format!("{name} is not read-only"))?;
    }
    Ok(())
}

pub(super) fn char_dev(p: &str, major: u32, minor: u32, mode: u32) -> Result<(), String> {
    let m = std::fs::symlink_metadata(p).map_err(|e| format!("{p}: {e}"))?;
    let ok = m.mode() & libc::S_IFMT == libc::S_IFCHR
        && libc::major(m.rdev()) == major
        && libc::minor(m.rdev()) == minor
        && (mode == 0 || m.mode() & 0o7777 == mode);
    ensure(
        ok,
        format!(
            "{p}: mode {:o} rdev {}:{}",
            m.mode(),
            libc::major(m.rdev()),
            libc::minor(m.rdev())
        ),
    )
}

pub(super) fn link_is(p: &str, target: &str) -> Result<(), String> {
    let t = std::fs::read_link(p).map_err(|e| format!("{p}: {e}"))?;
    ensure(t == Path::new(target), format!("{p} -> {}", t.display()))
}

pub(super) fn read(p: &str) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))
}

/// No mount of this namespace lies on the host's `outside` directory.
pub(super) fn nothing_mounted_under(outside: &Path) -> Result<(), String> {
    let info = read("/proc/self/mountinfo")?;
    let hit = crate::mountinfo::parse(&info)
        .into_iter()
        .find(|m| m.mount_point.starts_with(outside));
    ensure(
        hit.is_none(),
        format!("a mount escaped to the host: {hit:?}"),
    )
}

pub(super) fn private_mount_ns(flags: libc::c_int) -> Result<(), String> {
    // SAFETY: the forked child is single-threaded.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(format!("unshare: {}", std::io::Error::last_os_error()));
    }
    super::sys::mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .map_err(|e| e.to_string())
}

pub(super) fn am_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// In a new user namespace (root mapped to root only) the host's mount flags are locked
/// and mknod is refused: devices become binds, sysfs falls back to an rbind of /sys.
pub(super) fn enter_userns() -> Result<(), String> {
    // SAFETY: the forked child is single-threaded.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
        return Err(format!("unshare user: {}", std::io::Error::last_os_error()));
    }
    let w = |p: &str, s: &str| std::fs::write(p, s).map_err(|e| format!("{p}: {e}"));
    w("/proc/self/setgroups", "deny")?;
    w("/proc/self/uid_map", "0 0 1")?;
    w("/proc/self/gid_map", "0 0 1")
}

#[test]
fn missing_bind_source_is_named() {
    if !am_root() {
        return;
    }
    let cfg = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
      "mounts":[{"destination":"/x","type":"bind","source":"/nonexistent-quai-src","options":["bind"]}],
      "linux":{"namespaces":[{"type":"mount"}]}}"#;
    let tb = make_bundle("missing", cfg);
    let status = in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
            host_mounts: None,
        };
        match prepare(&opts) {
            Err(e @ super::RootfsError::MissingSource { .. }) => ensure(
                e.to_string().contains("/nonexistent-quai-src"),
                format!("message: {e}"),
            ),
            other => Err(format!("expected MissingSource, got {other:?}")),
        }
    });
    assert_eq!(status, 0);
}

#[test]
fn bad_rootfs_propagation_is_refused() {
    let cfg = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
      "linux":{"namespaces":[{"type":"mount"}],"rootfsPropagation":"sideways"}}"#;
    let tb = make_bundle("prop", cfg);
    // Refused before any mount is made, so no namespace is needed.
    let err = prepare(&RootfsOptions {
        bundle: &tb.bundle,
        no_pivot: false,
        cgroup_ns: false,
        host_mounts: None,
    })
    .unwrap_err();
    assert!(err.to_string().contains("sideways"), "{err}");
}
