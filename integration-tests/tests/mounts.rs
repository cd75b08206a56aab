//! Mounts as the container sees them in its mountinfo.

use integration_tests::report::{has_opt, has_super_opt, mount, mount_at};
use integration_tests::{host, json, Ctr, TempDir, Value};

/// A host directory holding one file, for bind mounts.
fn host_dir_with_file() -> TempDir {
    let d = TempDir::new("src");
    std::fs::write(d.join("file.txt"), "from the host\n").expect("write source file");
    d
}

#[test]
fn default_mounts_are_present() {
    let mut c = Ctr::new();
    let r = c.report(&[]);
    assert_eq!(mount(&r, "/proc")["fstype"], "proc");
    assert_eq!(mount(&r, "/dev")["fstype"], "tmpfs");
    assert_eq!(mount(&r, "/dev/pts")["fstype"], "devpts");
    assert_eq!(mount(&r, "/dev/mqueue")["fstype"], "mqueue");
    let sys = mount(&r, "/sys");
    assert_eq!(sys["fstype"], "sysfs");
    assert!(has_opt(sys, "ro"), "{sys}");
    // On this hybrid host, a cgroup mount is a tmpfs with one cgroup mount per controller
    // (cgroup v1), or a cgroup2 mount on a unified host.
    let cg = mount(&r, "/sys/fs/cgroup");
    assert!(
        ["tmpfs", "cgroup2", "cgroup"].contains(&cg["fstype"].as_str().unwrap()),
        "{cg}"
    );
    let shm = mount(&r, "/dev/shm");
    for flag in ["nosuid", "noexec", "nodev"] {
        assert!(has_opt(shm, flag), "/dev/shm lacks {flag}: {shm}");
    }
}

#[test]
fn cgroup_mount_shows_controllers() {
    let mut c = Ctr::new();
    c.bundle.namespace("cgroup", None);
    let r = c.report(&["--stat", "/sys/fs/cgroup/memory"]);
    let cg = mount(&r, "/sys/fs/cgroup");
    if cg["fstype"] == "tmpfs" {
        let mem = mount(&r, "/sys/fs/cgroup/memory");
        assert_eq!(mem["fstype"], "cgroup", "{mem}");
        assert!(has_opt(mem, "ro"), "{mem}");
    }
}

/// The view runc gives of a read-only cgroup mount on this hybrid host (what engines and
/// tools comparing runtimes see): a writable tmpfs, each v1 hierarchy read-only, a named
/// hierarchy mounted with its name as source (`systemd`), no cgroup2 at `unified`, and
/// masked directories as read-only tmpfs named `tmpfs`.
#[test]
fn cgroup_and_masked_mounts_look_as_under_runc() {
    let mut c = Ctr::new();
    c.bundle.namespace("cgroup", None);
    let r = c.report(&[]);
    let cg = mount(&r, "/sys/fs/cgroup");
    if cg["fstype"] != "tmpfs" {
        eprintln!("not a cgroup v1 or hybrid host: the v1 view is not checked");
        return;
    }
    assert!(has_opt(cg, "rw"), "the tmpfs is writable under runc: {cg}");
    let systemd = mount(&r, "/sys/fs/cgroup/systemd");
    assert_eq!(systemd["source"], "systemd", "{systemd}");
    assert!(has_opt(systemd, "ro"), "{systemd}");
    assert!(
        mount_at(&r, "/sys/fs/cgroup/unified").is_none(),
        "runc mounts no cgroup2 in the container on a hybrid host"
    );
    let acpi = mount(&r, "/proc/acpi");
    assert_eq!(
        (&acpi["fstype"], &acpi["source"]),
        (&json!("tmpfs"), &json!("tmpfs"))
    );
    assert!(has_super_opt(acpi, "ro"), "{acpi}");
}

#[test]
fn tmpfs_with_size_mode_and_flags() {
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/scratch",
        "tmpfs",
        "tmpfs",
        &["size=1m", "mode=0710", "nosuid", "noexec", "nodev"],
    );
    let r = c.report(&["--stat", "/scratch"]);
    let m = mount(&r, "/scratch");
    assert_eq!(m["fstype"], "tmpfs");
    assert!(has_super_opt(m, "size=1024k"), "{m}");
    assert!(has_super_opt(m, "mode=710"), "{m}");
    for flag in ["nosuid", "noexec", "nodev", "rw"] {
        assert!(has_opt(m, flag), "missing {flag}: {m}");
    }
    assert_eq!(r["stat"]["/scratch"]["mode"], "0710");
}

