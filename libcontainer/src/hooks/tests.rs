use oci_spec::runtime::HookBuilder;

use super::*;

fn hook(path: &str, args: &[&str], env: &[&str], timeout: Option<i64>) -> Hook {
    let mut b = HookBuilder::default().path(path);
    if !args.is_empty() {
        b = b.args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }
    if !env.is_empty() {
        b = b.env(env.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build().expect("hook")
}

fn sh(script: &str) -> Hook {
    hook("/bin/sh", &["sh", "-c", script], &[], None)
}

const STATE: &str =
    r#"{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b"}"#;

#[test]
fn state_reaches_the_hook_on_stdin() {
    let check = hook(
        "/bin/sh",
        &["sh", "-c", r#"read -r x; [ "$x" = "$WANT" ]"#],
        &[&format!("WANT={STATE}")],
        None,
    );
    run_all("prestart", &[check], STATE).expect("hook saw the state on stdin");
}

#[test]
fn failing_hook_reports_phase_index_path_status_and_output() {
    let ok = sh("exit 0");
    let bad = sh("echo to-out; cat >&2; exit 3");
    let err = run_all("createRuntime", &[ok, bad], STATE)
        .expect_err("second hook fails")
        .to_string();
    let want = format!("error running hook #1 (createRuntime hook /bin/sh): exit status 3, stdout: to-out, stderr: {STATE}");
    assert_eq!(err, want);
}

#[test]
fn environment_is_exactly_the_given_env() {
    let h = hook(
        "/bin/sh",
        &["sh", "-c", r"tr '\0' '\n' < /proc/$$/environ >&2; exit 1"],
        &["A=1", "B=two words"],
        None,
    );
    let err = run_all("prestart", &[h], STATE)
        .expect_err("hook exits 1")
        .to_string();
    assert!(err.ends_with("stderr: A=1\nB=two words"), "{err}");

    let empty = hook(
        "/bin/sh",
        &["sh", "-c", r"tr '\0' '\n' < /proc/$$/environ >&2; exit 1"],
        &[],
        None,
    );
    let err = run_all("prestart", &[empty], STATE)
        .expect_err("hook exits 1")
        .to_string();
    assert!(err.ends_with("exit status 1, stdout: , stderr: "), "{err}");
}

#[test]
fn args_zero_is_argv_zero() {
    let h = hook(
        "/bin/sh",
        &[
            "my-hook",
            "-c",
            r"tr '\0' ' ' < /proc/$$/cmdline >&2; exit 1",
        ],
        &[],
        None,
    );
    let err = run_all("prestart", &[h], STATE)
        .expect_err("hook exits 1")
        .to_string();
    assert!(err.contains("stderr: my-hook -c "), "{err}");
}

#[test]
fn no_args_runs_the_path_alone() {
    run_all("prestart", &[hook("/bin/true", &[], &[], None)], STATE).expect("true succeeds");
    let err =
        run_all("prestart", &[hook("/bin/false", &[], &[], None)], STATE).expect_err("false fails");
    assert!(
        err.to_string().contains("hook /bin/false): exit status 1"),
        "{err}"
    );
}

#[test]
fn hook_past_its_timeout_is_killed() {
    let slow = hook(
        "/bin/sh",
        &["sh", "-c", "echo started; exec sleep 60"],
        &[],
        Some(1),
    );
    let err = run_all("prestart", &[slow], STATE)
        .expect_err("timeout")
        .to_string();
    assert!(
        err.contains("timed out") && err.contains("timeout of 1s"),
        "{err}"
    );
    assert!(err.contains("stdout: started"), "{err}");
}

#[test]
fn non_positive_timeout_is_refused() {
    let err =
        run_all("prestart", &[hook("/bin/true", &[], &[], Some(0))], STATE).expect_err("timeout 0");
    assert!(err.to_string().contains("invalid timeout 0"), "{err}");
}

#[test]
fn hook_that_ignores_stdin_and_writes_much_does_not_deadlock() {
    let big_state = format!(r#"{{"pad":"{}"}}"#, "x".repeat(1 << 20));
    let h = sh("head -c 2000000 /dev/zero; head -c 2000000 /dev/zero >&2; exit 0");
    run_all("prestart", &[h], &big_state).expect("ignoring stdin is fine");

    let failing = sh("head -c 2000000 /dev/zero | tr '\\0' e >&2; exit 9");
    let err = run_all("prestart", &[failing], STATE)
        .expect_err("exit 9")
        .to_string();
    assert!(err.contains("exit status 9"), "{}", &err[..200]);
    assert!(
        err.len() < 70 * 1024,
        "message is bounded, got {} bytes",
        err.len()
    );
}

#[test]
fn missing_program_names_it() {
    let err = run_all(
        "poststop",
        &[hook("/nonexistent/hook", &[], &[], None)],
        STATE,
    )
    .expect_err("missing");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "error running hook #0 (poststop hook /nonexistent/hook): cannot start it:"
        ),
        "{text}"
    );
    assert!(text.contains("No such file or directory"), "{text}");
}

#[test]
fn killed_by_signal_is_reported() {
    let err = run_all("prestart", &[sh("kill -9 $$")], STATE)
        .expect_err("killed")
        .to_string();
    assert!(err.contains("signal: killed"), "{err}");
}

#[test]
fn run_all_stops_at_the_first_failure_and_warn_runs_every_hook() {
    let dir = std::env::temp_dir().join(format!("quai-hooks-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let marker = dir.join("ran");
    let touch = hook(
        "/bin/sh",
        &["sh", "-c", r#"echo x > "$M""#],
        &[&format!("M={}", marker.display())],
        None,
    );

    let stopped = run_all("prestart", &[sh("exit 2"), touch.clone()], STATE);
    assert!(stopped.is_err());
    assert!(!marker.exists(), "run_all ran a hook after a failure");

    let warnings = run_all_warn("poststop", &[sh("exit 2"), touch, sh("exit 4")], STATE);
    assert!(marker.exists(), "run_all_warn skipped a hook");
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].starts_with("error running hook #0 (poststop hook /bin/sh): exit status 2"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].starts_with("error running hook #2 (poststop hook /bin/sh): exit status 4"),
        "{warnings:?}"
    );
}

#[test]
fn a_grandchild_holding_the_pipes_does_not_hold_up_the_call() {
    // The background sleep keeps stdout open after the hook exits; the call must still
    // return once the hook itself has exited.
    run_all("prestart", &[sh("sleep 2 & echo started; exit 0")], STATE).expect("hook exited 0");
}
