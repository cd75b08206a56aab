//! Tests on this machine's real cgroup hierarchies (they need root and run in cgroups
//! of their own, `/quai-unit-<pid>-<name>`, removed at the end): create, apply, add a
//! forked child, freeze, thaw, statistics, signal, remove; and the device rules, on v1
//! and through the v2 BPF program on the unified tree.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::*;
use crate::test_support::in_child;

fn root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn unique(name: &str) -> PathBuf {
    PathBuf::from(format!("/quai-unit-{}-{name}", std::process::id()))
}

/// A child that waits to be killed; reaped by `Child::drop`.
struct Child(i32);

impl Child {
    /// A child that joins `cg` as a container's process does: itself, through the
    /// files [`SelfJoin`] opened before the fork. Its unified part, which the runtime
    /// gets by `CLONE_INTO_CGROUP` (the integration tests cover that), it joins here by
    /// writing itself into `cgroup.procs`.
    fn spawn_in(cg: &Cgroup) -> Child {
        let join = SelfJoin::open(cg).unwrap();
        let procs = cg.unified.as_ref().map(|u| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(u.dir.join("cgroup.procs"))
                .unwrap()
        });
        // SAFETY: the child makes only plain syscalls (no allocation: the error path
        // of join_self_and_close is never taken when it succeeds) until killed.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => {
                let joined = join.join_self_and_close().is_ok()
                    && procs.as_ref().is_none_or(|f| {
                        // SAFETY: plain write of a static buffer to an open fd.
                        unsafe { libc::write(f.as_raw_fd(), b"0".as_ptr().cast(), 1) == 1 }
                    });
                if !joined {
                    // SAFETY: leaving the forked child at once.
                    unsafe { libc::_exit(1) };
                }
                loop {
                    // SAFETY: plain syscall.
                    unsafe { libc::pause() };
                }
            }
            nix::unistd::ForkResult::Parent { child } => Child(child.as_raw()),
        }
    }

    /// [`Child::spawn_in`], once it is listed in every directory of `cg` and is the
    /// cgroup's only process.
    fn joined(cg: &Cgroup) -> Child {
        let child = Child::spawn_in(cg);
        assert!(
            wait_for(|| in_every_dir(cg, child.0)) && cg.pids() == vec![child.0],
            "child {} not in {:?}: {:?}",
            child.0,
            cg.dirs,
            cg.pids()
        );
        child
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // SAFETY: plain syscalls on our own child.
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
            libc::waitpid(self.0, std::ptr::null_mut(), 0);
        }
    }
}

/// Removes the cgroup even when an assertion failed.
struct Guard(Cgroup);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.signal_all(libc::SIGKILL);
        let _ = self.0.remove();
    }
}

/// Polls `cond` every millisecond for up to five seconds.
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    cond()
}

