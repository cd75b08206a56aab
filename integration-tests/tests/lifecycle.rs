//! create / start / state / run / delete / list / pid-file.

use integration_tests::{host, Ctr};

#[test]
fn create_start_state_transitions() {
    let mut c = Ctr::new();
    c.bundle.probe(&["trap"]);
    c.bundle.set(
        "/annotations",
        serde_json::json!({ "org.quai.test": "yes" }),
    );
    c.create(&[]).ok();

    let st = c.state();
    assert_eq!(st["status"], "created", "{st}");
    assert_eq!(st["id"], c.id.as_str());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(c.root()).unwrap().permissions(),
    );
    assert_eq!(mode & 0o077, 0, "the state root is private: {mode:o}");
    let pid = st["pid"].as_i64().expect("pid") as i32;
    assert!(pid > 0 && host::process_alive(pid), "{st}");
    assert_eq!(st["bundle"], c.bundle.dir().to_str().unwrap());
    assert_eq!(st["annotations"]["org.quai.test"], "yes", "{st}");
    assert!(
        st["ociVersion"].is_string() && st["created"].is_string(),
        "{st}"
    );

    c.start().ok();
    let st = c.wait_status("running");
    assert_eq!(
        st["pid"].as_i64(),
        Some(pid as i64),
        "the init keeps its pid across start"
    );

    c.kill(&["TERM"]).ok();
    let st = c.wait_status("stopped");
    assert_eq!(st["pid"], 0, "a stopped container reports pid 0: {st}");
    assert!(!host::process_alive(pid));
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn run_foreground_exit_code() {
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "42"]);
    let out = c.run(&[]);
    assert_eq!(out.code, 42, "{out}");
    c.assert_gone(None);
}

#[test]
fn run_prints_from_inside() {
    let mut c = Ctr::new();
    c.bundle.probe(&["echo", "hello", "from", "inside"]);
    let out = c.run(&[]).ok();
    assert_eq!(out.stdout, "hello from inside\n");
}

#[test]
fn options_after_the_id() {
    // The contract: `create <id> --bundle B` works (runc accepts it; crun 1.8.1 does not).
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let [flag, b] = c.bundle_args();
    c.cmd(&["create", &c.id, &flag, &b]).ok();
    assert_eq!(c.state()["status"], "created");
}

#[test]
fn run_killed_by_signal_reports_128_plus_n() {
    let mut c = Ctr::new();
    // Without a PID namespace the probe is not an init, so the default action applies.
    c.bundle.remove_namespace("pid");
    c.bundle.probe(&["kill-self", "TERM"]);
    let out = c.run(&[]);
    assert_eq!(out.code, 128 + 15, "{out}");
}

#[test]
fn run_killed_from_host_reports_137() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    std::thread::scope(|s| {
        let runner = s.spawn(|| c.run(&[]));
        c.wait_status("running");
        c.kill(&["KILL"]).ok();
        let out = runner.join().expect("run thread");
        assert_eq!(out.code, 137, "{out}");
    });
    c.assert_gone(None);
}

#[test]
fn run_detach_returns_while_running() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let st = c.state();
    assert_eq!(st["status"], "running", "{st}");
    let pid = st["pid"].as_i64().unwrap() as i32;
    assert!(host::process_alive(pid));
    c.kill(&["KILL"]).ok();
    c.wait_status("stopped");
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn delete_force_running_leaves_nothing() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    c.start().ok();
    let pid = c.pid();
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn delete_force_created_leaves_nothing() {
    let c = Ctr::new();
    c.create(&[]).ok();
    let pid = c.pid();
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn delete_created_without_force_kills_it() {
    let c = Ctr::new();
    c.create(&[]).ok();
    let pid = c.pid();
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn delete_running_without_force_fails() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let out = c.delete(&[]).fails();
    assert!(out.stderr.contains("not stopped"), "{out}");
    assert_eq!(c.state()["status"], "running");
}

#[test]
fn delete_force_of_unknown_id_succeeds() {
    let c = Ctr::new();
    c.delete(&["--force"]).ok();
}

#[test]
fn list_table_json_and_quiet() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    let pid = c.pid();

    let table = c.cmd(&["list"]).ok().stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{table}"
    );
    let row: Vec<&str> = lines.next().unwrap_or("").split_whitespace().collect();
    assert_eq!(
        row[..4],
        [
            c.id.as_str(),
            &pid.to_string(),
            "created",
            c.bundle.dir().to_str().unwrap()
        ],
        "{table}"
    );

    let json = c.cmd(&["list", "--format", "json"]).ok().json();
    assert_eq!(json[0]["id"], c.id.as_str(), "{json}");
    assert_eq!(json[0]["status"], "created");
    assert_eq!(json[0]["pid"], pid);

    let quiet = c.cmd(&["list", "-q"]).ok().stdout;
    assert_eq!(quiet, format!("{}\n", c.id));
}

#[test]
fn pid_file_is_decimal_without_newline() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let pid_file = c.work().join("init.pid");
    c.create(&["--pid-file", pid_file.to_str().unwrap()]).ok();
    let text = std::fs::read_to_string(&pid_file).expect("pid file exists when create returns");
    assert_eq!(text, c.pid().to_string());
}

#[test]
fn state_fields() {
    let c = Ctr::new();
    c.create(&[]).ok();
    let st = c.state();
    for key in [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "created",
        "owner",
    ] {
        assert!(!st[key].is_null(), "state lacks {key}: {st}");
    }
    // RFC 3339 with nanoseconds, e.g. 2026-11-25T01:36:57.123456789Z.
    let created = st["created"].as_str().unwrap();
    assert!(created.contains('T') && created.contains('.'), "{created}");
    assert_eq!(st["rootfs"], c.bundle.rootfs().to_str().unwrap(), "{st}");
}

#[test]
fn absolute_root_path() {
    let mut c = Ctr::new();
    let abs = c.bundle.rootfs().to_string_lossy().into_owned();
    c.bundle.set("/root/path", serde_json::json!(abs));
    let r = c.report(&[]);
    assert_eq!(r["pid"], 1);
}

#[test]
fn relative_bundle_is_recorded_absolute() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let id = c.id.clone();
    let work = c.work().to_path_buf();
    c.cmd_with(&["create", "--bundle", "bundle", &id], None, |cmd| {
        cmd.current_dir(&work);
    })
    .ok();
    let st = c.state();
    assert_eq!(st["bundle"], c.bundle.dir().to_str().unwrap(), "{st}");
    assert_eq!(st["rootfs"], c.bundle.rootfs().to_str().unwrap(), "{st}");
}
