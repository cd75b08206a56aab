//! `linux.netDevices`: a host interface (one end of a veth pair each test makes and
//! removes; this kernel has no dummy driver) is
//! moved into the container's network namespace by `create`, renamed when asked, and
//! moved back to the host under its own name by `delete`. runc 1.1.5 predates the
//! field (runc 1.3 has it) and ignores it: against runc the tests say so and stop.

use integration_tests::assets::is_runc;
use integration_tests::check::one_clear_error;
use integration_tests::{host, json, Ctr};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn runc_lacks() -> bool {
    if is_runc() {
        eprintln!("linux.netDevices not checked on runc: runc 1.1.5 ignores it (runc 1.3 has it)");
    }
    is_runc()
}

/// A veth pair on the host, `<name>` and `<name>p`: tests move `<name>`; the pair is
/// removed on drop by deleting the peer, which stays on the host (and takes `<name>`
/// with it, wherever it is).
struct Dummy(String);

impl Dummy {
    fn new() -> Dummy {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "qd{}x{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::SeqCst)
        );
        host::sh(&format!("ip link add {name} type veth peer name {name}p"));
        Dummy(name)
    }
}

impl Drop for Dummy {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}p", self.0)])
            .status();
        // Usually gone with its peer already.
        let _ = Command::new("ip")
            .args(["link", "del", &self.0])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether the host's network namespace has a link named `name`.
fn host_has(name: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(name).exists()
}

/// `ip -o addr show dev <name>` in the network namespace of `pid` (0: the host's).
fn addrs(pid: i32, name: &str) -> String {
    let mut cmd = Command::new("nsenter");
    if pid != 0 {
        cmd.args(["-t", &pid.to_string(), "-n"]);
    }
    let out = cmd
        .args(["ip", "-o", "addr", "show", "dev", name])
        .output()
        .expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether link `name` is up (IFF_UP) in the network namespace of `pid` (0: the host's).
fn is_up(pid: i32, name: &str) -> bool {
    let mut cmd = Command::new("nsenter");
    if pid != 0 {
        cmd.args(["-t", &pid.to_string(), "-n"]);
    }
    let out = cmd
        .args(["ip", "-o", "link", "show", "dev", name])
        .output()
        .expect("run ip");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split(['<', '>'])
        .nth(1)
        .is_some_and(|f| f.split(',').any(|x| x == "UP"))
}

/// Whether the network namespace of `pid` has a link named `name`.
fn netns_has(pid: i32, name: &str) -> bool {
    Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "ip", "link", "show", name])
        .output()
        .expect("run nsenter")
        .status
        .success()
}

#[test]
fn moved_in_renamed_and_back_on_delete() {
    if runc_lacks() {
        return;
    }
    let dummy = Dummy::new();
    // Its permanent address and up state travel with it, both ways.
    let n = std::process::id() % 200 + 20;
    host::sh(&format!(
        "ip addr add 10.199.{n}.1/24 dev {0} && ip link set {0} up",
        dummy.0
    ));
    let mut c = Ctr::new();
    c.bundle
        .set("/linux/netDevices", json!({ &dummy.0: { "name": "ctr9" } }));
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    let pid = c.pid();
    assert!(!host_has(&dummy.0), "{} is still on the host", dummy.0);
    assert!(netns_has(pid, "ctr9"), "ctr9 not in the container");
    assert!(!netns_has(pid, &dummy.0));
    let inside = addrs(pid, "ctr9");
    assert!(inside.contains(&format!("10.199.{n}.1/24")), "{inside}");
    assert!(is_up(pid, "ctr9"));
    c.delete(&[]).ok();
    assert!(host_has(&dummy.0), "{} did not come back", dummy.0);
    assert!(!host_has("ctr9"));
    let back = addrs(0, &dummy.0);
    assert!(back.contains(&format!("10.199.{n}.1/24")), "{back}");
    assert!(is_up(0, &dummy.0));
    c.assert_gone(Some(pid));
}

#[test]
fn moved_in_under_its_own_name_and_back_on_delete_force() {
    if runc_lacks() {
        return;
    }
    let dummy = Dummy::new();
    let mut c = Ctr::new();
    c.bundle.set("/linux/netDevices", json!({ &dummy.0: {} }));
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    c.start().ok();
    let pid = c.pid();
    assert!(netns_has(pid, &dummy.0));
    assert!(!host_has(&dummy.0));
    c.delete(&["--force"]).ok();
    assert!(host_has(&dummy.0), "{} did not come back", dummy.0);
    c.assert_gone(Some(pid));
}

#[test]
fn a_missing_host_interface_fails_create() {
    if runc_lacks() {
        return;
    }
    let mut c = Ctr::new();
    c.bundle.set(
        "/linux/netDevices",
        json!({ "qd-missing0": { "name": "eth1" } }),
    );
    let out = c.create(&[]);
    one_clear_error(&c, out, &["move host interface"]);
}

#[test]
fn a_failed_create_gives_the_interface_back() {
    if runc_lacks() {
        return;
    }
    let dummy = Dummy::new();
    let mut c = Ctr::new();
    c.bundle.set("/linux/netDevices", json!({ &dummy.0: {} }));
    // Fails after the move: the program does not exist.
    c.bundle.args(&["/no/such/program"]);
    let out = c.create(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(host_has(&dummy.0), "{} was lost", dummy.0);
    c.assert_gone(None);
}

#[test]
fn without_a_network_namespace_is_refused() {
    if runc_lacks() {
        return;
    }
    let dummy = Dummy::new();
    let mut c = Ctr::new();
    c.bundle.remove_namespace("network");
    c.bundle.set("/linux/netDevices", json!({ &dummy.0: {} }));
    let out = c.create(&[]);
    one_clear_error(&c, out, &["without a private NET namespace"]);
    assert!(host_has(&dummy.0));
}

/// A network namespace joined by path outlives the container's process: `run` (which
/// deletes the container after its process exits) still gives the interface back.
#[test]
fn back_from_a_namespace_joined_by_path_after_the_process_exits() {
    if runc_lacks() {
        return;
    }
    let dummy = Dummy::new();
    // A namespace held by a process of the test's own (not `ip netns`, which leaves
    // a mount of /run/netns behind).
    let mut holder = Command::new("unshare")
        .args(["--net", "--", "sleep", "600"])
        .spawn()
        .expect("spawn unshare");
    struct Holder<'a>(&'a mut std::process::Child);
    impl Drop for Holder<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let pid = holder.id();
    let holder = Holder(&mut holder);
    let path = format!("/proc/{pid}/ns/net");
    host::eventually("the holder is in its own network namespace", || {
        std::fs::read_link(&path).ok() != std::fs::read_link("/proc/self/ns/net").ok()
    });
    let mut c = Ctr::new();
    c.bundle.namespace("network", Some(&path));
    c.bundle
        .set("/linux/netDevices", json!({ &dummy.0: { "name": "ctr7" } }));
    c.bundle.args(&["ls", "/sys/class/net"]);
    let out = c.run(&[]).ok();
    assert!(out.stdout.contains("ctr7"), "{out}");
    assert!(host_has(&dummy.0), "{} did not come back", dummy.0);
    c.assert_gone(None);
    drop(holder);
}
