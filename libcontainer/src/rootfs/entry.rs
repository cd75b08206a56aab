//! One name in a directory fd, never followed: what is there, removing it, creating an
//! empty file, opening it. The runtime's own nodes in the container (device nodes,
//! `/dev/console`) are made this way, so a symlink the image planted at their path is
//! replaced, never followed (the CVE-2025-52565 class).

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::rootdir::openat2;

fn cname(name: &OsStr) -> io::Result<CString> {
    if name.is_empty() || name.as_bytes().contains(&b'/') || name == ".." || name == "." {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`, or `None` when nothing is there.
pub(super) fn lstat_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cname(name)?;
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is one NUL-terminated component and `st` a valid out-pointer.
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOENT) => Ok(None),
        _ => Err(e),
    }
}

/// Removes a non-directory entry (the link itself when it is a symlink).
pub(super) fn remove(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let c = cname(name)?;
    // SAFETY: as above; unlinkat never follows the last component.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Creates an empty regular file; fails if anything is already there.
pub(super) fn create_file(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY;
    let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    openat2(
        dir.as_raw_fd(),
        Path::new(cname_os(name)?),
        flags,
        mode,
        resolve,
    )
    .map(drop)
}

/// Opens the entry itself as `O_PATH` (a symlink is opened as the link, not followed).
pub(super) fn open_nofollow(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
    let resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    openat2(
        dir.as_raw_fd(),
        Path::new(cname_os(name)?),
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        resolve,
    )
}

fn cname_os(name: &OsStr) -> io::Result<&OsStr> {
    cname(name).map(|_| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn never_follows_the_name() {
        let d = std::env::temp_dir().join(format!("quai-entry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let victim = d.join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, d.join("lnk")).unwrap();
        let dir = std::fs::File::open(&d).unwrap();
        let fd = dir.as_fd();
        let lnk = OsStr::new("lnk");
        let st = lstat_at(fd, lnk).unwrap().unwrap();
        assert_eq!(st.st_mode & libc::S_IFMT, libc::S_IFLNK);
        assert!(create_file(fd, lnk, 0o600).is_err(), "O_EXCL on the link");
        remove(fd, lnk).unwrap();
        assert!(lstat_at(fd, lnk).unwrap().is_none());
        create_file(fd, lnk, 0o600).unwrap();
        assert!(d.join("lnk").is_file());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        assert!(lstat_at(fd, OsStr::new("../x")).is_err());
        let _ = open_nofollow(fd, lnk).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
