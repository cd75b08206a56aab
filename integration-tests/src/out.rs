//! Running a command with its output captured in files and a deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished command left: exit status (128+N when killed by signal N), stdout, stderr.
#[derive(Debug, Clone)]
pub struct Out {
    /// The command line, for messages.
    pub cmdline: String,
    /// Exit status, 128+N for signal N.
    pub code: i32,
    /// Everything written to stdout until the command exited.
    pub stdout: String,
    /// Everything written to stderr until the command exited.
    pub stderr: String,
    /// The stdout file: a detached container keeps writing to it after the command exits.
    pub stdout_path: PathBuf,
}

impl Out {
    /// Assert exit status 0 and return self.
    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "{self}");
        self
    }

    /// Assert a failure (status 1) and return self.
    #[track_caller]
    pub fn fails(self) -> Out {
        assert_eq!(self.code, 1, "expected status 1: {self}");
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self}"))
    }

    /// Poll the stdout file until it contains `needle` (fails after 10 s); returns it.
    #[track_caller]
    pub fn wait_for(&self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let now = self.stdout_now();
            if now.contains(needle) {
                return now;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "never saw {needle:?} in stdout: {now:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The stdout file as it is now (what a detached container has written since).
    pub fn stdout_now(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmdline, self.code, self.stdout, self.stderr
        )
    }
}

/// How long any runtime command may take before the test fails instead of hanging.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Run `cmd` with stdout/stderr sent to `<dir>/<name>.out|.err` (files, not pipes: a
/// container created by the command inherits them and may outlive it), stdin from
/// `stdin` or /dev/null, and wait at most [`DEADLINE`]; a command that overruns fails the test.
#[track_caller]
pub fn run_captured(cmd: Command, dir: &Path, name: &str, stdin: Option<Stdio>) -> Out {
    try_run_captured(cmd, dir, name, stdin).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run_captured`] without panicking (for cleanup in `Drop`, which must not panic).
pub fn try_run_captured(
    mut cmd: Command,
    dir: &Path,
    name: &str,
    stdin: Option<Stdio>,
) -> Result<Out, String> {
    let out_path = dir.join(format!("{name}.out"));
    let err_path = dir.join(format!("{name}.err"));
    let out_file =
        std::fs::File::create(&out_path).map_err(|e| format!("create stdout file: {e}"))?;
    let err_file =
        std::fs::File::create(&err_path).map_err(|e| format!("create stderr file: {e}"))?;
    cmd.stdout(out_file)
        .stderr(err_file)
        .stdin(stdin.unwrap_or(Stdio::null()));
    let cmdline = format!("{cmd:?}");
    let mut child = cmd.spawn().map_err(|e| format!("spawn {cmdline}: {e}"))?;
    let code = try_wait_deadline(&mut child, &cmdline)?;
    Ok(Out {
        cmdline,
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        stdout_path: out_path,
    })
}

/// Wait for a child, killing it and failing the test after [`DEADLINE`].
#[track_caller]
pub fn wait_deadline(child: &mut std::process::Child, what: &str) -> i32 {
    try_wait_deadline(child, what).unwrap_or_else(|e| panic!("{e}"))
}

/// Wait for a child; after [`DEADLINE`] kill it and return an error.
pub fn try_wait_deadline(child: &mut std::process::Child, what: &str) -> Result<i32, String> {
    use std::os::unix::process::ExitStatusExt;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Ok(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))),
            Ok(None) if start.elapsed() > DEADLINE => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not finish within {DEADLINE:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    }
}
