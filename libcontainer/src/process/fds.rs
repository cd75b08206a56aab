//! The fds a container's process gets: the stdio an embedder gives, and besides stdio,
//! the preserved ones. `--preserve-fds N` (and systemd's
//! `LISTEN_FDS`) pass fds 3..3+N of the caller, and each must be one the caller really
//! passed: open, and inheritable. Every fd the runtime opens itself is close-on-exec (Rust
//! and our wrappers always set it), so an fd in that range that is close-on-exec is the
//! runtime's own (the log, the procfs handle, the sync socket, the exec fifo) and is
//! refused, never made inheritable: whatever N says, none of them reaches the container.

use std::io;
use std::os::fd::RawFd;

use super::ProcessError;

/// Checks, in the caller before anything is made, that fds 3..3+`n` were all passed to
/// us, and that `n` fits under the open file limit.
pub fn check_preserved_fds(n: u32) -> Result<(), ProcessError> {
    let limit = nofile_limit().map_err(|source| ProcessError::Sys {
        what: "getrlimit(RLIMIT_NOFILE)",
        source,
    })?;
    if u64::from(n) + 3 > limit {
        return Err(ProcessError::PreservedFds(format!(
            "--preserve-fds {n} asks for fds up to {}, beyond the open file limit \
             (RLIMIT_NOFILE {limit})",
            u64::from(n) + 2
        )));
    }
    each_preserved(n).map_err(ProcessError::PreservedFds)
}

/// In the init just before `execve`: checks the preserved fds again (so nothing the
/// runtime opened since can be among them), leaves their flags alone, and marks every
/// fd above them close-on-exec.
pub(super) fn close_fds_on_exec(n: u32) -> Result<(), String> {
    each_preserved(n)?;
    // SAFETY: plain syscall.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32.saturating_add(n),
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        return Err(format!("close_range: {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// In the init: makes the caller's fds (where given) its stdin, stdout and stderr,
/// inheritable. Each is first copied above 2, so one given fd can never be overwritten
/// by another's `dup2` (stdout given as fd 0, say) before it is installed.
pub(super) fn install_stdio(stdio: &[Option<RawFd>; 3]) -> Result<(), String> {
    let mut copies = [None; 3];
    for (i, fd) in stdio.iter().enumerate() {
        let Some(fd) = *fd else { continue };
        // SAFETY: F_DUPFD_CLOEXEC only makes a new fd; a bad `fd` fails with EBADF.
        let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if copy < 0 {
            return Err(format!(
                "stdio fd {fd} for fd {i}: {}",
                io::Error::last_os_error()
            ));
        }
        copies[i] = Some(copy);
    }
    for (target, copy) in copies.iter().enumerate() {
        let Some(copy) = *copy else { continue };
        // SAFETY: dup2 between fds we hold; the new fd 0-2 is not close-on-exec.
        let r = unsafe { libc::dup2(copy, target as RawFd) };
        let err = io::Error::last_os_error();
        // SAFETY: `copy` was made above and is owned by nothing else.
        unsafe { libc::close(copy) };
        if r < 0 {
            return Err(format!("making fd {target} the given stdio (dup2): {err}"));
        }
    }
    Ok(())
}

/// Fails on the first fd of 3..3+`n` that is not open or is close-on-exec.
fn each_preserved(n: u32) -> Result<(), String> {
    check_range(3, n)
}

fn check_range(first: u32, n: u32) -> Result<(), String> {
    for i in 0..n {
        let Some(fd) = i.checked_add(first).and_then(|fd| i32::try_from(fd).ok()) else {
            return Err(format!(
                "preserved-fd {i} (of {n}) is not a valid fd number"
            ));
        };
        // SAFETY: fcntl(F_GETFD) on an fd number only reads its flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            let e = io::Error::last_os_error();
            let why = match e.raw_os_error() {
                Some(libc::EBADF) => "is not open".to_string(),
                _ => format!("cannot be checked: {e}"),
            };
            return Err(format!(
                "unable to stat preserved-fd {i} (of {n}): fd {fd} {why}"
            ));
        }
        if flags & libc::FD_CLOEXEC != 0 {
            return Err(format!(
                "preserved-fd {i} (of {n}): fd {fd} was not passed by the caller \
                 (it is close-on-exec: one of the runtime's own)"
            ));
        }
    }
    Ok(())
}

/// The soft RLIMIT_NOFILE: no fd at or above it can be opened.
fn nofile_limit() -> io::Result<u64> {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `cur` is a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cur.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{FromRawFd, OwnedFd};

    /// A fd number far above anything the test process holds.
    const HIGH: u32 = 900;

    #[test]
    fn missing_and_own_fds_are_refused_passed_ones_kept() {
        let e = check_range(HIGH, 2).unwrap_err();
        assert!(e.contains("unable to stat preserved-fd 0 (of 2)"), "{e}");
        let null = std::fs::File::open("/dev/null").unwrap();
        let high = HIGH as i32;
        // Our own fd (close-on-exec) at HIGH: refused, never made inheritable.
        // SAFETY: dup3 onto a free fd number, owned below.
        let r = unsafe {
            libc::dup3(
                std::os::fd::AsRawFd::as_raw_fd(&null),
                high,
                libc::O_CLOEXEC,
            )
        };
        assert_eq!(r, high);
        // SAFETY: `high` was just made by dup3 and is owned by nothing else.
        let own = unsafe { OwnedFd::from_raw_fd(high) };
        let e = check_range(HIGH, 1).unwrap_err();
        assert!(e.contains("fd 900 was not passed by the caller"), "{e}");
        // SAFETY: fcntl(F_GETFD) only reads flags.
        assert_ne!(
            unsafe { libc::fcntl(high, libc::F_GETFD) } & libc::FD_CLOEXEC,
            0
        );
        // An inheritable fd is one the caller passed.
        // SAFETY: clearing the flags of the fd `own` holds.
        unsafe { libc::fcntl(high, libc::F_SETFD, 0) };
        check_range(HIGH, 1).unwrap();
        drop(own);
    }

    #[test]
    fn beyond_the_fd_limit_is_refused() {
        let e = check_preserved_fds(u32::MAX).unwrap_err().to_string();
        assert!(e.contains("RLIMIT_NOFILE"), "{e}");
    }
}
