//! Device nodes in the container's /dev: runc's defaults plus `linux.devices`, made with
//! mknod, or, where mknod is not allowed (a user namespace), by bind-mounting the host's
//! node onto an empty file. The parent directory is resolved inside the root and may
//! not land in /proc; the node's own name is never followed: whatever the image left
//! there that is not the wanted node (a symlink, a file) is replaced.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::landing::{self, Kind};
use super::target::{fstype, is_dev, landing_of, options_of, precheck};
use super::{entry, io_err, sys, Ctx, Result, RootfsError};
use crate::rootdir::{fd_path, openat2};
use crate::spec::{LinuxDevice, LinuxDeviceType, Mount};

/// A device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Device {
    /// Path inside the container.
    pub path: PathBuf,
    /// `S_IFCHR`, `S_IFBLK` or `S_IFIFO`.
    pub kind: libc::mode_t,
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Permission bits.
    pub mode: libc::mode_t,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// runc's default devices, all 0666 root:root.
pub(super) fn default_devices() -> Vec<Device> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(name, major, minor)| Device {
        path: Path::new("/dev").join(name),
        kind: libc::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

/// Converts a `linux.devices` entry; type `a` names no node.
pub(super) fn from_spec(d: &LinuxDevice) -> Result<Device> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(RootfsError::WrongType {
                path: d.path().clone(),
                reason: "device type \"a\" is not a node type (use c, b, u or p)".into(),
            })
        }
    };
    let num = |n: i64, what: &str| {
        u64::try_from(n).map_err(|_| RootfsError::WrongType {
            path: d.path().clone(),
            reason: format!("negative {what} number"),
        })
    };
    Ok(Device {
        path: d.path().clone(),
        kind,
        major: num(d.major(), "major")?,
        minor: num(d.minor(), "minor")?,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// True unless /dev is a bind mount (then the host's /dev already has the nodes), as in
/// runc.
pub(super) fn needs_dev_setup(mounts: &[Mount]) -> bool {
    !mounts
        .iter()
        .any(|m| is_dev(m.destination()) && (fstype(m) == "bind" || options_of(m).is_bind()))
}

/// Creates the defaults, then the spec's devices (which may override them), in `dev`
/// (the container's /dev) or, for a spec device elsewhere, in a directory opened for it.
pub(super) fn create_all(ctx: &Ctx, dev: &NodeDir) -> Result<()> {
    let mut devs = default_devices();
    let spec_devs = ctx
        .bundle()
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().clone())
        .unwrap_or_default();
    for d in &spec_devs {
        let d = from_spec(d)?;
        devs.retain(|x| crate::rootdir::relative(&x.path) != crate::rootdir::relative(&d.path));
        devs.push(d);
    }
    for d in &devs {
        let path = super::landing::clean(&d.path);
        let (dir, name) = split(&path)?;
        if dir == dev.path {
            create(dev, d, name)?;
        } else {
            create(&NodeDir::open(ctx, &path)?, d, name)?;
        }
    }
    Ok(())
}

fn check(r: libc::c_int) -> io::Result<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The parent directory and name of a node's (cleaned) path.
fn split(path: &Path) -> Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(RootfsError::WrongType {
            path: path.to_path_buf(),
            reason: "not a path for a node".into(),
        }),
    }
}

/// A directory of the container the runtime makes nodes and links in, opened (created
/// if missing) inside the root, with where it really lands: each node made in it is
/// checked by that landing plus its name (never in /proc). /dev is opened once for all
/// the default nodes and links, a lookup and a landing read instead of four per node:
/// nothing can move it meanwhile, the container has no process yet.
pub(super) struct NodeDir {
    /// The directory, `O_PATH`.
    pub fd: OwnedFd,
    /// Its path as config.json writes it, cleaned.
    path: PathBuf,
    /// Where it really is inside the rootfs.
    landing: PathBuf,
    /// The init is in a user namespace: no mknod.
    userns: bool,
}

impl NodeDir {
    /// Opens the parent directory of `node` (a cleaned path), creating it if missing
    /// after checking where `node` will land, so nothing is even created inside /proc.
    pub(super) fn open(ctx: &Ctx, node: &Path) -> Result<NodeDir> {
        let (parent, _) = split(node)?;
        let fd = match ctx.root.open_in(parent, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => fd,
            Err(_) => {
                precheck(ctx, "device", node, Kind::Device, false)?;
                ctx.root
                    .mkdir_all(parent, 0o755)
                    .map_err(io_err("create directory for", node))?
            }
        };
        let landing = landing_of(ctx, fd.as_fd(), node)?;
        Ok(NodeDir {
            fd,
            path: parent.to_path_buf(),
            landing,
            userns: ctx.userns,
        })
    }

    /// Refuses a node named `name` here if it would land where no node may.
    pub(super) fn check(&self, name: &OsStr) -> Result<()> {
        let at = self.landing.join(name);
        landing::check(&at, Kind::Device, false, &[]).map_err(|reason| RootfsError::Refused {
            what: "device",
            dest: self.path.join(name),
            landing: at,
            reason,
        })
    }
}

/// True when `st` is exactly the node `d` asks for.
fn is_node(st: &libc::stat, d: &Device) -> bool {
    st.st_mode & libc::S_IFMT == d.kind
        && (d.kind == libc::S_IFIFO
            || st.st_rdev == libc::makedev(d.major as libc::c_uint, d.minor as libc::c_uint))
}

