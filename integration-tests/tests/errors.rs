//! Bad input: status 1, one clear message on stderr, nothing left behind.

use integration_tests::check::one_clear_error;
use integration_tests::{json, Ctr};

#[test]
fn invalid_json() {
    let c = Ctr::new();
    c.bundle.save();
    std::fs::write(c.bundle.dir().join("config.json"), "{ \"ociVersion\": ").unwrap();
    let [flag, b] = c.bundle_args();
    let out = c.cmd(&["create", &flag, &b, &c.id]);
    // runc 1.1.5 says only "unexpected EOF".
    one_clear_error(&c, out, &["config.json", "EOF"]);
}

#[test]
fn wrong_field_type() {
    let mut c = Ctr::new();
    c.bundle.set("/process/args", json!("not-a-list"));
    let out = c.create(&[]);
    // runc names the field; a message naming config.json with a line and column is as clear.
    one_clear_error(&c, out, &["args", "config.json"]);
}

#[test]
fn missing_config() {
    let c = Ctr::new();
    let [flag, b] = c.bundle_args();
    let out = c.cmd(&["create", &flag, &b, &c.id]);
    one_clear_error(&c, out, &["config.json"]);
}

#[test]
fn missing_rootfs() {
    let mut c = Ctr::new();
    c.bundle.set("/root/path", json!("no-such-rootfs"));
    let out = c.create(&[]);
    one_clear_error(&c, out, &["no-such-rootfs"]);
}

#[test]
fn invalid_ids() {
    for id in ["bad/id", "..", ".", "has space", "semi;colon"] {
        let c = Ctr::new();
        c.bundle.save();
        let [flag, b] = c.bundle_args();
        let out = c.cmd(&["create", &flag, &b, id]);
        assert_eq!(out.code, 1, "id {id:?}: {out}");
        assert!(
            out.stderr.contains("invalid") || out.stderr.contains("id"),
            "{out}"
        );
        let left: Vec<_> = std::fs::read_dir(c.root())
            .map(|d| d.filter_map(|e| e.ok()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "id {id:?} left {left:?}");
    }
}

#[test]
fn duplicate_id() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    let pid = c.pid();
    let out = c.create(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("exists"), "{out}");
    let st = c.state();
    assert_eq!(st["status"], "created", "the first container is untouched");
    assert_eq!(st["pid"], pid);
}

#[test]
fn missing_mount_source() {
    let mut c = Ctr::new();
    c.bundle
        .add_mount("/data", "bind", "/nonexistent/quai-source", &["bind"]);
    let out = c.create(&[]);
    one_clear_error(&c, out, &["/nonexistent/quai-source"]);
}

#[test]
fn missing_binary_in_container() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/no-such-binary"]);
    let out = c.run(&[]);
    one_clear_error(&c, out, &["no such file or directory"]);
}

#[test]
fn unknown_flag() {
    let c = Ctr::new();
    c.bundle.save();
    let [flag, b] = c.bundle_args();
    let out = c.cmd(&["create", "--no-such-flag", &flag, &b, &c.id]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("no-such-flag"), "{out}");
    c.assert_gone(None);
}

#[test]
fn unknown_oci_version_major() {
    let mut c = Ctr::new();
    c.bundle.set("/ociVersion", json!("2.0.0"));
    let out = c.create(&[]);
    if integration_tests::assets::is_runc() {
        eprintln!("not checked on runc: runc 1.1.5 does not check ociVersion; the contract makes an unknown major an error");
        return;
    }
    one_clear_error(&c, out, &["ociVersion"]);
}

#[test]
fn every_1_x_oci_version_is_accepted() {
    for v in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.0", "1.3.0"] {
        let mut c = Ctr::new();
        c.bundle.set("/ociVersion", json!(v));
        c.bundle.probe(&["exit", "0"]);
        let out = c.run(&[]);
        assert_eq!(out.code, 0, "ociVersion {v}: {out}");
    }
}

#[test]
fn state_of_unknown_id() {
    let c = Ctr::new();
    let out = c.cmd(&["state", &c.id]);
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("does not exist"), "{out}");
}

#[test]
fn start_twice_fails() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    c.start().ok();
    let out = c.start();
    assert_eq!(out.code, 1, "{out}");
    assert_eq!(c.state()["status"], "running");
}

/// An SELinux label on a host without SELinux is refused, as an AppArmor profile is
/// (runc's words and behaviour on such a host).
#[test]
fn selinux_label_without_selinux() {
    if std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        eprintln!("SELinux is enabled on this host: the refusal cannot be checked here");
        return;
    }
    let mut c = Ctr::new();
    c.bundle.set(
        "/process/selinuxLabel",
        json!("system_u:system_r:container_t:s0"),
    );
    let out = c.create(&[]);
    one_clear_error(&c, out, &["selinux label is specified in config"]);
}
