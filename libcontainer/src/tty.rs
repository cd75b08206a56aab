//! Terminals: the container's pty, the console socket, and the runtime's own terminal
//! for `run` in the foreground. PLACEHOLDER interface; the real module replaces this file.

use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;

/// Why a terminal step failed.
#[derive(Debug, thiserror::Error)]
pub enum TtyError {
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// The step.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// A pty pair opened inside the container.
#[derive(Debug)]
pub struct Pty {
    /// The master side, handed to the console socket or the runtime.
    pub master: OwnedFd,
    /// The slave side, the container process's stdio.
    pub slave: OwnedFd,
}

/// Connects to the console socket at `path` (done by the runtime before cloning).
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd, TtyError> {
    let _ = path;
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Opens a new pty through the current `/dev/ptmx` and verifies the slave is a pty.
pub fn open_pty() -> Result<Pty, TtyError> {
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Sends the master fd over a connected console socket with `SCM_RIGHTS`.
pub fn send_master(socket: BorrowedFd<'_>, master: BorrowedFd<'_>) -> Result<(), TtyError> {
    let _ = (socket, master);
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Makes `slave` the calling process's controlling terminal and its stdin/out/err.
pub fn make_controlling(slave: OwnedFd) -> Result<(), TtyError> {
    let _ = slave;
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Sets the window size of a pty.
pub fn set_size(fd: BorrowedFd<'_>, rows: u16, cols: u16) -> Result<(), TtyError> {
    let _ = (fd, rows, cols);
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Bridges the runtime's own stdio to `master` until the container's side closes:
/// the runtime's terminal (if stdin is one) is in raw mode meanwhile, and window size
/// changes (SIGWINCH) are passed on. Returns when `master` reads EOF/EIO.
pub fn relay(master: &OwnedFd) -> Result<(), TtyError> {
    let _ = master;
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Copies the runtime's stdin terminal size to the pty.
pub fn inherit_size(master: BorrowedFd<'_>) -> Result<(), TtyError> {
    let _ = master;
    Err(TtyError::Sys {
        what: "placeholder",
        source: std::io::Error::other("placeholder"),
    })
}

/// Raw mode on the runtime's stdin, restored on drop.
#[derive(Debug)]
pub struct RawMode;

impl RawMode {
    /// Enables raw mode when stdin is a terminal.
    pub fn enable_on_stdin() -> Result<Option<RawMode>, TtyError> {
        Ok(None)
    }
}
