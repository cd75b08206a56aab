//! Class: mounts that land on or inside the container's `/proc` (CVE-2019-19921 and
//! its kin). The hostile image makes a volume's path a symlink into /proc
//! (`/vol -> /proc`, `/vol -> ../proc`, `/a/b -> /proc/sys`), or the careless engine
//! writes a bind straight at `/proc/sys`: either would cover or replace what procfs
//! shows (and the masks put on it), with the container keeping CAP_SYS_ADMIN under
//! Docker/podman defaults. Whatever the mount kind, create must refuse with one clear
//! error; if a runtime creates the container anyway, the init's mountinfo (read from
//! the host) is shown and the test fails. lxcfs-style binds and procfs at /proc still work.

use integration_tests::assets::is_runc;
use integration_tests::report::mount;
use integration_tests::{check, Ctr, TempDir, Value};
use std::path::Path;

/// Plants `rootfs/<link> -> target` (a path as the container would read it).
fn plant(c: &Ctr, link: &str, target: &str) {
    let at = c.bundle.rootfs().join(link.trim_start_matches('/'));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    let _ = std::fs::remove_dir(&at);
    std::os::unix::fs::symlink(target, at).expect("plant symlink");
}

/// The mounts on or below /proc in the init's mountinfo that are neither procfs (at
/// /proc, or its own directories bound read-only in place) nor the runtime's masks of
/// `c`'s maskedPaths (`/dev/null`, or a read-only tmpfs): what an attack would leave.
pub(crate) fn foreign_proc_mounts(c: &Ctr, pid: i32) -> Vec<String> {
    let masked: Vec<String> = c.bundle.config["linux"]["maskedPaths"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    info.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let (root, point, opts) = (f[3], f[4], f[5]);
            let fstype = l.split(" - ").nth(1).and_then(|r| r.split(' ').next());
            let in_place = Path::new("/proc").join(root.trim_start_matches('/'));
            let procfs = fstype == Some("proc") && in_place == Path::new(point);
            let mask = masked.iter().any(|p| p == point)
                && (root.ends_with("/null") || (fstype == Some("tmpfs") && opts.starts_with("ro")));
            (point == "/proc" || point.starts_with("/proc/")) && !procfs && !mask
        })
        .map(str::to_string)
        .collect()
}

/// `create` must fail with one clear error naming the /proc refusal, leaving nothing.
/// runc 1.1.5 checks bind mounts only: where it lets another kind land (or fails for
/// another reason after it did), that is printed and only quai is held to the rule.
#[track_caller]
fn refused(c: &Ctr) {
    let out = c.create(&[]);
    if out.code == 0 {
        let pid = c.pid();
        let foreign = foreign_proc_mounts(c, pid);
        if is_runc() {
            eprintln!("runc 1.1.5 lets this mount land in /proc: {foreign:?}");
            return;
        }
        panic!("create succeeded; mounts over /proc in the init's mountinfo: {foreign:#?}");
    }
    let phrase = "cannot be mounted because it is";
    if is_runc() && !out.stderr.contains(phrase) {
        eprintln!("runc 1.1.5 does not refuse this mount; it failed later: {out}");
        return;
    }
    check::one_clear_error(c, out, &[phrase]);
}

/// A host directory with a marker file, as a volume source.
fn volume() -> TempDir {
    let d = TempDir::new("vol");
    std::fs::write(d.join("marker"), "volume\n").unwrap();
    d
}

/// The mount kinds a volume can be: (type, options).
const KINDS: [(&str, &[&str]); 4] = [
    ("bind", &["rbind"]),
    ("tmpfs", &[]),
    ("tmpfs", &["tmpcopyup"]),
    ("cgroup", &["ro"]),
];

fn add(c: &mut Ctr, dest: &str, kind: (&str, &[&str]), src: &TempDir) {
    let (typ, opts) = kind;
    let source = if typ == "bind" {
        src.path().to_str().unwrap()
    } else {
        typ
    };
    c.bundle.add_mount(dest, typ, source, opts);
}

#[test]
fn volume_through_a_link_to_proc_is_refused() {
    let v = volume();
    for target in ["/proc", "../proc", "/./proc/"] {
        for kind in KINDS {
            let mut c = Ctr::new();
            plant(&c, "/vol", target);
            add(&mut c, "/vol", kind, &v);
            refused(&c);
        }
    }
}

#[test]
fn volume_below_a_link_into_proc_is_refused() {
    let v = volume();
    for kind in KINDS {
        let mut c = Ctr::new();
        plant(&c, "/vol", "../proc");
        add(&mut c, "/vol/sys", kind, &v);
        refused(&c);
        let mut c = Ctr::new();
        plant(&c, "/a/b", "/proc/sys");
        add(&mut c, "/a/b", kind, &v);
        refused(&c);
    }
}

#[test]
fn bind_written_inside_proc_is_refused() {
    let v = volume();
    let file = v.join("marker");
    for (dest, src) in [
        ("/proc/sys", v.path()),
        ("/proc/self", v.path()),
        ("/proc/sysrq-trigger", file.as_path()),
        ("/proc/sys/kernel/core_pattern", file.as_path()),
    ] {
        let mut c = Ctr::new();
        c.bundle
            .add_mount(dest, "bind", src.to_str().unwrap(), &["bind"]);
        refused(&c);
    }
    // Other kinds written inside /proc, too.
    for dest in ["/proc/sys", "/proc/acpi/x"] {
        let mut c = Ctr::new();
        c.bundle.add_mount(dest, "tmpfs", "tmpfs", &[]);
        refused(&c);
    }
}

#[test]
fn non_procfs_at_proc_is_refused() {
    let mut c = Ctr::new();
    c.bundle.remove_mount("/proc");
    c.bundle.add_mount("/proc", "tmpfs", "tmpfs", &[]);
    refused(&c);
}

#[test]
fn lxcfs_binds_and_procfs_still_work() {
    // lxcfs binds its files over /proc/cpuinfo and friends; procfs itself at /proc.
    let v = volume();
    std::fs::write(v.join("cpuinfo"), "processor : lxcfs\n").unwrap();
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/proc/cpuinfo",
        "bind",
        v.join("cpuinfo").to_str().unwrap(),
        &["bind", "ro"],
    );
    let r: Value = c.report(&["--read", "/proc/cpuinfo"]);
    assert_eq!(mount(&r, "/proc")["fstype"], "proc");
    assert_eq!(r["read"]["/proc/cpuinfo"], "processor : lxcfs\n");
    assert_ne!(
        mount(&r, "/proc/cpuinfo")["fstype"],
        "proc",
        "the bind is there"
    );
}
