//! The container's root filesystem: mounts, /dev, pivot_root, masked and read-only paths.
//!
//! The init calls [`prepare`] (in its new mount namespace, before the prestart and
//! createRuntime hooks), [`pivot`], then [`finalize`]. Every path inside the rootfs is
//! resolved through a [`RootfsDir`] (`openat2(RESOLVE_IN_ROOT)`) and every mount lands on
//! an fd, never on a path a planted symlink could redirect.

mod bind;
mod cgroupfs;
mod console;
mod copyup;
mod devices;
mod entry;
mod idmap;
mod landing;
mod masked;
mod mount;
mod options;
mod pivot;
mod propagation;
mod shared;
mod sources;
mod symlinks;
mod sys;
mod target;

#[cfg(test)]
mod tests;

use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

pub use console::mount_console;
pub use options::{
    known_mount_options, parse as parse_mount_options, parse_propagation, MountOptions,
};
pub use shared::unmount_under;
pub use sources::{needs_prepared_sources, open_prepared_sources, PreparedSources};

use crate::procfs::ProcHandle;
use crate::rootdir::RootfsDir;
use crate::spec::{Bundle, LinuxNamespaceType};

/// Why setting up the root filesystem failed.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// A system call on a path failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// The step.
        what: &'static str,
        /// The path inside or outside the container.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// A spec mount failed.
    #[error("mount {source_path} to {dest} (type {fstype}): {source}")]
    Mount {
        /// The mount's source (or its type when it has none).
        source_path: String,
        /// The destination inside the container.
        dest: PathBuf,
        /// The filesystem type (`bind` for bind mounts).
        fstype: String,
        /// The cause.
        source: io::Error,
    },
    /// A bind mount's source does not exist on the host.
    #[error("bind mount source {source_path} for {dest} does not exist")]
    MissingSource {
        /// The source as resolved on the host.
        source_path: PathBuf,
        /// The destination inside the container.
        dest: PathBuf,
    },
    /// What is at a path is not what the step needs (a file for a directory, a wrong device).
    #[error("{path}: {reason}")]
    WrongType {
        /// The path inside or outside the container.
        path: PathBuf,
        /// What was expected and what was found.
        reason: String,
    },
    /// A mount or node would land where it may not (on or inside /proc, on `/`); `dest`
    /// is the path in config.json, `landing` where it resolves inside the rootfs.
    #[error("{what} {dest}{}: {reason}", resolved(.dest, .landing))]
    Refused {
        /// `mount`, `device`, ...
        what: &'static str,
        /// The path as config.json writes it.
        dest: PathBuf,
        /// Where it really lands inside the rootfs.
        landing: PathBuf,
        /// runc's sentence for the refusal.
        reason: String,
    },
    /// The spec asks for something this runtime cannot do (here, or at all).
    #[error("{what} for {path} is not supported: {reason}")]
    Unsupported {
        /// The feature.
        what: String,
        /// The path it was asked for.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// " (resolves to X in the rootfs)" when the image's symlinks moved `dest`.
fn resolved(dest: &Path, landing: &Path) -> String {
    if landing::clean(dest) == landing {
        String::new()
    } else {
        format!(" (resolves to {} in the rootfs)", landing.display())
    }
}

/// Shorthand for the module's results.
type Result<T> = std::result::Result<T, RootfsError>;

/// Builds a closure mapping an `io::Error` to [`RootfsError::Io`] for `what` on `path`.
fn io_err<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> RootfsError + 'p {
    move |source| RootfsError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
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
    /// The runtime's mounts as the caller read them before the init was cloned (the
    /// cgroup layout's read): reused instead of a second read of mountinfo, which
    /// waits for the mount lock every other container being set up holds. `None`:
    /// read them here.
    pub host_mounts: Option<&'a [crate::mountinfo::MountInfo]>,
}

/// What every step of [`prepare`] shares.
struct Ctx<'a> {
    opts: &'a RootfsOptions<'a>,
    /// The rootfs, opened after it was bind-mounted onto itself.
    root: RootfsDir,
    /// We run in a user namespace: no mknod, and mount flags are locked.
    userns: bool,
    /// Id-mapped mounts the parent prepared.
    idmapped: &'a PreparedSources,
    /// The init's verified procfs, opened before any mount: names fds by their real path.
    proc: &'a ProcHandle,
    /// The rootfs's own real path (through `proc`), stripped from targets' paths.
    root_real: PathBuf,
    /// `linux.maskedPaths`, cleaned: a config may mask them itself below /proc.
    masked: Vec<PathBuf>,
    /// The mounts as read once before ours (the rootfs's parent, the cgroup
    /// hierarchies): each mountinfo read holds the mount namespace lock that every
    /// other container being created waits for.
    host_mounts: Vec<crate::mountinfo::MountInfo>,
}

