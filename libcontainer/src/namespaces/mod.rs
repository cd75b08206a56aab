//! Namespaces: which ones the init is cloned into, which it joins by path, the ones it
//! unshares late (cgroup, after cgroup placement; time, so offsets can be written
//! before anything enters it), the uid/gid maps, and the UTS names.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;

mod id_maps;
pub use id_maps::{id_map_text, write_id_maps};

use crate::procfs::ProcHandle;
use crate::rootdir::openat2;
use crate::spec::{Bundle, LinuxNamespaceType};

/// Why a namespace step failed.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// Opening or joining a namespace by path failed.
    #[error("failed to join {typ} namespace {path}: {source}")]
    Join {
        /// The namespace type.
        typ: &'static str,
        /// Its path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The container's id maps cannot be written by this caller.
    #[error("{0}")]
    IdMap(String),
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// The step.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> NamespaceError {
    let what = what.into();
    move |e| NamespaceError::Sys {
        what,
        source: e.into(),
    }
}

/// Every namespace type the runtime makes or joins (for `features`).
pub const KINDS: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::Time,
    LinuxNamespaceType::User,
    LinuxNamespaceType::Uts,
];

/// The kernel's name for a namespace type.
pub fn kind_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// The flags the init is cloned with: every new namespace except cgroup and time,
/// which it unshares itself later ([`unshare_late`]).
pub fn clone_flags(bundle: &Bundle) -> Result<CloneFlags, NamespaceError> {
    let mut flags = CloneFlags::empty();
    for ns in bundle.namespaces() {
        let t = ns.typ();
        if ns.path().is_some() || matches!(t, LinuxNamespaceType::Cgroup | LinuxNamespaceType::Time)
        {
            continue;
        }
        flags |= clone_flag(t);
    }
    Ok(flags)
}

/// Namespaces to join, opened before any is joined (joining the mount namespace changes
/// what later paths mean). The user namespace comes first so that the others are
/// joined with its capabilities.
#[derive(Debug)]
pub struct Joins {
    list: Vec<(LinuxNamespaceType, PathBuf, OwnedFd)>,
    /// New namespaces made after joining a user namespace (they must be owned by it).
    late_new: CloneFlags,
}

/// `NSFS_MAGIC`: the filesystem of namespace files (`/proc/<pid>/ns/*` and their bind
/// mounts).
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Opens a namespace file named in the spec. It is looked at first without being
/// opened for real (`O_PATH`: a FIFO would block, a device would run its driver's open)
/// and refused unless it is a namespace file; then that very file is opened for
/// `setns` through its fd.
fn open_namespace(path: &Path) -> std::io::Result<OwnedFd> {
    let probe = openat2(libc::AT_FDCWD, path, libc::O_PATH, 0, 0)?;
    // SAFETY: a zeroed statfs is a valid out buffer; the fd is open.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatfs(probe.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if st.f_type as i64 != NSFS_MAGIC {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a namespace file",
        ));
    }
    let again = PathBuf::from(format!("/proc/thread-self/fd/{}", probe.as_raw_fd()));
    openat2(libc::AT_FDCWD, &again, libc::O_RDONLY, 0, 0)
}

/// Opens every namespace path of the spec except pid (joined by the parent before
/// cloning, see [`join_pid_for_children`]).
pub fn open_joins(bundle: &Bundle) -> Result<Joins, NamespaceError> {
    let mut list = Vec::new();
    for ns in bundle.namespaces() {
        let (t, Some(path)) = (ns.typ(), ns.path()) else {
            continue;
        };
        if t == LinuxNamespaceType::Pid {
            continue;
        }
        let fd = open_namespace(path).map_err(|source| NamespaceError::Join {
            typ: kind_name(t),
            path: path.clone(),
            source,
        })?;
        list.push((t, path.clone(), fd));
    }
    list.sort_by_key(|(t, _, _)| *t != LinuxNamespaceType::User);
    let joins_user = list.iter().any(|(t, _, _)| *t == LinuxNamespaceType::User);
    let late_new = if joins_user {
        clone_flags(bundle)?
    } else {
        CloneFlags::empty()
    };
    Ok(Joins { list, late_new })
}

impl Joins {
    /// The flags to clone with: none when a user namespace is joined, since the new
    /// namespaces must then be made inside it ([`Joins::enter`] does).
    pub fn adjust_clone_flags(&self, flags: CloneFlags) -> CloneFlags {
        if self.late_new.is_empty() {
            flags
        } else {
            CloneFlags::empty()
        }
    }

