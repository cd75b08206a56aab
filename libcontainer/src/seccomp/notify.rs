//! Handing a notification listener fd to the seccomp agent (runtime-spec, "Seccomp"):
//! connect to `listenerPath` and send the container process state as JSON, with the fd
//! in the same message (SCM_RIGHTS), named in `fds` as `seccompFd`.

use super::SeccompError;
use nix::sys::socket::{
    connect, sendmsg, socket, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

/// Sends `fd` for the process `pid` to the agent at `path`; `state` is the container's
/// state (its `ociVersion` is the message's).
pub fn send_listener(
    path: &Path,
    metadata: &str,
    pid: i32,
    state: &serde_json::Value,
    fd: BorrowedFd<'_>,
) -> Result<(), SeccompError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        SeccompError::Agent(format!("{what} seccomp agent at {}: {e}", path.display()))
    };
    let msg = serde_json::json!({
        "ociVersion": state.get("ociVersion").cloned().unwrap_or_else(|| "1.2.0".into()),
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": metadata,
        "state": state,
    });
    let body = serde_json::to_vec(&msg).map_err(|e| fail("encoding the state for the", &e))?;
    let addr = UnixAddr::new(path).map_err(|e| fail("the address of the", &e))?;
    let sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| fail("a socket for the", &e))?;
    connect(sock.as_raw_fd(), &addr).map_err(|e| {
        // runc's words, which its suite and clients match.
        SeccompError::Agent(format!(
            "failed to connect with seccomp agent specified in the seccomp profile ({}): {e}",
            path.display()
        ))
    })?;
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(&body)];
    let sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| fail("cannot send the listener fd to the", &e))?;
    if sent != body.len() {
        // The fd went with the first bytes; the rest of the state follows.
        let mut off = sent;
        while off < body.len() {
            let n = nix::sys::socket::send(sock.as_raw_fd(), &body[off..], MsgFlags::MSG_NOSIGNAL)
                .map_err(|e| fail("cannot send the state to the", &e))?;
            off += n;
        }
    }
    Ok(())
}
