//! Path resolution that cannot leave a directory: every path inside a container's rootfs
//! is opened relative to a directory fd with `openat2(RESOLVE_IN_ROOT)`, so a symlink
//! planted in an image can never redirect a mount, mknod or write to the host.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// An open directory through which paths are resolved as if it were `/`.
#[derive(Debug)]
pub struct RootfsDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// The path through which an fd can be named to system calls that take a path.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/thread-self/fd/{}", fd.as_raw_fd()))
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `openat2(2)` with the given `resolve` flags.
pub fn openat2(
    dirfd: RawFd,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = resolve;
    loop {
        // SAFETY: `c` and `how` outlive the call; the kernel returns a new fd or -1.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd,
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r >= 0 {
            // SAFETY: a successful openat2 returns a fresh fd we now own.
            return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EAGAIN) && e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

/// How many dangling symlinks one creation may follow (the kernel's limit).
const MAX_LINKS: u32 = 40;

/// The path a symlink at `link` (inside the root) with contents `target` names, with
/// `rest` appended. A relative target is joined to the link's parent as written: the
/// kernel resolves `..` in it from the directory the link really is in.
fn link_target(link: &Path, target: &Path, rest: &[Component]) -> PathBuf {
    let mut next = if target.is_absolute() {
        target.to_path_buf()
    } else {
        Path::new("/")
            .join(link.parent().unwrap_or(Path::new("")))
            .join(target)
    };
    for c in rest {
        next.push(c);
    }
    next
}

/// Makes a path relative ("/a/b" -> "a/b"), dropping `.` components; `..` is left to
/// the kernel, which keeps it inside the root under `RESOLVE_IN_ROOT`.
pub fn relative(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => out.push(".."),
            Component::Normal(n) => out.push(n),
        }
    }
    out
}

