//! Planted symlinks in the image must never redirect a mount, mknod or write to the host.

use integration_tests::{json, Ctr, TempDir};

/// Plant `rootfs/<link>` -> `target` (an absolute host path).
fn plant(c: &Ctr, link: &str, target: &std::path::Path) {
    let at = c.bundle.rootfs().join(link.trim_start_matches('/'));
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).expect("plant symlink");
}

fn assert_untouched(victim: &TempDir) {
    let entries: Vec<_> = std::fs::read_dir(victim.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("keep.txt")],
        "the host directory was written to"
    );
    let left = integration_tests::host::mounts_mentioning(victim.path());
    assert!(left.is_empty(), "a mount landed on the host: {left:?}");
}

fn victim() -> TempDir {
    let v = TempDir::new("victim");
    std::fs::write(v.join("keep.txt"), "host\n").unwrap();
    v
}

#[test]
fn mount_destination_symlink_stays_in_rootfs() {
    let v = victim();
    let mut c = Ctr::new();
    plant(&c, "/mnt/evil", v.path());
    c.bundle.add_mount("/mnt/evil/sub", "tmpfs", "tmpfs", &[]);
    let src = TempDir::new("bindsrc");
    std::fs::write(src.join("f"), "x").unwrap();
    c.bundle.add_mount(
        "/mnt/evil/file",
        "bind",
        src.join("f").to_str().unwrap(),
        &["bind"],
    );
    // Either refused or confined to the rootfs; never on the host.
    let _ = c.run(&[]);
    assert_untouched(&v);
}

#[test]
fn device_path_symlink_stays_in_rootfs() {
    let v = victim();
    let mut c = Ctr::new();
    plant(&c, "/evil", v.path());
    c.bundle.set(
        "/linux/devices",
        json!([{ "path": "/evil/null", "type": "c", "major": 1, "minor": 3 }]),
    );
    let _ = c.run(&[]);
    assert_untouched(&v);
}

#[test]
fn cwd_symlink_stays_in_rootfs() {
    let v = victim();
    let mut c = Ctr::new();
    plant(&c, "/work", v.path());
    c.bundle.set("/process/cwd", json!("/work/inside"));
    let _ = c.run(&[]);
    assert_untouched(&v);
}

#[test]
fn masked_path_symlink_stays_in_rootfs() {
    let v = victim();
    let mut c = Ctr::new();
    plant(&c, "/mask", v.path());
    c.bundle.push("/linux/maskedPaths", json!("/mask/keep.txt"));
    c.bundle.push("/linux/readonlyPaths", json!("/mask"));
    let _ = c.run(&[]);
    assert_untouched(&v);
}

/// The image's `/dev` is itself a symlink to a host directory (runc CVE-2026-41579,
/// crun CVE-2026-47766): the `/dev` tmpfs, the device nodes, `ptmx`, the `fd`, `stdin`,
/// `stdout`, `stderr` links and everything else the runtime makes in `/dev` must land
/// inside the rootfs — with an absolute link, a relative one climbing past the root, a
/// chain of links, with the runtime's `/dev` tmpfs and with the image's own `/dev`.
#[test]
fn dev_symlink_stays_in_rootfs() {
    for (how, image_dev) in [
        ("absolute", false),
        ("absolute", true),
        ("relative", false),
        ("relative", true),
        ("chain", false),
        ("chain", true),
    ] {
        let v = victim();
        let mut c = Ctr::new();
        let dev = c.bundle.rootfs().join("dev");
        let _ = std::fs::remove_dir_all(&dev);
        let _ = std::fs::remove_file(&dev);
        match how {
            "absolute" => plant(&c, "/dev", v.path()),
            "relative" => {
                let up = "../".repeat(12);
                let target = format!("{up}{}", v.path().display());
                plant(&c, "/dev", std::path::Path::new(&target));
            }
            _ => {
                plant(&c, "/dev", std::path::Path::new("/hop"));
                plant(&c, "/hop", v.path());
            }
        }
        if image_dev {
            c.bundle.remove_mount("/dev");
        }
        // Either refused or confined to the rootfs; never on the host.
        let _ = c.run(&[]);
        assert_untouched(&v);
    }
}