#[test]
fn destinations_are_created() {
    let mut c = Ctr::new();
    c.bundle.add_mount("/deep/new/dir", "tmpfs", "tmpfs", &[]);
    let r = c.report(&[]);
    assert_eq!(mount(&r, "/deep/new/dir")["fstype"], "tmpfs");
}

#[test]
fn bind_readonly_directory() {
    let src = host_dir_with_file();
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/data",
        "bind",
        src.path().to_str().unwrap(),
        &["bind", "ro"],
    );
    let r = c.report(&["--read", "/data/file.txt"]);
    assert!(has_opt(mount(&r, "/data"), "ro"));
    assert_eq!(r["read"]["/data/file.txt"], "from the host\n");
    c.bundle.probe(&["write", "/data/new"]);
    let w = c.run(&[]).ok().json();
    assert_eq!(w["ok"], false);
    assert_eq!(w["errno"], libc::EROFS);
    assert!(!src.join("new").exists());
}

#[test]
fn bind_file() {
    let src = host_dir_with_file();
    let mut c = Ctr::new();
    let file = src.join("file.txt");
    c.bundle
        .add_mount("/etc/bound.txt", "none", file.to_str().unwrap(), &["bind"]);
    let r = c.report(&["--read", "/etc/bound.txt", "--stat", "/etc/bound.txt"]);
    assert_eq!(r["read"]["/etc/bound.txt"], "from the host\n");
    assert_eq!(r["stat"]["/etc/bound.txt"]["type"], "file");
}

/// A host directory with a tmpfs mounted on its `sub/` (our own mount, removed on drop).
struct Nested {
    dir: TempDir,
}

impl Nested {
    fn new() -> Nested {
        let dir = TempDir::new("nested");
        std::fs::create_dir(dir.join("sub")).unwrap();
        host::sh(&format!(
            "mount -t tmpfs -o size=1m nested {}",
            dir.join("sub").display()
        ));
        std::fs::write(dir.join("sub/inner.txt"), "inner\n").unwrap();
        Nested { dir }
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        host::lazy_unmount(self.dir.join("sub").to_str().unwrap());
    }
}

#[test]
fn bind_is_not_recursive_but_rbind_is() {
    let n = Nested::new();
    let mut c = Ctr::new();
    let src = n.dir.path().to_str().unwrap();
    c.bundle.add_mount("/plain", "bind", src, &["bind"]);
    c.bundle.add_mount("/recursive", "bind", src, &["rbind"]);
    let r = c.report(&[
        "--read",
        "/recursive/sub/inner.txt",
        "--read",
        "/plain/sub/inner.txt",
    ]);
    assert!(
        mount_at(&r, "/plain/sub").is_none(),
        "bind copied the submount"
    );
    assert_eq!(mount(&r, "/recursive/sub")["fstype"], "tmpfs");
    assert_eq!(r["read"]["/recursive/sub/inner.txt"], "inner\n");
    assert!(r["read"]["/plain/sub/inner.txt"].is_null());
}

#[test]
fn rro_makes_submounts_readonly() {
    let n = Nested::new();
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/rro",
        "bind",
        n.dir.path().to_str().unwrap(),
        &["rbind", "rro"],
    );
    let r = c.report(&[]);
    assert!(has_opt(mount(&r, "/rro"), "ro"), "{}", mount(&r, "/rro"));
    assert!(
        has_opt(mount(&r, "/rro/sub"), "ro"),
        "{}",
        mount(&r, "/rro/sub")
    );
}

#[test]
fn recursive_nosuid_reaches_submounts() {
    let n = Nested::new();
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/rns",
        "bind",
        n.dir.path().to_str().unwrap(),
        &["rbind", "rnosuid"],
    );
    let r = c.report(&[]);
    assert!(
        has_opt(mount(&r, "/rns/sub"), "nosuid"),
        "{}",
        mount(&r, "/rns/sub")
    );
}

