//! Runs the built `quai` for behaviour that needs no container: versions, usage
//! errors, missing ids, `spec`, an empty `list`, and the log file's lines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("quai-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs quai with a private `--root` under `tmp` and the given arguments.
fn quai(tmp: &TempDir, args: &[&str]) -> Output {
    let root = tmp.path().join("root");
    Command::new(env!("CARGO_BIN_EXE_quai"))
        .arg("--root")
        .arg(&root)
        .args(args)
        .current_dir(tmp.path())
        .output()
        .expect("run quai")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts a failure: exit status 1 and exactly one line on stderr.
fn assert_fails_one_line(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(1), "stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "stderr: {err:?}");
    err
}

#[test]
fn version() {
    let tmp = TempDir::new("version");
    for flag in ["--version", "-v"] {
        let o = quai(&tmp, &[flag]);
        assert!(o.status.success());
        let out = stdout(&o);
        assert!(out.starts_with("quai version "), "{out}");
        assert!(out.lines().any(|l| l.starts_with("spec: 1.")), "{out}");
    }
}

#[test]
fn usage_errors_exit_1_with_one_line() {
    let tmp = TempDir::new("usage");
    for args in [
        &["--bogus", "list"][..],
        &["list", "--bogus"],
        &["state"],
        &["kill", "a", "b", "c"],
        &["nosuch"],
    ] {
        let o = quai(&tmp, args);
        assert_fails_one_line(&o);
    }
    assert!(quai(&tmp, &["--help"]).status.success());
    assert!(quai(&tmp, &["create", "--help"]).status.success());
}

#[test]
fn later_commands_fail_clearly() {
    let tmp = TempDir::new("later");
    for (args, name) in [
        (
            &[
                "checkpoint",
                "--image-path",
                "i",
                "--work-path",
                "w",
                "--leave-running",
                "c",
            ],
            "checkpoint",
        ),
        (
            &[
                "restore",
                "--detach",
                "--bundle",
                "b",
                "--pid-file",
                "p",
                "c",
            ],
            "restore",
        ),
    ] {
        let err = assert_fails_one_line(&quai(&tmp, args));
        assert!(
            err.contains(&format!("{name} is not implemented yet")),
            "{err}"
        );
    }
}

#[test]
fn exec_failures_exit_255_with_runcs_prefix() {
    // containerd's argv; the container does not exist.
    let tmp = TempDir::new("exec");
    let o = quai(
        &tmp,
        &["exec", "--detach", "--pid-file", "p", "--process", "f", "c"],
    );
    assert_eq!(o.status.code(), Some(255), "stderr: {}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "stderr: {err:?}");
    assert!(
        err.contains("exec failed: ") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn cgroup_commands_on_a_missing_id_say_it_does_not_exist() {
    let tmp = TempDir::new("cgcmds");
    for args in [
        &["pause", "c"][..],
        &["resume", "c"],
        &["update", "--pids-limit", "5", "c"],
        &["events", "--stats", "--interval", "5s", "c"],
        &["ps", "--format", "json", "c"],
    ] {
        let err = assert_fails_one_line(&quai(&tmp, args));
        assert!(err.contains("does not exist"), "{args:?}: {err}");
    }
}

#[test]
fn state_of_a_missing_id() {
    let tmp = TempDir::new("state");
    let err = assert_fails_one_line(&quai(&tmp, &["state", "nope"]));
    assert!(err.contains("does not exist"), "{err}");
    let err = assert_fails_one_line(&quai(&tmp, &["delete", "nope"]));
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn delete_force_of_a_missing_id_succeeds() {
    let tmp = TempDir::new("delete");
    let o = quai(&tmp, &["delete", "--force", "nope"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stderr.is_empty() && o.stdout.is_empty());
}

#[test]
fn spec_writes_once() {
    let tmp = TempDir::new("spec");
    let o = quai(&tmp, &["spec"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text =
        std::fs::read_to_string(tmp.path().join("config.json")).expect("config.json written");
    let spec = libcontainer::spec::parse(&text).expect("parses");
    assert_eq!(spec.hostname().as_deref(), Some("quai"));
    let err = assert_fails_one_line(&quai(&tmp, &["spec"]));
    assert!(
        err.contains("File config.json exists. Remove it first"),
        "{err}"
    );

    std::fs::create_dir(tmp.path().join("b")).expect("mkdir");
    let o = quai(&tmp, &["spec", "--rootless", "--bundle", "b"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text =
        std::fs::read_to_string(tmp.path().join("b/config.json")).expect("config.json written");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert!(v["linux"]["uidMappings"].is_array());
}

#[test]
fn list_of_an_empty_root() {
    let tmp = TempDir::new("list");
    let o = quai(&tmp, &["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
    );
    let o = quai(&tmp, &["list", "--format", "json"]);
    assert_eq!(stdout(&o), "[]\n");
    let o = quai(&tmp, &["ls", "-q"]);
    assert!(o.status.success() && o.stdout.is_empty());
}

#[test]
fn json_log_of_a_failure_is_one_line() {
    let tmp = TempDir::new("log");
    for (i, args) in [&["state", "nope"][..], &["--bogus", "state", "nope"]]
        .into_iter()
        .enumerate()
    {
        let log = tmp.path().join(format!("log{i}.json"));
        let log_s = log.to_str().expect("utf-8 path");
        let mut full = vec!["--log", log_s, "--log-format", "json"];
        full.extend_from_slice(args);
        let o = quai(&tmp, &full);
        assert_fails_one_line(&o);
        let text = std::fs::read_to_string(&log).expect("log written");
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("one JSON object");
        assert_eq!(v["level"], "error");
        assert_eq!(
            v["msg"].as_str().map(|m| stderr(&o).trim() == m),
            Some(true),
            "{text}"
        );
        assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(v.as_object().map(|o| o.len()), Some(3));
    }
}

#[test]
fn text_log_to_stderr_without_log_file() {
    let tmp = TempDir::new("text");
    let err = assert_fails_one_line(&quai(&tmp, &["kill", "--bogus", "c"]));
    assert!(
        err.starts_with("time=\"") && err.contains(" level=error msg=\""),
        "{err}"
    );
}
