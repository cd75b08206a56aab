use super::*;

#[test]
fn stdio_fds_with_a_terminal_are_refused_before_anything_is_made() {
    let dir = std::env::temp_dir().join(format!("quai-create-stdio-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    let spec: Spec = serde_json::from_value(serde_json::json!({
        "ociVersion": "1.3.0",
        "process": { "args": ["/bin/sh"], "cwd": "/", "terminal": true,
                     "user": { "uid": 0, "gid": 0 } },
        "root": { "path": "rootfs" },
        "linux": { "namespaces": [{ "type": "mount" }] }
    }))
    .unwrap();
    let root = dir.join("state");
    let null = std::fs::File::open("/dev/null").unwrap();
    let e = ContainerBuilder::new("stdio-tty")
        .unwrap()
        .root(&root)
        .stdout(null)
        .create_from_spec(spec, &dir.join("rootfs"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot give stdio fds to a process with a terminal"),
        "{e}"
    );
    assert!(
        !root.join("stdio-tty").exists(),
        "a state directory was made"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
