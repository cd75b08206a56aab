//! cgroups: the container's cgroup directories on every hierarchy of the host, the
//! resources written into them, and what later commands do with them (freeze, update,
//! statistics, OOM events, signal all, removal).
//!
//! One [`Driver`] trait, three drivers chosen by the host's [`Mode`], which is read
//! once from mountinfo: [`v1`] (a directory per controller), [`v2`] (the unified tree)
//! and [`hybrid`] (v1 controllers, plus whatever controllers sit on the unified tree).
//! The [`systemd`] driver is a stub that fails clearly when systemd is not running.

pub mod convert;
mod device_filter;
mod device_rules;
mod driver;
mod files;
mod fsat;
pub mod hybrid;
mod join;
mod layout;
mod oom;
mod path;
mod stats;
mod sub;
pub mod systemd;
#[cfg(test)]
mod testutil;
pub mod v1;
pub mod v2;
mod watch;

pub use driver::Driver;
pub use fsat::release as release_cached_fds;

/// Reaches cgroup files below the usual mount place, `/sys/fs/cgroup`, from one fd of
/// it rather than from `/` ([`fsat`]), for commands that read many cgroups without
/// asking for the layout first (`list` reads a freezer state per container).
pub fn use_usual_base() {
    fsat::set_base(std::path::Path::new("/sys/fs/cgroup"));
}
pub use join::SelfJoin;
pub use layout::{Hierarchy, Layout, Mode};
pub use oom::OomWatch;
pub use path::cgroup_path;
pub use stats::{
    Blkio, BlkioEntry, Cpu, CpuUsage, Hugetlb, Memory, MemoryEntry, Pids, Stats, Throttling,
};

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::spec::{LinuxDevice, LinuxResources};

/// What this build's cgroup code drives, whatever the host has (for `features`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Support {
    /// The [`v1`] driver (and [`hybrid`]).
    pub v1: bool,
    /// The [`v2`] driver.
    pub v2: bool,
    /// A [`systemd`] driver for the system instance.
    pub systemd: bool,
    /// A [`systemd`] driver for user instances.
    pub systemd_user: bool,
    /// `linux.resources.rdma` (written by both [`v1`] and [`v2`]).
    pub rdma: bool,
}

/// The cgroup support of this build.
pub const SUPPORT: Support = Support {
    v1: true,
    v2: true,
    systemd: systemd::DRIVER_BUILT_IN,
    systemd_user: systemd::DRIVER_BUILT_IN,
    rdma: true,
};

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
    /// A cgroup file held something we cannot parse.
    #[error("cgroup file {path}: unexpected content {text:?}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it held.
        text: String,
    },
    /// The spec asks for something this driver or host cannot do.
    #[error("{0}")]
    Unsupported(String),
    /// `exec` could not join the cgroup (or sub-cgroup) it names.
    #[error("{0}")]
    Join(String),
    /// A resource value is invalid.
    #[error("linux.resources.{0}")]
    Invalid(String),
    /// `cgroupsPath` is not a path this driver understands.
    #[error("invalid cgroupsPath {0:?}: {1}")]
    InvalidPath(String, &'static str),
    /// The kernel did not reach the freezer state in time.
    #[error("cgroup {path}: not {state} after {secs}s")]
    FreezeTimeout {
        /// The cgroup directory.
        path: PathBuf,
        /// The awaited state.
        state: &'static str,
        /// How long we waited.
        secs: u64,
    },
}

impl CgroupError {
    /// The kernel refused for want of permission (a rootless caller without a delegated
    /// cgroup): `EACCES`, `EPERM` or `EROFS`.
    pub fn is_permission(&self) -> bool {
        matches!(self, CgroupError::Io { source, .. }
            if matches!(source.raw_os_error(), Some(libc::EACCES | libc::EPERM | libc::EROFS)))
    }
}

