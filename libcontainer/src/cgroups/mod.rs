//! cgroups: the container's cgroup directories on every hierarchy of the host, the
//! resources written into them, and the process-wide operations (signal all, freezer
//! state, removal). This is the first, simplest driver: v1, hybrid and v2 placement,
//! with the v1 resources; the full v2 resource set is a later step and fails clearly.

mod layout;
mod resources;

pub use layout::{Hierarchy, Layout};

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::spec::{LinuxDevice, LinuxResources};

/// Why a cgroup step failed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Reading or writing a cgroup file failed.
    #[error("cgroup {what} {path}: {source}")]
    Io {
        /// The step.
        what: &'static str,
        /// The cgroup file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The spec asks for something this driver or host cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// `cgroupsPath` is not a path this driver understands.
    #[error("invalid cgroupsPath {0:?}: {1}")]
    InvalidPath(String, &'static str),
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The container's cgroup: one directory per hierarchy. Serialized into the state so
/// later commands can find and remove exactly what `create` made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cgroup {
    /// The cgroup directories, one per hierarchy.
    pub dirs: Vec<PathBuf>,
    /// Directories `create` made, outermost first (removed innermost first).
    pub created: Vec<PathBuf>,
    /// The freezer directory (v1) or unified directory (v2), if any.
    pub freezer: Option<PathBuf>,
    /// True when `freezer` is a cgroup2 directory.
    pub freezer_v2: bool,
}

/// Where containers without a `cgroupsPath` go, one directory each.
const DEFAULT_PARENT: &str = "/quai";

/// The cgroup path for a container: `cgroupsPath` when absolute, under the runtime's own
/// cgroup when relative (as runc does), and `/quai/<id>` when absent.
pub fn cgroup_path(spec_path: Option<&Path>, id: &str) -> Result<PathBuf, CgroupError> {
    match spec_path {
        None => Ok(Path::new(DEFAULT_PARENT).join(id)),
        Some(p) => {
            let s = p.to_string_lossy();
            if s.contains(':') {
                return Err(CgroupError::InvalidPath(
                    s.into_owned(),
                    "slice:prefix:name paths need --systemd-cgroup",
                ));
            }
            if p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(CgroupError::InvalidPath(
                    s.into_owned(),
                    "it must not contain '..'",
                ));
            }
            Ok(p.to_path_buf())
        }
    }
}

impl Cgroup {
    /// Makes the container's directory in every hierarchy.
    pub fn create(layout: &Layout, path: &Path) -> Result<Self, CgroupError> {
        let own = if path.is_absolute() {
            String::new()
        } else {
            std::fs::read_to_string("/proc/self/cgroup")
                .map_err(io_err("read", Path::new("/proc/self/cgroup")))?
        };
        let mut cg = Cgroup::default();
        for h in &layout.hierarchies {
            let full = if path.is_absolute() {
                path.to_path_buf()
            } else {
                layout::own_cgroup(&own, h).join(path)
            };
            let dir = layout::dir_of(h, &full);
            let mut made = mkdir_all(&dir, &h.mount)?;
            // The default parent belongs to quai: the last container out removes it.
            let parent = layout::dir_of(h, Path::new(DEFAULT_PARENT));
            if full.starts_with(DEFAULT_PARENT)
                && full != Path::new(DEFAULT_PARENT)
                && !made.contains(&parent)
            {
                made.insert(0, parent);
            }
            if h.controllers.iter().any(|c| c == "cpuset") {
                resources::inherit_cpuset(&dir, &h.mount)?;
            }
            cg.created.extend(made);
            if h.controllers.iter().any(|c| c == "freezer") || (layout.is_pure_v2() && h.unified) {
                cg.freezer = Some(dir.clone());
                cg.freezer_v2 = h.unified;
            }
            cg.dirs.push(dir);
        }
        Ok(cg)
    }

