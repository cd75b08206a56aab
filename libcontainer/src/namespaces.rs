//! Namespaces. PLACEHOLDER.
/// Namespace errors.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
}
