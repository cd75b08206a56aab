//! Thin wrappers over the mount system calls (classic and new mount API) that the
//! other files share; each returns `io::Error` and leaves the "what/where" to callers.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use libc::c_ulong;

fn cstr(s: &[u8]) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `mkdirat(2)` of one name in `dir`.
pub(super) fn mkdir_at(dir: BorrowedFd<'_>, name: &Path, mode: libc::mode_t) -> io::Result<()> {
    let c = cstr(name.as_os_str().as_bytes())?;
    // SAFETY: `dir` is a directory fd and `c` NUL-terminated.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) }.into()).map(drop)
}

/// `mount(2)`; `target` is usually `rootdir::fd_path(fd)` of an `O_PATH` fd.
pub(super) fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let src = source.map(|s| cstr(s.as_os_str().as_bytes())).transpose()?;
    let tgt = cstr(target.as_os_str().as_bytes())?;
    let typ = fstype.map(|t| cstr(t.as_bytes())).transpose()?;
    let dat = data
        .filter(|d| !d.is_empty())
        .map(|d| cstr(d.as_bytes()))
        .transpose()?;
    // SAFETY: every pointer is either null or a NUL-terminated string that outlives the call.
    let r = unsafe {
        libc::mount(
            src.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            tgt.as_ptr(),
            typ.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags,
            dat.as_ref().map_or(std::ptr::null(), |s| s.as_ptr().cast()),
        )
    };
    check(r as libc::c_long).map(drop)
}

