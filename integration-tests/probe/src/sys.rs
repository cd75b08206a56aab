//! Thin wrappers over the few libc calls the probe needs.

use crate::json::Json;
use std::ffi::{CStr, CString};

/// (uid, euid, gid, egid).
pub fn ids() -> (u32, u32, u32, u32) {
    // SAFETY: these calls cannot fail and take no pointers.
    unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    }
}

/// The parent's pid as this process sees it (0 for a namespace's init).
pub fn ppid() -> i32 {
    // SAFETY: getppid cannot fail.
    unsafe { libc::getppid() }
}

/// Supplementary group ids.
pub fn groups() -> Vec<u32> {
    let mut buf = vec![0 as libc::gid_t; 1024];
    // SAFETY: buf holds 1024 entries, as we tell the kernel.
    let n = unsafe { libc::getgroups(buf.len() as i32, buf.as_mut_ptr()) };
    buf.truncate(n.max(0) as usize);
    buf
}

/// Whether fd is a terminal.
pub fn isatty(fd: i32) -> bool {
    // SAFETY: isatty only inspects the fd.
    unsafe { libc::isatty(fd) == 1 }
}

/// The terminal window size of fd as (rows, cols), if it is a terminal.
pub fn winsize(fd: i32) -> Option<(u16, u16)> {
    // SAFETY: winsize is plain data that TIOCGWINSZ fills.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: ws is a valid winsize for this ioctl.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0).then_some((ws.ws_row, ws.ws_col))
}

fn cstr_field(f: &[libc::c_char]) -> String {
    // SAFETY: uname NUL-terminates every field.
    unsafe { CStr::from_ptr(f.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// (nodename, domainname) from uname(2).
pub fn uname() -> (String, String) {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (String::new(), String::new());
    }
    (cstr_field(&u.nodename), cstr_field(&u.domainname))
}

const RLIMITS: &[(&str, i32)] = &[
    ("RLIMIT_AS", libc::RLIMIT_AS as i32),
    ("RLIMIT_CORE", libc::RLIMIT_CORE as i32),
    ("RLIMIT_CPU", libc::RLIMIT_CPU as i32),
    ("RLIMIT_DATA", libc::RLIMIT_DATA as i32),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE as i32),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS as i32),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK as i32),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE as i32),
    ("RLIMIT_NICE", libc::RLIMIT_NICE as i32),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE as i32),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC as i32),
    ("RLIMIT_RSS", libc::RLIMIT_RSS as i32),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO as i32),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME as i32),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING as i32),
    ("RLIMIT_STACK", libc::RLIMIT_STACK as i32),
];

/// Every rlimit as `{"soft": n, "hard": n}`; unlimited is u64::MAX.
pub fn rlimits() -> Json {
    Json::Obj(
        RLIMITS
            .iter()
            .map(|(name, res)| {
                let mut r = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                // SAFETY: r is a valid rlimit; the resource numbers come from libc.
                let ok = unsafe { libc::getrlimit(*res as _, &mut r) } == 0;
                let v = if ok {
                    Json::obj(vec![
                        ("soft", Json::Int(r.rlim_cur.into())),
                        ("hard", Json::Int(r.rlim_max.into())),
                    ])
                } else {
                    Json::Null
                };
                (name.to_string(), v)
            })
            .collect(),
    )
}

/// lstat(2) of a path: exists, type, mode (permission bits), major/minor, owner, link target.
pub fn stat(path: &str) -> Json {
    let Ok(c) = CString::new(path) else {
        return Json::obj(vec![("exists", Json::Bool(false))]);
    };
    // SAFETY: stat is plain data that lstat fills.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated and st valid.
    if unsafe { libc::lstat(c.as_ptr(), &mut st) } != 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Json::obj(vec![
            ("exists", Json::Bool(false)),
            ("errno", Json::Int(errno.into())),
        ]);
    }
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => "file",
        libc::S_IFDIR => "dir",
        libc::S_IFLNK => "symlink",
        libc::S_IFCHR => "char",
        libc::S_IFBLK => "block",
        libc::S_IFIFO => "fifo",
        libc::S_IFSOCK => "socket",
        _ => "unknown",
    };
    let target = std::fs::read_link(path)
        .map(|t| Json::s(t.to_string_lossy()))
        .unwrap_or(Json::Null);
    Json::obj(vec![
        ("exists", Json::Bool(true)),
        ("type", Json::s(kind)),
        ("mode", Json::s(format!("{:04o}", st.st_mode & 0o7777))),
        ("major", Json::Int(libc::major(st.st_rdev).into())),
        ("minor", Json::Int(libc::minor(st.st_rdev).into())),
        ("uid", Json::Int(st.st_uid.into())),
        ("gid", Json::Int(st.st_gid.into())),
        ("target", target),
    ])
}

/// Open the path for writing (creating it) and write a line; returns the error, if any.
pub fn try_write(path: &str) -> Result<(), std::io::Error> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(b"probe\n")
}

/// Set the default action for sig and send it to ourselves.
pub fn kill_self(sig: i32) -> std::io::Error {
    // SAFETY: resetting a handler to SIG_DFL and raising are async-signal-safe and valid for any signal number.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::kill(libc::getpid(), sig);
    }
    std::io::Error::last_os_error()
}

/// Signal number from "9", "KILL" or "SIGKILL".
pub fn signal_number(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    Some(match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ABRT" => libc::SIGABRT,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "SEGV" => libc::SIGSEGV,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        _ => return None,
    })
}

/// The session keyring as the process sees it: its serial and `KEYCTL_DESCRIBE` text
/// (`keyring;uid;gid;perm;description`), or the errno when keyctl fails.
pub fn session_keyring() -> Json {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEYCTL_DESCRIBE: libc::c_long = 6;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    // SAFETY: keyctl(GET_KEYRING_ID) takes integers only; create=0 never makes a keyring.
    let serial = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0 as libc::c_long,
        )
    };
    if serial < 0 {
        let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Json::obj(vec![("errno", Json::Int(errno.into()))]);
    }
    let mut buf = vec![0u8; 512];
    // SAFETY: buf is writable for buf.len() bytes, as we tell the kernel.
    let n = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            serial,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    let description = if n > 0 {
        let len = (n as usize).min(buf.len());
        let text = String::from_utf8_lossy(&buf[..len]);
        Json::s(text.trim_end_matches('\0'))
    } else {
        Json::Null
    };
    Json::obj(vec![
        ("serial", Json::Int(serial.into())),
        ("description", description),
    ])
}
