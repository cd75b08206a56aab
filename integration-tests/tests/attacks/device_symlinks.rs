//! Class: device paths the image makes symlinks (CVE-2025-52565, CVE-2025-31133). With a
//! config that keeps the image's /dev (no tmpfs there), the image ships
//! `/dev/console`, a `linux.devices` node or `/dev/null` as a symlink to
//! `/proc/sys/kernel/core_pattern` (or to a host file), so that the runtime's own bind
//! (the pty onto /dev/console, a host node, /dev/null over a masked path) lands on a
//! procfs file and hands the container a writable copy of it. The runtime must make
//! those nodes itself: the container's node is the right device, nothing is mounted
//! over a procfs file (the init's mountinfo, read from the host), and host files are
//! untouched. runc 1.1.5 follows these links; where it does, the test says so and checks
//! the host side only.

use integration_tests::assets::is_runc;
use integration_tests::console::read_pty;
use integration_tests::{json, ConsoleSocket, Ctr, TempDir, Value};
use std::time::Duration;

pub(crate) const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// A container whose /dev is the image's own directory (no tmpfs mounted there).
fn image_dev_ctr() -> Ctr {
    let mut c = Ctr::new();
    c.bundle.remove_mount("/dev");
    c
}

/// Plants `rootfs/<link> -> target`.
fn plant(c: &Ctr, link: &str, target: &str) {
    let at = c.bundle.rootfs().join(link.trim_start_matches('/'));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).expect("plant symlink");
}

/// Mounts in the init's mountinfo that sit on a procfs file other than through procfs
/// itself, or whose root is a procfs file bound elsewhere (`/sys/kernel/...`).
pub(crate) fn procfs_file_mounts(pid: i32) -> Vec<String> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    info.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let (root, point) = (f[3], f[4]);
            point == CORE_PATTERN || root == "/sys/kernel/core_pattern"
        })
        .map(str::to_string)
        .collect()
}

/// The host's core_pattern, to check it never changes.
pub(crate) fn core_pattern() -> String {
    std::fs::read_to_string(CORE_PATTERN).expect("read core_pattern")
}

/// The first JSON object in terminal output.
fn json_in(text: &str) -> Value {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {text:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e}): {line}"))
}

/// Creates `c`; when it is created, checks the init's mountinfo and starts it, returning
/// the probe's report read from `stdout` or the console.
fn create_and_report(c: &mut Ctr, console: Option<&mut ConsoleSocket>) -> Option<Value> {
    let extra: Vec<String> = console
        .as_ref()
        .map(|s| vec!["--console-socket".into(), s.path().to_str().unwrap().into()])
        .unwrap_or_default();
    let args: Vec<&str> = extra.iter().map(String::as_str).collect();
    let out = c.create(&args);
    let stdout = out.clone();
    if out.code != 0 {
        // Refusing is allowed, clearly and leaving nothing.
        eprintln!("create refused: {}", out.stderr.trim());
        integration_tests::check::one_clear_error(c, out, &["symlink", "/dev", "device"]);
        return None;
    }
    let pid = c.pid();
    let bad = procfs_file_mounts(pid);
    if is_runc() && !bad.is_empty() {
        eprintln!("runc 1.1.5 follows the image's device symlink onto procfs: {bad:?}");
        return None;
    }
    assert!(bad.is_empty(), "a mount landed on a procfs file: {bad:#?}");
    let report = match console {
        Some(sock) => {
            let (master, _) = sock.receive();
            c.start().ok();
            json_in(&read_pty(&master, Duration::from_secs(20)))
        }
        None => {
            c.start().ok();
            c.wait_status("stopped");
            serde_json::from_str(stdout.stdout_now().trim()).expect("report JSON")
        }
    };
    Some(report)
}

#[test]
fn console_symlink_to_procfs_is_not_followed() {
    let before = core_pattern();
    let victim = TempDir::new("victim");
    std::fs::write(victim.join("keep.txt"), "host\n").unwrap();
    let host_file = victim.join("keep.txt");
    for target in [CORE_PATTERN, host_file.to_str().unwrap()] {
        let mut c = image_dev_ctr();
        plant(&c, "/dev/console", target);
        c.bundle.set("/process/terminal", json!(true));
        c.bundle.probe(&["report", "--stat", "/dev/console"]);
        let mut sock = ConsoleSocket::listen(&c.work().join("console.sock"));
        if let Some(r) = create_and_report(&mut c, Some(&mut sock)) {
            let console = &r["stat"]["/dev/console"];
            assert_eq!(console["type"], "char", "{console}");
            let major = console["major"].as_i64().unwrap_or(-1);
            assert!((136..=143).contains(&major), "not the pty: {console}");
        }
        assert_eq!(core_pattern(), before, "the host's core_pattern changed");
        assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "host\n");
        let left = integration_tests::host::mounts_mentioning(victim.path());
        assert!(left.is_empty(), "a mount landed on the host file: {left:?}");
    }
}

