//! Hooks: order, state on stdin, env, failure semantics, timeout.

use integration_tests::{host, json, Ctr, TempDir, Value};
use std::path::Path;

/// A shell hook that records its kind, stdin (the state) and env in `dir`.
const HOOK: &str = r#"#!/bin/sh
kind=$1
dir=$2
cat > "$dir/$kind.json"
echo "$kind" >> "$dir/order"
env > "$dir/$kind.env"
"#;

/// The record directory is bind-mounted at /hooks so that `startContainer`, which runs
/// inside the container after pivot_root, can write to it too.
fn with_all_hooks() -> (Ctr, TempDir) {
    let rec = TempDir::new("hooks");
    std::fs::write(rec.join("hook.sh"), HOOK).unwrap();
    let mut c = Ctr::new();
    let dir = rec.path().to_str().unwrap().to_string();
    let script = format!("{dir}/hook.sh");
    c.bundle.add_mount("/hooks", "bind", &dir, &["bind"]);
    let env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "QUAI_HOOK=yes"];
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
    ] {
        c.bundle.add_hook(
            kind,
            "/bin/sh",
            &["sh", &script, kind, &dir],
            &env,
            Some(10),
        );
    }
    c.bundle.add_hook(
        "startContainer",
        "/bin/sh",
        &["sh", "/hooks/hook.sh", "startContainer", "/hooks"],
        &env,
        Some(10),
    );
    (c, rec)
}

fn state_of(dir: &Path, kind: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(format!("{kind}.json")))
        .unwrap_or_else(|e| panic!("{kind} did not run: {e}"));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{kind} got no JSON state ({e}): {text:?}"))
}

#[test]
fn all_hooks_run_in_order_with_state_and_env() {
    let (mut c, rec) = with_all_hooks();
    c.bundle.probe(&["exit", "0"]);
    c.create(&[]).ok();
    let pid = c.pid();
    c.start().ok();
    c.wait_status("stopped");
    c.delete(&[]).ok();

    let order = std::fs::read_to_string(rec.join("order")).unwrap();
    let mut order: Vec<&str> = order.lines().collect();
    if integration_tests::assets::is_runc() && order[3] == "poststart" {
        // runc 1.1.5 runs poststart in the parent while the init runs startContainer: a
        // race. The spec (and quai) run startContainer before the process starts.
        eprintln!(
            "runc ran poststart before startContainer (a race in runc); order not checked there"
        );
        order.swap(3, 4);
    }
    assert_eq!(
        order,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );

    let bundle = c.bundle.dir().to_str().unwrap();
    // runc reports `created` during the create hooks and in poststart; the spec's
    // `creating` and a `running` poststart are accepted too.
    for (kind, statuses) in [
        ("prestart", &["creating", "created"][..]),
        ("createRuntime", &["creating", "created"]),
        ("createContainer", &["creating", "created"]),
        ("startContainer", &["created"]),
        ("poststart", &["created", "running"]),
        ("poststop", &["stopped"]),
    ] {
        let st = state_of(rec.path(), kind);
        assert_eq!(st["id"], c.id.as_str(), "{kind}: {st}");
        assert_eq!(st["bundle"], bundle, "{kind}: {st}");
        assert!(st["ociVersion"].is_string(), "{kind}: {st}");
        assert!(
            statuses.contains(&st["status"].as_str().unwrap_or("")),
            "{kind}: {st}"
        );
        if ["createContainer", "startContainer"].contains(&kind) {
            // runc fills these in from inside the PID namespace (pid 1); the host pid is
            // what the spec asks for.
            assert!(st["pid"] == pid || st["pid"] == 1, "{kind}: {st}");
        } else if kind != "poststop" {
            assert_eq!(st["pid"], pid, "{kind}: {st}");
        }
        let env = std::fs::read_to_string(rec.join(format!("{kind}.env"))).unwrap();
        assert!(
            env.lines().any(|l| l == "QUAI_HOOK=yes"),
            "{kind} env: {env}"
        );
    }
}

#[test]
fn failing_prestart_fails_create_and_leaves_nothing() {
    let mut c = Ctr::new();
    c.bundle
        .add_hook("prestart", "/bin/false", &["false"], &[], None);
    let out = c.create(&[]).fails();
    assert!(!out.stderr.is_empty());
    c.assert_gone(None);
}

#[test]
fn failing_create_runtime_fails_run() {
    let mut c = Ctr::new();
    c.bundle.add_hook(
        "createRuntime",
        "/bin/sh",
        &["sh", "-c", "exit 3"],
        &[],
        None,
    );
    c.run(&[]).fails();
    c.assert_gone(None);
}

