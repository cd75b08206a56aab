//! `kill` by name, number, real-time number, default, and `--all`.

use integration_tests::Ctr;

/// Start a container running `probe trap` and return it with its create output.
fn trapping() -> (Ctr, integration_tests::Out) {
    let mut c = Ctr::new();
    c.bundle.probe(&["trap"]);
    let out = c.create(&[]).ok();
    c.start().ok();
    out.wait_for("ready");
    (c, out)
}

fn delivered(sig: &[&str], want: i32) {
    let (c, out) = trapping();
    c.kill(sig).ok();
    let text = out.wait_for("signal ");
    assert!(
        text.contains(&format!("signal {want}\n")),
        "kill {sig:?}: {text}"
    );
    c.wait_status("stopped");
}

#[test]
fn kill_by_name() {
    delivered(&["USR1"], 10);
}

#[test]
fn kill_by_sig_name() {
    delivered(&["SIGUSR2"], 12);
}

#[test]
fn kill_by_number() {
    delivered(&["1"], 1);
}

#[test]
fn kill_realtime_number() {
    delivered(&["37"], 37);
}

#[test]
fn kill_defaults_to_term() {
    delivered(&[], 15);
}

#[test]
fn kill_lowercase_name() {
    delivered(&["hup"], 1);
}

#[test]
fn kill_all() {
    let mut c = Ctr::new();
    // No PID namespace: the child outlives the init unless `--all` reaches it.
    c.bundle.remove_namespace("pid");
    c.bundle.args(&[
        "/bin/sh",
        "-c",
        "/bin/probe sleep forever & exec /bin/probe sleep forever",
    ]);
    c.create(&[]).ok();
    c.start().ok();
    let pid = c.pid();
    let children_file = format!("/proc/{pid}/task/{pid}/children");
    let start = std::time::Instant::now();
    let child: i32 = loop {
        let text = std::fs::read_to_string(&children_file).unwrap_or_default();
        if let Some(p) = text.split_whitespace().next() {
            break p.parse().expect("child pid");
        }
        assert!(start.elapsed().as_secs() < 10, "no child appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    c.cmd(&["kill", "--all", &c.id, "KILL"]).ok();
    assert!(
        integration_tests::host::wait_process_gone(child),
        "child {child} survived kill --all"
    );
    c.wait_status("stopped");
    // The init is gone: `--all` still succeeds.
    c.cmd(&["kill", "--all", &c.id, "KILL"]).ok();
}

#[test]
fn kill_stopped_container_fails() {
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "0"]);
    c.create(&[]).ok();
    c.start().ok();
    c.wait_status("stopped");
    let out = c.kill(&["KILL"]).fails();
    assert!(out.stderr.contains("container not running"), "{out}");
}

#[test]
fn run_forwards_signals_to_the_container() {
    let mut c = Ctr::new();
    c.bundle.probe(&["trap"]);
    c.bundle.save();
    let out_path = c.work().join("forward.out");
    let [flag, b] = c.bundle_args();
    let mut cmd = std::process::Command::new(integration_tests::assets::runtime_bin());
    cmd.arg("--root")
        .arg(c.root())
        .args(["run", &flag, &b, &c.id]);
    cmd.stdout(std::fs::File::create(&out_path).unwrap())
        .stdin(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn run");
    let wait_for = |needle: &str| {
        let start = std::time::Instant::now();
        loop {
            let text = std::fs::read_to_string(&out_path).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                start.elapsed().as_secs() < 10,
                "never saw {needle:?}: {text:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    wait_for("ready");
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    let text = wait_for("signal ");
    assert!(text.contains("signal 10\n"), "{text}");
    let code = integration_tests::out::wait_deadline(&mut child, "run");
    assert_eq!(code, 0);
}

/// `kill --all <id> 0` of a stopped container succeeds, as runc's kill.bats expects
/// (signal 0 only checks that the processes exist).
#[test]
fn kill_all_with_signal_zero_after_the_container_stopped() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    c.kill(&["KILL"]).ok();
    c.wait_status("stopped");
    c.cmd(&["kill", "--all", &c.id, "0"]).ok();
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}

/// Without a pid namespace of its own, SIGKILL to the init would leave the container's
/// other processes running: `kill <id> KILL` kills every process of its cgroup, as runc
/// 1.2 does (with its own pid namespace the kernel does that itself).
#[test]
fn sigkill_with_a_shared_pid_namespace_kills_every_process() {
    let mut c = Ctr::new();
    c.bundle.namespaces(&["mount", "ipc", "uts", "network"]);
    // The init forks a second process that outlives nothing but the container.
    c.bundle.args(&[
        "sh",
        "-c",
        "sleep 1000 & echo $! > /tmp/child; exec sleep 1000",
    ]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let child_file = c.bundle.rootfs().join("tmp/child");
    integration_tests::host::eventually("the child's pid is written", || {
        std::fs::read_to_string(&child_file).is_ok_and(|s| !s.trim().is_empty())
    });
    // The same pid namespace as ours: the pid it wrote is its host pid.
    let child: i32 = std::fs::read_to_string(&child_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(integration_tests::host::process_alive(child));
    c.kill(&["KILL"]).ok();
    if integration_tests::assets::is_runc() {
        eprintln!("runc 1.1.5 kills only the init here (runc 1.2 kills all); quai only");
        c.delete(&["--force"]).ok();
        return;
    }
    assert!(
        integration_tests::host::wait_process_gone(child),
        "the container's other process survived kill KILL"
    );
    c.wait_status("stopped");
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}
