//! The peak resident set of one runtime command, read from its own memory map.
//!
//! `ru_maxrss` from `wait4` cannot be used for this: the kernel folds the peak of the
//! address space a process leaves at `execve` into the value it reports, and a child
//! spawned by this benchmark leaves *ours* (vfork shares it; fork copies its anonymous
//! pages). Every runtime's figure was then at least the benchmark's own peak (2.4 MB
//! here), which hid anything smaller. Instead the command runs traced
//! (`PTRACE_TRACEME`, stopped only at exec and at exit) and `VmHWM` — the high-water
//! mark of the command's own address space — is read from `/proc/<pid>/status` at its
//! exit stop, before the address space goes. The trace stops cost time, so these calls
//! are made apart from the timed ones.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

fn last_os_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn ptrace(req: libc::c_uint, pid: i32, data: usize) -> io::Result<()> {
    // SAFETY: the requests used here (SETOPTIONS, CONT) take an integer as data.
    let r = unsafe { libc::ptrace(req, pid, 0usize, data) };
    if r == -1 {
        return Err(last_os_error("ptrace"));
    }
    Ok(())
}

fn waitpid(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer; pid is our child.
        if unsafe { libc::waitpid(pid, &mut status, libc::__WALL) } == pid {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `VmHWM` in KiB from the text of `/proc/<pid>/status`.
pub fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// Runs `program args` (stdin from /dev/null, stdout and stderr to `output`) to its end
/// and returns its exit code and its own peak RSS in KiB.
pub fn run(program: &Path, args: &[&str], output: &Path) -> io::Result<(i32, u64)> {
    let out = File::create(output)?;
    let err = out.try_clone()?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
    // SAFETY: PTRACE_TRACEME only marks this forked child as traced by us.
    unsafe {
        cmd.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    let pid = child.id() as i32;
    // The exec stop.
    let status = waitpid(pid)?;
    if !libc::WIFSTOPPED(status) {
        return Err(io::Error::other("traced command did not stop at exec"));
    }
    ptrace(
        libc::PTRACE_SETOPTIONS,
        pid,
        (libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL) as usize,
    )?;
    ptrace(libc::PTRACE_CONT, pid, 0)?;
    let mut peak = None;
    loop {
        let status = waitpid(pid)?;
        if libc::WIFEXITED(status) {
            let peak = peak.ok_or_else(|| io::Error::other("no exit stop seen"))?;
            return Ok((libc::WEXITSTATUS(status), peak));
        }
        if libc::WIFSIGNALED(status) {
            let peak = peak.ok_or_else(|| io::Error::other("no exit stop seen"))?;
            return Ok((128 + libc::WTERMSIG(status), peak));
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        let signal = if status >> 16 == libc::PTRACE_EVENT_EXIT {
            let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
            peak = Some(vm_hwm_kib(&text).ok_or_else(|| io::Error::other("no VmHWM at exit"))?);
            0
        } else if status >> 8 == libc::SIGTRAP {
            0
        } else {
            libc::WSTOPSIG(status)
        };
        ptrace(libc::PTRACE_CONT, pid, signal as usize)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status = "Name:\tquai\nVmPeak:\t  9000 kB\nVmHWM:\t    1592 kB\nVmRSS:\t 1500 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(1592));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
    }

    #[test]
    fn a_small_command_is_not_floored_by_a_large_parent() {
        // Grow this process well past any small command's size, then measure one.
        let ballast = vec![1u8; 64 << 20];
        std::hint::black_box(&ballast);
        let out = std::env::temp_dir().join(format!("peak-test-{}", std::process::id()));
        let (code, kib) = run(Path::new("/bin/true"), &[], &out).expect("traced run");
        let _ = std::fs::remove_file(&out);
        assert_eq!(code, 0);
        assert!(kib > 0 && kib < 16 << 10, "/bin/true peaked at {kib} KiB");
    }
}