/// The child is listed in every directory of `cg` (each hierarchy's cgroup.procs).
fn in_every_dir(cg: &Cgroup, pid: i32) -> bool {
    cg.dirs.iter().all(|d| {
        std::fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.trim() == pid.to_string())
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

#[test]
fn v1_lifecycle() {
    if !root() {
        return;
    }
    let layout = Layout::detect().unwrap();
    if layout.v1("memory").is_none()
        || layout.v1("freezer").is_none()
        || layout.v1("blkio").is_none()
        || !Path::new("/sys/block/vda/dev").exists()
    {
        return;
    }
    let cg = Cgroup::create(&layout, &unique("life")).unwrap();
    let g = Guard(cg.clone());
    assert_ne!(cg.mode, Mode::V2);
    let blk = read(Path::new("/sys/block/vda/dev"));
    let res: LinuxResources = serde_json::from_str(&format!(
        r#"{{"memory":{{"limit":67108864,"reservation":33554432,"swappiness":10}},
            "cpu":{{"shares":512,"quota":20000,"period":100000,"burst":1000,"idle":0,
                   "realtimePeriod":1000000,"realtimeRuntime":1000,"cpus":"0"}},
            "pids":{{"limit":20}},
            "blockIO":{{"throttleReadBpsDevice":[{{"major":{maj},"minor":{min},"rate":1048576}}]}},
            "devices":[{{"allow":false,"access":"rwm"}}]}}"#,
        maj = blk.split(':').next().unwrap(),
        min = blk.split(':').nth(1).unwrap(),
    ))
    .unwrap();
    cg.apply(&layout, &res, &[]).unwrap();
    let mem = &cg.v1["memory"];
    assert_eq!(read(&mem.join("memory.limit_in_bytes")), "67108864");
    assert_eq!(read(&mem.join("memory.soft_limit_in_bytes")), "33554432");
    assert_eq!(read(&mem.join("memory.swappiness")), "10");
    let cpu = &cg.v1["cpu"];
    assert_eq!(read(&cpu.join("cpu.shares")), "512");
    assert_eq!(read(&cpu.join("cpu.cfs_quota_us")), "20000");
    assert_eq!(read(&cpu.join("cpu.cfs_burst_us")), "1000");
    assert_eq!(read(&cpu.join("cpu.rt_runtime_us")), "1000");
    assert_eq!(
        read(&cg.v1["blkio"].join("blkio.throttle.read_bps_device")),
        format!("{blk} 1048576")
    );
    assert_eq!(read(&cg.v1["cpuset"].join("cpuset.cpus")), "0");
    assert_eq!(read(&cg.v1["pids"].join("pids.max")), "20");
    assert!(read(&cg.v1["devices"].join("devices.list")).contains("c 1:3 rwm"));

    let child = Child::joined(&cg);

    cg.freeze().unwrap();
    assert!(cg.is_frozen());
    assert_eq!(read(&cg.v1["freezer"].join("freezer.state")), "FROZEN");
    cg.thaw().unwrap();
    assert!(!cg.is_frozen());

    // update: the same writes, live.
    let up: LinuxResources =
        serde_json::from_str(r#"{"memory":{"limit":134217728},"pids":{"limit":30}}"#).unwrap();
    cg.update(&layout, &up).unwrap();
    assert_eq!(read(&mem.join("memory.limit_in_bytes")), "134217728");
    assert_eq!(read(&cg.v1["pids"].join("pids.max")), "30");

    let s = cg.stats().unwrap();
    assert_eq!(s.pids.current, 1);
    assert_eq!(s.pids.limit, 30);
    assert_eq!(s.memory.usage.limit, 134217728);
    assert!(serde_json::to_value(&s).unwrap()["memory"]["raw"].is_object());
    assert_eq!(cg.oom_kill_count().unwrap(), 0);
    let _watch = cg.oom_watch().unwrap();

    // A frozen cgroup still dies of signal_all(SIGKILL).
    cg.freeze().unwrap();
    cg.signal_all(libc::SIGKILL).unwrap();
    drop(child);
    assert!(cg.pids().is_empty());
    std::mem::forget(g);
    cg.remove().unwrap();
    for d in &cg.dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
}

#[test]
fn v1_refuses_what_the_host_lacks() {
    if !root() {
        return;
    }
    let layout = Layout::detect().unwrap();
    if layout.mode() == Mode::V2 || layout.v1("net_cls").is_some() {
        return;
    }
    let cg = Cgroup::create(&layout, &unique("refuse")).unwrap();
    let _g = Guard(cg.clone());
    let res: LinuxResources = serde_json::from_str(r#"{"network":{"classID":1}}"#).unwrap();
    let e = cg.apply(&layout, &res, &[]).unwrap_err().to_string();
    assert!(e.contains("net_cls"), "{e}");
    let res: LinuxResources = serde_json::from_str(r#"{"unified":{"memory.high":"1"}}"#).unwrap();
    assert!(cg.apply(&layout, &res, &[]).is_err());
}

/// Moves the calling (forked) process into `dir` and reports which of /dev/null and
/// /dev/kmsg (1:11, not a default device) it may open.
fn open_in(dir: &Path) -> Result<(bool, bool), String> {
    std::fs::write(dir.join("cgroup.procs"), "0").map_err(|e| e.to_string())?;
    let null = std::fs::File::open("/dev/null").is_ok();
    let kmsg = std::fs::File::open("/dev/kmsg").is_ok();
    Ok((null, kmsg))
}

#[test]
fn v1_device_rules_deny() {
    if !root() || !Path::new("/dev/kmsg").exists() {
        return;
    }
    let layout = Layout::detect().unwrap();
    if layout.v1("devices").is_none() {
        return;
    }
    // With a deny-all rule, and with no rule at all (runc denies by default too).
    for (n, json) in [r#"{"devices":[{"allow":false,"access":"rwm"}]}"#, "{}"]
        .iter()
        .enumerate()
    {
        let cg = Cgroup::create(&layout, &unique(&format!("dev1-{n}"))).unwrap();
        let _g = Guard(cg.clone());
        let res: LinuxResources = serde_json::from_str(json).unwrap();
        cg.apply(&layout, &res, &[]).unwrap();
        let dir = cg.v1["devices"].clone();
        in_child(move || match open_in(&dir)? {
            (true, false) => Ok(()),
            other => Err(format!("null/kmsg opened: {other:?}")),
        });
    }
}

#[test]
fn v2_bpf_device_program_denies() {
    if !root() || !Path::new("/dev/kmsg").exists() {
        return;
    }
    let layout = Layout::detect().unwrap();
    let Some(u) = layout.unified() else { return };
    let dir = u
        .mount
        .join(format!("quai-unit-{}-bpf", std::process::id()));
    std::fs::create_dir(&dir).unwrap();
    let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> =
        serde_json::from_str(r#"[{"allow":false,"access":"rwm"}]"#).unwrap();
    let applied = v2::devices_bpf::apply(&dir, &rules, &[]);
    let d2 = dir.clone();
    if applied.is_ok() {
        in_child(move || match open_in(&d2)? {
            (true, false) => Ok(()),
            other => Err(format!("null/kmsg opened: {other:?}")),
        });
    }
    path::rmdir_when_empty(&dir, Instant::now() + Duration::from_secs(5)).unwrap();
    applied.unwrap();
}

#[test]
fn v1_oom_kill_is_counted_and_signalled() {
    if !root() {
        return;
    }
    let layout = Layout::detect().unwrap();
    if layout.v1("memory").is_none() {
        return;
    }
    let cg = Cgroup::create(&layout, &unique("oom")).unwrap();
    let _g = Guard(cg.clone());
    let mem = cg.v1["memory"].clone();
    let limit = 32 << 20;
    let swap = if mem.join("memory.memsw.limit_in_bytes").exists() {
        format!(r#","swap":{limit}"#)
    } else {
        String::new()
    };
    let res: LinuxResources =
        serde_json::from_str(&format!(r#"{{"memory":{{"limit":{limit}{swap}}}}}"#)).unwrap();
    cg.apply(&layout, &res, &[]).unwrap();
    let watch = cg.oom_watch().unwrap();
    let procs = std::ffi::CString::new(mem.join("cgroup.procs").to_str().unwrap()).unwrap();
    // SAFETY: the child makes only raw syscalls (no allocation) and leaves with _exit.
    let pid = match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => unsafe {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            libc::write(fd, b"0".as_ptr().cast(), 1);
            libc::close(fd);
            let len = 256usize << 20;
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            ) as *mut u8;
            let mut off = 0;
            while off < len {
                *p.add(off) = 1;
                off += 4096;
            }
            libc::_exit(0)
        },
        nix::unistd::ForkResult::Parent { child } => child,
    };
    let status = nix::sys::wait::waitpid(pid, None).unwrap();
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Signaled(pid, nix::sys::signal::Signal::SIGKILL, false)
    );
    assert!(cg.oom_kill_count().unwrap() >= 1);
    let mut pfd = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&watch)),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd for the call.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 5000) }, 1, "no OOM event");
    watch.drain();
    let s = cg.stats().unwrap();
    // The peak reached the limit (this kernel leaves v1 failcnt at 0 for memcg).
    assert_eq!(s.memory.usage.max, limit);
}

