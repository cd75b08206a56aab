//! Loading and validating a bundle's `config.json`.
//!
//! The runtime-spec types come from `oci-spec`; this module is the one place that reads
//! them from disk and checks them, so every later step may assume a [`Bundle`] is sound:
//! a supported `ociVersion`, an existing root directory, absolute mount destinations,
//! no duplicate namespaces, mappings exactly when a user namespace is made, and no
//! feature this runtime does not implement yet.

mod default;
pub mod ranges;
mod validate;

pub use default::default_spec;
pub use validate::check_exec_process;
pub use validate::{is_supported, Unsupported, UNSUPPORTED};

use std::path::{Path, PathBuf};

pub use oci_spec::runtime::{
    Capabilities, Capability, Hook, Hooks, Linux, LinuxCapabilities, LinuxDevice, LinuxDeviceType,
    LinuxIdMapping, LinuxIntelRdt, LinuxNamespace, LinuxNamespaceType, LinuxResources,
    LinuxSeccomp, Mount, PosixRlimit, PosixRlimitType, Process, Spec, User,
};
pub use oci_spec::runtime::{
    ExecCPUAffinity, IOPriorityClass, LinuxIOPriority, LinuxMemoryPolicy, LinuxPersonality,
    LinuxPersonalityDomain, LinuxSchedulerFlag, LinuxSchedulerPolicy, MemoryPolicyFlagType,
    MemoryPolicyModeType, Scheduler,
};

/// Why a bundle was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The bundle directory or its config could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory that failed.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// config.json is not valid JSON, or a field has the wrong type.
    #[error("invalid config.json: {0}")]
    Parse(String),
    /// config.json is well formed but asks for something invalid.
    #[error("invalid config.json: {0}")]
    Invalid(String),
    /// The spec asks for a feature this runtime does not implement yet.
    #[error("{0} is not supported by quai yet")]
    Unsupported(&'static str),
}

/// A bundle whose config has been loaded and validated.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// The validated spec.
    pub spec: Spec,
    /// Absolute, canonical path of the root filesystem.
    pub rootfs: PathBuf,
}

/// The rootfs `root.path` names, canonical. What config.json wrote must not be or pass
/// through a symlink: for a relative path, no component below the bundle directory; for
/// an absolute one, not the last. A bundle whose `rootfs` links to `/` or another host
/// directory would have the runtime make mount targets, device nodes and files there
/// (runc refuses any symlink in the path; the directories above are the host's own
/// layout, which quai resolves as crun does).
fn resolve_rootfs(dir: &Path, written: &Path) -> Result<PathBuf, SpecError> {
    let joined = dir.join(written);
    let first_written = if written.is_absolute() {
        joined.components().count().saturating_sub(1)
    } else {
        dir.components().count()
    };
    let mut at = PathBuf::new();
    for (i, part) in joined.components().enumerate() {
        at.push(part);
        let is_link = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
        if i >= first_written && matches!(part, std::path::Component::Normal(_)) && is_link {
            let to = std::fs::read_link(&at).unwrap_or_default();
            return Err(SpecError::Invalid(format!(
                "rootfs {} is reached through the symlink {} (to {}): a bundle's rootfs must be a directory, not a link",
                joined.display(),
                at.display(),
                to.display()
            )));
        }
    }
    std::fs::canonicalize(&joined).map_err(|source| SpecError::Read {
        path: joined.clone(),
        source,
    })
}

impl Bundle {
    /// Loads `<dir>/config.json` and validates it for `create`.
    pub fn load(dir: &Path) -> Result<Self, SpecError> {
        let dir = std::path::absolute(dir).map_err(|source| SpecError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let cfg = dir.join("config.json");
        let text = read_config(&cfg).map_err(|source| SpecError::Read {
            path: cfg.clone(),
            source,
        })?;
        let spec = parse(&text)?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| SpecError::Invalid("root must be set".into()))?;
        let rootfs = resolve_rootfs(&dir, root.path())?;
        if !rootfs.is_dir() {
            return Err(SpecError::Invalid(format!(
                "rootfs {} is not a directory",
                rootfs.display()
            )));
        }
        validate::check(&spec)?;
        Ok(Self { dir, spec, rootfs })
    }

