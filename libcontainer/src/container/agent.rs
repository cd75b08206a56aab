//! The seccomp agent's side of the lifecycle: a listener fd of the init (status
//! `creating`) or of an `exec`'d process (`running`) goes to `listenerPath` with the
//! container's state, as runc sends it.

use std::os::fd::{AsFd, OwnedFd};

use super::state::StateFile;
use super::status::public_state;
use super::Status;
use crate::seccomp::Filter;

/// Sends `listener`, made by process `pid` loading `filter`, to the filter's agent.
pub(super) fn hand_listener(
    filter: Option<&Filter>,
    st: &StateFile,
    status: Status,
    pid: i32,
    listener: OwnedFd,
) -> Result<(), String> {
    let Some(to) = filter.and_then(Filter::listener) else {
        return Err("a seccomp listener came from a filter that does not notify".into());
    };
    let state = serde_json::to_value(public_state(st, status)).map_err(|e| e.to_string())?;
    crate::seccomp::send_listener(&to.path, &to.metadata, pid, &state, listener.as_fd())
        .map_err(|e| e.to_string())
}
