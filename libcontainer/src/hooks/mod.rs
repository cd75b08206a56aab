//! OCI hooks: programs the runtime runs at points of a container's life, each with the
//! container's state JSON on its stdin.
//!
//! A failing `prestart`/`createRuntime`/`createContainer`/`startContainer` hook fails the
//! operation ([`run_all`]); `poststart` and `poststop` failures only warn
//! ([`run_all_warn`]), as the runtime spec says.

mod run;

use crate::spec::Hook;

pub use run::{run_one, HookFailure};

/// The hook lists this runtime runs, in the order of a container's life (for `features`).
pub const KNOWN: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Why a hook failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The hook failed.
    #[error("{0}")]
    Failed(String),
    /// Hook number `index` of the `phase` list failed; the text follows runc's wording
    /// ("error running hook #N: ..."), with the list and program added.
    #[error("error running hook #{index} ({phase} hook {path}): {failure}")]
    Hook {
        /// The hook list, e.g. `prestart`.
        phase: String,
        /// The hook's position in its list, from 0.
        index: usize,
        /// The hook's program.
        path: String,
        /// What went wrong.
        failure: HookFailure,
    },
}

/// Runs `hooks` in order, each with `state_json` on stdin; stops at the first failure.
/// `phase` names the hook list in messages (e.g. "prestart").
pub fn run_all(phase: &str, hooks: &[Hook], state_json: &str) -> Result<(), HookError> {
    for (index, hook) in hooks.iter().enumerate() {
        run_indexed(phase, index, hook, state_json)?;
    }
    Ok(())
}

/// Runs every hook in order (for `poststart` and `poststop`, whose failures only warn)
/// and returns one message per failed hook.
pub fn run_all_warn(phase: &str, hooks: &[Hook], state_json: &str) -> Vec<String> {
    hooks
        .iter()
        .enumerate()
        .filter_map(|(index, hook)| run_indexed(phase, index, hook, state_json).err())
        .map(|e| e.to_string())
        .collect()
}

/// The hooks with `env` filled in where they name none: `startContainer` hooks run in
/// the container with the process's environment then, as runc runs them.
pub fn with_default_env(hooks: &[Hook], env: &[String]) -> Vec<Hook> {
    hooks
        .iter()
        .map(|h| {
            let mut h = h.clone();
            if h.env().is_none() {
                h.set_env(Some(env.to_vec()));
            }
            h
        })
        .collect()
}

fn run_indexed(phase: &str, index: usize, hook: &Hook, state_json: &str) -> Result<(), HookError> {
    run_one(hook, state_json).map_err(|failure| HookError::Hook {
        phase: phase.to_string(),
        index,
        path: hook.path().display().to_string(),
        failure,
    })
}

#[cfg(test)]
mod tests;
