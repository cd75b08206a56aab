//! AppArmor: confining the container's process by the profile its spec names, from its
//! `execve` on (runc's `changeOnExec`). Where the host has no AppArmor a profile is
//! refused by the validator, as runc refuses it.

use std::path::Path;

use crate::procfs::ProcHandle;

/// Why the profile could not be applied.
#[derive(Debug, thiserror::Error)]
#[error("apply apparmor profile {profile:?}: {source}")]
pub struct AppArmorError {
    /// The profile.
    pub profile: String,
    /// The cause (a profile that is not loaded, for one).
    pub source: std::io::Error,
}

/// True when the host's kernel has AppArmor enabled.
pub fn enabled() -> bool {
    Path::new("/sys/kernel/security/apparmor").exists()
}

/// Asks AppArmor to confine this process by `profile` from its next `execve`, through
/// the trusted procfs (never the container's).
pub fn change_on_exec(proc: &ProcHandle, profile: &str) -> Result<(), AppArmorError> {
    let cmd = format!("exec {profile}");
    proc.write("thread-self/attr/apparmor/exec", &cmd)
        .or_else(|_| proc.write("thread-self/attr/exec", &cmd))
        .map_err(|source| AppArmorError {
            profile: profile.to_string(),
            source,
        })
}
