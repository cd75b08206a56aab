//! Planted symlinks in the image must never redirect a mount, mknod or write to the host.

use integration_tests::{json, Ctr, TempDir};
use std::path::Path;

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
/// chain of links, a loop, with the runtime's `/dev` tmpfs and with the image's own `/dev`.
#[test]
fn dev_symlink_stays_in_rootfs() {
    for (how, image_dev) in [
        ("absolute", false),
        ("absolute", true),
        ("relative", false),
        ("relative", true),
        ("chain", false),
        ("chain", true),
        ("loop", false),
        ("loop", true),
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
            "chain" => {
                plant(&c, "/dev", std::path::Path::new("/hop"));
                plant(&c, "/hop", v.path());
            }
            _ => {
                plant(&c, "/dev", std::path::Path::new("/hop"));
                plant(&c, "/hop", std::path::Path::new("/dev"));
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

/// config.json's `root.path` naming a host directory through a symlink in the bundle
/// (`rootfs -> /srv/host`, relative, absolute, or a chain of two links): the runtime
/// would make its mount targets and files there. Refused with one clear error naming
/// the link (runc refuses any symlink in the rootfs path), and the host directory is
/// untouched.
#[test]
fn rootfs_symlink_to_a_host_directory_is_refused() {
    for how in ["relative", "absolute", "chain"] {
        let v = victim();
        let mut c = Ctr::new();
        let link = c.bundle.dir().join("img");
        match how {
            "chain" => {
                std::os::unix::fs::symlink(c.bundle.dir().join("img2"), &link).unwrap();
                std::os::unix::fs::symlink(v.path(), c.bundle.dir().join("img2")).unwrap();
            }
            _ => std::os::unix::fs::symlink(v.path(), &link).unwrap(),
        }
        let written = if how == "absolute" {
            link.to_string_lossy().into_owned()
        } else {
            "img".to_string()
        };
        c.bundle.set("/root/path", json!(written));
        c.bundle
            .add_mount("/made-by-the-runtime", "tmpfs", "tmpfs", &[]);
        let out = c.run(&[]);
        integration_tests::check::one_clear_error_all(&c, out, &["rootfs", "symlink"]);
        assert_untouched(&v);
    }
}

/// Every form of link the image can put where the runtime mounts a file or directory
/// that engines bind (`/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, a volume):
/// absolute, relative and climbing past the root, a chain of two, a loop, and a link
/// as the parent directory. Each run either works, with the bind confined to the
/// rootfs, or fails with one clear error; the host files behind the links are never
/// mounted over or changed, and nothing is left. Where the target is missing the runtime
/// creates the file it binds onto: through a link, that is crun's CVE-2025-24965 (a file
/// the runtime writes in the rootfs made on the host).
#[test]
fn file_bind_targets_as_links_stay_in_rootfs() {
    let src = TempDir::new("bindsrc");
    std::fs::write(src.join("f"), "from the engine\n").unwrap();
    std::fs::create_dir(src.join("d")).unwrap();
    for target in [
        "/etc/hosts",
        "/etc/hostname",
        "/etc/resolv.conf",
        "/data/vol",
    ] {
        let is_dir = target == "/data/vol";
        for how in ["absolute", "relative", "chain", "loop", "parent"] {
            let v = victim();
            let host_file = if is_dir {
                v.path().to_path_buf()
            } else {
                v.join("keep.txt")
            };
            let mut c = Ctr::new();
            c.bundle.args(&["/bin/true"]);
            let depth = target.matches('/').count() - 1;
            match how {
                "absolute" => plant(&c, target, &host_file),
                "relative" => {
                    let up = "../".repeat(depth + 12);
                    plant(
                        &c,
                        target,
                        Path::new(&format!("{up}{}", host_file.display())),
                    );
                }
                "chain" => {
                    plant(&c, target, Path::new("/hop"));
                    plant(&c, "/hop", &host_file);
                }
                "loop" => {
                    plant(&c, target, Path::new("/loop-b"));
                    plant(&c, "/loop-b", Path::new(target));
                }
                _ => {
                    let parent = Path::new(target).parent().unwrap();
                    let _ = std::fs::remove_dir_all(
                        c.bundle.rootfs().join(&parent.to_str().unwrap()[1..]),
                    );
                    plant(&c, parent.to_str().unwrap(), v.path());
                }
            }
            let source = src.join(if is_dir { "d" } else { "f" });
            c.bundle
                .add_mount(target, "bind", source.to_str().unwrap(), &["rbind", "ro"]);
            let what = format!("{target} ({how} link)");
            let out = c.run(&[]);
            eprintln!("{what}: exit {} {}", out.code, out.stderr.trim());
            if out.code != 0 {
                let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
                assert!(
                    out.code == 1 && lines == 1,
                    "{what}: not one clear error: {out}"
                );
            }
            c.assert_gone(None);
            assert_untouched(&v);
            let kept = std::fs::read_to_string(v.join("keep.txt")).unwrap();
            assert_eq!(kept, "host\n", "{what}: the host file was changed");
        }
    }
}
