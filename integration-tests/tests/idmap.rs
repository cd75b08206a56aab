//! Id-mapped bind mounts in a container with a user namespace: host root's files look
//! root-owned inside through an `idmap` mount, and unmapped (nobody) without it.

use integration_tests::{assets, Ctr};

#[test]
fn idmap_bind_mount_shows_host_root_as_root() {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    // The shared directory lives in the test's work dir (ext4 /tmp here), owned by host 0.
    let shared = c.work().join("shared");
    std::fs::create_dir(&shared).expect("mkdir shared");
    std::fs::write(shared.join("f"), "host\n").expect("write shared file");
    // The mount points exist already: root in the container is host uid 100000 and may
    // not create them in the host-root-owned rootfs.
    for point in ["idmapped", "plain"] {
        std::fs::create_dir(c.bundle.rootfs().join(point)).expect("mkdir mount point");
    }
    let src = shared.to_string_lossy().into_owned();
    c.bundle
        .add_mount("/idmapped", "bind", &src, &["bind", "idmap"]);
    c.bundle.add_mount("/plain", "bind", &src, &["bind"]);
    c.bundle.probe(&[
        "report",
        "--stat",
        "/idmapped/f",
        "--stat",
        "/plain/f",
        "--read",
        "/idmapped/f",
    ]);
    let out = c.run(&[]);
    if out.code != 0 {
        // The kernel refuses idmapped mounts on some filesystems (EINVAL from
        // mount_setattr); ext4 and tmpfs allow them on 6.18. Name the filesystem.
        let fs = integration_tests::host::sh(&format!("stat -f -c %T {src}"));
        panic!(
            "idmap mount failed on {src} ({} filesystem): {out}",
            fs.trim()
        );
    }
    let r = out.json();
    c.assert_gone(None);
    let idm = &r["stat"]["/idmapped/f"];
    let plain = &r["stat"]["/plain/f"];
    if assets::is_runc() && idm["uid"] != 0 {
        eprintln!("idmap not checked on runc 1.1.5: it ignores the idmap option (1.2 has it)");
        return;
    }
    assert_eq!(
        (idm["uid"].as_i64(), idm["gid"].as_i64()),
        (Some(0), Some(0)),
        "through idmap, host root's file is root's: {idm}"
    );
    let overflow: i64 = std::fs::read_to_string("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65534);
    assert_eq!(
        plain["uid"].as_i64(),
        Some(overflow),
        "without idmap, host root is unmapped (nobody): {plain}"
    );
    assert_eq!(r["read"]["/idmapped/f"], "host\n");
    // The mapping is a view: on the host the file is still root's.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(shared.join("f")).unwrap().uid(), 0);
}

/// A bind mount with `uidMappings`/`gidMappings` and neither `idmap` nor `ridmap` is
/// id-mapped all the same (never silently mounted without the mapping), recursively for
/// an `rbind`, as crun does: here with the container's own mapping, as Kubernetes asks
/// for user-namespaced pods. A host tmpfs below the shared directory shows whether the
/// mapping reached the submount. A mapping on a mount that is no bind is refused.
#[test]
fn mappings_without_the_option_are_applied_recursively_for_rbind() {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    let shared = c.work().join("shared");
    std::fs::create_dir_all(shared.join("sub")).unwrap();
    std::fs::write(shared.join("f"), "host\n").unwrap();
    let sub = shared.join("sub");
    integration_tests::host::sh(&format!("mount -t tmpfs quai-idmap-sub {}", sub.display()));
    std::fs::write(sub.join("g"), "sub\n").unwrap();
    for point in ["bound", "rbound"] {
        std::fs::create_dir(c.bundle.rootfs().join(point)).unwrap();
    }
    let maps = serde_json::json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    let src = shared.to_string_lossy().into_owned();
    for (dest, opt) in [("/bound", "bind"), ("/rbound", "rbind")] {
        c.bundle.push(
            "/mounts",
            serde_json::json!({
                "destination": dest, "type": "bind", "source": src, "options": [opt],
                "uidMappings": maps, "gidMappings": maps
            }),
        );
    }
    c.bundle.probe(&[
        "report",
        "--stat",
        "/bound/f",
        "--stat",
        "/rbound/f",
        "--stat",
        "/rbound/sub/g",
    ]);
    let out = c.run(&[]);
    integration_tests::host::lazy_unmount(sub.to_str().unwrap());
    let r = out.ok().json();
    c.assert_gone(None);
    for path in ["/bound/f", "/rbound/f", "/rbound/sub/g"] {
        let s = &r["stat"][path];
        if assets::is_runc() && s["uid"] != 0 {
            eprintln!("runc 1.1.5 ignores mount mappings: {path} {s}");
            return;
        }
        assert_eq!(
            (s["uid"].as_i64(), s["gid"].as_i64()),
            (Some(0), Some(0)),
            "{path}: host root's file through the mapped mount is root's: {s}"
        );
    }

    let mut c = Ctr::new();
    c.bundle.push(
        "/mounts",
        serde_json::json!({
            "destination": "/t", "type": "tmpfs", "source": "tmpfs",
            "uidMappings": maps, "gidMappings": maps
        }),
    );
    let out = c.create(&[]);
    integration_tests::check::one_clear_error(&c, out, &["bind mounts only"]);
}

/// Mounts with mappings of their own, not the container's: `idmap` and `ridmap` with
/// explicit `uidMappings`/`gidMappings` map the host's root to container id 5 through
/// the mount (host 100005 in the container's namespace), while the container's own
/// mapping stays 0 -> 100000.
#[test]
fn idmap_with_mappings_of_its_own() {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    let shared = c.work().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("f"), "host\n").unwrap();
    let maps = serde_json::json!([{ "containerID": 0, "hostID": 100005, "size": 1 }]);
    // `idmap` on a bind and `ridmap` on an rbind, each with the mount's own mappings.
    for (dest, opts) in [("/own", ["bind", "idmap"]), ("/rown", ["rbind", "ridmap"])] {
        std::fs::create_dir(c.bundle.rootfs().join(&dest[1..])).unwrap();
        c.bundle.push(
            "/mounts",
            serde_json::json!({
                "destination": dest, "type": "bind",
                "source": shared.to_string_lossy(), "options": opts,
                "uidMappings": maps, "gidMappings": maps
            }),
        );
    }
    c.bundle
        .probe(&["report", "--stat", "/own/f", "--stat", "/rown/f"]);
    let r = c.run(&[]).ok().json();
    c.assert_gone(None);
    for path in ["/own/f", "/rown/f"] {
        let s = &r["stat"][path];
        if assets::is_runc() && s["uid"] != 5 {
            eprintln!("runc 1.1.5 ignores idmap: {s}");
            return;
        }
        assert_eq!(
            (s["uid"].as_i64(), s["gid"].as_i64()),
            (Some(5), Some(5)),
            "{path}: {s}"
        );
    }
}

/// A source on a filesystem the kernel cannot id-map (sysfs) is refused with one clear
/// error, leaving nothing behind.
#[test]
fn a_filesystem_that_cannot_be_idmapped_is_one_clear_error() {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    std::fs::create_dir(c.bundle.rootfs().join("k")).unwrap();
    c.bundle
        .add_mount("/k", "bind", "/sys/kernel", &["bind", "idmap"]);
    let out = c.create(&[]);
    if assets::is_runc() && out.code == 0 {
        eprintln!("runc 1.1.5 ignores idmap");
        return;
    }
    integration_tests::check::one_clear_error(&c, out, &["cannot be id-mapped"]);
}
