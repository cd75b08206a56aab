//! The process fields of runtime-spec 1.3 that the process applies to itself: CPU
//! affinity (`process.execCPUAffinity`), `process.scheduler`, `process.ioPriority`,
//! `linux.personality` and `linux.memoryPolicy`. All are kept by the kernel across
//! `execve`, so they are applied before `Ready` and a refusal fails `create`.
//!
//! The order, for the init and for an exec'd process alike (each takes the process
//! spec, so exec passes its own `process.json`, and the container's `linux` section):
//! 1. [`apply_initial`] by the runtime on the new process's pid, right after the clone,
//!    before the process joins the container's cgroup (its error comes straight from
//!    the runtime);
//! 2. [`apply_privileged`] while the process still has its capabilities (a real-time
//!    policy needs CAP_SYS_NICE, the real-time I/O class CAP_SYS_ADMIN), before the
//!    user and capabilities are switched;
//! 3. [`apply_final`] last, after the cgroup is joined (a v1 cpuset resets the
//!    affinity on attach) and just before the process reports ready.

use oci_spec::runtime::Linux;

use crate::spec::Process;
use crate::{mempolicy, personality, sched};

/// `execCPUAffinity.initial`, for process `pid`.
pub(crate) fn apply_initial(pid: libc::pid_t, process: Option<&Process>) -> Result<(), String> {
    match process.and_then(|p| p.exec_cpu_affinity().as_ref()) {
        Some(a) => sched::set_initial_affinity(pid, a).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

/// Scheduler, I/O priority, personality and memory policy, in that order.
pub(crate) fn apply_privileged(
    process: Option<&Process>,
    linux: Option<&Linux>,
) -> Result<(), String> {
    if let Some(p) = process {
        if let Some(s) = p.scheduler() {
            sched::set_scheduler(s).map_err(|e| e.to_string())?;
        }
        if let Some(io) = p.io_priority() {
            sched::set_io_priority(io).map_err(|e| e.to_string())?;
        }
    }
    if let Some(l) = linux {
        if let Some(p) = l.personality() {
            personality::set_personality(p).map_err(|e| e.to_string())?;
        }
        if let Some(m) = l.memory_policy() {
            mempolicy::set_memory_policy(m).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// `execCPUAffinity.final`.
pub(crate) fn apply_final(process: Option<&Process>) -> Result<(), String> {
    match process.and_then(|p| p.exec_cpu_affinity().as_ref()) {
        Some(a) => sched::set_final_affinity(a).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}
