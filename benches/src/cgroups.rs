//! The cgroups the benchmark makes: every container's `cgroupsPath` is
//! `/quai-bench/<our pid>/<id>`, and at the end that subtree is checked and removed.

use std::fs;
use std::path::{Path, PathBuf};

const TOP: &str = "quai-bench";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Where this run's containers get their cgroups, and what existed before.
pub struct CgroupScope {
    run_dir: String,
    /// `<hierarchy>/quai-bench` directories that were there before we started.
    preexisting: Vec<PathBuf>,
}

impl CgroupScope {
    /// Notes which `quai-bench` directories already exist, so only ours are removed.
    pub fn new() -> CgroupScope {
        CgroupScope {
            run_dir: format!("{TOP}/{}", std::process::id()),
            preexisting: hierarchies()
                .into_iter()
                .map(|h| h.join(TOP))
                .filter(|p| p.is_dir())
                .collect(),
        }
    }

    /// The `cgroupsPath` for container `id`.
    pub fn cgroups_path(&self, id: &str) -> String {
        format!("/{}/{id}", self.run_dir)
    }

    /// Removes this run's cgroup directories and returns the container cgroups a
    /// runtime left behind (present after its `delete`), plus anything not removable.
    pub fn clean(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for hierarchy in hierarchies() {
            let run_dir = hierarchy.join(&self.run_dir);
            if !run_dir.is_dir() {
                continue;
            }
            for leaf in subdirs(&run_dir) {
                problems.push(format!("left behind: {}", leaf.display()));
                if let Err(e) = remove_tree(&leaf) {
                    problems.push(format!("cannot remove {}: {e}", leaf.display()));
                }
            }
            if let Err(e) = fs::remove_dir(&run_dir) {
                problems.push(format!("cannot remove {}: {e}", run_dir.display()));
            }
            let top = hierarchy.join(TOP);
            // Another run's subtree may live beside ours: remove only an empty top we made.
            if !self.preexisting.contains(&top) && subdirs(&top).is_empty() {
                let _ = fs::remove_dir(&top);
            }
        }
        problems
    }
}

/// Every mounted hierarchy: the v1 controllers and the unified tree on a hybrid host,
/// or `/sys/fs/cgroup` itself on a pure cgroup v2 host.
fn hierarchies() -> Vec<PathBuf> {
    let mut all = vec![PathBuf::from(CGROUP_ROOT)];
    all.extend(
        subdirs(Path::new(CGROUP_ROOT))
            .into_iter()
            .filter(|p| p.join("cgroup.procs").exists()),
    );
    all
}

/// Real subdirectories (not symlinks such as `cpu,cpuacct`).
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// Removes a cgroup directory and its children, deepest first (cgroup files go
/// with their directory; `rmdir` fails if a process is still inside).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    for child in subdirs(dir) {
        remove_tree(&child)?;
    }
    fs::remove_dir(dir)
}
