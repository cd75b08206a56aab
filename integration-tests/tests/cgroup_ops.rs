//! The commands that act on a running container's cgroup (v1 on this hybrid host):
//! pause/resume, update, events, ps, kill --all, and the limits taking effect.

use integration_tests::check::one_clear_error_all;
use integration_tests::{host, json, Ctr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The container's directory of a v1 controller under the default placement.
fn v1(controller: &str, c: &Ctr) -> PathBuf {
    Path::new("/sys/fs/cgroup")
        .join(controller)
        .join("quai")
        .join(&c.id)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// A detached container running `probe sleep forever` in the default placement.
fn sleeper(resources: serde_json::Value) -> (Ctr, i32) {
    let mut c = Ctr::new();
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle.set("/linux/resources", resources);
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    (c, pid)
}

#[test]
fn pause_and_resume_freeze_and_thaw() {
    let (c, pid) = sleeper(json!({}));
    let state = v1("freezer", &c).join("freezer.state");
    c.cmd(&["pause", &c.id]).ok();
    assert_eq!(c.state()["status"], "paused");
    assert_eq!(read(&state), "FROZEN");
    // The kernel reports the frozen task as stopped in the freezer.
    let again = c.cmd(&["pause", &c.id]).fails();
    assert!(again.stderr.contains("paused"), "{again}");
    c.cmd(&["resume", &c.id]).ok();
    assert_eq!(c.state()["status"], "running");
    assert_eq!(read(&state), "THAWED");
    let again = c.cmd(&["resume", &c.id]).fails();
    assert!(again.stderr.contains("not paused"), "{again}");
    // A paused container can still be force-deleted.
    c.cmd(&["pause", &c.id]).ok();
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn update_changes_limits_live_from_json_and_flags() {
    let (c, pid) =
        sleeper(json!({ "memory": { "limit": 64 * 1024 * 1024 }, "pids": { "limit": 30 } }));
    let mem = v1("memory", &c).join("memory.limit_in_bytes");
    assert_eq!(read(&mem), "67108864");
    let file = c.work().join("res.json");
    std::fs::write(
        &file,
        r#"{"memory":{"limit":134217728},"cpu":{"shares":256}}"#,
    )
    .unwrap();
    c.cmd(&["update", "--resources", file.to_str().unwrap(), &c.id])
        .ok();
    assert_eq!(read(&mem), "134217728");
    assert_eq!(read(&v1("cpu", &c).join("cpu.shares")), "256");
    c.cmd(&[
        "update",
        "--pids-limit",
        "77",
        "--memory",
        "100M",
        "--cpu-quota",
        "50000",
        &c.id,
    ])
    .ok();
    assert_eq!(read(&v1("pids", &c).join("pids.max")), "77");
    assert_eq!(read(&mem), "104857600");
    assert_eq!(read(&v1("cpu", &c).join("cpu.cfs_quota_us")), "50000");
    // -1 lifts a limit (runc's update.bats): the flags take negative numbers.
    c.cmd(&["update", "--memory", "-1", "--cpu-quota", "-1", &c.id])
        .ok();
    assert_eq!(read(&mem), "9223372036854771712", "memory limit not lifted");
    assert_eq!(read(&v1("cpu", &c).join("cpu.cfs_quota_us")), "-1");
    let bad = c.cmd(&["update", "--memory", "lots", &c.id]).fails();
    assert!(bad.stderr.contains("--memory"), "{bad}");
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn update_of_a_stopped_container_fails() {
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "0"]);
    c.run(&["--detach"]).ok();
    c.wait_status("stopped");
    let out = c.cmd(&["update", "--pids-limit", "10", &c.id]).fails();
    assert!(out.stderr.contains("container not running"), "{out}");
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    c.delete(&[]).ok();
    c.assert_gone(None);
}

#[test]
fn events_stats_reports_the_cgroup() {
    let (c, pid) =
        sleeper(json!({ "memory": { "limit": 64 * 1024 * 1024 }, "pids": { "limit": 30 } }));
    let ev = c.cmd(&["events", "--stats", &c.id]).ok().json();
    assert_eq!(ev["type"], "stats");
    assert_eq!(ev["id"], c.id.as_str());
    assert_eq!(ev["data"]["memory"]["usage"]["limit"], 67108864);
    assert!(
        ev["data"]["memory"]["usage"]["usage"].as_u64().unwrap_or(0) > 0,
        "{ev}"
    );
    assert_eq!(ev["data"]["pids"]["current"], 1);
    assert_eq!(ev["data"]["pids"]["limit"], 30);
    assert!(
        ev["data"]["cpu"]["usage"]["total"].as_u64().is_some(),
        "{ev}"
    );
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn events_stream_ends_when_the_container_stops() {
    let (c, pid) = sleeper(json!({}));
    let mut child = c.spawn(&["events", "--interval", "100ms", &c.id], "events");
    // Let at least one event through, then stop the container: the stream must end.
    let out_file = c.work().join("out").join("events.out");
    host::eventually("a stats event", || {
        std::fs::read_to_string(&out_file).is_ok_and(|s| s.contains("\"stats\""))
    });
    c.kill(&["KILL"]).ok();
    let code = integration_tests::out::wait_deadline(&mut child, "events");
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&out_file).unwrap();
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["id"], c.id.as_str());
    }
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn ps_lists_the_containers_processes() {
    let (c, pid) = sleeper(json!({}));
    let pids = c.cmd(&["ps", "--format", "json", &c.id]).ok().json();
    assert_eq!(pids, json!([pid]));
    let table = c.cmd(&["ps", &c.id]).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[0].contains("PID"), "{table}");
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[1].split_whitespace().any(|w| w == pid.to_string()),
        "{table}"
    );
    // Extra arguments go to ps(1).
    let custom = c.cmd(&["ps", &c.id, "-o", "pid,comm"]).ok();
    let lines: Vec<Vec<&str>> = custom
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["PID", "COMMAND"], "{custom}");
    assert_eq!(lines[1], [pid.to_string().as_str(), "probe"], "{custom}");
    assert_eq!(lines.len(), 2, "{custom}");
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn kill_all_and_delete_reach_processes_outside_the_inits_tree() {
    // No pid namespace: a daemonised child is reparented out of the init's tree, but
    // stays in the container's cgroup.
    let mut c = Ctr::new();
    c.bundle.remove_namespace("pid");
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle.args(&[
        "/bin/sh",
        "-c",
        "(/bin/busybox sleep 1000 &) ; exec /bin/probe sleep forever",
    ]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let procs = v1("pids", &c);
    host::eventually("two processes in the cgroup", || {
        host::cgroup_procs(&procs).len() == 2
    });
    let others: Vec<i32> = host::cgroup_procs(&procs)
        .into_iter()
        .filter(|p| *p != pid)
        .collect();
    c.kill(&["--all", "KILL"]).ok();
    for p in others.iter().chain([&pid]) {
        assert!(
            host::wait_process_gone(*p),
            "process {p} survived kill --all"
        );
    }
    c.delete(&[]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn memory_limit_kills_a_process_that_exceeds_it() {
    let mut c = Ctr::new();
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle.set(
        "/linux/resources",
        json!({ "memory": { "limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024 } }),
    );
    // dd's 128 MiB buffer is touched when it reads into it.
    c.bundle.args(&[
        "/bin/busybox",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=128M",
        "count=1",
    ]);
    let out = c.run(&[]);
    assert_eq!(out.code, 137, "expected an OOM kill (SIGKILL): {out}");
    c.assert_gone(None);
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let mut c = Ctr::new();
    let share = c.work().join("share");
    std::fs::create_dir_all(&share).unwrap();
    c.bundle
        .add_mount("/share", "bind", share.to_str().unwrap(), &["bind"]);
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle
        .set("/linux/resources", json!({ "pids": { "limit": 5 } }));
    // An inner shell forks sleepers until the kernel refuses (and then dies of it); the
    // outer one reports and becomes the probe, which keeps the survivors' cgroup alive.
    c.bundle.args(&[
        "/bin/sh",
        "-c",
        "/bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/busybox sleep 100 & done; wait' 2>/share/bomb.err; \
         echo done >/share/bomb.done; exec /bin/probe sleep forever",
    ]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let done = share.join("bomb.done");
    host::eventually("the bomb was stopped", || done.exists());
    let err = std::fs::read_to_string(share.join("bomb.err")).unwrap();
    assert!(err.contains("can't fork"), "{err}");
    let current: u32 = read(&v1("pids", &c).join("pids.current")).parse().unwrap();
    assert!(current <= 5, "pids.current {current} is above the limit");
    assert_eq!(host::cgroup_procs(&v1("pids", &c)).len() as u32, current);
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

#[test]
fn denied_device_cannot_be_opened() {
    let mut c = Ctr::new();
    // Full capabilities (no section), so only the device cgroup can refuse.
    c.bundle.remove("/process/capabilities");
    c.bundle.set(
        "/linux/resources",
        json!({ "devices": [ { "allow": false, "access": "rwm" } ] }),
    );
    c.bundle.args(&[
        "/bin/sh",
        "-c",
        "/bin/busybox mknod /tmp/kmsg c 1 11 && /bin/busybox head -c 1 /tmp/kmsg; echo rc=$?; /bin/busybox head -c 1 /dev/zero >/dev/null && echo zero-ok",
    ]);
    let out = c.run(&[]).ok();
    assert!(
        out.stderr.contains("Operation not permitted") || out.stdout.contains("rc=1"),
        "{out}"
    );
    assert!(out.stdout.contains("rc=1"), "{out}");
    assert!(
        out.stdout.contains("zero-ok"),
        "the default devices stay usable: {out}"
    );
    c.assert_gone(None);
}

#[test]
fn systemd_cgroup_without_systemd_fails_clearly() {
    if Path::new("/run/systemd/system").exists() {
        eprintln!("systemd runs on this host: the refusal cannot be shown here");
        return;
    }
    let mut c = Ctr::new();
    c.bundle
        .set("/linux/cgroupsPath", json!("system.slice:quai:x"));
    c.bundle.save();
    let b = c.bundle.dir().to_str().unwrap().to_string();
    let out = c.cmd(&["--systemd-cgroup", "create", "--bundle", &b, &c.id]);
    one_clear_error_all(&c, out, &["systemd", "not running"]);
}

#[test]
fn events_reports_an_oom_kill() {
    let mut c = Ctr::new();
    let share = c.work().join("share");
    std::fs::create_dir_all(&share).unwrap();
    c.bundle
        .add_mount("/share", "bind", share.to_str().unwrap(), &["bind"]);
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle.set(
        "/linux/resources",
        json!({ "memory": { "limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024 } }),
    );
    // The container waits for the test's go-ahead, then runs a child that exceeds the
    // limit (the kernel kills it) and stays up itself.
    c.bundle.args(&[
        "/bin/sh",
        "-c",
        "while [ ! -e /share/go ]; do /bin/busybox usleep 10000; done; \\
         /bin/busybox dd if=/dev/zero of=/dev/null bs=128M count=1; \\
         echo $? >/share/dd.status; exec /bin/probe sleep forever",
    ]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let mut child = c.spawn(&["events", "--interval", "200ms", &c.id], "events");
    let out_file = c.work().join("out").join("events.out");
    host::eventually("the first stats event", || {
        std::fs::read_to_string(&out_file).is_ok_and(|s| s.contains("\"stats\""))
    });
    std::fs::write(share.join("go"), "").unwrap();
    let start = Instant::now();
    while !std::fs::read_to_string(&out_file).is_ok_and(|s| s.contains("\"type\":\"oom\"")) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no oom event; dd status {:?}; oom_control {:?}; events: {}",
            std::fs::read_to_string(share.join("dd.status")),
            std::fs::read_to_string(v1("memory", &c).join("memory.oom_control")),
            std::fs::read_to_string(&out_file)
                .unwrap_or_default()
                .lines()
                .count()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    host::eventually("dd's status", || share.join("dd.status").exists());
    assert_eq!(
        read(&share.join("dd.status")),
        "137",
        "dd was not OOM-killed"
    );
    c.delete(&["--force"]).ok();
    let code = integration_tests::out::wait_deadline(&mut child, "events");
    assert_eq!(code, 0, "events ends when the container is gone");
    c.assert_gone(Some(pid));
}

#[test]
fn v1_resources_round_trip_through_the_kernel() {
    let cpus = read(Path::new("/sys/fs/cgroup/cpuset/cpuset.effective_cpus"));
    let first_cpu = cpus.split([',', '-']).next().unwrap().to_string();
    let (major, minor) = host::block_device();
    let (c, pid) = sleeper(json!({
        "memory": {
            "limit": 64 * 1024 * 1024,
            "reservation": 32 * 1024 * 1024,
            "swap": 96 * 1024 * 1024,
            "swappiness": 10,
            "disableOOMKiller": true
        },
        "cpu": { "shares": 300, "quota": 20000, "period": 50000, "cpus": first_cpu, "mems": "0" },
        "blockIO": {
            "throttleReadBpsDevice": [ { "major": major, "minor": minor, "rate": 1048576 } ],
            "throttleWriteIOPSDevice": [ { "major": major, "minor": minor, "rate": 100 } ]
        }
    }));
    let mem = v1("memory", &c);
    assert_eq!(read(&mem.join("memory.limit_in_bytes")), "67108864");
    assert_eq!(read(&mem.join("memory.soft_limit_in_bytes")), "33554432");
    assert_eq!(read(&mem.join("memory.memsw.limit_in_bytes")), "100663296");
    assert_eq!(read(&mem.join("memory.swappiness")), "10");
    assert!(read(&mem.join("memory.oom_control")).contains("oom_kill_disable 1"));
    let cpu = v1("cpu", &c);
    assert_eq!(read(&cpu.join("cpu.shares")), "300");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "20000");
    assert_eq!(read(&cpu.join("cpu.cfs_period_us")), "50000");
    let cpuset = v1("cpuset", &c);
    assert_eq!(read(&cpuset.join("cpuset.cpus")), first_cpu);
    assert_eq!(read(&cpuset.join("cpuset.mems")), "0");
    let blkio = v1("blkio", &c);
    assert_eq!(
        read(&blkio.join("blkio.throttle.read_bps_device")),
        "254:0 1048576"
    );
    assert_eq!(
        read(&blkio.join("blkio.throttle.write_iops_device")),
        "254:0 100"
    );
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}
