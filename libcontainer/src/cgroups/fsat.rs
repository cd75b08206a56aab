//! Cgroup files and directories reached from one fd of the directory the hierarchies
//! are mounted under (`/sys/fs/cgroup`), not from `/`. A walk from `/` looks up `fs` in
//! sysfs, under the kernfs lock that every new network namespace takes for writing
//! while it adds its loopback device's files: 100 containers created at once spent
//! most of their waiting there (`benches/README.md`). Paths elsewhere (the unit tests'
//! fake cgroups) are used as they are.
//!
//! The fd is the runtime's own: the processes it clones for a container drop it first
//! thing ([`release`]).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The base directory and, once opened, its fd.
static BASE: Mutex<Option<(PathBuf, Option<OwnedFd>)>> = Mutex::new(None);

/// Fds of earlier bases, kept open: another thread may be using one (closing it could
/// let a new file take its number under that thread's feet).
static RETIRED: Mutex<Vec<OwnedFd>> = Mutex::new(Vec::new());

/// Makes `dir` the base of the cgroup paths below it (opened on first use).
pub(crate) fn set_base(dir: &Path) {
    if let Ok(mut b) = BASE.lock() {
        if b.as_ref().is_none_or(|(p, _)| p != dir) {
            if let Some((_, Some(old))) = b.replace((dir.to_path_buf(), None)) {
                if let Ok(mut r) = RETIRED.lock() {
                    r.push(old);
                }
            }
        }
    }
}

/// Closes the base fd in a process cloned from the runtime (the container's init, the
/// exec helper): none of the runtime's fds may reach a container.
pub fn release() {
    // try_lock: a clone must not wait on a lock another thread of its parent held at
    // the clone (then the fd, close-on-exec, still goes at the execve).
    if let Ok(mut b) = BASE.try_lock() {
        *b = None;
    }
    if let Ok(mut r) = RETIRED.try_lock() {
        r.clear();
    }
}

/// Runs `f` with `(dirfd, relative path)` for `path` below the base, or
/// `(AT_FDCWD, path)` otherwise. The lock is held only to find the fd, not for the
/// system call (`list` reads containers from several threads): the fd stays open until
/// [`release`], which only a freshly cloned, single-threaded child calls.
fn at<T>(path: &Path, f: impl FnOnce(RawFd, &Path) -> io::Result<T>) -> io::Result<T> {
    let found = {
        let mut guard = BASE
            .lock()
            .map_err(|_| io::Error::other("cgroup base lock"))?;
        match guard.as_mut() {
            Some((base, fd))
                if path
                    .strip_prefix(&*base)
                    .is_ok_and(|r| !r.as_os_str().is_empty()) =>
            {
                if fd.is_none() {
                    *fd = Some(open_dir(base)?);
                }
                fd.as_ref()
                    .map(|fd| (fd.as_raw_fd(), base.components().count()))
            }
            _ => None,
        }
    };
    match found {
        Some((fd, depth)) => {
            let rel: PathBuf = path.components().skip(depth).collect();
            f(fd, &rel)
        }
        None => f(libc::AT_FDCWD, path),
    }
}

fn cpath(p: &Path) -> io::Result<std::ffi::CString> {
    std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str()))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn open_dir(dir: &Path) -> io::Result<OwnedFd> {
    crate::rootdir::openat2(libc::AT_FDCWD, dir, libc::O_PATH | libc::O_DIRECTORY, 0, 0)
}

/// Opens a cgroup file (`flags` from `libc::O_*`; `O_CLOEXEC` is added).
pub(crate) fn open(path: &Path, flags: i32) -> io::Result<std::fs::File> {
    at(path, |dirfd, rel| {
        let c = cpath(rel)?;
        // SAFETY: a valid dirfd (or AT_FDCWD) and NUL-terminated path.
        let fd = unsafe { libc::openat(dirfd, c.as_ptr(), flags | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: just opened, owned by no one else.
        Ok(std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    })
}

/// Reads a whole cgroup file.
pub(crate) fn read_to_string(path: &Path) -> io::Result<String> {
    let f = open(path, libc::O_RDONLY)?;
    let bytes = crate::rootdir::read_all(&f)?;
    String::from_utf8(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `mkdir` of a cgroup directory.
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    at(path, |dirfd, rel| {
        let c = cpath(rel)?;
        // SAFETY: a valid dirfd (or AT_FDCWD) and NUL-terminated path.
        if unsafe { libc::mkdirat(dirfd, c.as_ptr(), 0o755) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    })
}

/// `rmdir` of a cgroup directory.
pub(crate) fn remove_dir(path: &Path) -> io::Result<()> {
    at(path, |dirfd, rel| {
        let c = cpath(rel)?;
        // SAFETY: a valid dirfd (or AT_FDCWD) and NUL-terminated path.
        if unsafe { libc::unlinkat(dirfd, c.as_ptr(), libc::AT_REMOVEDIR) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    })
}

/// True when a cgroup file or directory exists.
pub(crate) fn exists(path: &Path) -> bool {
    at(path, |dirfd, rel| {
        let c = cpath(rel)?;
        // SAFETY: a valid dirfd (or AT_FDCWD), a NUL-terminated path, a valid out-pointer.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        Ok(unsafe { libc::fstatat(dirfd, c.as_ptr(), &mut st, 0) } == 0)
    })
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_the_base_and_elsewhere() {
        let dir = std::env::temp_dir().join(format!("quai-fsat-{}", std::process::id()));
        let base = dir.join("base");
        std::fs::create_dir_all(&base).unwrap();
        set_base(&base);
        let inside = base.join("a");
        create_dir(&inside).unwrap();
        assert!(exists(&inside) && inside.is_dir());
        std::fs::write(inside.join("f"), "x\n").unwrap();
        assert_eq!(read_to_string(&inside.join("f")).unwrap(), "x\n");
        std::fs::remove_file(inside.join("f")).unwrap();
        remove_dir(&inside).unwrap();
        assert!(!exists(&inside));
        // Outside the base: plain paths.
        let outside = dir.join("b");
        create_dir(&outside).unwrap();
        assert!(outside.is_dir());
        remove_dir(&outside).unwrap();
        // No release() here: other tests' threads may hold the fd (only a cloned,
        // single-threaded child releases it).
        std::fs::remove_dir_all(dir).unwrap();
    }
}
