//! Running one hook: spawn, feed stdin, collect output, wait with a deadline on a pidfd.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::spec::Hook;

/// How much of a hook's stdout and stderr is kept for the error message; the rest is
/// read and dropped so the hook never blocks on a full pipe.
const KEEP_OUTPUT: usize = 64 * 1024;

/// Why one hook failed; the text follows runc's (`exit status N, stdout: .., stderr: ..`).
#[derive(Debug, thiserror::Error)]
pub enum HookFailure {
    /// The spec gave a timeout that is not a positive number of seconds.
    #[error("invalid timeout {0}: it must be a positive number of seconds")]
    BadTimeout(i64),
    /// The program could not be started.
    #[error("cannot start it: {0}")]
    Start(io::Error),
    /// Talking to or waiting for the hook failed.
    #[error("{what}: {source}")]
    Io {
        /// The step.
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// The hook exited with a non-zero status.
    #[error("exit status {code}, stdout: {stdout}, stderr: {stderr}")]
    Exit {
        /// The exit status.
        code: i32,
        /// What it wrote to stdout (the first 64 KiB).
        stdout: String,
        /// What it wrote to stderr (the first 64 KiB).
        stderr: String,
    },
    /// The hook was killed by a signal, named as Go names it ("bad system call").
    #[error("signal: {}, stdout: {stdout}, stderr: {stderr}", signal_name(*signal))]
    Signal {
        /// The signal number.
        signal: i32,
        /// What it wrote to stdout.
        stdout: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// The hook ran past its timeout and was killed with SIGKILL.
    #[error("timed out: hook ran past specified timeout of {secs}s and was killed, stdout: {stdout}, stderr: {stderr}")]
    TimedOut {
        /// The timeout in seconds.
        secs: i64,
        /// What it wrote to stdout before it was killed.
        stdout: String,
        /// What it wrote to stderr before it was killed.
        stderr: String,
    },
}

/// Runs one hook to completion: `path` with `args` (`argv[0]` is `args[0]`, or `path`
/// when there are no args), exactly `env`, `state_json` on stdin.
pub fn run_one(hook: &Hook, state_json: &str) -> Result<(), HookFailure> {
    let timeout = match hook.timeout() {
        Some(secs) if secs <= 0 => return Err(HookFailure::BadTimeout(secs)),
        Some(secs) => Some(secs),
        None => None,
    };
    let mut child = command(hook).spawn().map_err(HookFailure::Start)?;
    let pipes = take_pipes(&mut child);
    let pidfd = match pipes.and_then(|p| pidfd_open(child.id()).map(|fd| (p, fd))) {
        Ok(v) => v,
        Err(source) => {
            // The child is ours and not reaped: its PID cannot have been reused.
            let _ = child.kill();
            let _ = child.wait();
            return Err(HookFailure::Io {
                what: "setting up the hook's pipes",
                source,
            });
        }
    };
    let ((stdin, stdout, stderr), pidfd) = pidfd;
    let deadline = timeout.map(|s| Instant::now() + Duration::from_secs(s.unsigned_abs()));
    let mut io = HookIo::new(stdin, stdout, stderr, state_json.as_bytes());
    let exchanged = io.exchange(&pidfd, deadline);
    let timed_out = matches!(exchanged, Ok(false));
    if !matches!(exchanged, Ok(true)) {
        // Timed out or the poll failed: the hook must not outlive this call.
        // SAFETY: plain syscall on a pidfd we own.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                libc::SIGKILL,
                0usize,
                0,
            )
        };
    }
    let status = child.wait().map_err(|source| HookFailure::Io {
        what: "waiting for the hook",
        source,
    })?;
    if let Err(source) = exchanged {
        return Err(HookFailure::Io {
            what: "exchanging data with the hook",
            source,
        });
    }
    if timed_out {
        // What it wrote between the last poll and the kill; the pipes may be held open
        // by its children, so this only takes what is already there.
        let _ = io.read_outputs();
    }
    let (stdout, stderr) = io.output();
    if let (true, Some(secs)) = (timed_out, timeout) {
        return Err(HookFailure::TimedOut {
            secs,
            stdout,
            stderr,
        });
    }
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(code), _) => Err(HookFailure::Exit {
            code,
            stdout,
            stderr,
        }),
        (None, Some(signal)) => Err(HookFailure::Signal {
            signal,
            stdout,
            stderr,
        }),
        (None, None) => Err(HookFailure::Exit {
            code: -1,
            stdout,
            stderr,
        }),
    }
}

