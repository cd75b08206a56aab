//! The one interface every cgroup driver (v1, v2, hybrid; systemd later) implements.
//! Placement and removal are the same on every driver (`cgroup.procs` in each
//! directory) and live on [`super::Cgroup`]; the driver does what differs.

use super::layout::Mode;
use super::oom::OomWatch;
use super::stats::Stats;
use super::CgroupError;
use crate::spec::{LinuxDevice, LinuxResources};

/// What a cgroup driver does to a container's cgroup once it exists.
pub trait Driver {
    /// Which layout this driver serves.
    fn mode(&self) -> Mode;

    /// Writes every field of `res` (and the device rules, allowing `spec_devices`, the
    /// nodes of `linux.devices`). A field the host cannot apply is an error.
    fn apply(&self, res: &LinuxResources, spec_devices: &[LinuxDevice]) -> Result<(), CgroupError>;

    /// Changes the resources of a running container: the same writes as `apply`,
    /// except the device rules, which `update` leaves as they are (as runc does).
    fn update(&self, res: &LinuxResources) -> Result<(), CgroupError>;

    /// Freezes every process and returns once the kernel reports them frozen.
    fn freeze(&self) -> Result<(), CgroupError>;

    /// Thaws the cgroup.
    fn thaw(&self) -> Result<(), CgroupError>;

    /// True when the cgroup is frozen (or being frozen).
    fn is_frozen(&self) -> Result<bool, CgroupError>;

    /// The statistics of every controller the cgroup has.
    fn stats(&self) -> Result<Stats, CgroupError>;

    /// How many processes the OOM killer killed in the cgroup so far.
    fn oom_kill_count(&self) -> Result<u64, CgroupError>;

    /// A file descriptor that becomes readable on memory pressure events (OOM).
    fn oom_watch(&self) -> Result<OomWatch, CgroupError>;
}
