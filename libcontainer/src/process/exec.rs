//! The last steps before `execve`: finding the program on the container's PATH and
//! restoring signal dispositions.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The value of `PATH` in `env`, or the default runc uses.
fn path_var(env: &[String]) -> &str {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
}

fn is_executable_file(p: &Path) -> Result<(), io::Error> {
    // By path on purpose: the program is the container's, looked up in its own root.
    let md = std::fs::metadata(p)?;
    if md.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    if md.permissions().mode() & 0o111 == 0 {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    Ok(())
}

/// Resolves `arg0` as `execvp` would, in the current root, with runc's messages.
pub fn find_program(arg0: &str, env: &[String]) -> Result<PathBuf, String> {
    if arg0.contains('/') {
        let p = PathBuf::from(arg0);
        return match is_executable_file(&p) {
            Ok(()) => Ok(p),
            Err(e) => Err(format!("exec: {arg0:?}: stat {arg0}: {}", describe(&e))),
        };
    }
    for dir in path_var(env).split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(arg0);
        if is_executable_file(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(format!(
        "exec: {arg0:?}: executable file not found in $PATH"
    ))
}

fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::EACCES) => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// After `chdir` into the process's cwd: refuses a working directory outside the
/// container's root (the CVE-2024-21626 class: a runtime fd named as the cwd).
pub fn check_cwd(cwd: &std::path::Path) -> Result<(), String> {
    // glibc's getcwd fails with ENOENT where the kernel says "(unreachable)".
    let outside = || {
        format!(
            "current working directory {} is outside of the container root",
            cwd.display()
        )
    };
    let now = nix::unistd::getcwd().map_err(|e| match e {
        nix::errno::Errno::ENOENT => outside(),
        e => format!("getcwd: {e}"),
    })?;
    if !now.is_absolute() || now.starts_with("(unreachable)") {
        return Err(outside());
    }
    Ok(())
}

/// Restores default dispositions (the Rust runtime ignores SIGPIPE, which `execve`
/// would otherwise pass on) and unblocks every signal.
pub fn reset_signals() {
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: restoring the default handler is always valid.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    // SAFETY: an empty set, valid pointer.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

fn cstrings<'a>(items: impl Iterator<Item = &'a [u8]>) -> Result<Vec<CString>, String> {
    items
        .map(|b| {
            CString::new(b).map_err(|_| "argument or environment contains a NUL byte".to_string())
        })
        .collect()
}

/// Replaces the process with `program`; returns only on failure.
pub fn execve(program: &Path, args: &[String], env: &[String]) -> io::Error {
    let prog = match CString::new(program.as_os_str().as_bytes()) {
        Ok(p) => p,
        Err(_) => return io::Error::from_raw_os_error(libc::EINVAL),
    };
    let (Ok(argv), Ok(envp)) = (
        cstrings(args.iter().map(|a| a.as_bytes())),
        cstrings(env.iter().map(|a| a.as_bytes())),
    ) else {
        return io::Error::from_raw_os_error(libc::EINVAL);
    };
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(prog.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr()) };
    io::Error::last_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_on_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        let p = find_program("sh", &env).unwrap();
        assert!(p.ends_with("sh"));
        let e = find_program("definitely-not-a-program-quai", &env).unwrap_err();
        assert!(e.contains("executable file not found in $PATH"), "{e}");
        let e = find_program("/no/such/file", &env).unwrap_err();
        assert!(e.contains("no such file or directory"), "{e}");
        let e = find_program("/etc", &env).unwrap_err();
        assert!(e.contains("permission denied"), "{e}");
    }

    #[test]
    fn last_path_wins() {
        assert_eq!(path_var(&["PATH=/a".into(), "PATH=/b".into()]), "/b");
        assert!(path_var(&[]).contains("/bin"));
    }
}
