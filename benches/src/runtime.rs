//! One runtime under test and the timed invocation of its commands, each with a
//! deadline: a runtime that hangs is killed (through its pidfd) and reported.

use crate::sys::{self, PidFd};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one runtime command may take before it is killed and counted as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// A runtime binary with its own state root and output files.
pub struct Runtime {
    /// Short name used in ids, cgroup paths and the report (`quai`, `runc`, `crun`).
    pub name: String,
    /// The binary.
    pub path: PathBuf,
    /// First line of `--version`.
    pub version: String,
    root: PathBuf,
    scratch: PathBuf,
}

/// One finished command: wall time from spawn to reap. (Its peak RSS is measured on a
/// call of its own: [`Runtime::peak_rss`].)
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// Wall time from before `spawn` to after `wait4`.
    pub elapsed: Duration,
}

/// A runtime command started and not yet reaped.
pub struct Spawned {
    label: String,
    pid: u32,
    pidfd: PidFd,
    start: Instant,
    output: PathBuf,
}

impl Runtime {
    /// Describes `name` at `path`, with its state root under `roots` and its output
    /// files under `scratch`.
    pub fn new(name: &str, path: PathBuf, roots: &Path, scratch: &Path) -> Result<Runtime, String> {
        let root = roots.join(format!("root-{name}"));
        fs::create_dir(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
        let scratch = scratch.join(format!("output-{name}"));
        fs::create_dir(&scratch).map_err(|e| format!("mkdir {}: {e}", scratch.display()))?;
        let version = Command::new(&path)
            .arg("--version")
            .output()
            .map(|o| {
                let text = String::from_utf8_lossy(&o.stdout);
                text.lines().next().unwrap_or("").trim().to_string()
            })
            .unwrap_or_else(|e| format!("unknown ({e})"));
        Ok(Runtime {
            name: name.to_string(),
            path,
            version,
            root,
            scratch,
        })
    }

    /// Runs `<runtime> --root R <args>` and times it; any non-zero exit is an error
    /// carrying the runtime's own words.
    pub fn timed(&self, args: &[&str]) -> Result<Timed, String> {
        self.timed_within(args, DEFAULT_TIMEOUT)
    }

    /// [`Runtime::timed`] with its own deadline.
    pub fn timed_within(&self, args: &[&str], timeout: Duration) -> Result<Timed, String> {
        self.spawn(args, "output")?.finish(timeout)
    }

    /// Starts `<runtime> --root R <args>` with stdout and stderr in the output file
    /// `slot` (one per command running at the same time), without waiting for it.
    ///
    /// Output goes to a file, not a pipe: after `create` the container's init still
    /// holds the runtime's stdio, so reading a pipe to its end would wait for the init.
    pub fn spawn(&self, args: &[&str], slot: &str) -> Result<Spawned, String> {
        let output = self.scratch.join(slot);
        let out = File::create(&output).map_err(|e| format!("output file: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("output file: {e}"))?;
        let start = Instant::now();
        let child = Command::new(&self.path)
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.path.display()))?;
        let pid = child.id();
        let pidfd = match PidFd::open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                // Without a pidfd there is no deadline: wait for it plainly, then fail.
                let _ = sys::wait_child(pid);
                return Err(format!("pidfd_open({pid}): {e}"));
            }
        };
        Ok(Spawned {
            label: format!("{} {}", self.name, args.join(" ")),
            pid,
            pidfd,
            start,
            output,
        })
    }

    /// Runs `<runtime> --root R <args>` untimed and returns its own peak RSS in KiB
    /// (see [`crate::peak`]); a non-zero exit is an error with the runtime's words.
    pub fn peak_rss(&self, args: &[&str]) -> Result<u64, String> {
        let output = self.scratch.join("peak-output");
        let root = self.root.to_string_lossy();
        let argv: Vec<&str> = ["--root", &root]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let label = format!("{} {}", self.name, args.join(" "));
        let (code, kib) = crate::peak::run(&self.path, &argv, &output)
            .map_err(|e| format!("`{label}` traced: {e}"))?;
        if code != 0 {
            let text = fs::read_to_string(&output).unwrap_or_default();
            return Err(format!("`{label}` exited {code}: {}", text.trim()));
        }
        Ok(kib)
    }

    /// Best-effort `delete --force`, for cleaning up after a failure.
    pub fn force_delete(&self, id: &str) {
        let _ = self.timed(&["delete", "--force", id]);
    }

    /// Entries left in the state root (containers a runtime failed to delete).
    pub fn leftover_state(&self) -> Vec<String> {
        fs::read_dir(&self.root)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Spawned {
    /// Waits up to `timeout` for the command, reaps it and times it; a non-zero exit
    /// or a timeout (the command is then killed) is an error with the runtime's words.
    pub fn finish(self, timeout: Duration) -> Result<Timed, String> {
        let exited = self
            .pidfd
            .wait_exit(timeout)
            .map_err(|e| format!("poll pidfd: {e}"));
        let timed_out = !matches!(exited, Ok(true));
        if timed_out {
            let _ = self.pidfd.kill();
        }
        let reaped = sys::wait_child(self.pid).map_err(|e| format!("wait4: {e}"))?;
        let elapsed = self.start.elapsed();
        exited?;
        if timed_out || reaped.code != 0 {
            let text = fs::read_to_string(&self.output).unwrap_or_default();
            let text = text.trim();
            let how = if timed_out {
                format!("timed out after {} s and was killed", timeout.as_secs())
            } else {
                format!("exited {}", reaped.code)
            };
            return Err(format!(
                "`{}` {how}: {}",
                self.label,
                if text.is_empty() { "(no output)" } else { text }
            ));
        }
        Ok(Timed { elapsed })
    }
}

/// Finds `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