impl Ctx<'_> {
    fn bundle(&self) -> &Bundle {
        self.opts.bundle
    }
}

/// True when this process is in a user namespace other than the initial one (its
/// uid map is not the identity map of every id).
fn in_user_namespace(proc: &ProcHandle) -> bool {
    match proc.read("thread-self/uid_map") {
        Ok(map) => map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"],
        Err(_) => false,
    }
}

/// In the new mount namespace, before hooks: propagation, rootfs bind, spec mounts, /dev.
pub fn prepare(opts: &RootfsOptions) -> std::result::Result<(), RootfsError> {
    let proc_path = Path::new("/proc");
    let proc = ProcHandle::open().map_err(io_err("open", proc_path))?;
    prepare_with(opts, &PreparedSources::none(), &proc)
}

/// [`prepare`] with the bind sources the parent prepared ([`open_prepared_sources`]);
/// needed for `idmap`/`ridmap` mounts when the init runs in a user namespace.
/// `proc` is the caller's verified procfs, opened before any mount.
pub fn prepare_with(
    opts: &RootfsOptions,
    idmapped: &PreparedSources,
    proc: &ProcHandle,
) -> std::result::Result<(), RootfsError> {
    let bundle = opts.bundle;
    // In the runtime's own mount namespace nothing outside the rootfs may change.
    let host_mounts = if bundle.shares_mount_namespace() {
        propagation::read_mountinfo()?
    } else {
        propagation::prepare_root(bundle, opts.host_mounts)?
    };
    let root = RootfsDir::open(&bundle.rootfs).map_err(io_err("open rootfs", &bundle.rootfs))?;
    let userns = bundle.namespace(LinuxNamespaceType::User).is_some() || in_user_namespace(proc);
    let root_real = proc
        .fd_target(root.as_fd())
        .map_err(io_err("find the real path of", &bundle.rootfs))?;
    let masked = bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or(&[])
        .iter()
        .map(|p| landing::clean(Path::new(p)))
        .collect();
    let ctx = Ctx {
        opts,
        root,
        userns,
        idmapped,
        proc,
        root_real,
        masked,
        host_mounts,
    };
    let mounts = bundle.spec.mounts().as_deref().unwrap_or(&[]);
    for (i, m) in mounts.iter().enumerate() {
        mount::mount_one(&ctx, i, m)?;
    }
    if devices::needs_dev_setup(mounts) {
        let dev = devices::NodeDir::open(&ctx, Path::new("/dev/null"))?;
        devices::create_all(&ctx, &dev)?;
        symlinks::setup_ptmx(&dev)?;
        symlinks::setup_dev_symlinks(&dev)?;
    }
    Ok(())
}

/// pivot_root (or MS_MOVE + chroot) into the rootfs; cwd becomes `/`.
pub fn pivot(opts: &RootfsOptions) -> std::result::Result<(), RootfsError> {
    if opts.bundle.shares_mount_namespace() {
        pivot::chroot_into(&opts.bundle.rootfs)
    } else if opts.no_pivot {
        pivot::move_root(&opts.bundle.rootfs)
    } else {
        pivot::pivot_root(&opts.bundle.rootfs)
    }
}

/// After pivot: read-only paths, masked paths, read-only /dev and root, rootfsPropagation.
pub fn finalize(opts: &RootfsOptions) -> std::result::Result<(), RootfsError> {
    let spec = &opts.bundle.spec;
    let root = RootfsDir::open(Path::new("/")).map_err(io_err("open root", Path::new("/")))?;
    let linux = spec.linux().as_ref();
    for p in linux
        .and_then(|l| l.readonly_paths().as_deref())
        .unwrap_or(&[])
    {
        masked::readonly_path(&root, Path::new(p))?;
    }
    let mut null = masked::DevNull::new();
    for p in linux
        .and_then(|l| l.masked_paths().as_deref())
        .unwrap_or(&[])
    {
        masked::mask_path(&root, Path::new(p), &mut null)?;
    }
    if mount::dev_wants_readonly(spec.mounts().as_deref().unwrap_or(&[])) {
        masked::remount_readonly(&root, Path::new("/dev"))?;
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        masked::readonly_root()?;
    }
    propagation::finalize_root(opts.bundle)
}
