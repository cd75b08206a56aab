//! The state directory `<root>/<id>/`: `state.json` (written atomically), the exec
//! fifo, and a `flock` on the directory held by every command that changes it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ContainerError, ContainerId};
use crate::cgroups::Cgroup;
use crate::spec::Hook;

const STATE_FILE: &str = "state.json";
const FIFO: &str = "exec.fifo";
/// The container's cgroup, written before its directories are made: found by
/// `delete --force` even when `state.json` was never written or cannot be read.
const CGROUP_FILE: &str = "cgroup.json";
/// The container's seccomp profile, for `exec` (kept out of state.json, which `state` and
/// `list` read: Docker's profile alone is some 20 KB of JSON).
const SECCOMP_FILE: &str = "seccomp.json";

/// What `create` records for later commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateFile {
    /// Spec version of the bundle.
    pub oci_version: String,
    /// Container id.
    pub id: String,
    /// Host PID of the init (0 until it exists).
    pub pid: i32,
    /// Start time of the init, field 22 of /proc/<pid>/stat.
    pub init_start_time: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub created: String,
    /// Owner name.
    pub owner: String,
    /// Annotations of the spec.
    pub annotations: HashMap<String, String>,
    /// The cgroup directories made for the container.
    pub cgroup: Cgroup,
    /// Hooks run by later commands.
    pub poststart: Vec<Hook>,
    /// Hooks run by delete.
    pub poststop: Vec<Hook>,
    /// False until `create` finished (an interrupted create leaves `false`).
    pub complete: bool,
    /// No mount namespace of its own: its mounts below the rootfs are in ours, and
    /// `delete` detaches them.
    #[serde(default)]
    pub shared_mounts: bool,
    /// `linux.netDevices` moved in by `create`, as (host name, name in the container):
    /// `delete` moves them back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net_devices: Vec<(String, String)>,
    /// The network namespace joined by path, if any (it outlives the init).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net_ns_path: Option<PathBuf>,
    /// `linux.personality` and `linux.memoryPolicy`, which an exec'd process takes too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_linux: Option<crate::spec::Linux>,
    /// The Intel RDT groups made (or joined) for `linux.intelRdt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel_rdt: Option<crate::rdt::RdtGroup>,
}

/// An open, locked state directory.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    _lock: File,
}

fn io<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> ContainerError + 'a {
    move |source| ContainerError::StateIo {
        what,
        path: path.to_path_buf(),
        source,
    }
}

fn lock(path: &Path) -> Result<File, ContainerError> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map_err(io("open", path))?;
    // SAFETY: flock on an fd we own.
    while unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(ContainerError::StateIo {
                what: "lock",
                path: path.to_path_buf(),
                source: e,
            });
        }
    }
    Ok(f)
}

impl StateDir {
    /// Makes a new state directory for `id`; fails if the id is taken.
    pub fn create(root: &Path, id: &ContainerId) -> Result<Self, ContainerError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(io("create", root))?;
        let path = root.join(id.as_str());
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ContainerError::Exists(id.to_string()))
            }
            Err(e) => {
                return Err(ContainerError::StateIo {
                    what: "create",
                    path,
                    source: e,
                })
            }
        }
        let lock = lock(&path)?;
        Ok(Self { path, _lock: lock })
    }

    /// Opens and locks the state directory of `id`.
    pub fn open(root: &Path, id: &ContainerId) -> Result<Self, ContainerError> {
        let path = root.join(id.as_str());
        let lock = match lock(&path) {
            Err(ContainerError::StateIo { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(ContainerError::NotExist(id.to_string()))
            }
            other => other?,
        };
        // Deleted while we waited for the lock.
        if !path.exists() {
            return Err(ContainerError::NotExist(id.to_string()));
        }
        Ok(Self { path, _lock: lock })
    }

    /// The lock's fd (the init closes its inherited copy).
    pub fn lock_fd(&self) -> i32 {
        self._lock.as_raw_fd()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The exec fifo's path.
    pub fn fifo(&self) -> PathBuf {
        self.path.join(FIFO)
    }

    /// Writes `state.json` atomically: temp file, fsync, rename.
    pub fn write(&self, state: &StateFile) -> Result<(), ContainerError> {
        self.write_with(state, true)
    }

    /// Writes `state.json` atomically (temp file, rename), without the fsync: for the
    /// records `create` makes on its way, which matter only while the machine is up
    /// (the final one is [`StateDir::write`]); each fsync costs a millisecond or more.
    pub fn write_interim(&self, state: &StateFile) -> Result<(), ContainerError> {
        self.write_with(state, false)
    }

    fn write_with(&self, state: &StateFile, durable: bool) -> Result<(), ContainerError> {
        self.write_json(STATE_FILE, state, durable)
    }

    /// Records the cgroup the container is about to get (atomically, not fsynced: it
    /// matters only while the machine is up).
    pub fn write_cgroup(&self, cg: &Cgroup) -> Result<(), ContainerError> {
        self.write_json(CGROUP_FILE, cg, false)
    }

    /// Records the seccomp profile `exec` loads too (atomically, not fsynced).
    pub fn write_seccomp(&self, profile: &crate::spec::LinuxSeccomp) -> Result<(), ContainerError> {
        self.write_json(SECCOMP_FILE, profile, false)
    }

    /// The cgroup recorded by [`StateDir::write_cgroup`], if it can be read.
    pub fn read_cgroup(&self) -> Option<Cgroup> {
        let b = std::fs::read(self.path.join(CGROUP_FILE)).ok()?;
        serde_json::from_slice(&b).ok()
    }

    fn write_json<T: Serialize>(
        &self,
        name: &str,
        value: &T,
        durable: bool,
    ) -> Result<(), ContainerError> {
        let tmp = self.path.join(format!(".{name}.tmp"));
        let body = serde_json::to_vec(value).map_err(|e| ContainerError::StateIo {
            what: "encode",
            path: tmp.clone(),
            source: std::io::Error::other(e),
        })?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io("write", &tmp))?;
        f.write_all(&body).map_err(io("write", &tmp))?;
        if durable {
            f.sync_all().map_err(io("fsync", &tmp))?;
        }
        let dst = self.path.join(name);
        std::fs::rename(&tmp, &dst).map_err(io("rename", &dst))
    }

    /// Reads `state.json`; `None` when create was interrupted before writing it.
    pub fn read(&self) -> Result<Option<StateFile>, ContainerError> {
        read_state(&self.path)
    }

    /// Removes the directory and everything in it.
    pub fn remove(self) -> Result<(), ContainerError> {
        std::fs::remove_dir_all(&self.path).map_err(io("remove", &self.path))
    }
}

