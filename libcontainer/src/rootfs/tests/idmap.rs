//! Id-mapped mounts prepared outside the container's user namespace and attached inside.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use super::*;
use crate::rootfs::idmap::userns_with_maps;
use crate::rootfs::{open_prepared_sources, pivot, prepare_with, RootfsOptions};
use crate::spec::LinuxIdMapping;

fn mapping(container: u32, host: u32, size: u32) -> LinuxIdMapping {
    serde_json::from_str(&format!(
        r#"{{"containerID":{container},"hostID":{host},"size":{size}}}"#
    ))
    .unwrap()
}

fn config(mount_extra: &str) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
        "process":{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
        "mounts":[{{"destination":"/mnt/id","type":"bind","source":"src-dir","options":["rbind","idmap"]{mount_extra}}}],
        "linux":{{"namespaces":[{{"type":"mount"}}]}}}}"#
    )
}

#[test]
fn mount_mappings_shift_owners() {
    if !am_root() {
        return;
    }
    let maps = r#","uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
        "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]"#;
    let tb = make_bundle("idmap-own", &config(maps));
    let status = in_child(|| {
        private_mount_ns(libc::CLONE_NEWNS)?;
        let sources = open_prepared_sources(&tb.bundle, None, false)
            .map_err(|e| format!("open sources: {e}"))?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
            host_mounts: None,
        };
        prepare_with(
            &opts,
            &sources,
            &crate::procfs::ProcHandle::open().map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("prepare: {e}"))?;
        pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
        let md = std::fs::metadata("/mnt/id/f").map_err(|e| e.to_string())?;
        // On disk the file is root's; through the mapped mount it belongs to 100000.
        ensure(
            md.uid() == 100000 && md.gid() == 100000,
            format!("owner {}:{}", md.uid(), md.gid()),
        )?;
        ensure(read("/mnt/id/f")? == "bound\n", "content")
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}

#[test]
fn parent_prepared_mount_attaches_inside_user_namespace() {
    if !am_root() {
        return;
    }
    let tb = make_bundle("idmap-userns", &config(""));
    let status = in_child(|| {
        // The "container's" user namespace: root is root, and 1.. are shifted.
        let ns = userns_with_maps(
            &[mapping(0, 0, 1), mapping(1, 100001, 1000)],
            &[mapping(0, 0, 1)],
        )
        .map_err(|e| format!("userns: {e}"))?;
        let sources = open_prepared_sources(&tb.bundle, Some(std::os::fd::AsFd::as_fd(&ns)), true)
            .map_err(|e| format!("open sources: {e}"))?;
        // Now become the init: inside the user namespace, then a new mount namespace.
        // SAFETY: the forked child is single-threaded.
        if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWUSER) } != 0 {
            return Err(format!("setns: {}", std::io::Error::last_os_error()));
        }
        private_mount_ns(libc::CLONE_NEWNS)?;
        let opts = RootfsOptions {
            bundle: &tb.bundle,
            no_pivot: false,
            cgroup_ns: false,
            host_mounts: None,
        };
        prepare_with(
            &opts,
            &sources,
            &crate::procfs::ProcHandle::open().map_err(|e| e.to_string())?,
        )
        .map_err(|e| format!("prepare: {e}"))?;
        pivot(&opts).map_err(|e| format!("pivot: {e}"))?;
        ensure(read("/mnt/id/f")? == "bound\n", "content")?;
        let md = std::fs::metadata("/mnt/id/f").map_err(|e| e.to_string())?;
        ensure(md.uid() == 0, format!("owner {}", md.uid()))
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}