/// Whether `res` asks for a limit (anything but device rules): what a container without
/// a cgroup cannot honour.
pub fn asks_limits(res: &LinuxResources) -> bool {
    res.memory().is_some()
        || res.cpu().is_some()
        || res.pids().is_some()
        || res.block_io().is_some()
        || res
            .hugepage_limits()
            .as_ref()
            .is_some_and(|h| !h.is_empty())
        || res.network().is_some()
        || res.rdma().as_ref().is_some_and(|r| !r.is_empty())
        || res.unified().as_ref().is_some_and(|u| !u.is_empty())
}

/// The container's unified (cgroup2) directory and the mount it lives under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnifiedDir {
    /// Where the unified hierarchy is mounted.
    pub mount: PathBuf,
    /// The container's directory in it.
    pub dir: PathBuf,
}

/// The container's cgroup: one directory per hierarchy. Serialized into the state so
/// later commands can find and remove exactly what `create` made.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Cgroup {
    /// The cgroup directories, one per hierarchy.
    pub dirs: Vec<PathBuf>,
    /// Directories `create` made, outermost first (removed innermost first).
    pub created: Vec<PathBuf>,
    /// The host's layout, which picks the driver.
    #[serde(default)]
    pub mode: Mode,
    /// v1: each controller's directory (`memory` -> `/sys/fs/cgroup/memory/quai/x`).
    #[serde(default)]
    pub v1: BTreeMap<String, PathBuf>,
    /// The unified directory, on v2 and hybrid hosts.
    #[serde(default)]
    pub unified: Option<UnifiedDir>,
    /// The cgroup had processes of others when the container joined it: removing it
    /// is tried once, never waited for.
    #[serde(default)]
    pub shared: bool,
}

/// Appends the PIDs of `dir` and of every cgroup below it (as runc's GetAllPids).
fn pids_below(dir: &Path, out: &mut Vec<i32>) {
    out.extend(
        fsat::read_to_string(&dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse::<i32>().ok()),
    );
    for sub in path::sub_dirs(dir) {
        pids_below(&sub, out);
    }
}

/// How long freezing, and emptying a cgroup before removal, may take.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

impl Cgroup {
    /// No cgroup at all (a rootless container where none could be made): every
    /// directory list empty, so joining, removing and listing do nothing.
    pub fn none(mode: Mode) -> Self {
        Cgroup {
            mode,
            ..Cgroup::default()
        }
    }

    /// Whether this is [`Cgroup::none`].
    pub fn is_none(&self) -> bool {
        self.dirs.is_empty()
    }

    /// Makes the container's directory in every hierarchy of `layout`, for the cgroup
    /// `path` (absolute, or relative to the caller's own cgroup): [`Cgroup::plan`], then
    /// [`Cgroup::make`]; on failure whatever was made is removed.
    pub fn create(layout: &Layout, path: &Path) -> Result<Self, CgroupError> {
        let cg = Self::plan(layout, path)?;
        if let Err(e) = cg.make(layout) {
            let _ = cg.remove();
            return Err(e);
        }
        Ok(cg)
    }

    /// Works out, without changing anything, the directories the container's cgroup
    /// will have and which of them do not exist yet: recorded before [`Cgroup::make`],
    /// this lets `delete --force` remove exactly them after a `create` killed at any
    /// point.
    pub fn plan(layout: &Layout, path: &Path) -> Result<Self, CgroupError> {
        if layout.hierarchies.is_empty() {
            return Err(CgroupError::Unsupported(
                "no cgroup hierarchy is mounted on this host".into(),
            ));
        }
        let own = if path.is_absolute() {
            String::new()
        } else {
            crate::rootdir::read_text(Path::new("/proc/self/cgroup")).map_err(|source| {
                CgroupError::Io {
                    what: "read",
                    path: "/proc/self/cgroup".into(),
                    source,
                }
            })?
        };
        let mut cg = Cgroup {
            mode: layout.mode(),
            ..Cgroup::default()
        };
        for h in &layout.hierarchies {
            let full = if path.is_absolute() {
                path.to_path_buf()
            } else {
                layout::own_cgroup(&own, h).join(path)
            };
            let dir = layout::dir_of(h, &full);
            let mut missing = path::missing(&dir, &h.mount);
            // The default parent belongs to quai: the last container out removes it.
            let parent = layout::dir_of(h, Path::new(path::DEFAULT_PARENT));
            if full.starts_with(path::DEFAULT_PARENT)
                && full != Path::new(path::DEFAULT_PARENT)
                && !missing.contains(&parent)
            {
                missing.insert(0, parent);
            }
            cg.created.extend(missing);
            cg.dirs.push(dir.clone());
            if h.unified {
                cg.unified = Some(UnifiedDir {
                    mount: h.mount.clone(),
                    dir,
                });
            } else {
                for c in &h.controllers {
                    cg.v1.insert(c.clone(), dir.clone());
                }
            }
        }
        Ok(cg)
    }