    /// A bundle from a spec built in memory and the root filesystem at `rootfs`, for
    /// embedders with no `config.json` on disk. `root.path` becomes `rootfs` (absolute,
    /// canonical; `root.readonly` is kept), and the bundle directory is the rootfs's
    /// parent: relative bind sources resolve there, and the state and hooks report it.
    /// The spec is validated as [`Bundle::load`] validates a loaded one.
    pub fn from_spec(mut spec: Spec, rootfs: &Path) -> Result<Self, SpecError> {
        let rootfs = std::fs::canonicalize(rootfs).map_err(|source| SpecError::Read {
            path: rootfs.to_path_buf(),
            source,
        })?;
        if !rootfs.is_dir() {
            return Err(SpecError::Invalid(format!(
                "rootfs {} is not a directory",
                rootfs.display()
            )));
        }
        let readonly = spec.root().as_ref().and_then(|r| r.readonly());
        let mut root = oci_spec::runtime::Root::default();
        root.set_path(rootfs.clone());
        root.set_readonly(readonly);
        spec.set_root(Some(root));
        let dir = rootfs
            .parent()
            .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        validate::check(&spec)?;
        Ok(Self { dir, spec, rootfs })
    }

    /// The container process; validation guarantees it is present.
    pub fn process(&self) -> &Process {
        self.spec
            .process()
            .as_ref()
            .expect("validated: process is present")
    }

    /// The namespaces of the spec (empty when `linux` is absent).
    pub fn namespaces(&self) -> &[LinuxNamespace] {
        self.spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or(&[])
    }

    /// The namespace entry of the given type, if the spec lists one.
    pub fn namespace(&self, typ: LinuxNamespaceType) -> Option<&LinuxNamespace> {
        self.namespaces().iter().find(|n| n.typ() == typ)
    }

    /// True when the spec makes a new namespace of `typ` (listed without a path).
    pub fn makes_namespace(&self, typ: LinuxNamespaceType) -> bool {
        self.namespace(typ).is_some_and(|n| n.path().is_none())
    }

    /// True when the spec lists no mount namespace: the container then stays in the
    /// runtime's own, as the runtime-spec says of every namespace type not listed.
    pub fn shares_mount_namespace(&self) -> bool {
        self.namespace(LinuxNamespaceType::Mount).is_none()
    }

    /// The annotations (empty map when absent).
    pub fn annotations(&self) -> std::collections::HashMap<String, String> {
        self.spec.annotations().clone().unwrap_or_default()
    }
}

/// Reads config.json, which must be a regular file: opened without blocking, so a FIFO
/// (or a device) in its place is refused instead of waiting forever for a writer.
fn read_config(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !f.metadata()?.file_type().is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut text = String::new();
    f.read_to_string(&mut text)?;
    Ok(text)
}

/// Parses config.json text into a spec, with the JSON error's position in the message.
pub fn parse(text: &str) -> Result<Spec, SpecError> {
    fn parse_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> SpecError {
        let path = e.path().to_string();
        if path.is_empty() || path == "." {
            SpecError::Parse(e.into_inner().to_string())
        } else {
            SpecError::Parse(format!("{path}: {}", e.into_inner()))
        }
    }
    if let Some(doc) = with_oci_spec_flag_names(text) {
        return serde_path_to_error::deserialize(doc).map_err(parse_error);
    }
    // Plain serde first: the path-tracking deserializer is a second copy of all the
    // spec's parsing code (0.7 MB of the binary), run only to word an error.
    if let Ok(spec) = serde_json::from_str(text) {
        return Ok(spec);
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(parse_error)
}

/// oci-spec 0.10 spells two scheduler flags unlike the runtime-spec
/// (`SCHED_RESET_ON_FORK`, `SCHED_FLAG_D_L_OVERRUN`): a config with the spec's names is
/// returned with oci-spec's, else `None` (and the text is parsed as it is).
fn with_oci_spec_flag_names(text: &str) -> Option<serde_json::Value> {
    const RENAMES: [(&str, &str); 2] = [
        ("SCHED_FLAG_RESET_ON_FORK", "SCHED_RESET_ON_FORK"),
        ("SCHED_FLAG_DL_OVERRUN", "SCHED_FLAG_D_L_OVERRUN"),
    ];
    if !RENAMES.iter().any(|(spec, _)| text.contains(spec)) {
        return None;
    }
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let flags = doc
        .pointer_mut("/process/scheduler/flags")?
        .as_array_mut()?;
    for f in flags.iter_mut() {
        if let Some((_, ours)) = RENAMES.iter().find(|(spec, _)| f == spec) {
            *f = serde_json::Value::from(*ours);
        }
    }
    Some(doc)
}

#[cfg(test)]
mod tests;
