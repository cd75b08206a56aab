//! The container process's user and groups, and its umask.

use std::io;

use crate::procfs::ProcHandle;
use crate::spec::User;

/// Why the user or groups could not be set.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// The step that failed, with the ids it was given.
        what: String,
        /// The cause.
        source: io::Error,
    },
}

/// runc's umask when the spec gives none.
pub const DEFAULT_UMASK: u32 = 0o022;

/// Sets supplementary groups, gid and uid (keeping permitted capabilities across the
/// uid change so they can be applied afterwards), and the umask (0022 when not given).
pub fn switch_user(user: &User) -> Result<(), IdentityError> {
    let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    set_groups(&groups)?;

    let gid = user.gid();
    // SAFETY: plain syscall with integer arguments.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        return Err(sys(format!("setresgid({gid})")));
    }

    let uid = user.uid();
    set_keepcaps(true)?;
    // SAFETY: plain syscall with integer arguments.
    let r = unsafe { libc::setresuid(uid, uid, uid) };
    let setuid_err = (r != 0).then(|| sys(format!("setresuid({uid})")));
    set_keepcaps(false)?;
    if let Some(e) = setuid_err {
        return Err(e);
    }

    let mask = user.umask().unwrap_or(DEFAULT_UMASK);
    if mask > 0o777 {
        return Err(IdentityError::Failed(format!(
            "invalid umask {mask:#o}: it must be at most 0777"
        )));
    }
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
    Ok(())
}

/// Sets the supplementary groups; in a user namespace whose `setgroups` is denied, an
/// EPERM is expected and the groups are left as they are (as runc does).
fn set_groups(groups: &[libc::gid_t]) -> Result<(), IdentityError> {
    // SAFETY: `groups` is a valid array of `groups.len()` gids.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } == 0 {
        return Ok(());
    }
    let source = io::Error::last_os_error();
    if source.raw_os_error() == Some(libc::EPERM) && setgroups_denied() {
        return Ok(());
    }
    Err(IdentityError::Sys {
        what: format!("setgroups({groups:?})"),
        source,
    })
}

/// Whether `/proc/self/setgroups` says `deny` (a user namespace that forbids setgroups).
fn setgroups_denied() -> bool {
    ProcHandle::open()
        .and_then(|p| p.read("self/setgroups"))
        .map(|s| s.trim() == "deny")
        .unwrap_or(false)
}

/// Sets or clears `PR_SET_KEEPCAPS`.
fn set_keepcaps(on: bool) -> Result<(), IdentityError> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(on), 0, 0, 0) } != 0 {
        return Err(sys(format!("prctl(PR_SET_KEEPCAPS, {})", u8::from(on))));
    }
    Ok(())
}

fn sys(what: String) -> IdentityError {
    IdentityError::Sys {
        what,
        source: io::Error::last_os_error(),
    }
}

#[cfg(test)]
mod tests;