    /// Makes the directories [`Cgroup::plan`] worked out (in the same `layout`).
    pub fn make(&self, layout: &Layout) -> Result<(), CgroupError> {
        for (h, dir) in layout.hierarchies.iter().zip(&self.dirs) {
            path::mkdir_all(dir, &h.mount)?;
            if h.unified && self.mode == Mode::V2 {
                // As runc: every available controller, so stats and limits work.
                v2::enable_all_controllers(&h.mount, dir);
            }
            if !h.unified && h.controllers.iter().any(|c| c == "cpuset") {
                v1::cpuset::inherit(dir, &h.mount, &self.created)?;
            }
        }
        Ok(())
    }

    /// The driver for this cgroup's layout.
    pub fn driver(&self) -> Box<dyn Driver> {
        let v2 = || {
            let u = self.unified.clone().unwrap_or_default();
            v2::V2::new(u.mount, u.dir)
        };
        match self.mode {
            Mode::V1 => Box::new(v1::V1::new(self.v1.clone())),
            Mode::V2 => Box::new(v2()),
            Mode::Hybrid => Box::new(hybrid::Hybrid::new(v1::V1::new(self.v1.clone()), v2())),
        }
    }

    /// Writes the resources of the spec; `devices` are the spec's `linux.devices`,
    /// which the device rules must let the container use. (`_layout` is kept for the
    /// callers; the cgroup knows its own layout.)
    pub fn apply(
        &self,
        _layout: &Layout,
        res: &LinuxResources,
        devices: &[LinuxDevice],
    ) -> Result<(), CgroupError> {
        self.driver().apply(res, devices)
    }

    /// Changes the resources of a running container (device rules stay as they are).
    pub fn update(&self, _layout: &Layout, res: &LinuxResources) -> Result<(), CgroupError> {
        self.driver().update(res)
    }

    /// True when [`Cgroup::plan`] found none of the cgroup's directories: nothing can
    /// be in it or have frozen it yet.
    pub fn is_new(&self) -> bool {
        !self.dirs.is_empty() && self.dirs.iter().all(|d| self.created.contains(d))
    }

    /// The PIDs in the cgroup and its sub-cgroups (host PIDs), from the first directory
    /// that lists them.
    pub fn pids(&self) -> Vec<i32> {
        // The unified directory is the one every process is in on v2; on v1 any will do.
        let dir = self
            .unified
            .as_ref()
            .filter(|_| self.mode == Mode::V2)
            .map(|u| &u.dir)
            .or_else(|| self.dirs.iter().find(|d| !self.is_unified(d)))
            .or(self.dirs.first());
        let Some(d) = dir else { return Vec::new() };
        let mut out = Vec::new();
        pids_below(d, &mut out);
        out
    }

    fn is_unified(&self, d: &Path) -> bool {
        self.unified.as_ref().is_some_and(|u| u.dir == d)
    }

    /// True when the freezer says the cgroup is frozen.
    pub fn is_frozen(&self) -> bool {
        self.driver().is_frozen().unwrap_or(false)
    }

    /// Freezes every process of the container; returns once they are frozen.
    pub fn freeze(&self) -> Result<(), CgroupError> {
        self.driver().freeze()
    }

    /// Thaws the container.
    pub fn thaw(&self) -> Result<(), CgroupError> {
        self.driver().thaw()
    }

    /// The statistics `events --stats` prints.
    pub fn stats(&self) -> Result<Stats, CgroupError> {
        self.driver().stats()
    }