    /// Joins every opened namespace, user first, then makes the new ones that had to
    /// wait for the user namespace. Returns true when that made a new pid namespace,
    /// which only the caller's next child enters: the caller must fork once more.
    pub fn enter(self) -> Result<bool, NamespaceError> {
        for (t, path, fd) in &self.list {
            nix::sched::setns(fd, clone_flag(*t)).map_err(|e| NamespaceError::Join {
                typ: kind_name(*t),
                path: path.clone(),
                source: e.into(),
            })?;
        }
        if !self.late_new.is_empty() {
            nix::sched::unshare(self.late_new)
                .map_err(sys("unshare new namespaces in the joined user namespace"))?;
        }
        Ok(self.late_new.contains(CloneFlags::CLONE_NEWPID))
    }
}

/// In the runtime process, before cloning: joins the pid namespace the spec names, so
/// that the init is created inside it (setns on a pid namespace only affects children).
pub fn join_pid_for_children(bundle: &Bundle) -> Result<(), NamespaceError> {
    let Some(path) = bundle
        .namespace(LinuxNamespaceType::Pid)
        .and_then(|n| n.path().as_ref())
    else {
        return Ok(());
    };
    let fd = open_namespace(path).map_err(|source| NamespaceError::Join {
        typ: "pid",
        path: path.clone(),
        source,
    })?;
    nix::sched::setns(&fd, CloneFlags::CLONE_NEWPID).map_err(|e| NamespaceError::Join {
        typ: "pid",
        path: path.clone(),
        source: e.into(),
    })
}

/// In the init, once it is in its cgroups: unshares the cgroup namespace (so its root
/// is the container's cgroup) and the time namespace with its offsets (entered by the
/// init's `execve`).
pub fn unshare_late(bundle: &Bundle, proc: &ProcHandle) -> Result<(), NamespaceError> {
    if bundle.makes_namespace(LinuxNamespaceType::Cgroup) {
        nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(sys("unshare cgroup namespace"))?;
    }
    if bundle.makes_namespace(LinuxNamespaceType::Time) {
        nix::sched::unshare(CloneFlags::from_bits_retain(libc::CLONE_NEWTIME))
            .map_err(sys("unshare time namespace"))?;
        let offsets = bundle
            .spec
            .linux()
            .as_ref()
            .and_then(|l| l.time_offsets().clone())
            .unwrap_or_default();
        let text = time_offsets_text(&offsets);
        if !text.is_empty() {
            proc.write("self/timens_offsets", &text)
                .map_err(|source| NamespaceError::Sys {
                    what: "write timens_offsets".into(),
                    source,
                })?;
        }
    }
    Ok(())
}

fn time_offsets_text(offsets: &HashMap<String, oci_spec::runtime::LinuxTimeOffset>) -> String {
    let mut keys: Vec<&String> = offsets.keys().collect();
    keys.sort();
    keys.iter()
        .map(|k| {
            let o = &offsets[*k];
            format!(
                "{k} {} {}\n",
                o.secs().unwrap_or(0),
                o.nanosecs().unwrap_or(0)
            )
        })
        .collect()
}

/// Sets the hostname and domainname given in the spec.
pub fn set_uts_names(bundle: &Bundle) -> Result<(), NamespaceError> {
    if let Some(h) = bundle.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        nix::unistd::sethostname(h).map_err(sys("sethostname"))?;
    }
    if let Some(d) = bundle
        .spec
        .domainname()
        .as_deref()
        .filter(|d| !d.is_empty())
    {
        // SAFETY: pointer and length describe `d`.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(NamespaceError::Sys {
                what: "setdomainname".into(),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Whether two processes share a namespace of the given kind (by inode).
pub fn same_namespace(proc: &ProcHandle, a: &str, b: &str, kind: &str) -> bool {
    let link = |p: &str| {
        let fd = proc
            .open_file(&format!("{p}/ns/{kind}"), libc::O_RDONLY)
            .ok()?;
        nix::sys::stat::fstat(&fd).ok().map(|s| s.st_ino)
    };
    matches!((link(a), link(b)), (Some(x), Some(y)) if x == y)
}

/// Path of a namespace file of a process, for hooks and state.
pub fn ns_path(pid: i32, kind: &str) -> PathBuf {
    Path::new("/proc")
        .join(pid.to_string())
        .join("ns")
        .join(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_render_sorted() {
        let o: HashMap<String, oci_spec::runtime::LinuxTimeOffset> = serde_json::from_str(
            r#"{"monotonic":{"secs":10,"nanosecs":5},"boottime":{"secs":-3}}"#,
        )
        .unwrap();
        assert_eq!(time_offsets_text(&o), "boottime -3 0\nmonotonic 10 5\n");
    }
}
