//! The whole sequence inside a user namespace: locked flags, no mknod, no new sysfs.

use super::*;
use crate::rootfs::{finalize, pivot, prepare, RootfsOptions};

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
            host_mounts: None,
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
fn idmap_inside_user_namespace_is_a_clear_error() {
    if !am_root() {
        return;
    }
    let cfg = USERNS.replace(
        r#""mounts":["#,
        r#""mounts":[{"destination":"/mnt/id","type":"bind","source":"src-dir","options":["rbind","idmap"]},"#,
    );
    let tb = make_bundle("userns-idmap", &cfg);
    let status = in_child(|| {
        enter_userns()?;
        private_mount_ns(libc::CLONE_NEWNS)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
            host_mounts: None,
        };
        match prepare(&opts) {
            Err(e @ crate::rootfs::RootfsError::Unsupported { .. }) => {
                ensure(e.to_string().contains("/mnt/id"), e.to_string())
            }
            other => Err(format!("expected Unsupported, got {other:?}")),
        }
    });
    assert_eq!(status, 0);
}
