//! The process's final credentials, set by the init before it reports `Ready`, so that
//! a user, group, capability or no_new_privs the kernel refuses fails `create`, not the
//! container after `start` (runc's finalizeNamespace does the same before it opens the
//! exec fifo). What needs privilege (rlimits, oom_score_adj, the keyring) is done before;
//! what is left after (the fifo reopened through our own fd, startContainer hooks,
//! `execve`) needs none.

use super::facts::KernelFacts;
use crate::procfs::ProcHandle;
use crate::spec::Process;
use crate::{capabilities, identity, limits};

/// Groups, gid, uid, umask; then the five capability sets; then no_new_privs. The
/// kernel resets the dumpable flag and clears the parent-death signal when the ids
/// change: both are set again, so the init stays closed to the container (no ptrace,
/// no /proc/<pid> files) and still dies with an unfinished `create`.
pub(super) fn finalize(
    process: &Process,
    proc: &ProcHandle,
    facts: &KernelFacts,
) -> Result<(), String> {
    let pdeathsig = parent_death_signal()?;
    if process.terminal() == Some(true) {
        give_terminal_to(process.user().uid())?;
    }
    identity::switch_user(process.user(), proc, facts.ngroups_max).map_err(|e| e.to_string())?;
    // As runc: without a capabilities section the process keeps the init's sets.
    if let Some(caps) = process.capabilities() {
        capabilities::apply(caps, facts.cap_last_cap)
            .map_err(|e| format!("unable to apply caps: {e}"))?;
    }
    if process.no_new_privileges() == Some(true) {
        limits::set_no_new_privs().map_err(|e| e.to_string())?;
    }
    prctl(libc::PR_SET_DUMPABLE, 0)?;
    prctl(libc::PR_SET_PDEATHSIG, pdeathsig)
}

/// The container's terminal (our pty slave, as stdio) belongs to the process's user,
/// group unchanged, as runc leaves it: `podman run -it --user 1000` needs it writable.
fn give_terminal_to(uid: u32) -> Result<(), String> {
    for fd in 0..3 {
        // SAFETY: isatty and fchown on the stdio fds, which are ours.
        if unsafe { libc::isatty(fd) } != 1 {
            continue;
        }
        if unsafe { libc::fchown(fd, uid, u32::MAX) } != 0 {
            let e = std::io::Error::last_os_error();
            // The owner or the uid is not mapped in our user namespace: as runc, leave it.
            if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::EPERM)) {
                return Err(format!("chown the terminal to {uid}: {e}"));
            }
        }
    }
    Ok(())
}

/// The current parent-death signal (0 for none).
fn parent_death_signal() -> Result<u64, String> {
    let mut sig: libc::c_int = 0;
    // SAFETY: PR_GET_PDEATHSIG writes one int through the valid pointer.
    if unsafe {
        libc::prctl(
            libc::PR_GET_PDEATHSIG,
            &mut sig as *mut libc::c_int,
            0,
            0,
            0,
        )
    } != 0
    {
        return Err(format!(
            "prctl(PR_GET_PDEATHSIG): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(sig as u64)
}

fn prctl(op: i32, arg: u64) -> Result<(), String> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(op, arg, 0, 0, 0) } != 0 {
        return Err(format!("prctl({op}): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::in_child;
    use oci_spec::runtime::{ProcessBuilder, UserBuilder};

    fn get(op: i32) -> Result<i32, String> {
        let mut v: libc::c_int = -1;
        // SAFETY: PR_GET_PDEATHSIG writes one int through the valid pointer; the other
        // PR_GET_* calls used here take no argument and return the value.
        let r = unsafe {
            if op == libc::PR_GET_PDEATHSIG {
                libc::prctl(op, &mut v as *mut libc::c_int, 0, 0, 0)
            } else {
                libc::prctl(op, 0, 0, 0, 0)
            }
        };
        match r {
            r if r < 0 => Err(format!("prctl({op}): {}", std::io::Error::last_os_error())),
            _ if op == libc::PR_GET_PDEATHSIG => Ok(v),
            r => Ok(r),
        }
    }

    #[test]
    fn switching_user_keeps_the_init_closed_and_tied_to_its_parent() {
        in_child(|| {
            prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64)?;
            prctl(libc::PR_SET_DUMPABLE, 0)?;
            let user = UserBuilder::default()
                .uid(1000u32)
                .gid(1000u32)
                .build()
                .map_err(|e| e.to_string())?;
            let process = ProcessBuilder::default()
                .user(user)
                .no_new_privileges(true)
                .build()
                .map_err(|e| e.to_string())?;
            let proc = ProcHandle::open().map_err(|e| e.to_string())?;
            let facts = KernelFacts::read(&proc).map_err(|e| e.to_string())?;
            finalize(&process, &proc, &facts)?;
            let now = (
                nix::unistd::getuid().as_raw(),
                get(libc::PR_GET_PDEATHSIG)?,
                get(libc::PR_GET_DUMPABLE)?,
                get(libc::PR_GET_NO_NEW_PRIVS)?,
            );
            if now != (1000, libc::SIGKILL, 0, 1) {
                return Err(format!("(uid, pdeathsig, dumpable, nnp) = {now:?}"));
            }
            Ok(())
        });
    }
}
