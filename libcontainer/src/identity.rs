//! The container process's user and groups. PLACEHOLDER interface.

use crate::spec::User;

/// Why the user or groups could not be set.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
}

/// Sets supplementary groups, gid and uid (keeping permitted capabilities across the
/// uid change so they can be applied afterwards), and the umask when given.
pub fn switch_user(user: &User) -> Result<(), IdentityError> {
    let _ = user;
    Err(IdentityError::Failed("placeholder".into()))
}