#[test]
fn device_path_symlinks_are_replaced_by_the_node() {
    let before = core_pattern();
    let victim = TempDir::new("victim");
    std::fs::write(victim.join("keep.txt"), "host\n").unwrap();
    let host_file = victim.join("keep.txt");
    let mut c = image_dev_ctr();
    plant(&c, "/dev/mynull", CORE_PATTERN);
    plant(&c, "/dev/hostfile", host_file.to_str().unwrap());
    c.bundle.set(
        "/linux/devices",
        json!([
            { "path": "/dev/mynull", "type": "c", "major": 1, "minor": 3 },
            { "path": "/dev/hostfile", "type": "c", "major": 1, "minor": 5 }
        ]),
    );
    c.bundle
        .probe(&["report", "--stat", "/dev/mynull", "--stat", "/dev/hostfile"]);
    let report = create_and_report(&mut c, None);
    let runc_kept_link = is_runc()
        && report
            .as_ref()
            .is_some_and(|r| r["stat"]["/dev/mynull"]["type"] == "symlink");
    if runc_kept_link {
        eprintln!("runc 1.1.5 keeps the image's symlink where the device should be");
    }
    if let Some(r) = report.filter(|_| !runc_kept_link) {
        for (p, minor) in [("/dev/mynull", 3), ("/dev/hostfile", 5)] {
            let s = &r["stat"][p];
            assert_eq!(
                (s["type"].clone(), s["major"].clone(), s["minor"].clone()),
                (json!("char"), json!(1), json!(minor)),
                "{p}: {s}"
            );
        }
    }
    assert_eq!(core_pattern(), before, "the host's core_pattern changed");
    let meta = std::fs::symlink_metadata(&host_file).unwrap();
    assert!(meta.file_type().is_file(), "the host file was replaced");
    assert_eq!(std::fs::read_to_string(&host_file).unwrap(), "host\n");
}

#[test]
fn dev_null_symlink_cannot_unmask_procfs() {
    // The masks bind /dev/null over files: through an image's /dev/null -> core_pattern
    // they would bind core_pattern, writable, over /proc/keys (CVE-2025-31133).
    let before = core_pattern();
    let mut c = image_dev_ctr();
    plant(&c, "/dev/null", CORE_PATTERN);
    c.bundle
        .probe(&["report", "--stat", "/dev/null", "--stat", "/proc/keys"]);
    if let Some(r) = create_and_report(&mut c, None) {
        let null = &r["stat"]["/dev/null"];
        assert_eq!(
            (null["type"].clone(), null["minor"].clone()),
            (json!("char"), json!(3)),
            "{null}"
        );
        let kcore = &r["stat"]["/proc/keys"];
        assert_eq!(
            kcore["type"], "char",
            "/proc/keys is not masked by /dev/null: {kcore}"
        );
    }
    assert_eq!(core_pattern(), before, "the host's core_pattern changed");
}

#[test]
fn masked_path_symlink_is_masked_in_place() {
    // The mask goes on the path the config names, not where the image points it.
    let mut c = Ctr::new();
    plant(&c, "/etc/linked", CORE_PATTERN);
    c.bundle.push("/linux/maskedPaths", json!("/etc/linked"));
    c.bundle.probe(&["report", "--stat", "/etc/linked"]);
    let out = c.create(&[]);
    assert_eq!(out.code, 0, "{out}");
    let bad = procfs_file_mounts(c.pid());
    if is_runc() {
        eprintln!("runc 1.1.5 masks the symlink's target instead: {bad:?}");
        return;
    }
    assert!(bad.is_empty(), "the mask followed the link: {bad:#?}");
    c.start().ok();
    c.wait_status("stopped");
    let r: Value = serde_json::from_str(out.stdout_now().trim()).expect("report JSON");
    let s = &r["stat"]["/etc/linked"];
    assert_eq!(
        (s["type"].clone(), s["minor"].clone()),
        (json!("char"), json!(3)),
        "{s}"
    );
}

#[test]
fn device_path_symlink_in_a_user_namespace_is_replaced() {
    // In a user namespace mknod is refused and the host's node is bind-mounted instead:
    // through the planted link that bind would land on core_pattern.
    let before = core_pattern();
    let mut c = image_dev_ctr();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    let dev = c.bundle.rootfs().join("dev");
    // The image's /dev belongs to the container's root, as an unpacked image's would.
    std::os::unix::fs::chown(&dev, Some(100000), Some(100000)).unwrap();
    // A default device: the host has the node to bind.
    plant(&c, "/dev/full", CORE_PATTERN);
    c.bundle.probe(&["report", "--stat", "/dev/full"]);
    if let Some(r) = create_and_report(&mut c, None) {
        let s = &r["stat"]["/dev/full"];
        if is_runc() && s["type"] == "symlink" {
            eprintln!("runc 1.1.5 keeps the image's symlink where the device should be");
        } else {
            assert_eq!(
                (s["type"].clone(), s["major"].clone(), s["minor"].clone()),
                (json!("char"), json!(1), json!(7)),
                "{s}"
            );
        }
    }
    assert_eq!(core_pattern(), before, "the host's core_pattern changed");
}
