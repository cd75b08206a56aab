//! Joining another container's namespaces by path (pid, ipc, user), and every namespace
//! type at once.

use integration_tests::{host, json, Ctr, Value};

/// Container A: `probe sleep forever` in the background; returns it and its host pid.
fn sleeper(configure: impl FnOnce(&mut Ctr)) -> (Ctr, i32) {
    let mut a = Ctr::new();
    a.bundle.probe(&["sleep", "forever"]);
    configure(&mut a);
    a.run(&["--detach"]).ok();
    let pid = a.pid();
    (a, pid)
}

fn link(r: &Value, kind: &str) -> String {
    r["namespaces"][kind]
        .as_str()
        .unwrap_or_else(|| panic!("no {kind} namespace in the report: {r}"))
        .to_string()
}

#[test]
fn join_pid_namespace_by_path() {
    let (_a, pid) = sleeper(|_| {});
    let a_pid_ns = host::pid_ns_link(pid, "pid").expect("A's pid namespace");
    assert_ne!(
        a_pid_ns,
        host::ns_link("pid"),
        "A has a pid namespace of its own"
    );
    let mut b = Ctr::new();
    b.bundle
        .namespace("pid", Some(&format!("/proc/{pid}/ns/pid")));
    let r = b.report(&[]);
    assert_eq!(link(&r, "pid"), a_pid_ns);
    // A's sleeper is PID 1 there, so B's process is not.
    assert_ne!(r["pid"], 1, "{r}");
}

#[test]
fn join_ipc_namespace_by_path() {
    let (_a, pid) = sleeper(|_| {});
    let a_ipc = host::pid_ns_link(pid, "ipc").expect("A's ipc namespace");
    assert_ne!(a_ipc, host::ns_link("ipc"));
    let mut b = Ctr::new();
    b.bundle
        .namespace("ipc", Some(&format!("/proc/{pid}/ns/ipc")));
    let r = b.report(&[]);
    assert_eq!(link(&r, "ipc"), a_ipc);
}

/// Container A owning a user namespace that maps 0 -> 100000.
fn userns_sleeper() -> (Ctr, i32, String) {
    let (a, pid) = sleeper(|a| {
        a.bundle.userns(100000, 65536);
        a.bundle.remove_mount("/sys/fs/cgroup");
    });
    let a_user = host::pid_ns_link(pid, "user").expect("A's user namespace");
    assert_ne!(a_user, host::ns_link("user"));
    (a, pid, a_user)
}

/// B joins A's user namespace by path and brings no mappings of its own.
fn joining_user_of(pid: i32) -> Ctr {
    let mut b = Ctr::new();
    b.bundle
        .namespace("user", Some(&format!("/proc/{pid}/ns/user")));
    if integration_tests::assets::is_runc() {
        // runc 1.1.5 insists on mappings even when joining ("no uid mappings found");
        // the spec (and quai) take them from the namespace joined.
        b.bundle.userns(100000, 65536);
        b.bundle
            .namespace("user", Some(&format!("/proc/{pid}/ns/user")));
    } else {
        b.bundle.remove("/linux/uidMappings");
        b.bundle.remove("/linux/gidMappings");
    }
    // As for any user namespace container: the cgroup filesystem belongs to the host's.
    b.bundle.remove_mount("/sys/fs/cgroup");
    b
}

