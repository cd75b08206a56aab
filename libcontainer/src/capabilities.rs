//! Capabilities. PLACEHOLDER interface; the real module replaces this file.

use crate::spec::LinuxCapabilities;

/// Why capabilities could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    /// A capability call failed.
    #[error("{0}")]
    Failed(String),
}

/// Applies the five sets: bounding drop first, then effective/permitted/inheritable,
/// then ambient. Absent sets are empty.
pub fn apply(caps: &LinuxCapabilities) -> Result<(), CapsError> {
    let _ = caps;
    Err(CapsError::Failed("placeholder".into()))
}
