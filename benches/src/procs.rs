//! What stays in memory while a container sits created: its init, and any other
//! runtime process left behind (a monitor, a helper that did not exit).

use crate::sys::{self, PidFd};
use std::fs;
use std::time::{Duration, Instant};

/// Memory of one process from `/proc/<pid>/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rss {
    /// `VmRSS`: resident pages, shared file pages included.
    pub vm_rss_kib: u64,
    /// `RssAnon`: resident private anonymous memory, the part nobody shares.
    pub anon_kib: u64,
}

/// Reads `VmRSS` and `RssAnon` of `pid`; `None` if it is gone.
pub fn rss(pid: u32) -> Option<Rss> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Some(Rss {
        vm_rss_kib: field("VmRSS:"),
        anon_kib: field("RssAnon:"),
    })
}

/// Pids in the container's cgroup, read from the pids controller (v1) or the
/// unified hierarchy (v2).
pub fn cgroup_pids(cgroups_path: &str) -> Vec<u32> {
    let rel = cgroups_path.trim_start_matches('/');
    ["/sys/fs/cgroup/pids", "/sys/fs/cgroup"]
        .iter()
        .find_map(|base| fs::read_to_string(format!("{base}/{rel}/cgroup.procs")).ok())
        .map(|t| t.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Live children of this process. As the subreaper, it inherits every runtime
/// process that outlives its parent, so these are all the runtime left running.
pub fn our_children() -> Vec<u32> {
    let me = std::process::id();
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| parent_of(*pid) == Some(me))
        .collect()
}

/// Ends every process still our child at the end of the run (a runtime's process that
/// outlived its container: ours to end, by pidfd) and says what each was.
pub fn end_leftovers() -> Vec<String> {
    sys::reap_exited();
    let mut ended = Vec::new();
    for pid in our_children() {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        if let Ok(fd) = PidFd::open(pid) {
            let _ = fd.kill();
            let _ = fd.wait_exit(Duration::from_secs(5));
        }
        let _ = sys::wait_child(pid);
        ended.push(format!(
            "process {pid} ({cmdline}) was left running; killed"
        ));
    }
    ended
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if state == "Z" {
        return None;
    }
    fields.next()?.parse().ok()
}

/// Waits up to `timeout` for a container's process to exit, and reaps it when it is
/// our child (we are the subreaper, so an init normally is): `Some(exit code)` then,
/// `None` when it was not ours to reap (a runtime that keeps its own parent alive).
pub fn wait_exit(pid: u32, timeout: Duration) -> Result<Option<i32>, String> {
    let exited = match PidFd::open(pid) {
        Ok(fd) => fd
            .wait_exit(timeout)
            .map_err(|e| format!("poll pidfd of {pid}: {e}"))?,
        // Already gone and reaped by someone else.
        Err(_) => true,
    };
    if !exited {
        return Err(format!(
            "container process {pid} did not exit within {timeout:?}"
        ));
    }
    match sys::wait_child(pid) {
        Ok(r) => Ok(Some(r.code)),
        // Not our child: its parent reaps it; make sure it is gone.
        Err(_) if wait_gone(pid, timeout) => Ok(None),
        Err(e) => Err(format!("container process {pid} did not go away: {e}")),
    }
}

/// Waits until `pid` no longer exists (for a process that is not our child).
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if parent_of(pid).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_rss() {
        let r = rss(std::process::id()).expect("own status");
        assert!(r.vm_rss_kib > 0);
    }

    #[test]
    fn sees_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .expect("spawn sleep");
        assert!(our_children().contains(&child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }
}
