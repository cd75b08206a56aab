//! Opening a pty inside the container and making it the process's terminal.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use super::{last, TtyError};

/// A pty pair opened inside the container.
#[derive(Debug)]
pub struct Pty {
    /// The master side, handed to the console socket or the runtime.
    pub master: OwnedFd,
    /// The slave side, the container process's stdio.
    pub slave: OwnedFd,
}

/// The major and minor of `/dev/ptmx` (and of devpts's `ptmx`).
const PTMX_DEV: (u32, u32) = (5, 2);
/// Unix98 pty slaves use majors 136 to 143.
const PTY_SLAVE_MAJORS: std::ops::RangeInclusive<u32> = 136..=143;

/// Opens a new pty through the current `/dev/ptmx` and verifies both ends: the master
/// must be the ptmx device and the slave a pty slave, so a device node planted in an
/// image cannot stand in for either.
pub fn open_pty() -> Result<Pty, TtyError> {
    // SAFETY: a NUL-terminated path; returns a new fd or -1.
    let fd = unsafe {
        libc::open(
            c"/dev/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(last("opening /dev/ptmx"));
    }
    // SAFETY: a fresh fd owned by nobody else.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    let (major, minor) = char_device(master.as_raw_fd(), "/dev/ptmx")?;
    if (major, minor) != PTMX_DEV {
        return Err(TtyError::NotPty(format!(
            "/dev/ptmx is device {major}:{minor}, not the pty multiplexer 5:2"
        )));
    }
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from a valid pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } != 0 {
        return Err(last("unlocking the pty (TIOCSPTLCK)"));
    }
    // TIOCGPTPEER opens the slave that belongs to this master, with no path lookup.
    // SAFETY: TIOCGPTPEER takes open flags by value and returns a new fd or -1.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(last("opening the pty slave (TIOCGPTPEER)"));
    }
    // SAFETY: a fresh fd owned by nobody else.
    let slave = unsafe { OwnedFd::from_raw_fd(fd) };
    let (major, minor) = char_device(slave.as_raw_fd(), "the pty slave")?;
    if !PTY_SLAVE_MAJORS.contains(&major) {
        return Err(TtyError::NotPty(format!(
            "the pty slave is device {major}:{minor}, not a pty (major 136-143)"
        )));
    }
    Ok(Pty { master, slave })
}

/// The major and minor of a character device fd; an error if it is anything else.
fn char_device(fd: RawFd, what: &str) -> Result<(u32, u32), TtyError> {
    // SAFETY: `st` is a valid out-pointer for fstat on an open fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(last("fstat on a pty"));
    }
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR {
        return Err(TtyError::NotPty(format!(
            "{what} is not a character device"
        )));
    }
    Ok((libc::major(st.st_rdev), libc::minor(st.st_rdev)))
}

/// Makes the calling process the leader of a new session and process group, as runc's
/// nsexec does for every process it starts in a container (init and exec, with or
/// without a terminal): a container's processes must never share the engine's (the
/// shim's) process group, or `kill(0, sig)` inside the container signals the shim.
/// Already leading its own session is fine.
pub fn new_session() -> Result<(), TtyError> {
    // SAFETY: plain syscalls without pointers.
    if unsafe { libc::setsid() } < 0 {
        // EPERM: already a session leader, which is fine as long as it is our session.
        let err = std::io::Error::last_os_error();
        if unsafe { libc::getsid(0) } != unsafe { libc::getpid() } {
            return Err(TtyError::Sys {
                what: "starting a new session (setsid)",
                source: err,
            });
        }
    }
    Ok(())
}

/// Makes `slave` the calling process's controlling terminal and its stdin/out/err.
pub fn make_controlling(slave: OwnedFd) -> Result<(), TtyError> {
    new_session()?;
    // SAFETY: TIOCSCTTY takes an int by value (0: do not steal from another session).
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(last("making the pty the controlling terminal (TIOCSCTTY)"));
    }
    let raw = slave.as_raw_fd();
    for target in 0..=2 {
        if target == raw {
            // dup2 onto itself keeps O_CLOEXEC; clear it so the fd survives execve.
            // SAFETY: fcntl on an open fd.
            if unsafe { libc::fcntl(raw, libc::F_SETFD, 0) } != 0 {
                return Err(last("clearing close-on-exec on the pty slave"));
            }
        } else if unsafe { libc::dup2(raw, target) } < 0 {
            return Err(last("making the pty slave stdin/stdout/stderr (dup2)"));
        }
    }
    if raw <= 2 {
        // It is now one of the stdio fds: keep it open.
        let _ = slave.into_raw_fd();
    }
    Ok(())
}

/// A new pty for a container's process, sized to the process's `consoleSize` if it has
/// one (by path on purpose: the pty comes from the container's own devpts, as runc's).
pub fn open_process_pty(process: &crate::spec::Process) -> Result<Pty, TtyError> {
    let pty = open_pty()?;
    if let Some(size) = process.console_size() {
        set_size(
            pty.master.as_fd(),
            size.height() as u16,
            size.width() as u16,
        )?;
    }
    Ok(pty)
}

/// Sets the window size of a pty.
pub fn set_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), TtyError> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from a valid pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(last("setting the terminal size (TIOCSWINSZ)"));
    }
    Ok(())
}

/// Copies the size of the runtime's stdin terminal to `master` (at start and on
/// SIGWINCH); does nothing when stdin is not a terminal.
pub fn inherit_size(master: BorrowedFd<'_>) -> Result<(), TtyError> {
    // SAFETY: a zeroed winsize is valid; TIOCGWINSZ writes one to a valid pointer.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    if unsafe { libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) } != 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EBADF) => Ok(()),
            _ => Err(TtyError::Sys {
                what: "reading the terminal size of stdin (TIOCGWINSZ)",
                source: err,
            }),
        };
    }
    set_size(master, ws.ws_row, ws.ws_col)
}
