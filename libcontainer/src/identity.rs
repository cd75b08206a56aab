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

/// The most supplementary groups a process may have (`NGROUPS_MAX`), read through the
/// verified host procfs before the container's rootfs exists.
pub fn ngroups_max(proc: &ProcHandle) -> Result<usize, IdentityError> {
    let text = proc
        .read("sys/kernel/ngroups_max")
        .map_err(|source| IdentityError::Sys {
            what: "reading the host's /proc/sys/kernel/ngroups_max".into(),
            source,
        })?;
    text.trim().parse().map_err(|_| {
        IdentityError::Failed(format!(
            "/proc/sys/kernel/ngroups_max holds {:?}, not a number",
            text.trim()
        ))
    })
}

/// Sets supplementary groups, gid and uid (keeping permitted capabilities across the
/// uid change so they can be applied afterwards), and the umask (0022 when not given).
/// `proc` is the verified procfs opened before the container's mounts; `ngroups_max`
/// the host's [`ngroups_max`].
pub fn switch_user(
    user: &User,
    proc: &ProcHandle,
    ngroups_max: usize,
) -> Result<(), IdentityError> {
    let groups: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    if groups.len() > ngroups_max {
        return Err(IdentityError::Failed(format!(
            "process.user.additionalGids lists {} groups, more than the kernel allows ({ngroups_max})",
            groups.len()
        )));
    }
    set_groups(&groups, proc)?;

    let gid = user.gid();
    // SAFETY: plain syscall with integer arguments.
    if unsafe { libc::setresgid(gid, gid, gid) } != 0 {
        return Err(sys(
            format!("setresgid({gid})"),
            format!("gid {gid} is not mapped in the container's user namespace"),
        ));
    }

    let uid = user.uid();
    set_keepcaps(true)?;
    // SAFETY: plain syscall with integer arguments.
    let r = unsafe { libc::setresuid(uid, uid, uid) };
    let setuid_err = (r != 0).then(|| {
        sys(
            format!("setresuid({uid})"),
            format!("uid {uid} is not mapped in the container's user namespace"),
        )
    });
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
fn set_groups(groups: &[libc::gid_t], proc: &ProcHandle) -> Result<(), IdentityError> {
    // SAFETY: `groups` is a valid array of `groups.len()` gids.
    if unsafe { libc::setgroups(groups.len(), groups.as_ptr()) } == 0 {
        return Ok(());
    }
    let source = io::Error::last_os_error();
    if source.raw_os_error() == Some(libc::EPERM) && setgroups_denied(proc) {
        return Ok(());
    }
    Err(sys_from(
        format!("setgroups({groups:?})"),
        "an additional gid is not mapped in the container's user namespace".into(),
        source,
    ))
}

/// Whether our `setgroups` file says `deny` (a user namespace that forbids setgroups),
/// read through the verified procfs, never through the container's /proc.
fn setgroups_denied(proc: &ProcHandle) -> bool {
    proc.read("thread-self/setgroups")
        .map(|s| s.trim() == "deny")
        .unwrap_or(false)
}

/// Sets or clears `PR_SET_KEEPCAPS`.
fn set_keepcaps(on: bool) -> Result<(), IdentityError> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(on), 0, 0, 0) } != 0 {
        return Err(IdentityError::Sys {
            what: format!("prctl(PR_SET_KEEPCAPS, {})", u8::from(on)),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The last OS error of an id call, see [`sys_from`].
fn sys(what: String, unmapped: String) -> IdentityError {
    sys_from(what, unmapped, io::Error::last_os_error())
}

/// EINVAL from an id call means an id has no mapping in our user namespace (the group
/// count is checked before): say so with `unmapped`, as runc does ("cannot set uid to
/// unmapped user in user namespace").
fn sys_from(what: String, unmapped: String, source: io::Error) -> IdentityError {
    if source.raw_os_error() == Some(libc::EINVAL) {
        return IdentityError::Failed(format!("{what}: {unmapped}"));
    }
    IdentityError::Sys { what, source }
}

#[cfg(test)]
mod tests;