/// The v2 freezer and `cgroup.kill` are core cgroup2 features, there on the unified
/// tree of a hybrid host too: drive them through the v2 driver for real.
#[test]
fn v2_freeze_thaw_kill_on_the_unified_tree() {
    if !root() {
        return;
    }
    let layout = Layout::detect().unwrap();
    let Some(u) = layout.unified() else { return };
    let dir = u
        .mount
        .join(format!("quai-unit-{}-frz", std::process::id()));
    if !u.mount.join("cgroup.procs").exists() {
        return;
    }
    std::fs::create_dir(&dir).unwrap();
    let cg = Cgroup {
        dirs: vec![dir.clone()],
        created: vec![dir.clone()],
        mode: Mode::V2,
        v1: Default::default(),
        unified: Some(UnifiedDir {
            mount: u.mount.clone(),
            dir: dir.clone(),
        }),
        ..Default::default()
    };
    let g = Guard(cg.clone());
    if !dir.join("cgroup.freeze").exists() {
        return;
    }
    let child = Child::joined(&cg);
    cg.freeze().unwrap();
    assert!(cg.is_frozen());
    assert!(read(&dir.join("cgroup.events")).contains("frozen 1"));
    cg.thaw().unwrap();
    assert!(!cg.is_frozen());
    assert!(read(&dir.join("cgroup.events")).contains("frozen 0"));
    // cgroup.kill reaches a frozen process too.
    cg.freeze().unwrap();
    cg.signal_all(libc::SIGKILL).unwrap();
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(child.0), None).unwrap();
    assert!(matches!(
        status,
        nix::sys::wait::WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGKILL, _)
    ));
    std::mem::forget(child);
    drop(g);
    assert!(!dir.exists());
}