impl RootfsDir {
    /// Opens `path` (a host path) as the root of later resolutions.
    pub fn open(path: &Path) -> io::Result<Self> {
        let fd = openat2(libc::AT_FDCWD, path, libc::O_PATH | libc::O_DIRECTORY, 0, 0)?;
        Ok(Self {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The host path this directory was opened from (for messages only).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `path` inside the root with `flags` (O_CLOEXEC is always added).
    pub fn open_in(&self, path: &Path, flags: i32) -> io::Result<OwnedFd> {
        let rel = relative(path);
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel
        };
        openat2(self.fd.as_raw_fd(), &rel, flags, 0, IN_ROOT)
    }

    /// Opens `path` as an `O_PATH` fd, following symlinks only inside the root.
    pub fn open_path(&self, path: &Path) -> io::Result<OwnedFd> {
        self.open_in(path, libc::O_PATH)
    }

    /// Opens `path` inside the root refusing every symlink on the way (`ELOOP`), the
    /// last component included: what is opened is at exactly that path.
    pub fn open_no_symlinks(&self, path: &Path, flags: i32) -> io::Result<OwnedFd> {
        let rel = relative(path);
        let rel = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel
        };
        openat2(
            self.fd.as_raw_fd(),
            &rel,
            // No O_NOFOLLOW: with O_PATH it would open a trailing link instead of failing.
            flags & !libc::O_NOFOLLOW,
            0,
            IN_ROOT | libc::RESOLVE_NO_SYMLINKS,
        )
    }

    /// Creates every missing directory of `path` inside the root and returns an
    /// `O_PATH` fd of the last one. Each step is resolved inside the root; a dangling
    /// symlink on the way (`/var/run -> ../run` with no `/run`) has its target created,
    /// as runc does.
    pub fn mkdir_all(&self, path: &Path, mode: u32) -> io::Result<OwnedFd> {
        self.mkdir_all_depth(path, mode, 0)
    }

    fn mkdir_all_depth(&self, path: &Path, mode: u32, depth: u32) -> io::Result<OwnedFd> {
        let rel = relative(path);
        let comps: Vec<Component> = rel.components().collect();
        // Start from the deepest ancestor that exists (most often the path itself, or
        // its parent), resolved inside the root. A prefix resolves only if every prefix
        // of it does, so this is where a walk from the root would stop too; it costs
        // one lookup per missing component instead of one per component.
        let dir = libc::O_PATH | libc::O_DIRECTORY;
        let mut have = comps.len();
        let mut cur = loop {
            let prefix: PathBuf = comps[..have].iter().collect();
            match self.open_in(&prefix, dir) {
                Ok(fd) => break fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && have > 0 => have -= 1,
                Err(e) => return Err(e),
            }
        };
        let mut so_far: PathBuf = comps[..have].iter().collect();
        for (i, comp) in comps.iter().enumerate().skip(have) {
            so_far.push(comp);
            let name = cstr(Path::new(comp.as_os_str()))?;
            // SAFETY: `cur` is a directory fd and `name` a single component.
            let r = unsafe { libc::mkdirat(cur.as_raw_fd(), name.as_ptr(), mode) };
            if r != 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(e);
                }
                // Something is there that does not resolve: a dangling link.
                if let Ok(target) = nix::fcntl::readlinkat(&cur, comp.as_os_str()) {
                    if depth >= MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let next = link_target(&so_far, Path::new(&target), &comps[i + 1..]);
                    return self.mkdir_all_depth(&next, mode, depth + 1);
                }
            }
            // What was just made (or raced into place) is resolved from the root again.
            cur = self.open_in(&so_far, dir)?;
        }
        Ok(cur)
    }

    /// Creates an empty regular file at `path` (and its parent directories) if it does
    /// not exist, and returns an `O_PATH` fd of whatever is there. A dangling symlink
    /// at `path` is followed inside the root and its target created, as runc does.
    pub fn create_file(&self, path: &Path, mode: u32) -> io::Result<OwnedFd> {
        self.create_file_depth(path, mode, 0)
    }

    fn create_file_depth(&self, path: &Path, mode: u32, depth: u32) -> io::Result<OwnedFd> {
        if let Ok(fd) = self.open_path(path) {
            return Ok(fd);
        }
        if depth > MAX_LINKS {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        let rel = relative(path);
        let parent = rel.parent().unwrap_or(Path::new(""));
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        let dir = self.mkdir_all(parent, 0o755)?;
        let dir = openat2(
            dir.as_raw_fd(),
            Path::new("."),
            libc::O_DIRECTORY | libc::O_RDONLY,
            0,
            0,
        )?;
        let created = openat2(
            dir.as_raw_fd(),
            Path::new(name),
            libc::O_CREAT | libc::O_WRONLY | libc::O_NOFOLLOW,
            mode,
            libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS,
        );
        match created {
            Ok(f) => drop(f),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                // A dangling symlink: create what it points to, resolved inside the root.
                let target =
                    nix::fcntl::readlinkat(&dir, Path::new(name)).map_err(io::Error::from)?;
                let next = link_target(&rel, Path::new(&target), &[]);
                self.create_file_depth(&next, mode, depth + 1)?;
            }
            Err(e) => return Err(e),
        }
        self.open_path(path)
    }
}

