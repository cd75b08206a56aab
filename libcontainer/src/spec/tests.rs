//! `Bundle::from_spec`: a spec built in memory, a rootfs on disk, no `config.json`.

use super::*;

/// A fresh directory with a `rootfs` directory in it (removed by the caller).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quai-spec-{name}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    dir
}

fn spec_with(extra: serde_json::Value) -> Spec {
    let mut v = serde_json::json!({
        "ociVersion": "1.3.0",
        "process": { "args": ["/bin/true"], "cwd": "/", "user": { "uid": 0, "gid": 0 } },
        "root": { "path": "elsewhere", "readonly": true },
        "linux": { "namespaces": [{ "type": "mount" }] }
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    serde_json::from_value(v).unwrap()
}

#[test]
fn root_is_the_given_rootfs_and_the_bundle_its_parent() {
    let dir = scratch("ok");
    // A relative, uncanonical path: recorded absolute and canonical.
    let given = dir.join("rootfs/../rootfs");
    let b = Bundle::from_spec(spec_with(serde_json::json!({})), &given).unwrap();
    let real = std::fs::canonicalize(dir.join("rootfs")).unwrap();
    assert_eq!(b.rootfs, real);
    assert_eq!(b.dir, real.parent().unwrap());
    let root = b.spec.root().as_ref().unwrap();
    assert_eq!(root.path(), &real, "root.path follows the given rootfs");
    assert_eq!(root.readonly(), Some(true), "root.readonly is kept");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_rootfs_and_an_invalid_spec_are_refused() {
    let dir = scratch("bad");
    let e = Bundle::from_spec(spec_with(serde_json::json!({})), &dir.join("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope"), "{e}");
    let twice = spec_with(serde_json::json!({
        "linux": { "namespaces": [{ "type": "mount" }, { "type": "mount" }] }
    }));
    let e = Bundle::from_spec(twice, &dir.join("rootfs"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("listed twice"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_rootfs_written_through_a_symlink_is_refused() {
    let dir = scratch("links");
    let host = dir.join("host");
    std::fs::create_dir_all(host.join("inner")).unwrap();
    std::os::unix::fs::symlink(&host, dir.join("link")).unwrap();
    // Relative: the link itself, and a link on the way.
    for written in ["link", "link/inner"] {
        let e = resolve_rootfs(&dir, Path::new(written))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("symlink") && e.contains(&*host.to_string_lossy()),
            "{e}"
        );
    }
    // Absolute: the last component is checked, the directories above are resolved.
    let e = resolve_rootfs(&dir, &dir.join("link"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("symlink"), "{e}");
    let through = resolve_rootfs(&dir, &dir.join("link/inner")).unwrap();
    assert_eq!(through, std::fs::canonicalize(host.join("inner")).unwrap());
    // Plain directories, and `..` that stays on real directories, resolve.
    let plain = resolve_rootfs(&dir, Path::new("rootfs/../rootfs")).unwrap();
    assert_eq!(plain, std::fs::canonicalize(dir.join("rootfs")).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}