/// The seccomp profile recorded at create in state directory `dir`, if the container has
/// one.
pub fn read_seccomp(dir: &Path) -> Result<Option<crate::spec::LinuxSeccomp>, ContainerError> {
    let path = dir.join(SECCOMP_FILE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| ContainerError::StateIo {
                what: "parse",
                path,
                source: std::io::Error::other(e),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", &path)(e)),
    }
}

/// Reads `<dir>/state.json` without locking (for `state` and `list`).
pub fn read_state(dir: &Path) -> Result<Option<StateFile>, ContainerError> {
    let p = dir.join(STATE_FILE);
    // A stray file in the root is no container (`list` reads entries unchecked).
    let read = std::fs::File::open(&p).and_then(|f| crate::rootdir::read_all(&f));
    match read {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| ContainerError::StateIo {
                what: "decode",
                path: p,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(ContainerError::StateIo {
            what: "read",
            path: p,
            source: e,
        }),
    }
}

/// Writes the `--pid-file`: the PID in decimal, no newline, renamed into place.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), ContainerError> {
    let path = std::path::absolute(path).map_err(io("resolve", path))?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.quai-tmp"));
    std::fs::write(&tmp, pid.to_string()).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(io("rename", &path))
}

/// The user name owning the state (as runc reports it).
pub fn owner_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| "#".to_string() + &uid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str) -> StateFile {
        StateFile {
            oci_version: "1.0.2".into(),
            id: id.into(),
            pid: 42,
            init_start_time: 7,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "x".into(),
            owner: "root".into(),
            annotations: HashMap::new(),
            cgroup: Cgroup::default(),
            poststart: vec![],
            poststop: vec![],
            complete: true,
            shared_mounts: false,
            net_devices: vec![],
            net_ns_path: None,
            exec_linux: None,
            intel_rdt: None,
        }
    }

    #[test]
    fn create_write_read_remove() {
        let root = std::env::temp_dir().join(format!("quai-state-{}", std::process::id()));
        let id = ContainerId::new("c1").unwrap();
        let d = StateDir::create(&root, &id).unwrap();
        assert!(d.read().unwrap().is_none());
        d.write(&sample("c1")).unwrap();
        assert_eq!(d.read().unwrap().unwrap().pid, 42);
        assert!(matches!(
            StateDir::create(&root, &id),
            Err(ContainerError::Exists(_))
        ));
        d.remove().unwrap();
        assert!(matches!(
            StateDir::open(&root, &id),
            Err(ContainerError::NotExist(_))
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn pid_file_has_no_newline() {
        let p = std::env::temp_dir().join(format!("quai-pid-{}", std::process::id()));
        write_pid_file(&p, 1234).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "1234");
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn owner_of_root() {
        assert_eq!(owner_name(0), "root");
    }
}