#[test]
fn tmpcopyup_copies_the_image_directory() {
    let mut c = Ctr::new();
    let dir = c.bundle.rootfs().join("opt/data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("seed.txt"), "seeded\n").unwrap();
    c.bundle
        .add_mount("/opt/data", "tmpfs", "tmpfs", &["tmpcopyup"]);
    let r = c.report(&["--read", "/opt/data/seed.txt"]);
    assert_eq!(mount(&r, "/opt/data")["fstype"], "tmpfs");
    assert_eq!(r["read"]["/opt/data/seed.txt"], "seeded\n");
}

#[test]
fn nosymfollow_flag() {
    let src = host_dir_with_file();
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/nsf",
        "bind",
        src.path().to_str().unwrap(),
        &["bind", "nosymfollow"],
    );
    let r = c.report(&[]);
    assert!(
        has_opt(mount(&r, "/nsf"), "nosymfollow"),
        "{}",
        mount(&r, "/nsf")
    );
}

#[test]
fn propagation_shared_and_private() {
    let src = host_dir_with_file();
    let mut c = Ctr::new();
    c.bundle.add_mount(
        "/shared",
        "bind",
        src.path().to_str().unwrap(),
        &["rbind", "rshared"],
    );
    c.bundle.add_mount(
        "/private",
        "bind",
        src.path().to_str().unwrap(),
        &["rbind", "rprivate"],
    );
    let r = c.report(&[]);
    let shared = mount(&r, "/shared");
    let private = mount(&r, "/private");
    let prop = |m: &serde_json::Value| m["propagation"].as_array().cloned().unwrap_or_default();
    assert!(
        prop(shared)
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("shared:")),
        "{shared}"
    );
    assert!(prop(private).is_empty(), "{private}");
}

