//! A handle on `/proc` that is checked to be the real procfs, and the few facts we read
//! from it about processes.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::rootdir::openat2;

/// An `O_PATH` fd of a procfs mount, verified with `fstatfs`.
#[derive(Debug)]
pub struct ProcHandle {
    fd: OwnedFd,
}

impl ProcHandle {
    /// Opens `/proc` and checks that it is procfs.
    pub fn open() -> io::Result<Self> {
        Self::open_at(Path::new("/proc"))
    }

    /// Opens a procfs mount at `path` and checks that it is procfs.
    pub fn open_at(path: &Path) -> io::Result<Self> {
        let fd = openat2(
            libc::AT_FDCWD,
            path,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            libc::RESOLVE_NO_SYMLINKS,
        )?;
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open and `st` is a valid out-pointer.
        if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(io::Error::last_os_error());
        }
        if st.f_type != libc::PROC_SUPER_MAGIC {
            return Err(io::Error::other(format!(
                "{} is not procfs",
                path.display()
            )));
        }
        Ok(Self { fd })
    }

    /// Opens a file below this procfs, refusing symlinks other than the `self` ones
    /// procfs provides, and never crossing into another filesystem.
    pub fn open_file(&self, rel: &str, flags: i32) -> io::Result<OwnedFd> {
        openat2(
            self.fd.as_raw_fd(),
            Path::new(rel),
            flags,
            0,
            libc::RESOLVE_NO_XDEV | libc::RESOLVE_NO_MAGICLINKS,
        )
    }

    /// Opens one of the calling thread's own fds again with new `flags`, through the
    /// `thread-self/fd` magic link of this verified procfs (used to turn an `O_PATH`
    /// fd of the exec fifo into a writable one after pivot_root). A plain `openat`,
    /// not openat2: the init may already run under the container's seccomp filter
    /// here, and profiles written for runc (runtime-tools', older Docker ones) allow
    /// openat but not openat2. Nothing can be mounted over this handle's procfs (the
    /// container never sees it), so there is nothing for openat2's checks to catch.
    pub fn reopen_fd(&self, fd: i32, flags: i32) -> io::Result<OwnedFd> {
        nix::fcntl::openat(
            &self.fd,
            format!("thread-self/fd/{fd}").as_str(),
            nix::fcntl::OFlag::from_bits_retain(flags | libc::O_CLOEXEC),
            nix::sys::stat::Mode::empty(),
        )
        .map_err(io::Error::from)
    }

    /// Where one of the calling thread's fds points, as the kernel names it
    /// (`readlink thread-self/fd/N` of this verified procfs): the path from the
    /// process's root, whatever symlinks were followed to open it.
    pub fn fd_target(&self, fd: BorrowedFd<'_>) -> io::Result<PathBuf> {
        let link = format!("thread-self/fd/{}", fd.as_raw_fd());
        nix::fcntl::readlinkat(&self.fd, link.as_str())
            .map(PathBuf::from)
            .map_err(io::Error::from)
    }

    /// Opens `<pid>/ns/<kind>` (a magic link to a namespace file).
    pub fn open_ns(&self, pid: i32, kind: &str) -> io::Result<OwnedFd> {
        openat2(
            self.fd.as_raw_fd(),
            Path::new(&format!("{pid}/ns/{kind}")),
            libc::O_RDONLY,
            0,
            0,
        )
    }

    /// Reads a whole file below this procfs.
    pub fn read(&self, rel: &str) -> io::Result<String> {
        let fd = self.open_file(rel, libc::O_RDONLY)?;
        // Plain reads: procfs files say size 0, so read_to_string's size hint (a statx
        // and an lseek per file) buys nothing.
        crate::rootdir::read_all_text(&std::fs::File::from(fd))
    }

    /// Writes `data` to a file below this procfs in one `write`.
    pub fn write(&self, rel: &str, data: &str) -> io::Result<()> {
        use std::io::Write;
        let fd = self.open_file(rel, libc::O_WRONLY)?;
        std::fs::File::from(fd).write_all(data.as_bytes())
    }

    /// The start time (field 22 of `/proc/<pid>/stat`) and the state letter of `pid`.
    pub fn stat(&self, pid: i32) -> io::Result<ProcStat> {
        // One read into a buffer the line fits (a comm of 64 bytes and 52 numbers), not
        // read_to_string's size probing and doubling: `list` does this per container.
        let fd = self.open_file(&format!("{pid}/stat"), libc::O_RDONLY)?;
        let mut f = std::fs::File::from(fd);
        let mut buf = [0u8; 1536];
        let mut len = 0;
        loop {
            match f.read(&mut buf[len..])? {
                0 => break,
                n => len += n,
            }
            if len == buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "/proc/<pid>/stat longer than expected",
                ));
            }
        }
        // The command name is the process's to choose, any bytes: never a reason to
        // misread the numbers after it (a container must not look stopped by renaming
        // itself), so it is read lossily.
        parse_stat(&String::from_utf8_lossy(&buf[..len]))
    }
}