#[test]
fn failing_poststop_only_warns() {
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "0"]);
    c.bundle
        .add_hook("poststop", "/bin/false", &["false"], &[], None);
    c.create(&[]).ok();
    c.start().ok();
    c.wait_status("stopped");
    c.delete(&[]).ok();
    c.assert_gone(None);
}

#[test]
fn hook_timeout_kills_it_and_fails() {
    let mut c = Ctr::new();
    c.bundle
        .add_hook("prestart", "/bin/sleep", &["sleep", "30"], &[], Some(1));
    let start = std::time::Instant::now();
    c.create(&[]).fails();
    assert!(
        start.elapsed().as_secs() < 20,
        "the timeout was not honoured"
    );
    c.assert_gone(None);
}

#[test]
fn poststart_gets_pid_and_annotations() {
    let rec = TempDir::new("poststart");
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let out = rec.join("poststart.json");
    c.bundle.add_hook(
        "poststart",
        "/bin/sh",
        &["sh", "-c", &format!("cat > {}", out.display())],
        &[],
        None,
    );
    c.bundle.set("/annotations", json!({ "k": "v" }));
    c.run(&["--detach"]).ok();
    let st: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        st["status"] == "running" || st["status"] == "created",
        "{st}"
    );
    assert_eq!(st["pid"], c.pid());
    assert_eq!(st["annotations"]["k"], "v");
}

/// A `startContainer` hook that names no `env` runs with the container process's
/// environment, as runc runs it (the hook runs in the container, just before the process).
#[test]
fn start_container_hook_without_env_gets_the_process_env() {
    let rec = TempDir::new("hooks");
    let mut c = Ctr::new();
    let dir = rec.path().to_str().unwrap().to_string();
    c.bundle.add_mount("/hooks", "bind", &dir, &["bind"]);
    c.bundle
        .push("/process/env", json!("QUAI_MARK=from-process"));
    c.bundle.push(
        "/hooks/startContainer",
        json!({ "path": "/bin/sh", "args": ["sh", "-c", "env > /hooks/start.env"] }),
    );
    c.bundle.probe(&["exit", "0"]);
    c.run(&[]).ok();
    let env = std::fs::read_to_string(rec.join("start.env")).expect("the hook did not run");
    assert!(
        env.lines().any(|l| l == "QUAI_MARK=from-process"),
        "startContainer hook env: {env:?}"
    );
}

/// A failing poststart hook makes `start` fail (runtime-spec 1.3, runtime.md step 9)
/// and stops the container, which `delete` then removes (running poststop).
#[test]
fn failing_poststart_fails_start_and_stops_the_container() {
    let rec = TempDir::new("hooks");
    let mut c = Ctr::new();
    c.bundle
        .add_hook("poststart", "/bin/sh", &["sh", "-c", "exit 3"], &[], None);
    let marker = rec.join("poststop-ran");
    let script = format!("touch {}", marker.display());
    c.bundle
        .add_hook("poststop", "/bin/sh", &["sh", "-c", &script], &[], None);
    c.bundle.probe(&["sleep", "forever"]);
    if integration_tests::assets::is_runc() {
        // runc 1.1.5 runs poststart hooks during `create` (fixed in runc 1.2).
        eprintln!("runc 1.1.5 runs poststart at create; the start semantics are quai's only");
        return;
    }
    c.create(&[]).ok();
    let pid = c.pid();
    let out = c.start();
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("poststart"), "{out}");
    assert!(host::wait_process_gone(pid), "the container still runs");
    assert_eq!(c.state()["status"], "stopped");
    c.delete(&[]).ok();
    assert!(marker.exists(), "delete did not run the poststop hook");
    c.assert_gone(Some(pid));
}

/// `createContainer` hooks run with the container's root as their working directory,
/// as runc runs them (runc's hooks.bats writes into `./lib` that way).
#[test]
fn create_container_hook_runs_in_the_rootfs() {
    let rec = TempDir::new("hooks");
    let mut c = Ctr::new();
    let script = format!("pwd -P > {}", rec.join("cwd").display());
    c.bundle.add_hook(
        "createContainer",
        "/bin/sh",
        &["sh", "-c", &script],
        &[],
        None,
    );
    c.bundle.probe(&["exit", "0"]);
    c.run(&[]).ok();
    let cwd = std::fs::read_to_string(rec.join("cwd")).expect("the hook did not run");
    let rootfs = std::fs::canonicalize(c.bundle.rootfs()).unwrap();
    assert_eq!(cwd.trim(), rootfs.to_str().unwrap());
}
