//! cgroups. PLACEHOLDER.
/// cgroup errors.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A call failed.
    #[error("{0}")]
    Failed(String),
}