/// What we need from `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Process state letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// Start time in clock ticks since boot; with the PID it names a process uniquely.
    pub start_time: u64,
}

impl ProcStat {
    /// True when this is the process that started at `start_time` and it has not
    /// exited (a zombie or dead task is gone for a container's purposes).
    pub fn is_alive_since(&self, start_time: u64) -> bool {
        self.start_time == start_time && self.state != 'Z' && self.state != 'X'
    }
}

/// Parses `/proc/<pid>/stat`; the command name may contain spaces and parentheses, so
/// fields are counted from the last `)`.
pub fn parse_stat(s: &str) -> io::Result<ProcStat> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed /proc/<pid>/stat");
    let rest = &s[s.rfind(')').ok_or_else(bad)? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); start time is field 22.
    let state = fields
        .first()
        .and_then(|f| f.chars().next())
        .ok_or_else(bad)?;
    let start_time = fields.get(19).ok_or_else(bad)?.parse().map_err(|_| bad())?;
    Ok(ProcStat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_of_a_process_that_named_itself_with_any_bytes() {
        // A container's process picks its own name: invalid UTF-8 and a ')' in it must
        // not make it unreadable (it would look stopped to `state`, `list`, `delete`).
        crate::test_support::in_child(|| {
            let name = b"\xff) S (\xfe\0";
            // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
            unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
            let proc = ProcHandle::open().map_err(|e| e.to_string())?;
            let st = proc
                .stat(std::process::id() as i32)
                .map_err(|e| e.to_string())?;
            match st.state {
                'R' | 'S' => Ok(()),
                other => Err(format!(
                    "read state {other:?}, start time {}",
                    st.start_time
                )),
            }
        });
    }

    #[test]
    fn parses_stat_with_odd_comm() {
        let line = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 12345 1000 10";
        let st = parse_stat(line).unwrap();
        assert_eq!(st.state, 'S');
        assert_eq!(st.start_time, 12345);
        assert!(st.is_alive_since(12345));
        assert!(
            !st.is_alive_since(12346),
            "another process with the same PID"
        );
        let zombie = ProcStat { state: 'Z', ..st };
        assert!(!zombie.is_alive_since(12345));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_stat("nonsense").is_err());
        assert!(parse_stat("1 (x) S 1").is_err());
    }

    #[test]
    fn names_an_fd_by_its_real_path() {
        let p = ProcHandle::open().unwrap();
        let f = std::fs::File::open("/proc/self/../version").unwrap();
        use std::os::fd::AsFd;
        assert_eq!(
            p.fd_target(f.as_fd()).unwrap(),
            PathBuf::from("/proc/version")
        );
    }

    #[test]
    fn reads_own_stat() {
        let p = ProcHandle::open().unwrap();
        let st = p.stat(std::process::id() as i32).unwrap();
        assert!(st.start_time > 0);
    }
}