    /// How many processes the OOM killer has killed in the container so far.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        self.driver().oom_kill_count()
    }

    /// A descriptor that becomes readable on OOM events; see [`OomWatch`].
    pub fn oom_watch(&self) -> Result<OomWatch, CgroupError> {
        self.driver().oom_watch()
    }

    /// Sends `sig` to every process in the cgroup; thaws a frozen cgroup afterwards
    /// for SIGKILL so the processes can die.
    pub fn signal_all(&self, sig: i32) -> Result<(), CgroupError> {
        if sig == libc::SIGKILL && self.kill_v2() {
            return Ok(());
        }
        // A PID read from cgroup.procs can die and be taken by a process outside the
        // container before the signal: pin each listed process by a pidfd, read the
        // list again, and signal only the pinned processes still listed. A pidfd
        // opened on a reused PID names a process that is not in the cgroup (so not
        // listed the second time); a listed process that dies after the pin gets
        // nothing (ESRCH), never its successor.
        // In chunks, so a large container cannot exhaust our fds.
        for chunk in self.pids().chunks(256) {
            let pinned: Vec<crate::pidfd::Pidfd> = chunk
                .iter()
                .filter_map(|pid| crate::pidfd::Pidfd::open(*pid).ok())
                .collect();
            let listed = self.pids();
            for p in pinned.iter().filter(|p| listed.contains(&p.pid())) {
                // An exited process gives ESRCH: nothing to do.
                let _ = p.signal(sig);
            }
        }
        if sig == libc::SIGKILL && self.is_frozen() {
            self.thaw()?;
        }
        Ok(())
    }

    /// v2 (5.14+): `cgroup.kill` kills every process, frozen or not, with no PID race.
    fn kill_v2(&self) -> bool {
        self.mode == Mode::V2
            && self
                .unified
                .as_ref()
                .is_some_and(|u| files::write(&u.dir, "cgroup.kill", 1).is_ok())
    }

    /// Removes every directory `create` made, waiting (bounded) for exited processes to
    /// be reaped out of it. Parents shared with other containers stay.
    pub fn remove(&self) -> Result<(), CgroupError> {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        for dir in &self.dirs {
            if self.shared {
                let _ = fsat::remove_dir(dir);
                continue;
            }
            path::rmdir_tree_when_empty(dir, deadline)?;
        }
        for dir in self.created.iter().rev() {
            if self.dirs.contains(dir) {
                continue;
            }
            // A parent another container still uses is busy: it stays, rightly.
            let _ = fsat::remove_dir(dir);
        }
        Ok(())
    }
}

#[cfg(test)]
mod real_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_and_old_states() {
        let cg = Cgroup {
            dirs: vec!["/sys/fs/cgroup/memory/quai/x".into()],
            created: vec!["/sys/fs/cgroup/memory/quai/x".into()],
            mode: Mode::Hybrid,
            v1: BTreeMap::from([("memory".into(), "/sys/fs/cgroup/memory/quai/x".into())]),
            unified: Some(UnifiedDir {
                mount: "/sys/fs/cgroup/unified".into(),
                dir: "/sys/fs/cgroup/unified/quai/x".into(),
            }),
            ..Default::default()
        };
        let back: Cgroup = serde_json::from_str(&serde_json::to_string(&cg).unwrap()).unwrap();
        assert_eq!(back.mode, Mode::Hybrid);
        assert_eq!(back.v1, cg.v1);
        assert_eq!(back.unified, cg.unified);
        assert_eq!(back.driver().mode(), Mode::Hybrid);
        assert_eq!(
            back.unified.map(|u| u.dir),
            Some(PathBuf::from("/sys/fs/cgroup/unified/quai/x"))
        );
        // A state written before the drivers existed still loads.
        let old: Cgroup =
            serde_json::from_str(r#"{"dirs":[],"created":[],"freezer":null,"freezer_v2":false}"#)
                .unwrap();
        assert_eq!(old.driver().mode(), Mode::V1);
        assert!(!old.is_frozen());
    }
}
