//! `libcontainer`: the kernel work of an OCI container runtime.
//!
//! The modules are layered and import only downwards (see `DESIGN.md`):
//!
//! 1. [`spec`] (config.json loaded and validated) and the small shared wrappers:
//!    [`rootdir`] (fd-based path resolution inside a rootfs), [`mountinfo`], [`procfs`] (a verified
//!    handle on `/proc`), [`pidfd`] (signals and waits that cannot hit a recycled PID),
//!    [`channel`] (typed parent/init messages).
//! 2. The mechanisms, each knowing only layer 1: [`namespaces`], [`rootfs`], [`cgroups`],
//!    [`capabilities`], [`identity`], [`limits`], [`hooks`], [`tty`], and the process
//!    fields [`sched`] (scheduler, I/O priority, CPU affinity), [`personality`],
//!    [`mempolicy`], and [`netdev`] (host interfaces moved into the container).
//! 3. [`process`]: the parent/init protocol that composes the mechanisms.
//! 4. [`container`]: the lifecycle, the state on disk and the public API; [`features`]: the
//!    runtime-spec features document, read from the tables of the layers below.
//!
//! Embedders start with [`container::ContainerBuilder`].

pub mod caller;
pub mod channel;
pub mod mountinfo;
pub mod pidfd;
pub mod procfs;
pub mod rootdir;
pub mod selfexe;
pub mod spec;

pub mod apparmor;
pub mod capabilities;
pub mod cgroups;
pub mod hooks;
pub mod identity;
pub mod limits;
pub mod mempolicy;
pub mod namespaces;
pub mod netdev;
pub mod personality;
pub mod rdt;
pub mod rootfs;
pub mod sched;
pub mod seccomp;
pub mod sysctl;
pub mod tty;

pub mod process;

pub mod container;
pub mod features;

mod error;
#[cfg(test)]
mod test_support;
pub use error::{Error, Result};
pub use features::features;
