//! CPU scheduling of the container's process: `process.scheduler` (sched_setattr),
//! `process.ioPriority` (ioprio_set) and `process.execCPUAffinity` (sched_setaffinity).
//! Each function acts on the calling thread, so the init (and an exec'd process) calls
//! it on itself before it reports ready; the kernel keeps all three across `execve`.

use std::io;

use crate::spec::ranges::{self, RangeError};
use crate::spec::{ExecCPUAffinity, Scheduler};
use crate::spec::{IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag, LinuxSchedulerPolicy};

/// The largest CPU number a list may name (the kernel's largest `NR_CPUS`).
const MAX_CPU: usize = 8191;

/// Why a scheduling field could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    /// The field asks for a combination the runtime-spec rules out.
    #[error("{field}: {msg}")]
    Invalid {
        /// The field, e.g. `process.scheduler`.
        field: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A CPU list is malformed.
    #[error("process.execCPUAffinity: {0}")]
    List(#[from] RangeError),
    /// The kernel refused the call.
    #[error("{what}: {source}")]
    Sys {
        /// The call with its values.
        what: String,
        /// The cause.
        source: io::Error,
    },
}

fn invalid(field: &'static str, msg: impl Into<String>) -> SchedError {
    SchedError::Invalid {
        field,
        msg: msg.into(),
    }
}

/// The kernel's `struct sched_attr` (SCHED_ATTR_SIZE_VER1).
#[repr(C)]
#[derive(Debug, Default, PartialEq, Eq)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

fn policy_number(p: LinuxSchedulerPolicy) -> Result<u32, SchedError> {
    use LinuxSchedulerPolicy::*;
    Ok(match p {
        SchedOther => 0,
        SchedFifo => 1,
        SchedRr => 2,
        SchedBatch => 3,
        SchedIso => {
            return Err(invalid(
                "process.scheduler",
                "policy SCHED_ISO is not implemented by Linux",
            ))
        }
        SchedIdle => 5,
        SchedDeadline => 6,
    })
}

fn flag_bit(f: LinuxSchedulerFlag) -> u64 {
    use LinuxSchedulerFlag::*;
    match f {
        SchedResetOnFork => 0x01,
        SchedFlagReclaim => 0x02,
        SchedFlagDLOverrun => 0x04,
        SchedFlagKeepPolicy => 0x08,
        SchedFlagKeepParams => 0x10,
        SchedFlagUtilClampMin => 0x20,
        SchedFlagUtilClampMax => 0x40,
    }
}

/// `s` as the kernel's attributes, with runc's checks: nice in -20..=19, a priority
/// only for SCHED_FIFO and SCHED_RR, runtime/deadline/period only for SCHED_DEADLINE.
fn sched_attr(s: &Scheduler) -> Result<SchedAttr, SchedError> {
    use LinuxSchedulerPolicy::*;
    let policy = *s.policy();
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(invalid(
            "process.scheduler",
            format!("nice {nice} is not in -20..19"),
        ));
    }
    let priority = s.priority().unwrap_or(0);
    if priority != 0 && !matches!(policy, SchedFifo | SchedRr) {
        return Err(invalid(
            "process.scheduler",
            "priority can only be specified for SCHED_FIFO or SCHED_RR",
        ));
    }
    let priority = u32::try_from(priority).map_err(|_| {
        invalid(
            "process.scheduler",
            format!("priority {priority} is negative"),
        )
    })?;
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if policy != SchedDeadline && (runtime, deadline, period) != (0, 0, 0) {
        return Err(invalid(
            "process.scheduler",
            "runtime, deadline and period can only be specified for SCHED_DEADLINE",
        ));
    }
    let flags = s
        .flags()
        .iter()
        .flatten()
        .fold(0, |all, f| all | flag_bit(*f));
    Ok(SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: policy_number(policy)?,
        flags,
        nice,
        priority,
        runtime,
        deadline,
        period,
        ..Default::default()
    })
}

/// Sets the calling thread's scheduling policy and attributes (sched_setattr(2)).
pub fn set_scheduler(s: &Scheduler) -> Result<(), SchedError> {
    let attr = sched_attr(s)?;
    // SAFETY: attr is a valid sched_attr of the size it declares; pid 0 is this thread.
    let r = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if r != 0 {
        return Err(SchedError::Sys {
            what: format!(
                "process.scheduler: sched_setattr({} nice {} priority {} flags {:#x} \
                 runtime {} deadline {} period {})",
                s.policy(),
                attr.nice,
                attr.priority,
                attr.flags,
                attr.runtime,
                attr.deadline,
                attr.period
            ),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// The kernel's ioprio value for `p`: class in the top bits, level 0..=7 below.
fn ioprio_value(p: &LinuxIOPriority) -> Result<i32, SchedError> {
    let level = p.priority();
    if !(0..=7).contains(&level) {
        return Err(invalid(
            "process.ioPriority",
            format!("priority {level} is not in 0..7"),
        ));
    }
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    Ok((class << 13) | level as i32)
}

/// Sets the calling process's I/O scheduling class and level (ioprio_set(2)).
pub fn set_io_priority(p: &LinuxIOPriority) -> Result<(), SchedError> {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    let value = ioprio_value(p)?;
    // SAFETY: ioprio_set takes integers only; who 0 is this process.
    let r = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    if r != 0 {
        return Err(SchedError::Sys {
            what: format!(
                "process.ioPriority: ioprio_set({} priority {})",
                p.class(),
                p.priority()
            ),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Pins the calling thread to the CPUs of `list` (`0-3,7`); an empty list changes
/// nothing, as the runtime-spec asks.
pub fn set_cpu_affinity(list: &str) -> Result<(), SchedError> {
    set_cpu_affinity_of(0, list)
}

/// Pins process `pid` (0: the calling thread) to the CPUs of `list`.
pub fn set_cpu_affinity_of(pid: libc::pid_t, list: &str) -> Result<(), SchedError> {
    let mask = ranges::parse_mask(list, MAX_CPU)?;
    if mask.is_empty() {
        return Ok(());
    }
    // SAFETY: mask holds mask.len() * 8 bytes, as we tell the kernel.
    let r = unsafe {
        libc::syscall(
            libc::SYS_sched_setaffinity,
            pid,
            mask.len() * 8,
            mask.as_ptr(),
        )
    };
    if r != 0 {
        let source = io::Error::last_os_error();
        let hint = if source.raw_os_error() == Some(libc::EINVAL) {
            " (no CPU of the list is online and allowed here)"
        } else {
            ""
        };
        return Err(SchedError::Sys {
            what: format!("process.execCPUAffinity: sched_setaffinity to CPUs {list:?}{hint}"),
            source,
        });
    }
    Ok(())
}

/// `initial`, set by the runtime on the new process `pid` right after it is cloned,
/// before it joins the container's cgroup (runc sets it on its `runc init` the same way).
pub fn set_initial_affinity(pid: libc::pid_t, a: &ExecCPUAffinity) -> Result<(), SchedError> {
    a.initial()
        .as_deref()
        .map_or(Ok(()), |l| set_cpu_affinity_of(pid, l))
}

/// `final`: for the process itself, after it joined the cgroup, before `execve`.
pub fn set_final_affinity(a: &ExecCPUAffinity) -> Result<(), SchedError> {
    a.cpu_affinity_final()
        .as_deref()
        .map_or(Ok(()), set_cpu_affinity)
}

#[cfg(test)]
mod tests;