impl AsFd for RootfsDir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Reads `f` to its end with plain `read`s: not `File::read_to_end`, whose size hint
/// costs a `statx` and an `lseek` per file (cgroup files say size 0 anyway): `list`
/// reads a state file and a freezer file per container.
pub fn read_all(f: &std::fs::File) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut f = f;
    loop {
        match f.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads a whole file whose size the kernel does not know ahead (procfs, cgroupfs)
/// with plain 4 KiB reads ([`read_all`]), where `fs::read_to_string` would ask its
/// size and then read in 32-byte steps doubling: 2 reads of mountinfo instead of 9.
pub fn read_text(path: &Path) -> io::Result<String> {
    read_all_text(&std::fs::File::open(path)?)
}

/// [`read_all`] of an open file, as UTF-8 text.
pub fn read_all_text(f: &std::fs::File) -> io::Result<String> {
    String::from_utf8(read_all(f)?).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("quai-rootdir-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn relative_strips_root_and_dots() {
        assert_eq!(relative(Path::new("/a/./b/")), PathBuf::from("a/b"));
        assert_eq!(relative(Path::new("/")), PathBuf::new());
        assert_eq!(relative(Path::new("/a/../b")), PathBuf::from("a/../b"));
    }

    #[test]
    fn absolute_symlink_stays_inside_root() {
        let d = tmpdir("abs");
        std::fs::create_dir_all(d.join("etc")).unwrap();
        symlink("/etc", d.join("evil")).unwrap();
        let root = RootfsDir::open(&d).unwrap();
        // mkdir through the link must land in <root>/etc, not the host's /etc.
        root.mkdir_all(Path::new("/evil/quai-probe-dir"), 0o755)
            .unwrap();
        assert!(d.join("etc/quai-probe-dir").is_dir());
        assert!(!Path::new("/etc/quai-probe-dir").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn dangling_symlink_target_is_made_inside_root() {
        let d = tmpdir("dangling");
        std::fs::create_dir_all(d.join("etc")).unwrap();
        symlink("../run/resolve/stub.conf", d.join("etc/resolv.conf")).unwrap();
        symlink("/tmp/quai-should-not-exist", d.join("abs")).unwrap();
        let root = RootfsDir::open(&d).unwrap();
        root.create_file(Path::new("/etc/resolv.conf"), 0o644)
            .unwrap();
        assert!(d.join("run/resolve/stub.conf").is_file());
        root.create_file(Path::new("/abs"), 0o644).unwrap();
        assert!(d.join("tmp/quai-should-not-exist").is_file());
        assert!(!Path::new("/tmp/quai-should-not-exist").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn parent_components_stay_inside_and_files_in_the_way_fail() {
        use std::os::unix::fs::MetadataExt;
        let d = tmpdir("dotdot");
        let root = RootfsDir::open(&d).unwrap();
        root.mkdir_all(Path::new("/a/../../../quai-dotdot/x"), 0o755)
            .unwrap();
        assert!(d.join("quai-dotdot/x").is_dir());
        assert!(!Path::new("/quai-dotdot").exists());
        // Already there: that very directory comes back.
        let again = root.mkdir_all(Path::new("/quai-dotdot/x"), 0o755).unwrap();
        // SAFETY: a zeroed stat is a valid out buffer for fstat on an open fd.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(again.as_raw_fd(), &mut st) }, 0);
        let ino = std::fs::metadata(d.join("quai-dotdot/x")).unwrap().ino();
        assert_eq!(st.st_ino, ino);
        std::fs::write(d.join("file"), "").unwrap();
        let e = root.mkdir_all(Path::new("/file/sub"), 0o755).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTDIR));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn dangling_directory_links_are_created_inside_root() {
        let d = tmpdir("dangdir");
        std::fs::create_dir_all(d.join("var")).unwrap();
        symlink("../run", d.join("var/run")).unwrap();
        symlink("/srv/a", d.join("abs")).unwrap();
        let root = RootfsDir::open(&d).unwrap();
        root.mkdir_all(Path::new("/var/run/x/y"), 0o755).unwrap();
        assert!(d.join("run/x/y").is_dir());
        root.mkdir_all(Path::new("/abs/b"), 0o755).unwrap();
        assert!(d.join("srv/a/b").is_dir());
        assert!(!Path::new("/srv/a/b").exists());
        // A file below a dangling link too.
        std::fs::remove_dir_all(d.join("run")).unwrap();
        root.create_file(Path::new("/var/run/f"), 0o644).unwrap();
        assert!(d.join("run/f").is_file());
        // A loop is an error, not a hang.
        symlink("loop2", d.join("loop1")).unwrap();
        symlink("loop1", d.join("loop2")).unwrap();
        assert!(root.mkdir_all(Path::new("/loop1/x"), 0o755).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn no_symlinks_refuses_links_anywhere() {
        let d = tmpdir("nosym");
        std::fs::create_dir_all(d.join("dev")).unwrap();
        std::fs::write(d.join("dev/real"), "").unwrap();
        symlink("real", d.join("dev/lnk")).unwrap();
        symlink("dev", d.join("devlink")).unwrap();
        let root = RootfsDir::open(&d).unwrap();
        assert!(root
            .open_no_symlinks(Path::new("/dev/real"), libc::O_PATH)
            .is_ok());
        for p in ["/dev/lnk", "/devlink/real"] {
            let e = root
                .open_no_symlinks(Path::new(p), libc::O_PATH)
                .unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{p}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn dotdot_cannot_escape() {
        let d = tmpdir("dotdot");
        let root = RootfsDir::open(&d).unwrap();
        root.create_file(Path::new("/../../x/file"), 0o644).unwrap();
        assert!(d.join("x/file").is_file());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
