//! Where a container's cgroup goes (`cgroupsPath`), and making and removing its
//! directories without touching anyone else's.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use super::CgroupError;

/// Where containers without a `cgroupsPath` go, one directory each.
pub(crate) const DEFAULT_PARENT: &str = "/quai";

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
            if p.components().any(|c| matches!(c, Component::ParentDir)) {
                return Err(CgroupError::InvalidPath(
                    s.into_owned(),
                    "it must not contain '..'",
                ));
            }
            Ok(p.to_path_buf())
        }
    }
}

/// The directories from `mount` down to `dir` that do not exist now, outermost first.
pub(crate) fn missing(dir: &Path, mount: &Path) -> Vec<PathBuf> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    let mut cur = mount.to_path_buf();
    let mut out = Vec::new();
    for c in rel.components() {
        cur.push(c);
        if !out.is_empty() || !super::fsat::exists(&cur) {
            out.push(cur.clone());
        }
    }
    out
}

/// `mkdir -p` below `mount`, returning the directories it made, outermost first.
pub(crate) fn mkdir_all(dir: &Path, mount: &Path) -> Result<Vec<PathBuf>, CgroupError> {
    let rel = dir.strip_prefix(mount).unwrap_or(dir);
    // A parent may vanish under us when another container's delete removes it: retry.
    let mut attempts = 0;
    'again: loop {
        let mut made = Vec::new();
        let mut cur = mount.to_path_buf();
        for c in rel.components() {
            cur.push(c);
            match super::fsat::create_dir(&cur) {
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

/// Removes a cgroup directory once its exited processes have been reaped out of it
/// (bounded by `deadline`; the kernel gives no event for "empty" on v1).
pub(crate) fn rmdir_when_empty(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let mut backoff = Duration::from_micros(200);
    loop {
        match super::fsat::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
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

/// Removes `dir` and every cgroup below it (sub-cgroups the container or `exec
/// --cgroup` made), innermost first, each as [`rmdir_when_empty`] does.
pub(crate) fn rmdir_tree_when_empty(dir: &Path, deadline: Instant) -> Result<(), CgroupError> {
    for sub in sub_dirs(dir) {
        rmdir_tree_when_empty(&sub, deadline)?;
    }
    rmdir_when_empty(dir, deadline)
}

/// The directories directly below `dir` (sub-cgroups; interface files are not
/// directories). None when `dir` cannot be read.
pub(crate) fn sub_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default()
}

/// A file name inside one cgroup directory: no separators, not `.` or `..` (for
/// `unified` keys and hugepage sizes, which come from the spec).
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
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

    #[test]
    fn plain_names() {
        assert!(is_plain_name("memory.max"));
        assert!(!is_plain_name("../x"));
        assert!(!is_plain_name(".."));
        assert!(!is_plain_name(""));
    }

    #[test]
    fn mkdir_reports_outermost_first() {
        let d = super::super::testutil::FakeDir::new(&[]);
        let made = mkdir_all(&d.path().join("a/b"), d.path()).unwrap();
        assert_eq!(made, vec![d.path().join("a"), d.path().join("a/b")]);
        assert!(mkdir_all(&d.path().join("a/b"), d.path())
            .unwrap()
            .is_empty());
    }
}