/// Creates one node named `name` in `dir`, never following what the image left there.
fn create(at: &NodeDir, d: &Device, name: &OsStr) -> Result<()> {
    at.check(name)?;
    let dir = &at.fd;
    match entry::lstat_at(dir.as_fd(), name).map_err(io_err("stat", &d.path))? {
        None => {}
        // The image's own node, the right one: leave it, as runc does.
        Some(st) if is_node(&st, d) => return Ok(()),
        Some(st) if sys::is_dir(&st) => {
            return Err(RootfsError::WrongType {
                path: d.path.clone(),
                reason: "is a directory, not a device node".into(),
            })
        }
        // A symlink, a file, another node: never follow or reuse it; make ours.
        Some(_) => entry::remove(dir.as_fd(), name).map_err(io_err("replace", &d.path))?,
    }
    if at.userns && d.kind != libc::S_IFIFO {
        return bind_host_node(d, dir.as_fd(), name);
    }
    let c = CString::new(name.as_bytes())
        .map_err(|_| io_err("mknod", &d.path)(io::Error::from_raw_os_error(libc::EINVAL)))?;
    let dev = libc::makedev(d.major as libc::c_uint, d.minor as libc::c_uint);
    // Exact modes (0666), not the process umask's idea of them.
    // SAFETY: umask cannot fail; the init is single-threaded.
    let old = unsafe { libc::umask(0) };
    // SAFETY: `dir` is a directory fd and `c` one NUL-terminated component.
    let r = check(unsafe { libc::mknodat(dir.as_raw_fd(), c.as_ptr(), d.kind | d.mode, dev) });
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    match r {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && d.kind != libc::S_IFIFO => {
            return bind_host_node(d, dir.as_fd(), name)
        }
        Err(e) => return Err(io_err("mknod", &d.path)(e)),
    }
    let node = entry::open_nofollow(dir.as_fd(), name).map_err(io_err("open", &d.path))?;
    verify_node(node.as_fd(), d)?;
    // SAFETY: as above; NOFOLLOW: the node we just made, never a link.
    check(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            c.as_ptr(),
            d.uid,
            d.gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map_err(io_err("chown", &d.path))
}

/// Verifies that an open node is the device `d` describes.
pub(super) fn verify_node(fd: BorrowedFd<'_>, d: &Device) -> Result<()> {
    let st = sys::fstat(fd).map_err(io_err("stat", &d.path))?;
    // A fifo has no device number (mknod ignores the one given): its type is all.
    let ok = st.st_mode & libc::S_IFMT == d.kind
        && (d.kind == libc::S_IFIFO
            || (libc::major(st.st_rdev) as u64 == d.major
                && libc::minor(st.st_rdev) as u64 == d.minor));
    if ok {
        Ok(())
    } else {
        Err(RootfsError::WrongType {
            path: d.path.clone(),
            reason: format!(
                "expected device {}:{}, found mode {:o} device {}:{}",
                d.major,
                d.minor,
                st.st_mode,
                libc::major(st.st_rdev),
                libc::minor(st.st_rdev)
            ),
        })
    }
}

/// Bind-mounts the host's node at the same path onto an empty file made at `name` in
/// `dir` (nothing is there: [`create`] removed what was).
fn bind_host_node(d: &Device, dir: BorrowedFd<'_>, name: &OsStr) -> Result<()> {
    let host = Path::new("/").join(crate::rootdir::relative(&d.path));
    let src = openat2(
        libc::AT_FDCWD,
        &host,
        libc::O_PATH,
        0,
        libc::RESOLVE_NO_SYMLINKS,
    )
    .map_err(io_err("open host device", &host))?;
    verify_node(
        src.as_fd(),
        &Device {
            path: host.clone(),
            ..d.clone()
        },
    )?;
    entry::create_file(dir, name, 0).map_err(io_err("create", &d.path))?;
    let target = entry::open_nofollow(dir, name).map_err(io_err("open", &d.path))?;
    let st = sys::fstat(target.as_fd()).map_err(io_err("stat", &d.path))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(RootfsError::WrongType {
            path: d.path.clone(),
            reason: "the empty file made for the device is not a file".into(),
        });
    }
    sys::mount(
        Some(&fd_path(src.as_fd())),
        &fd_path(target.as_fd()),
        None,
        libc::MS_BIND,
        None,
    )
    .map_err(io_err("bind host device onto", &d.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_runc_s() {
        let d = default_devices();
        assert_eq!(d.len(), 6);
        assert!(d.iter().all(|d| d.mode == 0o666 && d.kind == libc::S_IFCHR));
        assert_eq!(
            (d[0].path.as_path(), d[0].major, d[0].minor),
            (Path::new("/dev/null"), 1, 3)
        );
        assert_eq!(
            (d[5].path.as_path(), d[5].major, d[5].minor),
            (Path::new("/dev/tty"), 5, 0)
        );
    }

    #[test]
    fn converts_spec_devices() {
        let d: LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":8630,"uid":1,"gid":2}"#)
                .unwrap();
        let d = from_spec(&d).unwrap();
        assert_eq!(
            (d.kind, d.major, d.minor, d.mode, d.uid, d.gid),
            (libc::S_IFCHR, 10, 229, 0o666, 1, 2)
        );
        let p: LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/p","type":"p","major":0,"minor":0}"#).unwrap();
        assert_eq!(from_spec(&p).unwrap().kind, libc::S_IFIFO);
        let a: LinuxDevice =
            serde_json::from_str(r#"{"path":"/dev/a","type":"a","major":0,"minor":0}"#).unwrap();
        assert!(from_spec(&a).is_err());
    }
}
