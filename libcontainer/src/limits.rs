//! Per-process limits: rlimits, oom_score_adj, no_new_privs.

use std::io;

use crate::procfs::ProcHandle;
use crate::spec::{PosixRlimit, PosixRlimitType};

/// Why a limit could not be set.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
    /// Raising a hard limit above the current one needs CAP_SYS_RESOURCE.
    #[error(
        "cannot set {name} to soft {soft}, hard {hard}: raising the hard limit above the current \
         {current_hard} needs CAP_SYS_RESOURCE: {source}"
    )]
    HardLimit {
        /// The limit, e.g. `RLIMIT_NOFILE`.
        name: &'static str,
        /// The soft value asked for.
        soft: String,
        /// The hard value asked for.
        hard: String,
        /// The hard limit in force.
        current_hard: String,
        /// The cause (EPERM).
        source: io::Error,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// The step that failed, with its values.
        what: String,
        /// The cause.
        source: io::Error,
    },
}

/// The kernel resource number and name of an rlimit type.
fn resource(typ: PosixRlimitType) -> (libc::__rlimit_resource_t, &'static str) {
    use PosixRlimitType::*;
    match typ {
        RlimitCpu => (libc::RLIMIT_CPU, "RLIMIT_CPU"),
        RlimitFsize => (libc::RLIMIT_FSIZE, "RLIMIT_FSIZE"),
        RlimitData => (libc::RLIMIT_DATA, "RLIMIT_DATA"),
        RlimitStack => (libc::RLIMIT_STACK, "RLIMIT_STACK"),
        RlimitCore => (libc::RLIMIT_CORE, "RLIMIT_CORE"),
        RlimitRss => (libc::RLIMIT_RSS, "RLIMIT_RSS"),
        RlimitNproc => (libc::RLIMIT_NPROC, "RLIMIT_NPROC"),
        RlimitNofile => (libc::RLIMIT_NOFILE, "RLIMIT_NOFILE"),
        RlimitMemlock => (libc::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
        RlimitAs => (libc::RLIMIT_AS, "RLIMIT_AS"),
        RlimitLocks => (libc::RLIMIT_LOCKS, "RLIMIT_LOCKS"),
        RlimitSigpending => (libc::RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
        RlimitMsgqueue => (libc::RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
        RlimitNice => (libc::RLIMIT_NICE, "RLIMIT_NICE"),
        RlimitRtprio => (libc::RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
        RlimitRttime => (libc::RLIMIT_RTTIME, "RLIMIT_RTTIME"),
    }
}

/// An rlimit value for messages: `unlimited` rather than 18446744073709551615.
fn show(v: u64) -> String {
    if v == libc::RLIM_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Sets each rlimit; raising a hard limit above the current one without
/// CAP_SYS_RESOURCE is a clear error naming the limit and both values.
pub fn set_rlimits(rlimits: &[PosixRlimit]) -> Result<(), LimitsError> {
    rlimits.iter().try_for_each(set_rlimit)
}

fn set_rlimit(rl: &PosixRlimit) -> Result<(), LimitsError> {
    let (res, name) = resource(rl.typ());
    let (soft, hard) = (rl.soft(), rl.hard());
    if soft > hard {
        return Err(LimitsError::Failed(format!(
            "invalid {name}: soft limit {} is above hard limit {}",
            show(soft),
            show(hard)
        )));
    }
    let new = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `new` is a valid rlimit; no old value is asked for.
    if unsafe { libc::prlimit(0, res, &new, std::ptr::null_mut()) } == 0 {
        return Ok(());
    }
    let source = io::Error::last_os_error();
    let current = get_rlimit(res);
    if source.raw_os_error() == Some(libc::EPERM) {
        if let Some(cur) = current.filter(|c| hard > c.rlim_max) {
            return Err(LimitsError::HardLimit {
                name,
                soft: show(soft),
                hard: show(hard),
                current_hard: show(cur.rlim_max),
                source,
            });
        }
    }
    Err(LimitsError::Sys {
        what: format!("setting {name} to soft {}, hard {}", show(soft), show(hard)),
        source,
    })
}

fn get_rlimit(res: libc::__rlimit_resource_t) -> Option<libc::rlimit> {
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `cur` is a valid out-pointer.
    (unsafe { libc::prlimit(0, res, std::ptr::null(), &mut cur) } == 0).then_some(cur)
}

/// Writes `self/oom_score_adj` through the verified procfs handle.
pub fn set_oom_score_adj(proc: &ProcHandle, score: i32) -> Result<(), LimitsError> {
    if !(-1000..=1000).contains(&score) {
        return Err(LimitsError::Failed(format!(
            "invalid oomScoreAdj {score}: it must be between -1000 and 1000"
        )));
    }
    proc.write("self/oom_score_adj", &score.to_string())
        .map_err(|source| {
            // Lowering the score below what was set before needs CAP_SYS_RESOURCE.
            let hint = if source.raw_os_error() == Some(libc::EACCES) {
                " (lowering it needs CAP_SYS_RESOURCE)"
            } else {
                ""
            };
            LimitsError::Sys {
                what: format!("writing {score} to /proc/self/oom_score_adj{hint}"),
                source,
            }
        })
}

/// Sets `PR_SET_NO_NEW_PRIVS`.
pub fn set_no_new_privs() -> Result<(), LimitsError> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(LimitsError::Sys {
            what: "prctl(PR_SET_NO_NEW_PRIVS)".into(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
