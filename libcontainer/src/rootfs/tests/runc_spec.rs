//! The configs `runc spec` and `runc spec --rootless` write, run whole: what engines
//! send most often.

use super::*;
use crate::rootfs::{finalize, pivot, prepare, RootfsOptions};

/// `runc spec [--rootless]` output, or None when runc is not installed.
fn runc_spec(rootless: bool) -> Option<String> {
    let dir =
        std::env::temp_dir().join(format!("quai-runc-spec-{rootless}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let mut cmd = std::process::Command::new("runc");
    cmd.arg("spec").arg("--bundle").arg(&dir);
    if rootless {
        cmd.arg("--rootless");
    }
    let ok = cmd.status().ok()?.success();
    let text = std::fs::read_to_string(dir.join("config.json")).ok();
    let _ = std::fs::remove_dir_all(&dir);
    text.filter(|_| ok)
}

fn run_and_check(tb: &TestBundle) -> Result<(), String> {
    let opts = RootfsOptions {
        bundle: &tb.bundle,
        no_pivot: false,
        cgroup_ns: false,
        host_mounts: None,
    };
    prepare(&opts).map_err(|e| format!("prepare: {e}"))?;
    pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
    finalize(&opts).map_err(|e| format!("finalize: {e}"))?;
    char_dev("/dev/null", 1, 3, 0)?;
    link_is("/dev/ptmx", "pts/ptmx")?;
    ensure(
        fs_type("/dev/mqueue")? == 0x19800202,
        "/dev/mqueue is not mqueue",
    )?;
    ensure(
        fs_type("/proc")? == libc::PROC_SUPER_MAGIC,
        "/proc is not procfs",
    )?;
    ensure(is_ro("/proc/sys")?, "/proc/sys is not read-only")?;
    ensure(read("/proc/keys")?.is_empty(), "/proc/keys is not masked")?;
    ensure(is_ro("/sys")?, "/sys is not read-only")?;
    cgroup_mount_ro_as_runc()?;
    ensure(
        std::path::Path::new("/sys/fs/cgroup/memory").is_dir(),
        "no /sys/fs/cgroup/memory",
    )
}

#[test]
fn runc_default_spec() {
    let Some(cfg) = runc_spec(false).filter(|_| am_root()) else {
        return;
    };
    let tb = make_bundle("runc-spec", &cfg);
    let status = in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS)?;
        run_and_check(&tb)
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}

#[test]
fn runc_rootless_spec() {
    let Some(cfg) = runc_spec(true).filter(|_| am_root()) else {
        return;
    };
    let tb = make_bundle("runc-rootless", &cfg);
    let status = in_child(|| {
        enter_userns()?;
        private_mount_ns(
            libc::CLONE_NEWNS | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS | libc::CLONE_NEWPID,
        )?;
        // procfs needs a process inside the new PID namespace: its first child.
        let code = in_child(|| run_and_check(&tb));
        ensure(code == 0, format!("the init exited {code}"))
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}
