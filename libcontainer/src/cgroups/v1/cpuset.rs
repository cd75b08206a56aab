//! v1 cpuset: the container's cpus and mems, and filling a new cgroup's empty sets
//! from its parent, without which no process could join it.

use std::path::Path;

use super::super::{files, CgroupError};
use oci_spec::runtime::LinuxCpu;

/// Writes `cpus` and `mems` when set and not empty.
pub fn apply(d: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(v) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        files::write(d, "cpuset.cpus", v)?;
    }
    if let Some(v) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        files::write(d, "cpuset.mems", v)?;
    }
    Ok(())
}

/// A new cpuset cgroup starts with no cpus and mems; copy each parent's down the chain
/// from `mount` to `dir` so a process can join it.
pub fn inherit(dir: &Path, mount: &Path) -> Result<(), CgroupError> {
    let mut chain = Vec::new();
    let mut d = dir.to_path_buf();
    while d.starts_with(mount) && d != mount {
        chain.push(d.clone());
        if !d.pop() {
            break;
        }
    }
    for d in chain.into_iter().rev() {
        let parent = d.parent().unwrap_or(mount);
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let cur = files::read(&d, f).unwrap_or_default();
            if cur.trim().is_empty() {
                let p = files::read(parent, f)?;
                files::write(&d, f, p.trim())?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use oci_spec::runtime::LinuxCpuBuilder;

    #[test]
    fn inherits_down_the_chain() {
        let d = FakeDir::new(&[
            ("cpuset.cpus", "0-1\n"),
            ("cpuset.mems", "0\n"),
            ("a/cpuset.cpus", ""),
            ("a/cpuset.mems", ""),
            ("a/b/cpuset.cpus", "\n"),
            ("a/b/cpuset.mems", ""),
        ]);
        inherit(&d.path().join("a/b"), d.path()).unwrap();
        assert_eq!(d.get("a/cpuset.cpus"), "0-1");
        assert_eq!(d.get("a/b/cpuset.cpus"), "0-1");
        assert_eq!(d.get("a/b/cpuset.mems"), "0");
        let c = LinuxCpuBuilder::default()
            .cpus("1")
            .mems("")
            .build()
            .unwrap();
        apply(&d.path().join("a/b"), &c).unwrap();
        assert_eq!(d.get("a/b/cpuset.cpus"), "1");
        assert_eq!(d.get("a/b/cpuset.mems"), "0");
    }
}
