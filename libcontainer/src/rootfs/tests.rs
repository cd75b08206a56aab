//! Real tests: a forked child unshares a mount namespace (and a user namespace where
//! relevant), runs prepare/pivot/finalize on a temporary rootfs and checks the result
//! from inside; the parent asserts the exit status and that the host was not touched.

use std::ffi::CString;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{finalize, pivot, prepare, RootfsOptions};
use crate::spec::Bundle;

/// A temporary bundle: `<dir>/rootfs` with busybox, and `<dir>/../outside`, a host
/// directory that planted symlinks point at.
struct TestBundle {
    top: PathBuf,
    bundle: Bundle,
    outside: PathBuf,
}

impl Drop for TestBundle {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.top);
    }
}

fn make_bundle(tag: &str, config: &str) -> TestBundle {
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
fn in_child(f: impl FnOnce() -> Result<(), String>) -> i32 {
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

fn ensure(cond: bool, what: impl Into<String>) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn statvfs_flags(p: &str) -> Result<libc::c_ulong, String> {
    let c = CString::new(p).unwrap();
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid string and out-pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut sv) } != 0 {
        return Err(format!("statvfs {p}: {}", std::io::Error::last_os_error()));
    }
    Ok(sv.f_flag)
}

fn fs_type(p: &str) -> Result<i64, String> {
    let c = CString::new(p).unwrap();
    let mut sf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid string and out-pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut sf) } != 0 {
        return Err(format!("statfs {p}: {}", std::io::Error::last_os_error()));
    }
    Ok(sf.f_type)
}

fn is_ro(p: &str) -> Result<bool, String> {
    Ok(statvfs_flags(p)? & libc::ST_RDONLY != 0)
}

fn char_dev(p: &str, major: u32, minor: u32, mode: u32) -> Result<(), String> {
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

fn link_is(p: &str, target: &str) -> Result<(), String> {
    let t = std::fs::read_link(p).map_err(|e| format!("{p}: {e}"))?;
    ensure(t == Path::new(target), format!("{p} -> {}", t.display()))
}

fn read(p: &str) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"))
}

/// No mount of this namespace lies on the host's `outside` directory.
fn nothing_mounted_under(outside: &Path) -> Result<(), String> {
    let info = read("/proc/self/mountinfo")?;
    let hit = super::propagation::parse_mountinfo(&info)
        .into_iter()
        .find(|m| m.mount_point.starts_with(outside));
    ensure(
        hit.is_none(),
        format!("a mount escaped to the host: {hit:?}"),
    )
}

fn private_mount_ns(flags: libc::c_int) -> Result<(), String> {
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

const FULL: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":true},
 "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
 "mounts":[
  {"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
  {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]},
  {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
  {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]},
  {"destination":"/mnt/ro","type":"bind","source":"src-dir","options":["rbind","ro","nosuid"]},
  {"destination":"/rro","type":"bind","source":"src-dir","options":["rbind","rro","rprivate"]},
  {"destination":"/etc/hostname","type":"bind","source":"hostname","options":["bind"]},
  {"destination":"/data","type":"tmpfs","source":"tmpfs","options":["tmpcopyup","mode=755"]},
  {"destination":"/evil/escape","type":"tmpfs","source":"tmpfs"},
  {"destination":"/dev/../../evil/escape2","type":"tmpfs","source":"tmpfs"}
 ],
 "linux":{"namespaces":[{"type":"mount"}],
  "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":384,"uid":0,"gid":0},
             {"path":"/extra/mynull","type":"c","major":1,"minor":3}],
  "maskedPaths":["/proc/kcore","/proc/keys","/proc/acpi","/proc/nonexistent","/etc/masked-file"],
  "readonlyPaths":["/proc/sys","/proc/sysrq-trigger","/nonexistent"]}}"#;

