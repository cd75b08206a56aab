//! Bind sources the runtime opens for the init, which cannot: the init runs in the
//! container's user namespace from its first instruction, where a source under a
//! directory only the host's root may enter (a private 0700 bundle) cannot be opened,
//! and where only the host's root may id-map a host mount. The runtime clones each such
//! source into a detached mount (`open_tree`), id-mapped where the mount asks for it,
//! and sends the fds; the init attaches them with `move_mount` (runc 1.1 sends fds of
//! the sources too; runc 1.2 clones them like this).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::idmap::{map_tree, unsupported, userns_with_maps};
use super::{io_err, options, sys, Result, RootfsError};
use crate::rootdir::openat2;
use crate::spec::Bundle;

/// Detached, already id-mapped mounts for the spec's `idmap`/`ridmap` mounts, keyed by
/// the mount's index in `mounts`.
#[derive(Debug, Default)]
pub struct PreparedSources {
    mounts: Vec<(usize, OwnedFd)>,
}

impl PreparedSources {
    /// No prepared mounts (a spec without `idmap`).
    pub fn none() -> Self {
        Self::default()
    }

    /// Splits into mount indices and fds, for sending to the init (`SCM_RIGHTS`).
    pub fn into_parts(self) -> (Vec<usize>, Vec<OwnedFd>) {
        self.mounts.into_iter().unzip()
    }

    /// Rebuilds from what [`into_parts`](Self::into_parts) gave, on the init's side.
    pub fn from_parts(indices: Vec<usize>, fds: Vec<OwnedFd>) -> Self {
        Self {
            mounts: indices.into_iter().zip(fds).collect(),
        }
    }

    /// The prepared mount for the spec mount at `index`.
    pub(super) fn get(&self, index: usize) -> Option<&OwnedFd> {
        self.mounts
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, fd)| fd)
    }

    /// True when nothing was prepared.
    pub fn is_empty(&self) -> bool {
        self.mounts.is_empty()
    }
}

/// True when the container's bind mounts need sources the runtime prepares: it has
/// `idmap` mounts, or bind mounts and `clone_binds` (a user namespace, whose root may
/// not reach what the runtime can).
pub fn needs_prepared_sources(bundle: &Bundle, clone_binds: bool) -> bool {
    bundle.spec.mounts().iter().flatten().any(|m| {
        let opts = options::of_mount(m);
        opts.idmap.is_some() || (clone_binds && is_bind(m, &opts))
    })
}

fn is_bind(m: &crate::spec::Mount, opts: &options::MountOptions) -> bool {
    opts.is_bind() || m.typ().as_deref() == Some("bind")
}

/// In the parent (host root), before the init mounts: clones the source of each bind
/// mount when `clone_binds`, and each `idmap`/`ridmap` one (or bind with mappings),
/// id-mapped with the mount's own `uidMappings`/`gidMappings` when it has them, else
/// with `container_userns` (an fd of the container's `/proc/<pid>/ns/user`).
pub fn open_prepared_sources(
    bundle: &Bundle,
    container_userns: Option<BorrowedFd<'_>>,
    clone_binds: bool,
) -> Result<PreparedSources> {
    let mut out = PreparedSources::default();
    for (i, m) in bundle
        .spec
        .mounts()
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let opts = options::of_mount(m);
        let dest = m.destination();
        let Some(map_recursive) = opts.idmap else {
            if clone_binds && is_bind(m, &opts) {
                let src = open_source(bundle, m)?;
                let tree = sys::clone_tree(src.as_fd(), opts.is_recursive())
                    .map_err(io_err("open_tree bind source for", dest))?;
                out.mounts.push((i, tree));
            }
            continue;
        };
        let own_ns = match (m.uid_mappings(), m.gid_mappings()) {
            (Some(u), Some(g)) => Some(
                userns_with_maps(u, g)
                    .map_err(io_err("create user namespace for idmap of", dest))?,
            ),
            (None, None) => None,
            _ => {
                return Err(unsupported(
                    dest,
                    "uidMappings and gidMappings must be given together",
                ))
            }
        };
        let userns = match (&own_ns, container_userns) {
            (Some(fd), _) => fd.as_fd(),
            (None, Some(fd)) => fd,
            (None, None) => {
                return Err(unsupported(
                    dest,
                    "the container has no user namespace and the mount no mappings",
                ))
            }
        };
        let src_fd = open_source(bundle, m)?;
        out.mounts.push((
            i,
            map_tree(
                src_fd.as_fd(),
                opts.is_recursive(),
                map_recursive,
                userns.as_raw_fd(),
                dest,
            )?,
        ));
    }
    Ok(out)
}

/// The host source of a bind mount (relative to the bundle), opened `O_PATH`.
fn open_source(bundle: &Bundle, m: &crate::spec::Mount) -> Result<OwnedFd> {
    let dest = m.destination();
    let src = m
        .source()
        .as_ref()
        .ok_or_else(|| unsupported(dest, "a bind mount needs a source"))?;
    let src = bundle.dir.join(src);
    openat2(libc::AT_FDCWD, &src, libc::O_PATH, 0, 0).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => RootfsError::MissingSource {
            source_path: src.clone(),
            dest: dest.clone(),
        },
        _ => io_err("open bind source", &src)(e),
    })
}
