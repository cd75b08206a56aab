//! The container's root filesystem: mounts, /dev, pivot_root, masked and read-only paths.
//! PLACEHOLDER interface; the real module replaces this file.

use std::path::PathBuf;

use crate::spec::Bundle;

/// Why setting up the root filesystem failed.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// A mount step failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The step.
        what: &'static str,
        /// The path inside or outside the container.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What the rootfs steps need to know beyond the spec.
#[derive(Debug)]
pub struct RootfsOptions<'a> {
    /// The validated bundle.
    pub bundle: &'a Bundle,
    /// `--no-pivot`: MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// The container has a cgroup namespace of its own.
    pub cgroup_ns: bool,
}

/// In the new mount namespace, before hooks: propagation, rootfs bind, spec mounts, /dev.
pub fn prepare(opts: &RootfsOptions) -> Result<(), RootfsError> {
    let _ = opts;
    Err(RootfsError::Io {
        what: "prepare",
        path: PathBuf::new(),
        source: std::io::Error::other("placeholder"),
    })
}

/// pivot_root (or MS_MOVE + chroot) into the rootfs; cwd becomes `/`.
pub fn pivot(opts: &RootfsOptions) -> Result<(), RootfsError> {
    let _ = opts;
    Err(RootfsError::Io {
        what: "pivot",
        path: PathBuf::new(),
        source: std::io::Error::other("placeholder"),
    })
}

/// After pivot: masked paths, read-only paths, read-only root, rootfsPropagation.
pub fn finalize(opts: &RootfsOptions) -> Result<(), RootfsError> {
    let _ = opts;
    Err(RootfsError::Io {
        what: "finalize",
        path: PathBuf::new(),
        source: std::io::Error::other("placeholder"),
    })
}
