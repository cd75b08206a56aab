//! Per-process limits: rlimits, oom_score_adj, no_new_privs. PLACEHOLDER interface.

use crate::procfs::ProcHandle;
use crate::spec::PosixRlimit;

/// Why a limit could not be set.
#[derive(Debug, thiserror::Error)]
pub enum LimitsError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
}

/// Sets each rlimit; raising a hard limit above the current one without
/// CAP_SYS_RESOURCE is a clear error.
pub fn set_rlimits(rlimits: &[PosixRlimit]) -> Result<(), LimitsError> {
    let _ = rlimits;
    Err(LimitsError::Failed("placeholder".into()))
}

/// Writes `/proc/self/oom_score_adj`.
pub fn set_oom_score_adj(proc: &ProcHandle, score: i32) -> Result<(), LimitsError> {
    let _ = (proc, score);
    Err(LimitsError::Failed("placeholder".into()))
}

/// Sets `PR_SET_NO_NEW_PRIVS`.
pub fn set_no_new_privs() -> Result<(), LimitsError> {
    Err(LimitsError::Failed("placeholder".into()))
}
