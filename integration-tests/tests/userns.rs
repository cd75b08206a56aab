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
