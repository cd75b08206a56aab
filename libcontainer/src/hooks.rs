//! OCI hooks. PLACEHOLDER interface; the real module replaces this file.

use crate::spec::Hook;

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook failed.
    #[error("{0}")]
    Failed(String),
}

/// Runs `hooks` in order, each with `state_json` on stdin; stops at the first failure.
/// `phase` names the hook list in messages (e.g. "prestart").
pub fn run_all(phase: &str, hooks: &[Hook], state_json: &str) -> Result<(), HookError> {
    let _ = (phase, hooks, state_json);
    Err(HookError::Failed("placeholder".into()))
}

/// Runs every hook, returning the failures as warnings (poststart, poststop).
pub fn run_all_warn(phase: &str, hooks: &[Hook], state_json: &str) -> Vec<String> {
    let _ = (phase, hooks, state_json);
    Vec::new()
}