#[test]
fn rootfs_propagation_slave() {
    let mut c = Ctr::new();
    c.bundle.set("/linux/rootfsPropagation", json!("slave"));
    let r = c.report(&[]);
    let root = mount(&r, "/");
    assert!(
        !root["propagation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("shared:")),
        "{root}"
    );
}

/// An unbindable rootfs cannot be bound onto itself: the runtime keeps it private until
/// the pivot and makes the container's `/` unbindable after it (as crun does; runc 1.1.5
/// fails with EINVAL).
#[test]
fn rootfs_propagation_unbindable() {
    for word in ["unbindable", "runbindable"] {
        let mut c = Ctr::new();
        c.bundle.set("/linux/rootfsPropagation", json!(word));
        let r = c.report(&[]);
        let root = mount(&r, "/");
        assert!(
            root["propagation"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p == "unbindable"),
            "{word}: {root}"
        );
    }
}

#[test]
fn readonly_root() {
    let mut c = Ctr::new();
    c.bundle.set("/root/readonly", json!(true));
    let r = c.report(&[]);
    assert!(has_opt(mount(&r, "/"), "ro"), "{}", mount(&r, "/"));
    c.bundle.probe(&["write", "/should-fail"]);
    let w = c.run(&[]).ok().json();
    assert_eq!(w["ok"], false);
    assert_eq!(w["errno"], libc::EROFS);
    // Mounts on top stay writable.
    c.bundle.probe(&["write", "/dev/shm/ok"]);
    assert_eq!(c.run(&[]).ok().json()["ok"], true);
}

#[test]
fn masked_paths() {
    let mut c = Ctr::new();
    // A masked file is /dev/null bound over it; a masked directory an empty read-only tmpfs.
    let r = c.report(&[
        "--stat",
        "/proc/keys",
        "--read",
        "/proc/keys",
        "--stat",
        "/proc/kcore",
    ]);
    let keys = &r["stat"]["/proc/keys"];
    assert_eq!(
        (
            keys["type"].as_str(),
            keys["major"].as_i64(),
            keys["minor"].as_i64()
        ),
        (Some("char"), Some(1), Some(3)),
        "{keys}"
    );
    assert_eq!(r["read"]["/proc/keys"], "");
    // Paths missing on this kernel (no /proc/kcore here) are skipped, not created.
    assert_eq!(r["stat"]["/proc/kcore"]["exists"], false);
    let acpi = mount(&r, "/proc/acpi");
    assert_eq!(acpi["fstype"], "tmpfs", "{acpi}");
    let fw = mount(&r, "/sys/firmware");
    assert_eq!(fw["fstype"], "tmpfs", "{fw}");
    assert!(has_opt(fw, "ro"), "{fw}");
}

#[test]
fn readonly_paths() {
    let mut c = Ctr::new();
    let r = c.report(&[]);
    assert!(has_opt(mount(&r, "/proc/sys"), "ro"));
    c.bundle.probe(&["write", "/proc/sys/kernel/hostname"]);
    let w = c.run(&[]).ok().json();
    assert_eq!(w["ok"], false);
    assert_eq!(w["errno"], libc::EROFS);
}

#[test]
fn mounts_are_applied_in_order() {
    let mut c = Ctr::new();
    c.bundle.add_mount("/stack", "tmpfs", "first", &["size=1m"]);
    c.bundle
        .add_mount("/stack", "tmpfs", "second", &["size=2m"]);
    c.bundle
        .add_mount("/stack/inner", "tmpfs", "third", &["size=3m"]);
    let r = c.report(&[]);
    let at: Vec<&Value> = r["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["mount_point"] == "/stack")
        .collect();
    assert_eq!(at.len(), 2, "{at:?}");
    assert_eq!(at[0]["source"], "first");
    assert_eq!(at[1]["source"], "second", "the later mount is on top");
    // /stack/inner was created in the second tmpfs, after it was mounted.
    assert_eq!(mount(&r, "/stack/inner")["source"], "third");
}

#[test]
fn mount_below_a_dangling_var_run_link_lands_in_run() {
    // Debian images have /var/run -> ../run; runc resolves a destination below it inside
    // the rootfs and creates what is missing, /run included.
    let src = host_dir_with_file();
    let mut c = Ctr::new();
    let rootfs = c.bundle.rootfs();
    std::fs::remove_dir_all(rootfs.join("run")).unwrap();
    std::os::unix::fs::symlink("../run", rootfs.join("var/run")).unwrap();
    c.bundle
        .add_mount("/var/run/x", "tmpfs", "tmpfs", &["size=1m"]);
    c.bundle.add_mount(
        "/var/run/y/file.txt",
        "bind",
        src.join("file.txt").to_str().unwrap(),
        &["bind"],
    );
    let r = c.report(&["--read", "/var/run/y/file.txt", "--stat", "/var/run"]);
    assert_eq!(mount(&r, "/run/x")["fstype"], "tmpfs");
    assert!(
        mount_at(&r, "/run/y/file.txt").is_some(),
        "the bind is at /run/y"
    );
    assert_eq!(r["read"]["/var/run/y/file.txt"], "from the host\n");
    assert_eq!(
        r["stat"]["/var/run"]["type"], "symlink",
        "the image's link is kept"
    );
}

#[test]
fn rnorelatime_does_not_make_strictatime() {
    // runc 1.1.5 clears MOUNT_ATTR_RELATIME (0): the mount keeps its atime mode, here a
    // tmpfs's default relatime; strictatime would show no atime option at all.
    let mut c = Ctr::new();
    c.bundle
        .add_mount("/rn", "tmpfs", "tmpfs", &["rnorelatime"]);
    c.bundle
        .add_mount("/rn-ro", "tmpfs", "tmpfs", &["rnoexec", "rnorelatime"]);
    let r = c.report(&[]);
    for point in ["/rn", "/rn-ro"] {
        let m = mount(&r, point);
        assert!(has_opt(m, "relatime"), "{point} is not relatime: {m}");
        assert!(!has_opt(m, "noatime"), "{m}");
    }
}

/// procfs onto a symlink the image planted at /proc is refused in runc's words, which
/// runc's mask.bats matches.
#[test]
fn procfs_on_a_symlink_is_refused_in_runcs_words() {
    let c = Ctr::new();
    let proc_dir = c.bundle.rootfs().join("proc");
    let _ = std::fs::remove_dir(&proc_dir);
    std::os::unix::fs::symlink("/symlink", &proc_dir).unwrap();
    let out = c.create(&[]);
    integration_tests::check::one_clear_error(&c, out, &["must be mounted on ordinary directory"]);
}
