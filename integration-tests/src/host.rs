//! What the host sees: its own namespaces, processes, and mount table.

use std::path::Path;
use std::time::{Duration, Instant};

/// The host's namespace link for `kind` (`net`, `pid`, ...), read from the test process.
pub fn ns_link(kind: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{kind}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| panic!("readlink /proc/self/ns/{kind}: {e}"))
}

/// The namespace link of another process.
pub fn pid_ns_link(pid: i32, kind: &str) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Whether a live (not zombie) process has this pid.
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the last ')' of the command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Wait up to 5 s for a process to be gone; true if it is.
pub fn wait_process_gone(pid: i32) -> bool {
    let start = Instant::now();
    while process_alive(pid) {
        if start.elapsed() > Duration::from_secs(5) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A field of `/proc/<pid>/status` (`Uid`, `Gid`, `CapEff`...), trimmed.
pub fn proc_status(pid: i32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.strip_prefix(':')))
        .map(|v| v.trim().to_string())
}

/// Mount points in the test process's mount namespace under `dir`.
pub fn mounts_mentioning(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// `umount2(path, MNT_DETACH)`, ignoring errors (cleanup only).
pub fn lazy_unmount(path: &str) {
    if let Ok(c) = std::ffi::CString::new(path) {
        // SAFETY: c is a valid NUL-terminated path.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Run a host command, asserting success; returns stdout.
#[track_caller]
pub fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", cmd])
        .output()
        .expect("run /bin/sh");
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Cgroup directories (three levels deep under /sys/fs/cgroup) whose name contains `id`:
/// the ids are unique, so any match was made for that container.
pub fn cgroups_named(id: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, id: &str, depth: u32, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let path = e.path();
            if e.file_name().to_string_lossy().contains(id) {
                found.push(path);
            } else if depth > 0 {
                walk(&path, id, depth - 1, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), id, 3, &mut found);
    found
}

/// The mount points of the host's cgroup v1 hierarchies (`/sys/fs/cgroup/memory`, ...),
/// one per hierarchy, from the test process's mountinfo.
pub fn cgroup_v1_mounts() -> Vec<std::path::PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut seen: Vec<(String, std::path::PathBuf)> = Vec::new();
    for line in info.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 || post[0] != "cgroup" {
            continue;
        }
        // The same hierarchy may be mounted twice; its super options name it.
        if !seen.iter().any(|(opts, _)| opts == post[2]) {
            // mountinfo escapes the comma of `cpu,cpuacct` as \054.
            seen.push((post[2].to_string(), pre[4].replace("\\054", ",").into()));
        }
    }
    seen.into_iter().map(|(_, p)| p).collect()
}

/// The pids listed in a cgroup directory's `cgroup.procs` (empty if unreadable).
pub fn cgroup_procs(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Remembers a host sysctl and puts it back on drop if a runtime bug changed it, so a
/// failing sysctl test never leaves the machine different.
pub struct SysctlGuard {
    path: String,
    value: String,
}

impl SysctlGuard {
    /// Record `key` (`net.ipv4.ip_forward`).
    pub fn new(key: &str) -> SysctlGuard {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let value = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        SysctlGuard { path, value }
    }

    /// The value recorded, trimmed.
    pub fn value(&self) -> &str {
        self.value.trim()
    }

    /// Whether the host's value is still the recorded one.
    pub fn unchanged(&self) -> bool {
        std::fs::read_to_string(&self.path).is_ok_and(|v| v == self.value)
    }
}

impl Drop for SysctlGuard {
    fn drop(&mut self) {
        if !self.unchanged() {
            let _ = std::fs::write(&self.path, &self.value);
        }
    }
}

/// Polls `f` until it holds; fails naming `what` after 20 s.
#[track_caller]
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "never: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Major and minor of a real block device of this host: the first entry of
/// /sys/block that is not a loop, ram or zram device.
pub fn block_device() -> (i64, i64) {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .expect("read /sys/block")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !["loop", "ram", "zram"].iter().any(|p| n.starts_with(p)))
        .collect();
    names.sort();
    let name = names.first().expect("this host has no real block device");
    let dev =
        std::fs::read_to_string(Path::new("/sys/block").join(name).join("dev")).expect("read dev");
    let (a, b) = dev.trim().split_once(':').expect("major:minor");
    (a.parse().expect("major"), b.parse().expect("minor"))
}
