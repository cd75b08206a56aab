//! Smaller cases: cgroup namespaces, read-only /dev with shared root propagation, and
//! the refusals (planted /proc symlink, mounts inside /proc, idmap without a way to do it).

use super::*;
use crate::rootfs::{finalize, pivot, prepare, RootfsError, RootfsOptions};

/// A minimal config with these mounts and extra `linux` fields.
pub(super) fn config(mounts: &str, linux_extra: &str) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
        "process":{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
        "mounts":[{mounts}],
        "linux":{{"namespaces":[{{"type":"mount"}}]{linux_extra}}}}}"#
    )
}

/// Runs prepare in a child with a private mount namespace and hands its result to `check`.
pub(super) fn prepare_in_child(
    tb: &TestBundle,
    check: impl FnOnce(Result<(), RootfsError>) -> Result<(), String>,
) -> i32 {
    in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS)?;
        check(prepare(&RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
            host_mounts: None,
        }))
    })
}

#[test]
fn cgroup_namespace_mounts_each_hierarchy() {
    if !am_root() {
        return;
    }
    let m = r#"{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","ro"]}"#;
    let tb = make_bundle("cgroupns", &config(m, ""));
    let status = in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS | libc::CLONE_NEWCGROUP)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: true,
            host_mounts: None,
        };
        prepare(&opts).map_err(|e| format!("prepare: {e}"))?;
        pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
        finalize(&opts).map_err(|e| format!("finalize: {e}"))?;
        ensure(
            fs_type("/sys/fs/cgroup")? == libc::TMPFS_MAGIC,
            "/sys/fs/cgroup is not a tmpfs",
        )?;
        // Whatever the host has, each hierarchy is a cgroup mount, read-only, in a tmpfs
        // left read-write, as runc makes them.
        cgroup_mount_ro_as_runc()
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}

#[test]
fn readonly_dev_and_shared_root() {
    if !am_root() {
        return;
    }
    let m = r#"{"destination":"/proc","type":"proc","source":"proc"},
        {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755","ro"]}"#;
    let tb = make_bundle("devro", &config(m, r#","rootfsPropagation":"rshared""#));
    let status = in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
            host_mounts: None,
        };
        prepare(&opts).map_err(|e| format!("prepare: {e}"))?;
        pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
        finalize(&opts).map_err(|e| format!("finalize: {e}"))?;
        ensure(is_ro("/dev")?, "/dev is not read-only")?;
        char_dev("/dev/null", 1, 3, 0o666)?;
        let info = crate::mountinfo::parse(&read("/proc/self/mountinfo")?);
        let root = info
            .iter()
            .find(|m| m.mount_point == Path::new("/"))
            .ok_or("no / in mountinfo")?;
        ensure(
            root.optional.iter().any(|o| o.starts_with("shared:")),
            format!("/ is not shared: {root:?}"),
        )
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}

#[test]
fn planted_proc_symlink_is_refused() {
    if !am_root() {
        return;
    }
    let tb = make_bundle(
        "procsym",
        &config(
            r#"{"destination":"/proc","type":"proc","source":"proc"}"#,
            "",
        ),
    );
    std::os::unix::fs::symlink("/etc", tb.bundle.rootfs.join("proc")).unwrap();
    let status = prepare_in_child(&tb, |r| match r {
        Err(e @ RootfsError::WrongType { .. }) => {
            ensure(e.to_string().contains("/proc"), e.to_string())
        }
        other => Err(format!("expected a refusal, got {other:?}")),
    });
    assert_eq!(status, 0);
}

#[test]
fn mounts_inside_proc_are_refused() {
    if !am_root() {
        return;
    }
    let m = r#"{"destination":"/proc","type":"proc","source":"proc"},
        {"destination":"/proc/sys/x","type":"tmpfs","source":"tmpfs"}"#;
    let tb = make_bundle("inproc", &config(m, ""));
    let status = prepare_in_child(&tb, |r| match r {
        Err(e @ RootfsError::Refused { .. }) => {
            ensure(e.to_string().contains("inside /proc"), e.to_string())
        }
        other => Err(format!("expected a refusal, got {other:?}")),
    });
    assert_eq!(status, 0);
}

#[test]
fn idmap_without_user_namespace_is_a_clear_error() {
    if !am_root() {
        return;
    }
    let m =
        r#"{"destination":"/mnt","type":"bind","source":"src-dir","options":["rbind","idmap"]}"#;
    let tb = make_bundle("idmap", &config(m, ""));
    let status = prepare_in_child(&tb, |r| match r {
        Err(e @ RootfsError::Unsupported { .. }) => {
            ensure(e.to_string().contains("idmap"), e.to_string())
        }
        other => Err(format!("expected Unsupported, got {other:?}")),
    });
    assert_eq!(status, 0);
}
