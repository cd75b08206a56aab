//! `exec`: a new process in a running container, seen from inside (the probe) and from
//! the host (its namespaces and cgroup next to the init's), with runc's flags, exit
//! statuses and refusals.

use integration_tests::{host, Ctr, Value};
use serde_json::json;

/// A running container whose process sleeps (and ignores signals as PID 1).
fn running() -> Ctr {
    let c = Ctr::new();
    running_with(c)
}

fn running_with(mut c: Ctr) -> Ctr {
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["-d"]).ok();
    c.wait_status("running");
    c
}

/// `exec [flags] <id> [cmd...]`.
fn exec(c: &Ctr, flags: &[&str], cmd: &[&str]) -> integration_tests::Out {
    let mut args = vec!["exec"];
    args.extend_from_slice(flags);
    args.push(&c.id);
    args.extend_from_slice(cmd);
    c.cmd(&args)
}

fn report(c: &Ctr, flags: &[&str], extra: &[&str]) -> Value {
    let mut cmd = vec!["/bin/probe", "report"];
    cmd.extend_from_slice(extra);
    exec(c, flags, &cmd).ok().json()
}

const KINDS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

#[test]
fn joins_every_namespace_and_the_cgroup_of_the_init() {
    let c = running();
    let init = c.pid();
    let r = report(&c, &[], &["--read", "/proc/self/cgroup"]);
    for kind in KINDS {
        let want = host::pid_ns_link(init, kind).expect("init's namespace link");
        assert_eq!(r["namespaces"][kind], want, "{kind}: {}", r["namespaces"]);
    }
    // A member of the container's pid namespace, not its init.
    let pid: i64 = r["pid"]
        .as_str()
        .map_or_else(|| r["pid"].as_i64().unwrap(), |s| s.parse().unwrap());
    assert!(pid > 1, "pid in the container: {}", r["pid"]);
    let ours = r["read"]["/proc/self/cgroup"]
        .as_str()
        .expect("cgroup read");
    let init_cg = std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap();
    assert_eq!(
        ours.trim(),
        init_cg.trim(),
        "the init's cgroups on every hierarchy"
    );
    assert_eq!(r["hostname"], "quai");
}

#[test]
fn a_user_namespace_is_joined_too() {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    // cgroupfs cannot be mounted from a user namespace without its cgroup namespace.
    c.bundle.remove_mount("/sys/fs/cgroup");
    let c = running_with(c);
    let init = c.pid();
    let r = report(&c, &[], &[]);
    for kind in KINDS {
        let want = host::pid_ns_link(init, kind).expect("init's namespace link");
        assert_eq!(r["namespaces"][kind], want, "{kind}: {}", r["namespaces"]);
    }
    assert_eq!(r["uid"], 0, "the container's root: {r}");
}

#[test]
fn the_containers_process_with_runcs_flags_on_top() {
    let c = running();
    let r = report(
        &c,
        &[
            "-e",
            "TERM=vt100",
            "-e",
            "NEW=1",
            "--cwd",
            "/tmp",
            "-u",
            "1000:1001",
            "-g",
            "5",
            "-g",
            "6",
        ],
        &[],
    );
    let env: Vec<&str> = r["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        env.iter().any(|e| e.starts_with("PATH=")),
        "the process's env is kept: {env:?}"
    );
    assert_eq!(
        env.iter().filter(|e| e.starts_with("TERM=")).count(),
        1,
        "{env:?}"
    );
    assert!(
        env.contains(&"TERM=vt100") && env.contains(&"NEW=1"),
        "{env:?}"
    );
    assert_eq!(r["cwd"], "/tmp");
    assert_eq!(
        (r["uid"].clone(), r["gid"].clone()),
        (json!(1000), json!(1001)),
        "{r}"
    );
    let groups = r["groups"].as_array().unwrap();
    assert!(
        groups.contains(&json!(5)) && groups.contains(&json!(6)),
        "{groups:?}"
    );
    // The config's capabilities and no_new_privs.
    assert_eq!(r["no_new_privs"], "1", "{r}");
}

fn cap_bit(r: &Value, set: &str, bit: u32) -> bool {
    let hex = r["caps"][set].as_str().unwrap();
    u64::from_str_radix(hex, 16).unwrap() & (1 << bit) != 0
}

#[test]
fn cap_adds_to_bounding_effective_permitted_and_no_new_privs_sets_it() {
    let mut c = Ctr::new();
    c.bundle.set("/process/noNewPrivileges", json!(false));
    let c = running_with(c);
    let r = report(&c, &[], &[]);
    assert_eq!(r["no_new_privs"], "0", "{r}");
    const SYS_ADMIN: u32 = 21;
    assert!(!cap_bit(&r, "eff", SYS_ADMIN));
    let r = report(&c, &["--cap", "CAP_SYS_ADMIN", "--no-new-privs"], &[]);
    assert_eq!(r["no_new_privs"], "1", "{r}");
    for set in ["eff", "prm", "bnd"] {
        assert!(cap_bit(&r, set, SYS_ADMIN), "{set}: {}", r["caps"]);
    }
    // Not inheritable (runc's), so not ambient either.
    assert!(!cap_bit(&r, "inh", SYS_ADMIN), "{}", r["caps"]);
    // CAP_KILL (5) from the config stays.
    assert!(cap_bit(&r, "eff", 5), "{}", r["caps"]);
}

