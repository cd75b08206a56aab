//! One runtime under test and the timed invocation of its commands.

use crate::sys;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A runtime binary with its own state root and output file.
pub struct Runtime {
    /// Short name used in ids, cgroup paths and the report (`quai`, `runc`, `crun`).
    pub name: String,
    /// The binary.
    pub path: PathBuf,
    /// First line of `--version`.
    pub version: String,
    root: PathBuf,
    output: PathBuf,
}

/// One finished command: wall time from spawn to reap, and its peak RSS.
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    /// Wall time from before `spawn` to after `wait4`.
    pub elapsed: Duration,
    /// The command process's `ru_maxrss` in KiB.
    pub maxrss_kib: u64,
}

impl Runtime {
    /// Describes `name` at `path`, with its state root under `roots` and its output
    /// file under `scratch`.
    pub fn new(name: &str, path: PathBuf, roots: &Path, scratch: &Path) -> Result<Runtime, String> {
        let root = roots.join(format!("root-{name}"));
        fs::create_dir(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
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
            output: scratch.join(format!("output-{name}")),
        })
    }

    /// Runs `<runtime> --root R <args>` and times it; any non-zero exit is an error
    /// carrying the runtime's own words.
    ///
    /// Output goes to a file, not a pipe: after `create` the container's init still
    /// holds the runtime's stdio, so reading a pipe to its end would wait for the init.
    pub fn timed(&self, args: &[&str]) -> Result<Timed, String> {
        let out = File::create(&self.output).map_err(|e| format!("output file: {e}"))?;
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
        let reaped = sys::wait_child(child.id()).map_err(|e| format!("wait4: {e}"))?;
        let elapsed = start.elapsed();
        if reaped.code != 0 {
            let text = fs::read_to_string(&self.output).unwrap_or_default();
            let text = text.trim();
            return Err(format!(
                "`{} {}` exited {}: {}",
                self.name,
                args.join(" "),
                reaped.code,
                if text.is_empty() { "(no output)" } else { text }
            ));
        }
        Ok(Timed {
            elapsed,
            maxrss_kib: reaped.maxrss_kib,
        })
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

/// Finds `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
