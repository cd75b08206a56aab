//! v1 cpuset: the container's cpus and mems, and filling a new cgroup's empty sets
//! from its parent, without which no process could join it.

use std::path::{Path, PathBuf};

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
/// from `mount` to `dir` so a process can join it. Directories in `created` were just
/// made (empty for certain): they are written without being read, and each level's
/// value is passed down rather than read again from the parent.
pub fn inherit(dir: &Path, mount: &Path, created: &[PathBuf]) -> Result<(), CgroupError> {
    let mut chain = Vec::new();
    let mut d = dir.to_path_buf();
    while d.starts_with(mount) && d != mount {
        chain.push(d.clone());
        if !d.pop() {
            break;
        }
    }
    const FILES: [&str; 2] = ["cpuset.cpus", "cpuset.mems"];
    let mut above: [Option<String>; 2] = [None, None];
    for d in chain.into_iter().rev() {
        let parent = d.parent().unwrap_or(mount);
        let new = created.contains(&d);
        for (f, above) in FILES.iter().zip(above.iter_mut()) {
            let cur = if new {
                String::new()
            } else {
                files::read(&d, f).unwrap_or_default()
            };
            let value = if cur.trim().is_empty() {
                let p = match above.take() {
                    Some(p) => p,
                    None => files::read(parent, f)?,
                };
                files::write(&d, f, p.trim())?;
                p
            } else {
                cur
            };
            *above = Some(value);
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
        inherit(&d.path().join("a/b"), d.path(), &[]).unwrap();
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

    #[test]
    fn new_directories_take_the_level_above_without_a_read() {
        // "a" existed with its own sets (kept); "a/b" was just made: it gets a's
        // values, passed down, whatever its files held when planned.
        let d = FakeDir::new(&[
            ("cpuset.cpus", "0-3\n"),
            ("cpuset.mems", "0-1\n"),
            ("a/cpuset.cpus", "2\n"),
            ("a/cpuset.mems", "1\n"),
            ("a/b/cpuset.cpus", "stale"),
            ("a/b/cpuset.mems", "stale"),
        ]);
        let b = d.path().join("a/b");
        inherit(&b, d.path(), std::slice::from_ref(&b)).unwrap();
        assert_eq!(d.get("a/cpuset.cpus"), "2\n");
        assert_eq!(d.get("a/b/cpuset.cpus"), "2");
        assert_eq!(d.get("a/b/cpuset.mems"), "1");
    }
}