/// B is root in A's user namespace and sees A's mapping.
#[track_caller]
fn assert_root_in(r: &Value, a_user: &str) {
    assert_eq!(link(r, "user"), a_user);
    assert_eq!(
        (r["uid"].as_i64(), r["gid"].as_i64()),
        (Some(0), Some(0)),
        "{r}"
    );
    let map: Vec<&str> = r["read"]["/proc/self/uid_map"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(map, ["0", "100000", "65536"], "B sees A's mapping");
}

// Passes on runc. quai bug: after joining a user namespace by path the init never
// takes the namespace's root ids (process/init.rs calls become_namespace_root only for a
// new user namespace), so it still has host uid 0, unmapped there, and its first mkdir
// fails: "create mount point /dev/pts: Value too large for defined data type (os error 75)".
// Run it with `--ignored` once that is fixed.
#[test]
fn join_user_and_pid_namespaces_by_path() {
    // The pod pattern: B shares A's user and pid namespaces (a pid namespace owned by
    // A's user namespace, where B may mount its /proc).
    let (_a, pid, a_user) = userns_sleeper();
    let mut b = joining_user_of(pid);
    b.bundle
        .namespace("pid", Some(&format!("/proc/{pid}/ns/pid")));
    let r = b.report(&["--read", "/proc/self/uid_map"]);
    assert_root_in(&r, &a_user);
    assert_eq!(Some(link(&r, "pid")), host::pid_ns_link(pid, "pid"));
}

#[test]
fn join_user_namespace_with_a_new_pid_namespace() {
    let (_a, pid, a_user) = userns_sleeper();
    let mut b = joining_user_of(pid);
    b.bundle.probe(&["report", "--read", "/proc/self/uid_map"]);
    // The new pid namespace must belong to the joined user namespace: the init forks
    // once more inside it (runc's nsexec does the same).
    let r = b.run(&[]).ok().json();
    b.assert_gone(None);
    assert_root_in(&r, &a_user);
    assert_ne!(Some(link(&r, "pid")), host::pid_ns_link(pid, "pid"));
    assert_eq!(r["pid"], 1);
}

#[test]
fn all_eight_namespace_types_differ_from_host() {
    let mut c = Ctr::new();
    c.bundle
        .namespaces(&["pid", "network", "ipc", "uts", "mount", "cgroup", "time"]);
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    let out = {
        c.bundle.probe(&["report"]);
        c.run(&[])
    };
    if integration_tests::assets::is_runc() && out.code != 0 {
        eprintln!("not checked on runc: runc 1.1.5 has no time namespace support");
        return;
    }
    let r = out.ok().json();
    c.assert_gone(None);
    for kind in ["pid", "net", "ipc", "uts", "mnt", "cgroup", "time", "user"] {
        assert_ne!(link(&r, kind), host::ns_link(kind), "{kind} should be new");
    }
    // The init is PID 1 of the new pid namespace; the time namespace applies to children
    // born after it was made, which the container's process is.
    assert_eq!(r["pid"], 1);
    assert_eq!(r["uid"], json!(0));
}

/// A namespace path that is not a namespace file — a FIFO (whose plain open would block
/// `create`, holding the container's lock, until someone wrote to it), a regular file,
/// a directory, a device — is refused with one clear error, at once, leaving nothing.
#[test]
fn a_namespace_path_that_is_not_a_namespace_file_is_refused() {
    use integration_tests::out::try_wait_deadline;
    let scratch = integration_tests::TempDir::new("nspath");
    let fifo = scratch.join("fifo");
    let c_fifo = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let file = scratch.join("file");
    std::fs::write(&file, "").unwrap();
    let (fifo, file) = (fifo.to_str().unwrap(), file.to_str().unwrap());
    for (kind, path) in [
        ("network", fifo),
        ("pid", fifo),
        ("ipc", file),
        ("uts", scratch.path().to_str().unwrap()),
        ("network", "/dev/null"),
    ] {
        let mut c = Ctr::new();
        c.bundle.namespace(kind, Some(path));
        c.bundle.save();
        let [b, dir] = c.bundle_args();
        let mut child = c.spawn(&["create", &b, &dir, &c.id], "create");
        let code = try_wait_deadline(&mut child, "create").unwrap_or_else(|e| {
            panic!("{kind} namespace at {path}: {e}");
        });
        let err = std::fs::read_to_string(c.work().join("out/create.err")).unwrap();
        assert_eq!(code, 1, "{kind} namespace at {path}: {err}");
        assert!(
            err.contains("not a namespace file") && err.lines().count() == 1,
            "{kind} namespace at {path}: {err}"
        );
        c.assert_gone(None);
    }
}
