//! Kernel facts the init relies on, read by the runtime from the host's verified procfs
//! before the clone, so before the container's rootfs exists. The init only uses these
//! copies: after its mounts, a path like `/proc/sys/kernel/cap_last_cap` is whatever the
//! image or a hook put there.

use super::ProcessError;
use crate::procfs::ProcHandle;
use crate::{capabilities, identity};

/// What the init needs to know about the host's kernel.
#[derive(Debug, Clone, Copy)]
pub(super) struct KernelFacts {
    /// The highest capability number (`/proc/sys/kernel/cap_last_cap`).
    pub cap_last_cap: u32,
    /// The most supplementary groups a process may have (`/proc/sys/kernel/ngroups_max`).
    pub ngroups_max: usize,
}

impl KernelFacts {
    /// Reads every fact through `proc`, the runtime's verified handle on the host's /proc.
    pub fn read(proc: &ProcHandle) -> Result<Self, ProcessError> {
        let runtime = |e: &dyn std::fmt::Display| ProcessError::Runtime(e.to_string());
        Ok(Self {
            cap_last_cap: capabilities::last_cap(proc).map_err(|e| runtime(&e))?,
            ngroups_max: identity::ngroups_max(proc).map_err(|e| runtime(&e))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hosts_values() {
        let f = KernelFacts::read(&ProcHandle::open().unwrap()).unwrap();
        let host = |p: &str| std::fs::read_to_string(p).unwrap().trim().to_string();
        assert_eq!(
            f.cap_last_cap.to_string(),
            host("/proc/sys/kernel/cap_last_cap")
        );
        assert_eq!(
            f.ngroups_max.to_string(),
            host("/proc/sys/kernel/ngroups_max")
        );
    }
}