    /// Writes the resources of the spec; `devices` are the spec's `linux.devices`,
    /// which the device rules must let the container use.
    pub fn apply(
        &self,
        layout: &Layout,
        res: &LinuxResources,
        devices: &[LinuxDevice],
    ) -> Result<(), CgroupError> {
        if layout.is_pure_v2() {
            return resources::refuse_v2(res);
        }
        let dir_for = |controller: &str| -> Option<PathBuf> {
            let h = layout.v1(controller)?;
            self.dirs.iter().find(|d| d.starts_with(&h.mount)).cloned()
        };
        resources::apply_v1(&dir_for, res, devices)
    }

    /// Moves `pid` into every directory.
    pub fn add(&self, pid: i32) -> Result<(), CgroupError> {
        for d in &self.dirs {
            let f = d.join("cgroup.procs");
            std::fs::write(&f, pid.to_string()).map_err(io_err("add process to", &f))?;
        }
        Ok(())
    }

    /// The PIDs in the cgroup (host PIDs).
    pub fn pids(&self) -> Vec<i32> {
        let Some(d) = self.dirs.first() else {
            return Vec::new();
        };
        std::fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// True when the freezer says the cgroup is frozen.
    pub fn is_frozen(&self) -> bool {
        let Some(f) = &self.freezer else { return false };
        if self.freezer_v2 {
            std::fs::read_to_string(f.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
        } else {
            std::fs::read_to_string(f.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
        }
    }

    /// Sends `sig` to every process in the cgroup; thaws a frozen cgroup afterwards
    /// for SIGKILL so the processes can die.
    pub fn signal_all(&self, sig: i32) -> Result<(), CgroupError> {
        for pid in self.pids() {
            // SAFETY: plain syscall; a PID that just exited gives ESRCH, ignored.
            unsafe { libc::kill(pid, sig) };
        }
        if sig == libc::SIGKILL && self.is_frozen() {
            self.thaw()?;
        }
        Ok(())
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        let Some(f) = &self.freezer else {
            return Ok(());
        };
        let (file, val) = if self.freezer_v2 {
            ("cgroup.freeze", "0")
        } else {
            ("freezer.state", "THAWED")
        };
        let p = f.join(file);
        std::fs::write(&p, val).map_err(io_err("thaw", &p))
    }

    /// Removes every directory `create` made, waiting (bounded) for exited processes to
    /// be reaped out of it. Parents shared with other containers stay.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + Duration::from_secs(5);
        for dir in &self.dirs {
            rmdir_when_empty(dir, deadline)?;
        }
        for dir in self.created.iter().rev() {
            if self.dirs.contains(dir) {
                continue;
            }
            let _ = std::fs::remove_dir(dir);
        }
        Ok(())
    }
}

fn rmdir_when_empty(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let mut backoff = Duration::from_micros(200);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                // Exited processes leave the cgroup only once reaped by their parent.
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(CgroupError::Io {
                    what: "remove",
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
        }
    }
}

/// `mkdir -p` below `mount`, returning the directories it made, outermost first.
fn mkdir_all(dir: &Path, mount: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    // A parent may vanish under us when another container's delete removes it: retry.
    let mut attempts = 0;
    'again: loop {
        let mut made = Vec::new();
        let mut cur = mount.to_path_buf();
        for c in rel.components() {
            cur.push(c);
            match std::fs::create_dir(&cur) {
                Ok(()) => made.push(cur.clone()),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound && attempts < 5 => {
                    attempts += 1;
                    continue 'again;
                }
                Err(e) => {
                    return Err(CgroupError::Io {
                        what: "create",
                        path: cur,
                        source: e,
                    })
                }
            }
        }
        return Ok(made);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            cgroup_path(None, "abc").unwrap(),
            PathBuf::from("/quai/abc")
        );
        assert_eq!(
            cgroup_path(Some(Path::new("/a/b")), "x").unwrap(),
            PathBuf::from("/a/b")
        );
        assert_eq!(
            cgroup_path(Some(Path::new("a/b")), "x").unwrap(),
            PathBuf::from("a/b")
        );
        assert!(cgroup_path(Some(Path::new("system.slice:quai:x")), "x").is_err());
        assert!(cgroup_path(Some(Path::new("/a/../b")), "x").is_err());
    }
}
