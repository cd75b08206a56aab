//! Class: a stopped container's host PID reused by another process. The container's
//! process exits; the kernel hands its PID to an unrelated host process (here made to
//! happen with `/proc/sys/kernel/ns_last_pid`). `state` must say stopped, and `kill`,
//! `kill --all`, `delete` and `delete --force` must never signal that process: the
//! runtime knows the process by its PID *and* its start time, and signals through a
//! pidfd it verified. Host side: the bystander is still alive, and was never stopped.

use integration_tests::{host, Ctr};
use std::process::{Child, Command, Stdio};

/// A host process holding exactly `pid`, made by setting the kernel's last PID to
/// `pid - 1` just before forking. Another process of the machine may take the PID
/// first, so this tries a few times.
fn bystander_at(pid: i32) -> Option<Child> {
    // A zombie still holds its PID until its reaper has waited for it.
    host::eventually(&format!("PID {pid} free"), || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    for _ in 0..50 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1))
            .expect("write ns_last_pid (root in the initial PID namespace)");
        let child = Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sleep");
        if child.id() as i32 == pid {
            return Some(child);
        }
        end(child);
    }
    None
}

fn end(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The bystander is alive and not stopped (`kill -STOP` would leave it `T`).
#[track_caller]
fn assert_untouched(bystander: &mut Child, after: &str) {
    assert!(
        bystander.try_wait().expect("wait").is_none(),
        "{after}: the runtime signalled the process that reused the container's PID"
    );
    let state = host::proc_status(bystander.id() as i32, "State").unwrap_or_default();
    assert!(
        state.starts_with('S') || state.starts_with('R'),
        "{after}: the bystander is {state:?}"
    );
}

/// Runs the container's process to its end and gives its PID to a bystander.
fn stopped_container_and_bystander(c: &Ctr) -> Option<Child> {
    c.create(&[]).ok();
    let pid = c.pid();
    c.start().ok();
    c.wait_status("stopped");
    // The init is reaped by the host's PID 1 (or the reaper that adopted it).
    assert!(host::wait_process_gone(pid), "the init {pid} never went");
    let bystander = bystander_at(pid);
    if bystander.is_none() {
        eprintln!("PID {pid} was taken by another process of the machine 50 times in a row");
    }
    bystander
}

#[test]
fn kill_never_signals_a_process_that_reused_the_pid() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/true"]);
    let mut bystander = stopped_container_and_bystander(&c).expect("a bystander at the PID");
    assert_eq!(c.state()["status"], "stopped");
    for args in [&["KILL"][..], &["STOP"], &["--all", "KILL"]] {
        let mut all = vec!["kill"];
        all.extend_from_slice(&args[..args.len() - 1]);
        all.extend_from_slice(&[c.id.as_str(), args[args.len() - 1]]);
        let out = c.cmd(&all);
        assert_untouched(&mut bystander, &format!("{all:?} ({out})"));
    }
    c.delete(&[]).ok();
    assert_untouched(&mut bystander, "delete");
    end(bystander);
    c.assert_gone(None);
}

#[test]
fn delete_force_never_signals_a_process_that_reused_the_pid() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/true"]);
    let mut bystander = stopped_container_and_bystander(&c).expect("a bystander at the PID");
    c.delete(&["--force"]).ok();
    assert_untouched(&mut bystander, "delete --force");
    end(bystander);
    c.assert_gone(None);
}

/// The init of a created container killed from the host, and its PID reused before the
/// engine looks again: the container is stopped, not "created" with a stranger as init.
#[test]
fn a_killed_init_whose_pid_is_reused_is_stopped() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/true"]);
    c.create(&[]).ok();
    let pid = c.pid();
    host::sh(&format!("kill -KILL {pid}"));
    assert!(host::wait_process_gone(pid), "the init {pid} never went");
    let mut bystander = bystander_at(pid).expect("a bystander at the PID");
    assert_eq!(c.state()["status"], "stopped");
    let out = c.start();
    assert_ne!(
        out.code, 0,
        "start went ahead with a stranger as init: {out}"
    );
    assert_untouched(&mut bystander, "start");
    c.kill(&["KILL"]);
    assert_untouched(&mut bystander, "kill");
    c.delete(&["--force"]).ok();
    assert_untouched(&mut bystander, "delete --force");
    end(bystander);
    c.assert_gone(None);
}
