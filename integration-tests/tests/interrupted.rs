//! A `create` killed half-way (here: while its createRuntime hook runs) must leave
//! something `state` can describe and `delete --force` can remove completely.

use integration_tests::{host, Ctr};
use std::path::Path;
use std::time::{Duration, Instant};

/// The direct children of `pid` (every thread's `children` file).
fn children_of(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let text = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        out.extend(
            text.split_whitespace()
                .filter_map(|p| p.parse::<i32>().ok()),
        );
    }
    out
}

/// Wait (10 s at most) for the hook to write its pid into `marker`.
fn wait_for_hook(marker: &Path) -> i32 {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(marker).unwrap_or_default();
        if let Some(pid) = text.lines().next().and_then(|l| l.trim().parse().ok()) {
            return pid;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the createRuntime hook never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Ends the hook's `sleep`, which outlives the killed runtime; it is ours (our
/// hook), killed by its pid.
struct KillOnDrop(i32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // SAFETY: a plain kill of the pid the hook reported about itself.
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

#[test]
fn create_killed_during_a_hook_is_removed_by_delete_force() {
    let mut c = Ctr::new();
    let marker = c.work().join("hook-started");
    // `exec` keeps the pid the hook writes, so it names the sleep itself.
    let script = format!("echo $$ > {}; exec sleep 30", marker.display());
    c.bundle.add_hook(
        "createRuntime",
        "/bin/sh",
        &["sh", "-c", &script],
        &["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
        None,
    );
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let [flag, b] = c.bundle_args();
    let mut create = c.spawn(&["create", &flag, &b, &c.id], "create-killed");
    let hook = KillOnDrop(wait_for_hook(&marker));

    // Everything quai started besides the hook: the container's init.
    let others: Vec<i32> = children_of(create.id())
        .into_iter()
        .filter(|p| *p != hook.0)
        .collect();
    assert!(
        !others.is_empty(),
        "no container init exists while createRuntime runs"
    );
    create.kill().expect("SIGKILL the runtime");
    let _ = create.wait();

    // `state` of a half-made container must answer, not crash: an error, or a status.
    let st = c.cmd(&["state", &c.id]);
    assert!(
        st.code == 0 || st.code == 1,
        "state crashed on a half-created container: {st}"
    );
    assert!(!st.stderr.contains("panicked"), "{st}");
    if st.code == 0 {
        let status = st.json()["status"].as_str().unwrap_or_default().to_string();
        assert!(
            ["creating", "stopped"].contains(&status.as_str()),
            "a create that never finished reports {status:?}: {st}"
        );
    }

    c.delete(&["--force"]).ok();
    if integration_tests::assets::is_runc() {
        // runc 1.1.5 has no record of a create killed before it saved its state, so
        // `delete --force` succeeds but leaves the cgroups; quai records the cgroup first.
        // They are named after our unique id: remove them so the host stays clean.
        let left = host::cgroups_named(&c.id);
        for dir in &left {
            let _ = std::fs::remove_dir(dir);
        }
        eprintln!("runc left cgroups after the killed create (removed): {left:?}");
        return;
    }
    c.assert_gone(None);
    for pid in &others {
        assert!(
            host::wait_process_gone(*pid),
            "the init {pid} of the killed create is still alive after delete --force"
        );
    }
    for m in host::cgroup_v1_mounts() {
        let dir = m.join("quai").join(&c.id);
        assert!(!dir.exists(), "{} is left", dir.display());
    }
}

/// SIGKILL of `create` at no fewer than 100 points spread over its run: after each,
/// `delete --force` leaves no state directory, cgroup directory, mount or process.
#[test]
fn create_killed_at_any_point_is_removed_by_delete_force() {
    let mut c = Ctr::new();
    integration_tests::interrupt::kill_create_at_points(&mut c, 100);
}
