//! The whole sequence on a full spec, as root without a user namespace.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::*;
use crate::rootfs::{finalize, pivot, prepare, RootfsOptions};

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
    cgroup_mount_ro_as_runc()?;
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
            host_mounts: None,
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
