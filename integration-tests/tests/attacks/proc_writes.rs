//! Class: the runtime's writes to `/proc` redirected by a mount (CVE-2025-52881). runc
//! wrote sysctls, `oom_score_adj` and LSM labels through `/proc` paths; a mount raced
//! over one of those files (through a shared-propagation volume of a second container)
//! turned the write into a write to whatever the attacker bound there — a host file, or
//! `/proc/sys/kernel/core_pattern`. Here the racing mount is made at the worst moment
//! without any luck: a `createContainer` hook, run by the init in the container's mount
//! namespace after the mounts and before the writes, binds a host file over the very
//! procfs files the runtime will write, in the init's own `/proc` and the container's.
//! Every `/proc` write goes through the verified procfs handle, never crossing a mount:
//! create fails with one clear error, or the value reaches the kernel; the host file
//! behind the mount is never written.

use integration_tests::check::one_clear_error;
use integration_tests::{json, Ctr, TempDir};

/// A host file the attacker binds over procfs files.
fn victim() -> TempDir {
    let v = TempDir::new("victim");
    std::fs::write(v.join("keep.txt"), "host\n").unwrap();
    v
}

/// Adds the hook binding `victim/keep.txt` over `rel` below `/proc`, in the init's
/// procfs (where `$PID` is the init's host PID) and in the container's (where it is 1).
fn bind_over_proc(c: &mut Ctr, v: &TempDir, rel: &str) {
    let file = v.join("keep.txt");
    let rootfs = c.bundle.rootfs().to_path_buf();
    let script = format!(
        "PID=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p'); \
         mount --bind {f} /proc/{rel} && mount --bind {f} {r}/proc/{inner}",
        f = file.display(),
        r = rootfs.display(),
        inner = rel.replace("$PID", "1"),
    );
    c.bundle.add_hook(
        "createContainer",
        "/bin/sh",
        &["sh", "-c", &script],
        &[],
        None,
    );
}

/// The file was written through the mount, or create went ahead and the value did not
/// reach the kernel (`reached(pid)`), or it failed without one clear error.
#[track_caller]
fn judge(
    c: &Ctr,
    v: &TempDir,
    out: integration_tests::Out,
    what: &str,
    reached: impl Fn(i32) -> bool,
) {
    let kept = std::fs::read_to_string(v.join("keep.txt")).unwrap();
    assert_eq!(
        kept, "host\n",
        "{what}: the runtime wrote through the mount"
    );
    if out.code == 0 {
        let pid = c.pid();
        let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
        assert!(
            info.lines().any(|l| l.contains("/keep.txt ")),
            "{what}: the hook's mount is not in the container: {info}"
        );
        assert!(
            reached(pid),
            "{what}: create succeeded but the value was not set"
        );
        c.delete(&["--force"]).ok();
        c.assert_gone(None);
    } else {
        eprintln!("{what}: refused: {}", out.stderr.trim());
        one_clear_error(c, out, &["cross-device"]);
    }
    let left = integration_tests::host::mounts_mentioning(v.path());
    assert!(
        left.is_empty(),
        "{what}: a mount reached the host: {left:?}"
    );
}

#[test]
fn a_sysctl_write_is_not_redirected_by_a_mount() {
    let v = victim();
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle
        .set("/linux/sysctl", json!({ "kernel.domainname": "raced" }));
    bind_over_proc(&mut c, &v, "sys/kernel/domainname");
    let out = c.create(&[]);
    judge(&c, &v, out, "sysctl kernel.domainname", |pid| {
        let uts = format!("--uts=/proc/{pid}/ns/uts");
        let got =
            integration_tests::host::sh(&format!("nsenter {uts} cat /proc/sys/kernel/domainname"));
        got.trim() == "raced"
    });
}

#[test]
fn oom_score_adj_is_not_redirected_by_a_mount() {
    let v = victim();
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.set("/process/oomScoreAdj", json!(500));
    bind_over_proc(&mut c, &v, "$PID/oom_score_adj");
    let out = c.create(&[]);
    judge(&c, &v, out, "oom_score_adj", |pid| {
        let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj"));
        adj.is_ok_and(|a| a.trim() == "500")
    });
}
