//! Terminals: the container's pty, the console socket, and the runtime's own terminal
//! for `run` in the foreground.
//!
//! Inside the container the init opens a pty ([`open_pty`]), passes the master to the
//! engine over the console socket ([`send_master`]) or to the runtime, and makes the
//! slave its controlling terminal ([`make_controlling`]). For `run -t` without a console
//! socket the runtime puts its own terminal in raw mode ([`RawMode`]) and [`relay`]s.

mod pty;
mod raw;
mod relay;
mod socket;

pub use pty::{
    inherit_size, make_controlling, new_session, open_process_pty, open_pty, set_size, Pty,
};
pub use raw::RawMode;
pub use relay::relay;
pub use socket::{connect_console_socket, send_master, PTMX_NAME};

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
    /// A system call on a named path failed.
    #[error("{what} {path}: {source}")]
    Path {
        /// The step.
        what: &'static str,
        /// The path it was done on.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// What was opened is not the device it should be.
    #[error("{0}")]
    NotPty(String),
}

/// A `TtyError::Sys` from the current `errno`.
fn last(what: &'static str) -> TtyError {
    TtyError::Sys {
        what,
        source: std::io::Error::last_os_error(),
    }
}

#[cfg(test)]
mod tests;
