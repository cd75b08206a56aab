//! The crate's top-level error: one variant per module, wrapped with `#[from]`. Lower
//! modules never import this type; only `container` (layer 4) returns it.

use crate::{
    capabilities::CapsError, cgroups::CgroupError, container::ContainerError, hooks::HookError,
    identity::IdentityError, limits::LimitsError, mempolicy::MemPolicyError,
    namespaces::NamespaceError, netdev::NetDevError, personality::PersonalityError,
    process::ProcessError, rdt::RdtError, rootfs::RootfsError, sched::SchedError,
    seccomp::SeccompError, spec::SpecError, tty::TtyError,
};

/// Everything the public API can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle's config.json was refused.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A lifecycle rule was broken (unknown id, wrong state, ...).
    #[error(transparent)]
    Container(#[from] ContainerError),
    /// Starting or talking to the container's init failed.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A namespace could not be made or joined.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// Setting up the root filesystem failed.
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    /// A cgroup operation failed.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// Capabilities could not be applied.
    #[error(transparent)]
    Caps(#[from] CapsError),
    /// The user or groups could not be set.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// rlimits, oom_score_adj or no_new_privs could not be set.
    #[error(transparent)]
    Limits(#[from] LimitsError),
    /// The scheduler, I/O priority or CPU affinity could not be set.
    #[error(transparent)]
    Sched(#[from] SchedError),
    /// The personality could not be set.
    #[error(transparent)]
    Personality(#[from] PersonalityError),
    /// The memory policy could not be set.
    #[error(transparent)]
    MemPolicy(#[from] MemPolicyError),
    /// A network interface could not be moved.
    #[error(transparent)]
    NetDev(#[from] NetDevError),
    /// The Intel RDT group could not be set up.
    #[error(transparent)]
    Rdt(#[from] RdtError),
    /// The seccomp profile was refused or could not be loaded.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// The terminal could not be set up.
    #[error(transparent)]
    Tty(#[from] TtyError),
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
