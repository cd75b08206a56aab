//! Loading a filter with seccomp(2), and asking the kernel beforehand whether it would
//! take the filter's flags and actions, so a refusal fails `create`, not the `execve`.

use super::bpf::Insn;
use super::SeccompError;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
const SECCOMP_GET_ACTION_AVAIL: libc::c_ulong = 2;

fn seccomp(op: libc::c_ulong, flags: u32, arg: *const libc::c_void) -> io::Result<i64> {
    // SAFETY: seccomp(2) reads `arg` as the structure `op` names; callers pass one (or
    // NULL for the flag probe, which the kernel rejects before reading).
    let r = unsafe { libc::syscall(libc::SYS_seccomp, op, libc::c_ulong::from(flags), arg) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// Loads `insns` on the calling thread; the listener fd when `flags` asks for one.
pub fn load(insns: &[Insn], flags: u32, listener: bool) -> Result<Option<OwnedFd>, SeccompError> {
    let prog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_ptr() as *mut Insn,
    };
    let r = seccomp(
        SECCOMP_SET_MODE_FILTER,
        flags,
        &prog as *const _ as *const libc::c_void,
    )
    .map_err(|e| SeccompError::Kernel("error loading seccomp filter into kernel", e))?;
    // SAFETY: with NEW_LISTENER the kernel returned a new fd that nothing else owns.
    Ok(listener.then(|| unsafe { OwnedFd::from_raw_fd(r as i32) }))
}

/// Whether this kernel takes `flags` and every action in `rets` (the kernel's own
/// probes: a filter pointer of NULL fails with EFAULT once the flags passed, and
/// SECCOMP_GET_ACTION_AVAIL).
pub fn check(flags: u32, rets: &[u32]) -> Result<(), SeccompError> {
    match seccomp(SECCOMP_SET_MODE_FILTER, flags, std::ptr::null()) {
        Err(e) if e.raw_os_error() == Some(libc::EFAULT) => {}
        Err(e) => {
            return Err(SeccompError::Kernel(
                "seccomp filter flags not supported",
                e,
            ))
        }
        Ok(_) => {
            return Err(SeccompError::Kernel(
                "seccomp flag probe",
                io::Error::other("a NULL filter was accepted"),
            ))
        }
    }
    for r in rets {
        let action: u32 = r & 0xffff_0000;
        seccomp(
            SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32 as *const libc::c_void,
        )
        .map_err(|e| SeccompError::Kernel("seccomp action not supported by this kernel", e))?;
    }
    Ok(())
}