/// The hook's command: its own argv[0], only its own environment, piped stdio, and no
/// inherited descriptor beyond 0-2.
fn command(hook: &Hook) -> Command {
    let mut cmd = Command::new(program(hook.path()));
    match hook.args().as_deref() {
        Some([argv0, rest @ ..]) => {
            cmd.arg0(argv0).args(rest);
        }
        _ => {
            cmd.arg0(hook.path());
        }
    }
    cmd.env_clear();
    // Entries without '=' cannot be passed through Command and mean nothing to a program.
    for (k, v) in hook
        .env()
        .iter()
        .flatten()
        .filter_map(|e| e.split_once('='))
    {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: close_range is async-signal-safe; CLOEXEC (not close) keeps std's own
    // exec-status pipe working until the execve.
    unsafe {
        cmd.pre_exec(|| {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        });
    }
    cmd
}

/// The program to exec: a bare name is run from the current directory, as runc's
/// `exec.Cmd{Path: ..}` does, never looked up in PATH.
fn program(path: &Path) -> PathBuf {
    if path.components().count() == 1 && !path.is_absolute() {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    }
}

type Pipes = (OwnedFd, OwnedFd, OwnedFd);

fn take_pipes(child: &mut Child) -> io::Result<Pipes> {
    let missing = || io::Error::other("a hook pipe was not created");
    let stdin: OwnedFd = child.stdin.take().ok_or_else(missing)?.into();
    let stdout: OwnedFd = child.stdout.take().ok_or_else(missing)?.into();
    let stderr: OwnedFd = child.stderr.take().ok_or_else(missing)?.into();
    for fd in [&stdin, &stdout, &stderr] {
        set_nonblocking(fd.as_raw_fd())?;
    }
    Ok((stdin, stdout, stderr))
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; returns a new fd or -1.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh fd from the kernel, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// The hook's three pipes, the input still to write and the output read so far.
struct HookIo<'a> {
    stdin: Option<OwnedFd>,
    input: &'a [u8],
    outs: [(Option<OwnedFd>, Vec<u8>); 2],
}

impl<'a> HookIo<'a> {
    fn new(stdin: OwnedFd, stdout: OwnedFd, stderr: OwnedFd, input: &'a [u8]) -> Self {
        Self {
            stdin: Some(stdin),
            input,
            outs: [(Some(stdout), Vec::new()), (Some(stderr), Vec::new())],
        }
    }

    /// Feeds stdin and reads stdout/stderr until the hook exits (`Ok(true)`) or the
    /// deadline passes (`Ok(false)`).
    fn exchange(&mut self, pidfd: &OwnedFd, deadline: Option<Instant>) -> io::Result<bool> {
        if self.input.is_empty() {
            self.stdin = None;
        }
        loop {
            let mut fds = vec![libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            if let Some(fd) = &self.stdin {
                fds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                });
            }
            for fd in self.outs.iter().filter_map(|(fd, _)| fd.as_ref()) {
                fds.push(libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            let ms = match deadline {
                None => -1,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) => left.as_millis().clamp(1, i32::MAX as u128) as i32,
                    None => return Ok(false),
                },
            };
            // SAFETY: `fds` is a valid array of pollfd of the given length.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(e);
            }
            if fds.iter().skip(1).any(|p| p.revents != 0) {
                self.write_stdin()?;
                self.read_outputs()?;
            }
            if fds[0].revents != 0 {
                // Exited: what it wrote is in the pipes; take it without waiting on
                // any grandchild that may still hold them open.
                self.read_outputs()?;
                return Ok(true);
            }
        }
    }

    /// Writes as much of the state as the pipe takes; a hook that closed its stdin
    /// (EPIPE) simply does not get the rest.
    fn write_stdin(&mut self) -> io::Result<()> {
        let Some(fd) = &self.stdin else { return Ok(()) };
        while !self.input.is_empty() {
            // SAFETY: writes from a valid buffer to an fd we own.
            let n = unsafe {
                libc::write(fd.as_raw_fd(), self.input.as_ptr().cast(), self.input.len())
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(()),
                    Some(libc::EINTR) => continue,
                    Some(libc::EPIPE) => break,
                    _ => return Err(e),
                }
            }
            self.input = &self.input[n as usize..];
        }
        // All written (or refused): closing gives the hook its EOF.
        self.stdin = None;
        Ok(())
    }

    /// Reads whatever stdout and stderr hold now, closing each at EOF.
    fn read_outputs(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 16 * 1024];
        for (slot, kept) in self.outs.iter_mut() {
            while let Some(fd) = slot {
                // SAFETY: reads into a valid buffer from an fd we own.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EAGAIN) => break,
                        Some(libc::EINTR) => continue,
                        _ => return Err(e),
                    }
                }
                if n == 0 {
                    *slot = None;
                    break;
                }
                let n = n as usize;
                let room = KEEP_OUTPUT.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
        Ok(())
    }

    /// The output kept, as text for the message.
    fn output(&self) -> (String, String) {
        let text = |v: &Vec<u8>| String::from_utf8_lossy(v).trim_end().to_string();
        (text(&self.outs[0].1), text(&self.outs[1].1))
    }
}

/// A signal's description, lower-case as Go's `os.ProcessState` prints it ("killed",
/// "bad system call"), so that clients matching runc's text find it.
fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return sig.to_string();
    }
    // SAFETY: non-null strsignal results are NUL-terminated.
    let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy();
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => sig.to_string(),
    }
}
