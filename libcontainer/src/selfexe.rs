//! The runtime's own binary, out of reach from inside a container (the CVE-2019-5736
//! class).
//!
//! The init and the exec helper are clones of the runtime: until their `execve`, their
//! `/proc/self/exe` is the runtime's binary. A container that makes that `execve` run
//! `#!/proc/self/exe` (an image file, `process.args[0]`, a startContainer hook) gets
//! the host's runtime running inside the container, dumpable, with an exe link that a
//! container process — or the runtime itself, told `--log=/proc/self/exe` — can open
//! for writing: the next runtime call on the host then runs the container's code as
//! root.
//!
//! The defence here copies nothing. A runtime process that is going to start container
//! processes (`create`, `run`, `exec`) first re-executes itself through a *detached,
//! read-only* bind mount of its own binary (`open_tree(OPEN_TREE_CLONE)`,
//! `mount_setattr(MOUNT_ATTR_RDONLY)`, `execveat(AT_EMPTY_PATH)`): its clones inherit an
//! exe link that lands on that read-only mount, where opening for writing fails with
//! `EROFS` however the file is reached through it. The mount is attached nowhere (no
//! entry in any mount table, nothing propagates, nothing is left behind: it goes with
//! the last process running from it), and it is the host file's own page cache, which
//! nothing can write through it. Taking it back to read-write needs `CAP_SYS_ADMIN` over
//! the mount namespace that made it, the host's.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Set in the environment of the re-executed process, and removed by it at once: a
/// second pass that still finds its exe writable fails instead of looping.
const MARKER: &str = "_QUAI_EXE_READ_ONLY";

const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Whether the file `fd` names sits on a read-only mount or filesystem.
pub fn is_read_only(fd: &OwnedFd) -> io::Result<bool> {
    // SAFETY: a zeroed statvfs is a valid out buffer; fd is open.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(os_err("fstatvfs"));
    }
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

/// The running binary, as an `O_PATH` fd.
pub fn own_binary() -> io::Result<OwnedFd> {
    let path = c"/proc/self/exe";
    // SAFETY: a constant C string; the kernel returns a new fd or -1.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(os_err("open /proc/self/exe"));
    }
    // SAFETY: a fresh fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A detached read-only (and nosuid, nodev) bind mount of the file `fd` names.
pub fn read_only_view(fd: &OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: open_tree on our fd with an empty path; returns a new fd or -1.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd.as_raw_fd(),
            c"".as_ptr(),
            OPEN_TREE_CLONE | libc::AT_EMPTY_PATH as libc::c_uint | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if tree < 0 {
        return Err(os_err("open_tree"));
    }
    // SAFETY: a fresh fd we own.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as libc::c_int) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `attr` outlives the call and its size is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(os_err("mount_setattr"));
    }
    Ok(tree)
}

fn cstrings(v: impl IntoIterator<Item = OsString>) -> io::Result<Vec<CString>> {
    v.into_iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
        })
        .collect()
}

/// Makes sure this process runs its binary from a read-only mount: returns at once
/// when it does (or after a re-execution that made it so), and otherwise re-executes
/// itself with `args` through a read-only view of the binary, never returning.
///
/// Call it first thing in a process that will start container processes, while it is
/// still single-threaded. An unprivileged caller (no `CAP_SYS_ADMIN`: rootless, where
/// the container's root is not the binary's owner) is left as it is.
pub fn run_from_read_only_view(args: &[OsString]) -> io::Result<()> {
    let again = std::env::var_os(MARKER).is_some();
    if again {
        // Not for the container, nor for anything this process starts.
        std::env::remove_var(MARKER);
    }
    let exe = own_binary()?;
    if is_read_only(&exe)? {
        if again {
            // execveat(AT_EMPTY_PATH) names the process after the fd ("3"): give the
            // name back for ps and for engines that look.
            set_name_from(args);
        }
        return Ok(());
    }
    if again {
        return Err(io::Error::other(
            "still running from a writable binary after re-executing through a read-only view",
        ));
    }
    let view = match read_only_view(&exe) {
        Ok(v) => v,
        // Without the privilege to make a mount outside the host's root (rootless, or
        // root of a user namespace), the container's root is not the binary's owner:
        // the binary is out of reach anyway.
        // (`os_err` keeps the kind, not the errno: EPERM is PermissionDenied.)
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && crate::caller::is_rootless() => {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    let argv = cstrings(args.iter().cloned())?;
    let mut envp = cstrings(std::env::vars_os().map(|(k, v)| {
        let mut kv = k;
        kv.push("=");
        kv.push(v);
        kv
    }))?;
    envp.push(CString::new(format!("{MARKER}=1")).expect("no NUL"));
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NULL-terminated arrays of valid C strings that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            view.as_raw_fd(),
            c"".as_ptr(),
            argv_p.as_ptr(),
            envp_p.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(os_err("execveat of the read-only view"))
}

/// Sets the process name (`comm`) to the base name of `args[0]`.
fn set_name_from(args: &[OsString]) {
    let Some(a0) = args.first() else { return };
    let base = a0
        .as_bytes()
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or(b"quai");
    let mut name = [0u8; 16];
    let n = base.len().min(15);
    name[..n].copy_from_slice(&base[..n]);
    // SAFETY: a NUL-terminated buffer of 16 bytes.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_view_cannot_be_opened_for_writing() {
        if crate::caller::euid() != 0 {
            eprintln!("skipped: making a mount needs root (the tests run as root in CI)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("quai-selfexe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bin");
        std::fs::write(&file, b"original").unwrap();
        let f = std::fs::File::open(&file).unwrap();
        let fd = OwnedFd::from(f);
        assert!(
            !is_read_only(&fd).unwrap(),
            "{} is on a read-only fs",
            dir.display()
        );
        let view = read_only_view(&fd).expect("read-only view");
        assert!(is_read_only(&view).unwrap());
        // Reopening the view for writing, as a container would through an exe link.
        let via = format!("/proc/self/fd/{}", view.as_raw_fd());
        let e = std::fs::OpenOptions::new()
            .append(true)
            .open(&via)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{e}");
        drop(view);
        assert_eq!(std::fs::read(&file).unwrap(), b"original");
        // The view was attached nowhere: no mount table mentions the file.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains(&*dir.to_string_lossy()), "{mounts}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
