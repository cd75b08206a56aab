//! process. PLACEHOLDER.
/// process errors.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
}
