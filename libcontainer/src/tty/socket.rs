//! The console socket: how an engine receives the pty master of a container.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};

use super::TtyError;

/// The name sent with the master fd; receivers (go-runc, conmon) use it only as the
/// file's name.
pub const PTMX_NAME: &str = "/dev/ptmx";

/// Connects to the console socket at `path` (done by the runtime before cloning).
pub fn connect_console_socket(path: &Path) -> Result<OwnedFd, TtyError> {
    let err = |what, e: nix::Error| TtyError::Path {
        what,
        path: path.to_path_buf(),
        source: e.into(),
    };
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| err("creating a socket for the console socket", e))?;
    let addr = UnixAddr::new(path).map_err(|e| err("invalid console socket path", e))?;
    connect(fd.as_raw_fd(), &addr).map_err(|e| err("connecting to the console socket", e))?;
    Ok(fd)
}

/// Sends the master fd over a connected console socket with `SCM_RIGHTS`, the payload
/// being the fd's name as runc sends it.
pub fn send_master(socket: BorrowedFd<'_>, master: BorrowedFd<'_>) -> Result<(), TtyError> {
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(PTMX_NAME.as_bytes())];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let sent = sendmsg::<UnixAddr>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)
        .map_err(|e| TtyError::Sys {
            what: "sending the pty master over the console socket",
            source: e.into(),
        })?;
    if sent != PTMX_NAME.len() {
        return Err(TtyError::Sys {
            what: "sending the pty master over the console socket",
            source: std::io::Error::other(format!(
                "short write: {sent} of {} bytes",
                PTMX_NAME.len()
            )),
        });
    }
    Ok(())
}