/// `mount_setattr(2)` on the mount an fd refers to (`AT_EMPTY_PATH`).
pub(super) fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
    userns: Option<RawFd>,
) -> io::Result<()> {
    let mut attr: libc::mount_attr = unsafe { std::mem::zeroed() };
    attr.attr_set = set;
    attr.attr_clr = clr;
    attr.propagation = 0;
    attr.userns_fd = userns.map_or(0, |f| f as u64);
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` is a valid mount_attr of the size passed; the path is "".
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags as libc::c_uint,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    };
    check(r).map(drop)
}

/// `open_tree(fd, "", OPEN_TREE_CLONE | AT_EMPTY_PATH [| AT_RECURSIVE])`: a detached copy
/// of the mount (tree) at `fd`, ready for `move_mount`.
pub(super) fn clone_tree(fd: BorrowedFd<'_>, recursive: bool) -> io::Result<OwnedFd> {
    let flags = libc::OPEN_TREE_CLONE
        | libc::OPEN_TREE_CLOEXEC
        | libc::AT_EMPTY_PATH as libc::c_uint
        | if recursive {
            libc::AT_RECURSIVE as libc::c_uint
        } else {
            0
        };
    // SAFETY: the path is "" and the kernel returns a new fd or -1.
    let r =
        check(unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) })?;
    // SAFETY: a fresh fd we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// `open_tree(dirfd, rel, OPEN_TREE_CLONE | AT_RECURSIVE)`: a detached recursive copy
/// of the mount tree at `rel` below `dirfd`.
pub(super) fn clone_tree_at(dirfd: BorrowedFd<'_>, rel: &Path) -> io::Result<OwnedFd> {
    let flags =
        libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
    let c = cstr(rel.as_os_str().as_bytes())?;
    // SAFETY: a NUL-terminated path; the kernel returns a new fd or -1.
    let r =
        check(unsafe { libc::syscall(libc::SYS_open_tree, dirfd.as_raw_fd(), c.as_ptr(), flags) })?;
    // SAFETY: a fresh fd we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// `move_mount(from, "", dirfd, name, F_EMPTY_PATH)`: attaches a detached mount onto
/// the entry `name` of the directory `dirfd`.
pub(super) fn move_mount_at(
    from: BorrowedFd<'_>,
    dirfd: BorrowedFd<'_>,
    name: &Path,
) -> io::Result<()> {
    let c = cstr(name.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated and both fds are open.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            dirfd.as_raw_fd(),
            c.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    check(r).map(drop)
}

/// The `mount_setattr` attributes for the per-mount flags of mount(2).
pub(super) fn attrs_of(flags: c_ulong) -> u64 {
    [
        (libc::MS_RDONLY, libc::MOUNT_ATTR_RDONLY),
        (libc::MS_NOSUID, libc::MOUNT_ATTR_NOSUID),
        (libc::MS_NODEV, libc::MOUNT_ATTR_NODEV),
        (libc::MS_NOEXEC, libc::MOUNT_ATTR_NOEXEC),
        (libc::MS_NOATIME, libc::MOUNT_ATTR_NOATIME),
        (libc::MS_STRICTATIME, libc::MOUNT_ATTR_STRICTATIME),
        (libc::MS_NODIRATIME, libc::MOUNT_ATTR_NODIRATIME),
    ]
    .iter()
    .filter(|(ms, _)| flags & ms != 0)
    .fold(0, |acc, (_, attr)| acc | attr)
}

/// `move_mount(from, "", to, "", F_EMPTY_PATH | T_EMPTY_PATH)`: attaches a detached
/// mount onto the directory or file `to` refers to.
pub(super) fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> io::Result<()> {
    let flags = libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH;
    // SAFETY: both paths are "" and both fds are open.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            flags,
        )
    };
    check(r).map(drop)
}

/// A new read-only tmpfs, detached (`fsopen` + `fsmount`), for masking directories: as
/// runc's, its source is `tmpfs` and its superblock read-only too (mountinfo shows
/// `tmpfs tmpfs ro`, which tools comparing runtimes look at).
pub(super) fn new_tmpfs(attrs: u64) -> io::Result<OwnedFd> {
    // SAFETY: "tmpfs" is NUL-terminated; the kernel returns a new fd or -1.
    let fs =
        check(unsafe { libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), libc::FSOPEN_CLOEXEC) })?;
    // SAFETY: a fresh fd we now own.
    let fs = unsafe { OwnedFd::from_raw_fd(fs as RawFd) };
    // SAFETY: NUL-terminated key and value for FSCONFIG_SET_STRING.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            libc::FSCONFIG_SET_STRING,
            c"source".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
        )
    })?;
    // SAFETY: a NUL-terminated flag name for FSCONFIG_SET_FLAG, no value.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            libc::FSCONFIG_SET_FLAG,
            c"ro".as_ptr(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            libc::FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    // SAFETY: `fs` is a created fs context.
    let m = check(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fs.as_raw_fd(),
            libc::FSMOUNT_CLOEXEC,
            attrs,
        )
    })?;
    // SAFETY: a fresh fd we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(m as RawFd) })
}

/// `fstat(2)`.
pub(super) fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and `fd` is open.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } as libc::c_long)?;
    Ok(st)
}

/// The filesystem type (`f_type` of `fstatfs(2)`) of what `fd` is on.
pub(super) fn fstatfs_type(fd: BorrowedFd<'_>) -> io::Result<libc::c_long> {
    let mut sf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `sf` is a valid out-pointer and `fd` is open.
    check(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut sf) } as libc::c_long)?;
    Ok(sf.f_type)
}

/// True when `st` is a directory.
pub(super) fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// The mount flags of the mount `fd` is on that the kernel locks in a user namespace
/// (as `MS_*`), read with `fstatvfs`; a remount must repeat them or fail with EPERM.
pub(super) fn locked_flags(fd: BorrowedFd<'_>) -> io::Result<c_ulong> {
    let mut sv: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `sv` is a valid out-pointer and `fd` is open.
    check(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut sv) } as libc::c_long)?;
    let table: [(c_ulong, c_ulong); 7] = [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    Ok(table
        .iter()
        .filter(|(st, _)| sv.f_flag & st != 0)
        .fold(0, |acc, (_, ms)| acc | ms))
}