#[test]
fn process_file_replaces_the_process() {
    let c = running();
    let p = c.work().join("process.json");
    let process = json!({
        "user": { "uid": 7, "gid": 8 },
        "args": ["/bin/probe", "report"],
        "env": ["ONLY=this"],
        "cwd": "/dev",
        "noNewPrivileges": false
    });
    std::fs::write(&p, process.to_string()).unwrap();
    let r = exec(&c, &["--process", p.to_str().unwrap()], &[])
        .ok()
        .json();
    assert_eq!(
        (r["uid"].clone(), r["gid"].clone()),
        (json!(7), json!(8)),
        "{r}"
    );
    assert_eq!(r["cwd"], "/dev");
    let env = r["env"].as_array().unwrap();
    assert!(env.contains(&json!("ONLY=this")), "{env:?}");
    assert!(
        !env.iter().any(|e| e.as_str().unwrap().starts_with("PATH=")),
        "{env:?}"
    );
}

#[test]
fn exit_statuses() {
    let c = running();
    assert_eq!(exec(&c, &[], &["/bin/probe", "exit", "3"]).code, 3);
    assert_eq!(exec(&c, &[], &["/bin/probe", "exit", "0"]).code, 0);
    assert_eq!(
        exec(&c, &[], &["/bin/probe", "kill-self", "SIGTERM"]).code,
        128 + 15
    );
    let out = exec(&c, &[], &["no-such-program"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(
        out.stderr.contains("executable file not found in $PATH"),
        "{out}"
    );
    let out = exec(&c, &[], &["/bin/probe-missing"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(out.stderr.contains("no such file or directory"), "{out}");
    let out = exec(&c, &["--cwd", "/no/such/dir"], &["/bin/probe", "exit", "0"]);
    assert_eq!(out.code, 255, "{out}");
    let out = exec(&c, &[], &[]);
    assert_eq!(out.code, 255, "no command: {out}");
    // The container is unharmed.
    assert_eq!(c.state()["status"], "running");
}

#[test]
fn refused_in_a_paused_container_unless_ignore_paused() {
    let c = running();
    c.cmd(&["pause", &c.id]).ok();
    let out = exec(&c, &[], &["/bin/probe", "exit", "0"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(
        out.stderr
            .contains("cannot exec in a paused container (use --ignore-paused to override)"),
        "{out}"
    );
    let pids_before = c.cmd(&["ps", "--format", "json", &c.id]).ok().json();
    // With --ignore-paused it joins the frozen cgroup and runs once resumed.
    let mut child = c.spawn(
        &[
            "exec",
            "--ignore-paused",
            &c.id,
            "/bin/probe",
            "echo",
            "thawed",
        ],
        "exec-paused",
    );
    host::eventually("the exec'd process joins the frozen cgroup", || {
        c.cmd(&["ps", "--format", "json", &c.id])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len()
            > pids_before.as_array().unwrap().len()
    });
    assert!(
        child.try_wait().unwrap().is_none(),
        "it waits while the container is paused"
    );
    c.cmd(&["resume", &c.id]).ok();
    let code = integration_tests::out::wait_deadline(&mut child, "exec --ignore-paused");
    assert_eq!(code, 0);
    let out = std::fs::read_to_string(c.work().join("out/exec-paused.out")).unwrap();
    assert_eq!(out.trim(), "thawed");
}

#[test]
fn refused_in_a_stopped_container() {
    let c = running();
    let init = c.pid();
    c.kill(&["KILL"]).ok();
    assert!(host::wait_process_gone(init));
    c.wait_status("stopped");
    let out = exec(&c, &[], &["/bin/probe", "exit", "0"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(
        out.stderr.contains("cannot exec in a stopped container"),
        "{out}"
    );
    let out = c.cmd(&["exec", "no-such-container", "/bin/true"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(out.stderr.contains("does not exist"), "{out}");
}

#[test]
fn detach_and_pid_file() {
    let c = running();
    let init = c.pid();
    let pid_file = c.work().join("exec.pid");
    let out = exec(
        &c,
        &["-d", "--pid-file", pid_file.to_str().unwrap()],
        &["/bin/probe", "sleep", "forever"],
    );
    out.ok();
    let text = std::fs::read_to_string(&pid_file).unwrap();
    assert!(!text.ends_with('\n'), "no newline: {text:?}");
    let pid: i32 = text.parse().unwrap();
    assert!(host::process_alive(pid));
    for kind in KINDS {
        assert_eq!(
            host::pid_ns_link(pid, kind),
            host::pid_ns_link(init, kind),
            "{kind}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap(),
        std::fs::read_to_string(format!("/proc/{init}/cgroup")).unwrap()
    );
    let ps = c.cmd(&["ps", "--format", "json", &c.id]).ok().json();
    assert!(ps.as_array().unwrap().contains(&json!(pid)), "{ps}");
    // Not dumpable before execve, dumpable after (a plain root process).
    assert_eq!(host::proc_status(pid, "NoNewPrivs").as_deref(), Some("1"));
    c.delete(&["--force"]).ok();
    assert!(
        host::wait_process_gone(pid),
        "delete --force kills exec'd processes"
    );
    c.assert_gone(Some(init));
}

#[test]
fn preserve_fds_passes_exactly_those() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let c = running();
    let extra_path = c.work().join("extra-fd");
    let extra = std::fs::File::create(&extra_path).unwrap();
    let raw = extra.as_raw_fd();
    let id = c.id.clone();
    let out = c.cmd_with(
        &["exec", "--preserve-fds", "1", &id, "/bin/probe", "fds"],
        None,
        move |cmd| {
            // SAFETY: dup2 in the child before exec; fd 3 is left without CLOEXEC.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    let fds = out.ok().json();
    assert_eq!(fds["3"], extra_path.to_str().unwrap(), "{fds}");
    assert!(
        fds.get("4").is_none(),
        "only the preserved fd is passed: {fds}"
    );
    let fds = exec(&c, &[], &["/bin/probe", "fds"]).ok().json();
    assert!(
        fds.get("3").is_none(),
        "nothing without --preserve-fds: {fds}"
    );
}

#[test]
fn fifty_concurrent_execs_each_get_their_own_status() {
    let c = running();
    let results: Vec<(i32, i32)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let c = &c;
                s.spawn(move || {
                    let n = (i % 50 + 1).to_string();
                    (i + 1, exec(c, &[], &["/bin/probe", "exit", &n]).code)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (want, got) in results {
        assert_eq!(got, want, "exec {want}");
    }
    let ps = c.cmd(&["ps", "--format", "json", &c.id]).ok().json();
    assert_eq!(
        ps.as_array().unwrap().len(),
        1,
        "only the init is left: {ps}"
    );
}

#[test]
fn apparmor_and_selinux_are_applied_or_refused() {
    let c = running();
    let apparmor = std::path::Path::new("/sys/kernel/security/apparmor").exists();
    let out = exec(
        &c,
        &["--apparmor", "unconfined"],
        &["/bin/probe", "exit", "0"],
    );
    if apparmor {
        // This kernel has AppArmor: the profile is applied on execve, and one that is not
        // loaded makes exec fail.
        assert_eq!(out.code, 0, "{out}");
        let out = exec(
            &c,
            &["--apparmor", "quai-no-such-profile"],
            &["/bin/probe", "exit", "0"],
        );
        assert_eq!(out.code, 255, "{out}");
    } else if integration_tests::assets::is_runc() {
        eprintln!("runc 1.1.5 ignores --apparmor on a host without AppArmor: not checked");
    } else {
        assert_eq!(out.code, 255, "{out}");
        assert!(out.stderr.contains("AppArmor is not enabled"), "{out}");
    }
    let out = exec(
        &c,
        &["--process-label", "system_u:system_r:container_t:s0"],
        &["/bin/probe", "exit", "0"],
    );
    assert_eq!(out.code, 255, "{out}");
    assert!(
        out.stderr.contains("selinux is disabled or not supported"),
        "{out}"
    );
}

/// An exec'd process gets the process fields of its process spec (scheduler, I/O
/// priority, final CPU affinity) and the container's personality, as the init does.
#[test]
fn process_fields_apply_to_exec_too() {
    if integration_tests::assets::is_runc() {
        eprintln!("runc 1.1.5 has none of these fields; checked for quai only");
        return;
    }
    let mut c = Ctr::new();
    c.bundle
        .set("/linux/personality", json!({ "domain": "LINUX32" }));
    let c = running_with(c);
    let p = c.work().join("process.json");
    let process = json!({
        "user": { "uid": 0, "gid": 0 },
        "args": ["/bin/probe", "report"],
        "cwd": "/",
        "scheduler": { "policy": "SCHED_BATCH", "nice": 5 },
        "ioPriority": { "class": "IOPRIO_CLASS_IDLE", "priority": 0 },
        "execCPUAffinity": { "final": "0" }
    });
    std::fs::write(&p, process.to_string()).unwrap();
    let r = exec(&c, &["--process", p.to_str().unwrap()], &[])
        .ok()
        .json();
    let f = &r["fields"];
    assert_eq!(f["sched_policy"], 3, "SCHED_BATCH: {f}");
    assert_eq!(f["nice"], 5, "{f}");
    assert_eq!(f["ioprio_class"], 3, "IOPRIO_CLASS_IDLE: {f}");
    assert_eq!(f["cpus_allowed_list"], "0", "{f}");
    assert_eq!(f["machine"], "i686", "the container's personality: {f}");
}
