//! Intel RDT (`linux.intelRdt`) through the resctrl filesystem, as runc does: the
//! container's own resource group (named after the container, or the `closID` group,
//! which may be shared), its schemata, a monitoring group when asked, and the init's pid
//! in their `tasks`. [`RdtGroup::plan`] decides the directories without touching
//! anything, so `create` records them before [`RdtGroup::make`]; `delete` removes what
//! was made for the container ([`RdtGroup::remove`]).

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spec::LinuxIntelRdt;

/// Why the RDT group could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RdtError {
    /// A resctrl file operation failed.
    #[error("intelRdt: {what} {path}: {source}")]
    Io {
        /// The step.
        what: &'static str,
        /// The resctrl path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The spec asks for something that cannot be.
    #[error("intelRdt: {0}")]
    Invalid(String),
}

fn io_err<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> RdtError + 'p {
    move |source| RdtError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Where the resctrl filesystem is mounted here, if it is.
pub fn resctrl_mount() -> Option<PathBuf> {
    crate::mountinfo::read()
        .ok()?
        .into_iter()
        .find(|m| m.fstype == "resctrl")
        .map(|m| m.mount_point)
}

/// The container's resctrl groups, as recorded in its state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdtGroup {
    /// The resource group (`<resctrl>/<closID or id>`).
    pub dir: PathBuf,
    /// Made for this container (not a `closID` group that was there already).
    pub created: bool,
    /// The monitoring group (`<dir>/mon_groups/<id>`), when monitoring is asked for.
    pub mon: Option<PathBuf>,
    /// The schemata to write, one line each.
    pub schemata: Vec<String>,
}

/// A group or file name: no separators, not `.` or `..`.
fn plain(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

impl RdtGroup {
    /// The group for container `id` under the resctrl mount `mount`; changes nothing.
    #[allow(deprecated)] // enableCMT/enableMBM: runtime-spec 1.3 keeps them as monitoring.
    pub fn plan(mount: &Path, id: &str, rdt: &LinuxIntelRdt) -> Result<Self, RdtError> {
        let name = rdt.clos_id().as_deref().unwrap_or(id);
        if !plain(name) {
            return Err(RdtError::Invalid(format!(
                "closID {name:?} must be a plain name"
            )));
        }
        let schemata: Vec<String> = match rdt.schemata().as_deref() {
            Some(lines) if !lines.is_empty() => lines.to_vec(),
            _ => [rdt.l3_cache_schema(), rdt.mem_bw_schema()]
                .into_iter()
                .flatten()
                .cloned()
                .collect(),
        };
        if let Some(bad) = schemata.iter().find(|l| l.contains('\n')) {
            return Err(RdtError::Invalid(format!(
                "schemata line {bad:?} holds a line break"
            )));
        }
        let dir = mount.join(name);
        let monitoring = [rdt.enable_monitoring(), rdt.enable_cmt(), rdt.enable_mbm()]
            .iter()
            .any(|f| **f == Some(true));
        Ok(Self {
            created: !dir.exists(),
            mon: monitoring.then(|| dir.join("mon_groups").join(id)),
            dir,
            schemata,
        })
    }

    /// Makes the groups and writes the schemata (before the init exists).
    pub fn make(&self) -> Result<(), RdtError> {
        if self.created {
            std::fs::create_dir(&self.dir).map_err(io_err("create", &self.dir))?;
        }
        if !self.schemata.is_empty() {
            let file = self.dir.join("schemata");
            let text = self.schemata.join("\n") + "\n";
            std::fs::write(&file, text).map_err(io_err("write", &file))?;
        }
        if let Some(mon) = &self.mon {
            std::fs::create_dir(mon).map_err(io_err("create", mon))?;
        }
        Ok(())
    }

    /// Puts `pid` in the groups.
    pub fn add(&self, pid: i32) -> Result<(), RdtError> {
        let mut dirs = vec![&self.dir];
        dirs.extend(&self.mon);
        for d in dirs {
            let tasks = d.join("tasks");
            std::fs::write(&tasks, pid.to_string()).map_err(io_err("write", &tasks))?;
        }
        Ok(())
    }

    /// Removes what was made for the container; a shared `closID` group stays.
    pub fn remove(&self) -> Result<(), RdtError> {
        let mut dirs: Vec<&PathBuf> = self.mon.iter().collect();
        if self.created {
            dirs.push(&self.dir);
        }
        for d in dirs {
            match std::fs::remove_dir(d) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_err("remove", d)(e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
