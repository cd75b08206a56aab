//! The runtime's own terminal in raw mode while `run -t` relays to the container.

use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg, Termios};

use super::TtyError;

/// The runtime's stdin terminal in raw mode; dropping it restores the saved settings.
#[derive(Debug)]
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Puts stdin in raw mode; `None` when stdin is not a terminal.
    pub fn enable_on_stdin() -> Result<Option<RawMode>, TtyError> {
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        // SAFETY: isatty only inspects the fd.
        if unsafe { libc::isatty(libc::STDIN_FILENO) } != 1 {
            return Ok(None);
        }
        let saved = tcgetattr(fd).map_err(|e| sys("reading the terminal settings of stdin", e))?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(fd, SetArg::TCSANOW, &raw).map_err(|e| sys("putting stdin in raw mode", e))?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: fd 0 stays open for the life of the process.
        let fd = unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) };
        // Nothing useful can be done about a failure while dropping.
        let _ = tcsetattr(fd, SetArg::TCSANOW, &self.saved);
    }
}

fn sys(what: &'static str, e: nix::Error) -> TtyError {
    TtyError::Sys {
        what,
        source: e.into(),
    }
}
