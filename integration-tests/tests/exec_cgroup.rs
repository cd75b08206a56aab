//! `exec --cgroup`: a sub-cgroup of the container's, in runc's syntax (a plain path for
//! every hierarchy, `controller[,controller]:path` for some), which must exist and stay
//! below; `delete --force` removes such sub-cgroups with the container's own; and
//! `kill --all` reaches exec'd processes that outlive the init.

use integration_tests::{host, Ctr};

fn running() -> Ctr {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["-d"]).ok();
    c.wait_status("running");
    c
}

/// The `controller` line of a /proc/<pid>/cgroup text: its path.
fn path_of(cgroup: &str, controller: &str) -> String {
    cgroup
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, ctrls, path) = (f.next()?, f.next()?, f.next()?);
            ctrls
                .split(',')
                .any(|c| c == controller)
                .then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("no {controller} line in {cgroup}"))
}

#[test]
fn joins_an_existing_sub_cgroup_and_delete_removes_it() {
    if !std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!("no v1 memory hierarchy (a pure cgroup v2 host): the v1 syntax is not checked");
        return;
    }
    let c = running();
    let init = c.pid();
    let init_cg = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    let base = path_of(&init_cg, "memory");
    let dir = std::path::Path::new("/sys/fs/cgroup/memory")
        .join(base.trim_start_matches('/'))
        .join("sub");
    std::fs::create_dir(&dir).unwrap();
    let out = c.cmd(&[
        "exec",
        "--cgroup",
        "memory:sub",
        &c.id,
        "/bin/cat",
        "/proc/self/cgroup",
    ]);
    let text = out.ok().stdout;
    assert_eq!(path_of(&text, "memory"), format!("{base}/sub"), "{text}");
    assert_eq!(
        path_of(&text, "pids"),
        path_of(&init_cg, "pids"),
        "others unchanged"
    );

    let out = c.cmd(&["exec", "--cgroup", "nonexistent", &c.id, "/bin/true"]);
    assert_eq!(out.code, 255, "{out}");
    // runc's words, which its own suite matches.
    assert!(out.stderr.contains(" adding pid "), "{out}");
    assert!(
        out.stderr
            .contains("/nonexistent/cgroup.procs: no such file"),
        "{out}"
    );
    let out = c.cmd(&["exec", "--cgroup", "..", &c.id, "/bin/true"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(out.stderr.contains(" .. is not a sub cgroup path"), "{out}");

    // A process left in the sub-cgroup dies with the container, and the cgroup goes.
    let pid_file = c.work().join("sub.pid");
    c.cmd(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--cgroup",
        "memory:sub",
        &c.id,
        "/bin/probe",
        "sleep",
        "forever",
    ])
    .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let ps = c.cmd(&["ps", "--format", "json", &c.id]).ok().json();
    assert!(
        ps.as_array().unwrap().contains(&serde_json::json!(pid)),
        "ps sees it: {ps}"
    );
    c.delete(&["--force"]).ok();
    assert!(host::wait_process_gone(pid));
    assert!(!dir.exists(), "{} is left", dir.display());
    c.assert_gone(Some(init));
}

#[test]
fn exec_processes_are_killed_after_the_init_has_exited() {
    // No pid namespace: the exec'd process outlives the init, as in runc.
    let mut c = Ctr::new();
    c.bundle.remove_namespace("pid");
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["-d"]).ok();
    c.wait_status("running");
    let init = c.pid();
    let pid_file = c.work().join("exec.pid");
    c.cmd(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &c.id,
        "/bin/probe",
        "sleep",
        "forever",
    ])
    .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    // TERM, not KILL: KILL of a container without a pid namespace kills every process
    // of it (runc 1.2; signals.rs), and this test needs one left.
    c.kill(&["TERM"]).ok();
    assert!(host::wait_process_gone(init));
    c.wait_status("stopped");
    assert!(
        host::process_alive(pid),
        "the exec'd process outlives the init"
    );
    c.cmd(&["kill", "--all", &c.id, "KILL"]).ok();
    assert!(
        host::wait_process_gone(pid),
        "kill --all reaches it through the cgroup"
    );
    c.delete(&[]).ok();
    c.assert_gone(Some(init));
}
