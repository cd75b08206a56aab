//! /dev: default devices, linux.devices, standard symlinks.

use integration_tests::{json, Ctr, Value};

fn dev(r: &Value, path: &str) -> (String, i64, i64, String) {
    let s = &r["stat"][path];
    assert_eq!(s["exists"], true, "{path} is missing: {s}");
    (
        s["type"].as_str().unwrap_or("").to_string(),
        s["major"].as_i64().unwrap_or(-1),
        s["minor"].as_i64().unwrap_or(-1),
        s["mode"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn default_devices() {
    let mut c = Ctr::new();
    let wanted = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    let mut args = vec![];
    for (p, _, _) in &wanted {
        args.extend(["--stat", *p]);
    }
    let r = c.report(&args);
    for (p, major, minor) in wanted {
        assert_eq!(
            dev(&r, p),
            ("char".to_string(), major, minor, "0666".to_string()),
            "{p}"
        );
    }
}

#[test]
fn standard_symlinks() {
    let mut c = Ctr::new();
    let links = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
        ("/dev/ptmx", "pts/ptmx"),
    ];
    let mut args = vec!["--stat", "/dev/shm", "--stat", "/dev/pts/ptmx"];
    for (p, _) in &links {
        args.extend(["--stat", *p]);
    }
    let r = c.report(&args);
    for (p, target) in links {
        assert_eq!(r["stat"][p]["type"], "symlink", "{p}: {}", r["stat"][p]);
        assert_eq!(r["stat"][p]["target"], target, "{p}");
    }
    assert_eq!(r["stat"]["/dev/shm"]["type"], "dir");
    assert_eq!(r["stat"]["/dev/pts/ptmx"]["type"], "char");
}

#[test]
fn linux_devices_are_created() {
    let mut c = Ctr::new();
    c.bundle.set(
        "/linux/devices",
        json!([
            { "path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001 },
            { "path": "/dev/myloop", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600, "uid": 0, "gid": 0 },
            { "path": "/dev/sub/myfifo", "type": "p", "fileMode": 0o620 },
            // runtime-tools gives a fifo numbers, which mknod ignores: still a fifo.
            { "path": "/dev/numbered-fifo", "type": "p", "major": 8, "minor": 666 }
        ]),
    );
    let r = c.report(&[
        "--stat",
        "/dev/mynull",
        "--stat",
        "/dev/myloop",
        "--stat",
        "/dev/sub/myfifo",
        "--stat",
        "/dev/numbered-fifo",
    ]);
    assert_eq!(r["stat"]["/dev/numbered-fifo"]["type"], "fifo");
    assert_eq!(dev(&r, "/dev/mynull"), ("char".into(), 1, 3, "0640".into()));
    assert_eq!(
        (
            r["stat"]["/dev/mynull"]["uid"].as_i64(),
            r["stat"]["/dev/mynull"]["gid"].as_i64()
        ),
        (Some(1000), Some(1001))
    );
    assert_eq!(
        dev(&r, "/dev/myloop"),
        ("block".into(), 7, 0, "0600".into())
    );
    assert_eq!(r["stat"]["/dev/sub/myfifo"]["type"], "fifo");
    assert_eq!(r["stat"]["/dev/sub/myfifo"]["mode"], "0620");
}

#[test]
fn devices_in_a_user_namespace_are_bind_mounted() {
    // mknod is not allowed in a user namespace: the runtime binds the host's node instead.
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    let r = c.report(&["--stat", "/dev/null", "--stat", "/dev/zero"]);
    assert_eq!(dev(&r, "/dev/null").0, "char");
    assert_eq!((dev(&r, "/dev/zero").1, dev(&r, "/dev/zero").2), (1, 5));
}

#[test]
fn default_devices_usable_under_a_deny_all_device_rule() {
    // `runc spec` writes this rule; the default devices must still work under it.
    let mut c = Ctr::new();
    c.bundle.set(
        "/linux/resources",
        json!({ "devices": [{ "allow": false, "access": "rwm" }] }),
    );
    c.bundle.probe(&["write", "/dev/null"]);
    let w = c.run(&[]).ok().json();
    assert_eq!(w["ok"], true, "{w}");
}