fn check_full() -> Result<(), String> {
    ensure(
        std::env::current_dir().map_err(|e| e.to_string())? == Path::new("/"),
        "cwd is not /",
    )?;
    ensure(is_ro("/")?, "/ is not read-only")?;
    ensure(is_ro("/mnt/ro")?, "/mnt/ro is not read-only")?;
    ensure(
        statvfs_flags("/mnt/ro")? & libc::ST_NOSUID != 0,
        "/mnt/ro is not nosuid",
    )?;
    ensure(read("/mnt/ro/f")? == "bound\n", "/mnt/ro/f")?;
    ensure(is_ro("/rro")?, "/rro is not read-only")?;
    ensure(
        read("/etc/hostname")? == "from-bundle\n",
        "/etc/hostname not bound",
    )?;
    ensure(!is_ro("/dev")?, "/dev is read-only")?;
    char_dev("/dev/null", 1, 3, 0o666)?;
    char_dev("/dev/tty", 5, 0, 0o666)?;
    char_dev("/dev/urandom", 1, 9, 0o666)?;
    char_dev("/dev/fuse", 10, 229, 0o600)?;
    char_dev("/extra/mynull", 1, 3, 0o666)?;
    link_is("/dev/fd", "/proc/self/fd")?;
    link_is("/dev/stderr", "/proc/self/fd/2")?;
    link_is("/dev/ptmx", "pts/ptmx")?;
    ensure(
        fs_type("/dev/pts")? == libc::DEVPTS_SUPER_MAGIC,
        "/dev/pts is not devpts",
    )?;
    ensure(
        fs_type("/proc")? == libc::PROC_SUPER_MAGIC,
        "/proc is not procfs",
    )?;
    ensure(fs_type("/sys")? == libc::SYSFS_MAGIC, "/sys is not sysfs")?;
    ensure(is_ro("/sys")?, "/sys is not read-only")?;
    ensure(is_ro("/sys/fs/cgroup")?, "/sys/fs/cgroup is not read-only")?;
    ensure(
        std::path::Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists(),
        "no memory cgroup",
    )?;
    ensure(fs_type("/data")? == libc::TMPFS_MAGIC, "/data is not tmpfs")?;
    ensure(read("/data/a")? == "hello\n", "/data/a not copied up")?;
    link_is("/data/lnk", "a")?;
    let sub = std::fs::metadata("/data/sub").map_err(|e| e.to_string())?;
    ensure(
        sub.mode() & 0o7777 == 0o750,
        format!("/data/sub mode {:o}", sub.mode()),
    )?;
    char_dev("/proc/keys", 1, 3, 0)?;
    ensure(
        fs_type("/proc/acpi")? == libc::TMPFS_MAGIC && is_ro("/proc/acpi")?,
        "/proc/acpi is not masked",
    )?;
    ensure(
        read("/etc/masked-file")?.is_empty(),
        "/etc/masked-file is not masked",
    )?;
    ensure(is_ro("/proc/sys")?, "/proc/sys is not read-only")?;
    ensure(!is_ro("/proc")?, "/proc is read-only")?;
    ensure(
        fs_type("/evil/escape")? == libc::TMPFS_MAGIC,
        "/evil/escape is not a tmpfs",
    )?;
    ensure(
        fs_type("/evil/escape2")? == libc::TMPFS_MAGIC,
        "/evil/escape2 is not a tmpfs",
    )?;
    let info = read("/proc/self/mountinfo")?;
    ensure(
        info.contains(" /sys/fs/cgroup/memory "),
        "no /sys/fs/cgroup/memory in mountinfo",
    )
}

fn run_full(no_pivot: bool) {
    let tb = make_bundle(if no_pivot { "full-nopivot" } else { "full" }, FULL);
    let outside = tb.outside.clone();
    let status = in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot,
            cgroup_ns: false,
        };
        prepare(&opts).map_err(|e| format!("prepare: {e}"))?;
        nothing_mounted_under(&outside)?;
        pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
        finalize(&opts).map_err(|e| format!("finalize: {e}"))?;
        check_full()
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
    let left: Vec<_> = std::fs::read_dir(&tb.outside).unwrap().collect();
    assert!(
        left.is_empty(),
        "the host directory behind a planted symlink was written: {left:?}"
    );
    // The escaping destinations landed inside the rootfs instead.
    let inside = tb.bundle.rootfs.join(tb.outside.strip_prefix("/").unwrap());
    assert!(inside.join("escape").is_dir() && inside.join("escape2").is_dir());
}

fn am_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn full_spec_with_pivot_root() {
    if am_root() {
        run_full(false);
    }
}

#[test]
fn full_spec_with_no_pivot() {
    if am_root() {
        run_full(true);
    }
}

const USERNS: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":true},
 "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
 "mounts":[
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
  {"destination":"/mnt/ro","type":"bind","source":"src-dir","options":["rbind","ro"]},
  {"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","nodev"]}
 ],
 "linux":{"namespaces":[{"type":"mount"},{"type":"user"}],
  "uidMappings":[{"containerID":0,"hostID":0,"size":1}],"gidMappings":[{"containerID":0,"hostID":0,"size":1}],
  "maskedPaths":["/etc/masked-file"],"readonlyPaths":["/tmp"]}}"#;

/// In a new user namespace (root mapped to root only) the host's mount flags are locked
/// and mknod is refused: devices become binds, sysfs falls back to an rbind of /sys.
fn enter_userns() -> Result<(), String> {
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
fn user_namespace_spec() {
    if !am_root() {
        return;
    }
    let tb = make_bundle("userns", USERNS);
    let status = in_child(|| {
        enter_userns()?;
        private_mount_ns(libc::CLONE_NEWNS)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
        };
        prepare(&opts).map_err(|e| format!("prepare: {e}"))?;
        pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
        finalize(&opts).map_err(|e| format!("finalize: {e}"))?;
        char_dev("/dev/null", 1, 3, 0)?;
        char_dev("/dev/zero", 1, 5, 0)?;
        ensure(fs_type("/sys")? == libc::SYSFS_MAGIC, "/sys is not sysfs")?;
        ensure(is_ro("/mnt/ro")?, "/mnt/ro is not read-only")?;
        ensure(is_ro("/")?, "/ is not read-only")?;
        ensure(is_ro("/tmp")?, "/tmp is not read-only")?;
        ensure(
            read("/etc/masked-file")?.is_empty(),
            "/etc/masked-file is not masked",
        )?;
        link_is("/dev/stdin", "/proc/self/fd/0")
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
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
    })
    .unwrap_err();
    assert!(err.to_string().contains("sideways"), "{err}");
}
