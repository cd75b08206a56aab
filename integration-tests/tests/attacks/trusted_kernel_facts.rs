//! Class: the runtime trusting files inside the container. Kernel facts the runtime relies
//! on (`/proc/sys/kernel/cap_last_cap`: how many capabilities to drop from the bounding
//! set; `ngroups_max`) must come from the host: read by path after the container's
//! mounts, an image without a /proc mount, or a createContainer hook mounting over the
//! file, decides them, and a lying "1" left every capability above 1 in the bounding set.
//! The capability sets of the container's process are checked from the host
//! (`/proc/<pid>/status`). Container data the init reads on purpose (`/etc/passwd` for
//! HOME) must not let the image hang or exhaust the init.

use integration_tests::assets::is_runc;
use integration_tests::{host, json, Ctr, Value};

/// The OCI names of capabilities 0..=40, in kernel order.
const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The host's real last capability.
fn host_last_cap() -> usize {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("read the host's cap_last_cap")
        .trim()
        .parse()
        .expect("cap_last_cap is a number")
}

/// A `/proc/<pid>/status` capability mask.
fn caps_of(pid: i32, field: &str) -> u64 {
    let v = host::proc_status(pid, field).unwrap_or_else(|| panic!("no {field} for {pid}"));
    u64::from_str_radix(&v, 16).unwrap_or_else(|e| panic!("{field} {v:?}: {e}"))
}

/// The bounding set of this (host) test process: what any container can have at most.
fn host_bounding() -> u64 {
    caps_of(std::process::id() as i32, "CapBnd")
}

/// Every capability set of the process to `names` (as root, ambient left empty).
fn set_all_sets(c: &mut Ctr, names: &[&str]) {
    let list: Vec<Value> = names.iter().map(|n| json!(format!("CAP_{n}"))).collect();
    c.bundle.set(
        "/process/capabilities",
        json!({ "bounding": list, "permitted": list, "effective": list }),
    );
}

fn mask(names: &[&str]) -> u64 {
    names
        .iter()
        .map(|n| NAMES.iter().position(|x| x == n).expect("known name"))
        .fold(0, |m, i| m | 1u64 << i)
}

/// Starts the created container, waits for the probe to run, and returns its pid.
fn start_probe(c: &Ctr) -> i32 {
    let pid = c.pid();
    c.start().ok();
    host::eventually("the container's process has exec'd", || {
        host::proc_status(pid, "Name").as_deref() == Some("probe")
    });
    pid
}

#[test]
fn an_image_proc_directory_cannot_keep_capabilities_in_the_bounding_set() {
    let mut c = Ctr::new();
    // No /proc mount: the container's /proc is the image's directory, and the image
    // says the kernel knows capabilities 0 and 1 only.
    c.bundle.remove_mount("/proc");
    let kernel = c.bundle.rootfs().join("proc/sys/kernel");
    std::fs::create_dir_all(&kernel).expect("mkdir proc/sys/kernel in the image");
    std::fs::write(kernel.join("cap_last_cap"), "1\n").expect("plant cap_last_cap");
    set_all_sets(&mut c, &["KILL"]);
    c.bundle.probe(&["sleep", "forever"]);
    let out = c.create(&[]);
    if is_runc() && out.code != 0 {
        eprintln!(
            "runc 1.1.5 cannot run a container without /proc (it closes fds through \
             /proc/self/fd): {out}; checked for quai only"
        );
        c.assert_gone(None);
        return;
    }
    out.ok();
    let pid = start_probe(&c);
    let kill = mask(&["KILL"]);
    for field in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(
            caps_of(pid, field),
            kill,
            "{field} of the container's process: only CAP_KILL was asked"
        );
    }
    c.kill(&["KILL"]).ok();
}

#[test]
fn a_hook_mounting_over_cap_last_cap_changes_no_capability() {
    let mut c = Ctr::new();
    let lie = c.work().join("cap_last_cap");
    std::fs::write(&lie, "1\n").expect("write the lie");
    let target = c.bundle.rootfs().join("proc/sys/kernel/cap_last_cap");
    // createContainer hooks run in the container's mount namespace, after its /proc is
    // mounted and before the capabilities are applied. No read-only /proc/sys, so the
    // bind stays visible at the path.
    c.bundle.set("/linux/readonlyPaths", json!([]));
    c.bundle.add_hook(
        "createContainer",
        "/bin/mount",
        &[
            "mount",
            "--bind",
            &lie.to_string_lossy(),
            &target.to_string_lossy(),
        ],
        &[],
        Some(10),
    );
    // Every capability the host knows and holds (this machine has no CAP_SYS_RESOURCE,
    // which no process could be given), in every set but ambient.
    let last = host_last_cap();
    assert!(
        last < NAMES.len(),
        "this test knows capability names up to {}; the host has {last}",
        NAMES.len() - 1
    );
    let held: Vec<&str> = (0..=last)
        .filter(|&i| host_bounding() & (1 << i) != 0)
        .map(|i| NAMES[i])
        .collect();
    set_all_sets(&mut c, &held);
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    let pid = c.pid();
    // The attack is in place: the container's own view of the file is the lie.
    let seen = std::fs::read_to_string(format!("/proc/{pid}/root/proc/sys/kernel/cap_last_cap"))
        .expect("read the container's cap_last_cap");
    assert_eq!(seen.trim(), "1", "the hook's bind mount is not in place");
    let pid = start_probe(&c);
    let want = mask(&held);
    for field in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(
            caps_of(pid, field),
            want,
            "{field}: every capability up to the host's last ({last}) was asked"
        );
    }
    c.kill(&["KILL"]).ok();
}

#[test]
fn a_bounding_set_of_every_capability_is_kept_exactly() {
    let mut c = Ctr::new();
    let last = host_last_cap();
    assert!(
        last < NAMES.len(),
        "the host knows more than 41 capabilities"
    );
    // Bounding lists every capability up to the host's last; the process holds a few.
    let all: Vec<Value> = NAMES[..=last]
        .iter()
        .map(|n| json!(format!("CAP_{n}")))
        .collect();
    c.bundle.set(
        "/process/capabilities",
        json!({ "bounding": all, "permitted": ["CAP_KILL"], "effective": ["CAP_KILL"] }),
    );
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    let pid = c.pid();
    // Before start, the init already holds the final sets.
    assert_eq!(
        caps_of(pid, "CapBnd"),
        mask(&NAMES[..=last]) & host_bounding()
    );
    assert_eq!(caps_of(pid, "CapPrm"), mask(&["KILL"]));
    let pid = start_probe(&c);
    assert_eq!(
        caps_of(pid, "CapBnd"),
        mask(&NAMES[..=last]) & host_bounding()
    );
    c.kill(&["KILL"]).ok();
}

#[test]
fn an_image_passwd_that_would_block_does_not_hang_create() {
    if is_runc() {
        eprintln!(
            "runc 1.1.5 blocks forever reading a FIFO at the image's /etc/passwd (not run \
             against it); checked for quai only"
        );
        return;
    }
    let mut c = Ctr::new();
    let passwd = c.bundle.rootfs().join("etc/passwd");
    std::fs::remove_file(&passwd).expect("remove the image's passwd");
    host::sh(&format!("mkfifo '{}'", passwd.display()));
    // No HOME in the config: the init looks the user up in the image's /etc/passwd.
    let r = c.report(&[]);
    let env: Vec<&str> = r["env"]
        .as_array()
        .expect("env list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(env.contains(&"HOME=/"), "{env:?}");
}
