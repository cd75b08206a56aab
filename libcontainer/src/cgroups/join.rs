//! How a new process gets into the container's cgroup without the runtime writing its
//! PID into `cgroup.procs`.
//!
//! A write of a PID to `cgroup.procs` takes the kernel's `cgroup_threadgroup_rwsem` for
//! writing, which waits for an RCU grace period: 5 to 20 ms on this kind of machine, the
//! largest single cost of `create` and `exec` when measured. Two ways in skip that lock:
//! - the unified (cgroup2) directory: the process is born in it (`clone3` with
//!   `CLONE_INTO_CGROUP`), on v2 and hybrid hosts alike;
//! - each v1 hierarchy: the process moves itself, writing `0` (itself, one thread) into
//!   the directory's `tasks` file, a move the kernel makes without that lock. The
//!   process is single-threaded, so moving its thread moves all of it.
//!
//! The runtime opens everything here before the clone: the child needs no path lookup,
//! and the files are checked with the opener's credentials (the runtime's), whatever
//! namespaces the child is in by then.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

use super::{Cgroup, CgroupError};

/// The opened ways into one cgroup, for one new process.
#[derive(Debug)]
pub struct SelfJoin {
    /// The unified directory (`O_PATH`), for `CLONE_INTO_CGROUP`.
    into: Option<OwnedFd>,
    /// Each v1 directory's `tasks` file, opened for writing.
    tasks: Vec<(PathBuf, std::fs::File)>,
}

impl SelfJoin {
    /// Opens the ways into `cg`: its unified directory and every v1 `tasks` file.
    /// A directory that is missing fails here, in the runtime, naming it.
    pub fn open(cg: &Cgroup) -> Result<SelfJoin, CgroupError> {
        let unified = cg.unified.as_ref().map(|u| u.dir.as_path());
        let into = match unified {
            Some(dir) => Some(
                crate::rootdir::openat2(
                    libc::AT_FDCWD,
                    dir,
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                    0,
                )
                .map_err(|source| CgroupError::Io {
                    what: "open",
                    path: dir.to_path_buf(),
                    source,
                })?,
            ),
            None => None,
        };
        let mut tasks = Vec::new();
        for d in cg.dirs.iter().filter(|d| Some(d.as_path()) != unified) {
            let path = d.join("tasks");
            let f = super::fsat::open(&path, libc::O_WRONLY).map_err(|source| CgroupError::Io {
                what: "open",
                path: path.clone(),
                source,
            })?;
            tasks.push((path, f));
        }
        Ok(SelfJoin { into, tasks })
    }

    /// The unified directory to pass to `clone3` (`CLONE_INTO_CGROUP`), if any.
    pub fn clone_into(&self) -> Option<BorrowedFd<'_>> {
        self.into.as_ref().map(|f| f.as_fd())
    }

    /// In the new process (single-threaded): moves itself into every v1 directory,
    /// then closes its copies of the files and of the unified directory (close-on-exec
    /// anyway; closed at once so that nothing the process runs before `execve` holds
    /// them). The error names the file and the kernel's reason.
    ///
    /// Only for the child's copy of a `SelfJoin` opened before the clone, which the
    /// child never drops (it leaves by `execve` or `_exit`).
    pub fn join_self_and_close(&self) -> Result<(), String> {
        for (path, f) in &self.tasks {
            let mut w: &std::fs::File = f;
            w.write_all(b"0")
                .map_err(|e| format!("joining cgroup: write {}: {e}", path.display()))?;
        }
        let fds = self.tasks.iter().map(|(_, f)| f.as_raw_fd());
        for fd in fds.chain(self.into.as_ref().map(|f| f.as_raw_fd())) {
            // SAFETY: this process's copies, never used or dropped after this.
            unsafe { libc::close(fd) };
        }
        Ok(())
    }
}
