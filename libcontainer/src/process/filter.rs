//! When the init and every `exec`'d process load their seccomp filter, as runc orders
//! it: without `no_new_privs` the load needs CAP_SYS_ADMIN, so it comes before the
//! credentials drop it; with `no_new_privs` it comes after them. A filter that notifies
//! is loaded before `Ready`, so its listener reaches the agent while `create` (or
//! `exec`) still runs; one that does not is checked against the kernel before `Ready`
//! and loaded as late as possible, so the fewest of our own calls run under it.

use std::os::fd::AsRawFd;

use crate::channel::Channel;
use crate::seccomp::Filter;
use crate::spec::Process;

/// The load points of one process's filter.
pub(super) struct Plan<'a> {
    filter: Option<&'a Filter>,
    nnp: bool,
}

impl<'a> Plan<'a> {
    pub(super) fn new(filter: Option<&'a Filter>, process: &Process) -> Plan<'a> {
        Plan {
            filter,
            nnp: process.no_new_privileges() == Some(true),
        }
    }

    /// Before the credentials: loads the filter when `no_new_privs` is off.
    pub(super) fn before_credentials<M: serde::Serialize>(
        &self,
        ch: &Channel,
        msg: &M,
    ) -> Result<(), String> {
        match self.filter {
            Some(f) if !self.nnp => load(f, ch, msg),
            _ => Ok(()),
        }
    }

    /// After the credentials, before `Ready`: loads a notifying filter, or checks that
    /// the kernel takes the one loaded later. Returns the filter left to [`Self::last`].
    pub(super) fn before_ready<M: serde::Serialize>(
        &self,
        ch: &Channel,
        msg: &M,
    ) -> Result<Option<&'a Filter>, String> {
        match self.filter {
            Some(f) if self.nnp && f.listener().is_some() => load(f, ch, msg).map(|()| None),
            Some(f) if self.nnp => f
                .check_kernel()
                .map(|()| Some(f))
                .map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    }
}

/// Loads a filter left for the end.
pub(super) fn last(filter: Option<&Filter>) -> Result<(), String> {
    if let Some(f) = filter {
        f.load().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Loads `f`; a listener fd goes to the runtime with `msg`, at once (no call between
/// the load and this sendmsg can be notified; the compiler refuses a notified sendmsg).
fn load<M: serde::Serialize>(f: &Filter, ch: &Channel, msg: &M) -> Result<(), String> {
    if let Some(listener) = f.load().map_err(|e| e.to_string())? {
        ch.send(msg, &[listener.as_raw_fd()])
            .map_err(|e| format!("send the seccomp listener to the runtime: {e}"))?;
    }
    Ok(())
}
