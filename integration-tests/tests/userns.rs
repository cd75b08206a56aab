//! User namespaces: root inside, an unprivileged id outside.

use integration_tests::{host, Ctr};

/// A bundle whose rootfs is readable by the mapped ids (the files stay host-root owned,
/// which is fine: the probe only reads and executes them).
fn userns_ctr() -> Ctr {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    // A cgroup filesystem cannot be mounted from a user namespace that does not own the
    // cgroup namespace; sysfs likewise needs the network namespace (which we have).
    c.bundle.remove_mount("/sys/fs/cgroup");
    c
}

#[test]
fn root_inside_is_mapped_outside() {
    let mut c = userns_ctr();
    let r = c.report(&[]);
    assert_eq!(
        (r["uid"].as_i64(), r["gid"].as_i64()),
        (Some(0), Some(0)),
        "{r}"
    );
    assert_ne!(r["namespaces"]["user"], host::ns_link("user"));

    c.bundle.probe(&[
        "report",
        "--read",
        "/proc/self/uid_map",
        "--read",
        "/proc/self/gid_map",
    ]);
    let r = c.run(&[]).ok().json();
    let uid_map: Vec<String> = r["read"]["/proc/self/uid_map"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(uid_map, ["0", "100000", "65536"]);
    let gid_map: Vec<String> = r["read"]["/proc/self/gid_map"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(gid_map, ["0", "100000", "65536"]);
}

#[test]
fn host_sees_the_mapped_uid() {
    let mut c = userns_ctr();
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    c.start().ok();
    let pid = c.pid();
    let uid = host::proc_status(pid, "Uid").expect("status of the container process");
    let gid = host::proc_status(pid, "Gid").expect("status of the container process");
    assert_eq!(uid.split_whitespace().collect::<Vec<_>>(), ["100000"; 4]);
    assert_eq!(gid.split_whitespace().collect::<Vec<_>>(), ["100000"; 4]);
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn non_root_user_inside_userns() {
    let mut c = userns_ctr();
    c.bundle.set(
        "/process/user",
        serde_json::json!({ "uid": 1000, "gid": 1000 }),
    );
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let uid = host::proc_status(pid, "Uid").unwrap();
    assert_eq!(uid.split_whitespace().next(), Some("101000"));
}

/// Bind sources under directories only the host's root may enter (a private 0700
/// bundle, runc's userns.bats) still work: the runtime opens them before the init, which
/// is in the user namespace from its start, could.
#[test]
fn bind_sources_the_mapped_root_cannot_reach() {
    use std::os::unix::fs::PermissionsExt;
    let mut c = userns_ctr();
    for n in ["1", "2"] {
        let dir = c.bundle.dir().join(format!("private-{n}"));
        std::fs::create_dir_all(dir.join("dir")).unwrap();
        std::fs::write(dir.join("dir/foo.txt"), format!("secret {n}\n")).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        // The rootfs belongs to the host's root: the mapped root cannot make the targets.
        std::fs::create_dir_all(c.bundle.rootfs().join(format!("mnt/m{n}"))).unwrap();
        c.bundle.add_mount(
            &format!("/mnt/m{n}"),
            "bind",
            &format!("private-{n}/dir"),
            &["bind"],
        );
    }
    c.bundle.probe(&[
        "report",
        "--read",
        "/mnt/m1/foo.txt",
        "--read",
        "/mnt/m2/foo.txt",
    ]);
    let r = c.run(&[]).ok().json();
    assert_eq!(r["read"]["/mnt/m1/foo.txt"], "secret 1\n", "{r}");
    assert_eq!(r["read"]["/mnt/m2/foo.txt"], "secret 2\n", "{r}");
}
