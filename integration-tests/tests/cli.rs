//! Command-line surface: spec, version, global flags, logs, --no-pivot, run --keep.

use integration_tests::{Ctr, Value};

#[test]
fn spec_writes_a_default_config() {
    let c = Ctr::new();
    let dir = c.work().join("spec");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap();
    c.cmd(&["spec", "--bundle", d]).ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("spec wrote config.json");
    let spec: Value = serde_json::from_str(&text).expect("config.json is JSON");
    assert!(
        spec["ociVersion"].as_str().unwrap().starts_with("1."),
        "{spec}"
    );
    assert_eq!(spec["root"]["path"], "rootfs");
    assert_eq!(spec["process"]["args"], serde_json::json!(["sh"]));
    let ns: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    for kind in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(ns.contains(&kind), "{ns:?}");
    }
    // A second spec refuses to overwrite it.
    c.cmd(&["spec", "--bundle", d]).fails();
}

#[test]
fn spec_rootless_maps_the_user() {
    let c = Ctr::new();
    let dir = c.work().join("spec");
    std::fs::create_dir(&dir).unwrap();
    c.cmd(&["spec", "--rootless", "--bundle", dir.to_str().unwrap()])
        .ok();
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let ns = spec["linux"]["namespaces"].as_array().unwrap();
    assert!(ns.iter().any(|n| n["type"] == "user"), "{spec}");
    assert_eq!(spec["linux"]["uidMappings"][0]["containerID"], 0);
}

#[test]
fn spec_output_runs() {
    // The default config (with a non-terminal process) runs the busybox rootfs as is.
    let mut c = Ctr::new();
    let b = c.bundle.dir().to_str().unwrap().to_string();
    std::fs::remove_file(c.bundle.dir().join("config.json")).ok();
    c.cmd(&["spec", "--bundle", &b]).ok();
    let text = std::fs::read_to_string(c.bundle.dir().join("config.json")).unwrap();
    c.bundle.config = serde_json::from_str(&text).unwrap();
    c.bundle.set("/process/terminal", serde_json::json!(false));
    c.bundle.probe(&["echo", "spec ok"]);
    assert_eq!(c.run(&[]).ok().stdout, "spec ok\n");
}

#[test]
fn version_flag() {
    let c = Ctr::new();
    let out = c.cmd(&["-v"]).ok();
    assert!(out.stdout.contains("version"), "{out}");
    assert!(out.stdout.contains("spec"), "{out}");
}

#[test]
fn closed_stdout_is_filled_with_dev_null() {
    // An engine may start the runtime with stdout closed. Then the first file quai
    // opens (here its log) would become fd 1, and the list table would be written
    // into the log; and printing to a closed fd 1 fails (a Rust program dies of it).
    // quai starts without std's runtime start, which guarded against both, so it must
    // fill fds 0-2 itself.
    use std::os::unix::process::CommandExt;
    let c = Ctr::new();
    let log = c.work().join("log.txt");
    let out = c.cmd_with(&["--log", log.to_str().unwrap(), "list"], None, |cmd| {
        // SAFETY: close(2) is async-signal-safe; the child only closes its own fd 1.
        unsafe {
            cmd.pre_exec(|| {
                libc::close(1);
                Ok(())
            });
        }
    });
    assert_eq!(out.code, 0, "{out}");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !text.contains("STATUS"),
        "the list table went into the log: {text}"
    );
}

#[test]
fn global_flags_are_accepted() {
    let c = Ctr::new();
    let log = c.work().join("log.json");
    let log = log.to_str().unwrap();
    c.cmd(&["--log", log, "--log-format", "json", "--debug", "list"])
        .ok();
    c.cmd(&["--rootless", "false", "list"]).ok();
    c.cmd(&["--log-format=text", "--rootless=auto", "list", "-q"])
        .ok();
}

#[test]
fn json_log_has_one_error_line() {
    let c = Ctr::new();
    let log = c.work().join("log.json");
    let out = c.cmd(&[
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        &c.id,
    ]);
    assert_eq!(out.code, 1, "{out}");
    let text = std::fs::read_to_string(&log).expect("the log file is written");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "podman reads the whole log as one object: {text}"
    );
    let entry: Value = serde_json::from_str(lines[0]).expect("a JSON log line");
    assert_eq!(entry["level"], "error", "{entry}");
    assert!(
        entry["msg"].as_str().unwrap().contains("does not exist"),
        "{entry}"
    );
    assert!(entry["time"].is_string(), "{entry}");
}

#[test]
fn no_pivot() {
    let mut c = Ctr::new();
    c.bundle.probe(&["report"]);
    let out = c.run(&["--no-pivot"]).ok();
    let r = out.json();
    assert_eq!(r["pid"], 1);
    assert!(integration_tests::report::mount_at(&r, "/proc").is_some());
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "3"]);
    let out = c.run(&["--keep"]);
    assert_eq!(out.code, 3, "{out}");
    let st = c.state();
    assert_eq!(st["status"], "stopped");
    c.delete(&[]).ok();
    c.assert_gone(None);
}

#[test]
fn run_without_keep_deletes_the_container() {
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "0"]);
    c.run(&[]).ok();
    c.assert_gone(None);
}

#[test]
fn create_and_run_accept_runcs_flags() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let pid_file = c.work().join("p.pid");
    c.create(&[
        "--no-new-keyring",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--preserve-fds",
        "0",
    ])
    .ok();
    c.delete(&["--force"]).ok();
    c.bundle.probe(&["exit", "0"]);
    c.run(&["--no-subreaper", "--no-new-keyring"]).ok();
}
