//! The `cli` target: an argument vector, as an engine or a user would type it, run
//! through the built `quai` binary (`QUAI_BIN`, or `target/debug/quai`). The input is a
//! JSON array (the seeds are arrays of strings; any other element is passed as its JSON
//! text), or else bytes split at NULs. No argv may
//! make quai panic, die by a signal or run for more than 3 s.
//!
//! Each run is fenced: the child enters a mount namespace of its own where every mount
//! is read-only except a fresh tmpfs (its working directory and its `--root`), so an
//! argument naming a host path (`spec --bundle /`, `--log /etc/passwd`) can write
//! nothing, and cgroups cannot be created. `--root` arguments are dropped from the
//! input: the runtime only ever sees the fenced root, never the host's containers.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The fenced directory: the tmpfs each run gets, mounted in its own namespace only.
const FENCE: &str = "/tmp/quai-fuzz-cli";

fn quai() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = std::env::var_os("QUAI_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| super::targets::repo().join("target/debug/quai"));
        assert!(
            bin.exists(),
            "{}: build quai first (cargo build -p runtime-cli) or set QUAI_BIN",
            bin.display()
        );
        std::fs::create_dir_all(FENCE).expect("mkdir the fence");
        bin
    })
}

pub fn seeds() -> Vec<Vec<u8>> {
    let argvs: &[&[&str]] = &[
        &["state", "c1"],
        &["list"],
        &["list", "-f", "json", "-q"],
        &[
            "create",
            "--bundle",
            "b",
            "--pid-file",
            "p",
            "--console-socket",
            "s",
            "c1",
        ],
        &[
            "create",
            "-b",
            ".",
            "--no-pivot",
            "--no-new-keyring",
            "--preserve-fds",
            "2",
            "c1",
        ],
        &["run", "-d", "--bundle", "b", "--keep", "c1"],
        &["start", "c1"],
        &["kill", "--all", "c1", "KILL"],
        &["kill", "c1", "SIGTERM"],
        &["kill", "c1", "9"],
        &["delete", "--force", "c1"],
        &["delete", "c1"],
        &[
            "exec",
            "-t",
            "--cwd",
            "/",
            "-e",
            "A=b",
            "-u",
            "1:1",
            "--cap",
            "CAP_KILL",
            "c1",
            "/bin/true",
        ],
        &["exec", "-d", "--pid-file", "p", "--process", "p.json", "c1"],
        &[
            "exec",
            "--preserve-fds",
            "1",
            "--no-new-privs",
            "c1",
            "sh",
            "-c",
            "x",
        ],
        &["pause", "c1"],
        &["resume", "c1"],
        &["ps", "-f", "json", "c1"],
        &["events", "--stats", "c1"],
        &["update", "--memory", "1M", "--pids-limit", "10", "c1"],
        &["update", "-r", "r.json", "c1"],
        &["spec", "--rootless"],
        &["spec", "--bundle", "b"],
        &["features"],
        &["--version"],
        &["--help"],
        &["help", "exec"],
        &["checkpoint", "c1"],
        &[
            "--debug",
            "--log",
            "l",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "state",
            "c1",
        ],
        &["state", "--", "-c1"],
        &["create", "c1", "extra"],
    ];
    argvs
        .iter()
        .map(|a| serde_json::to_vec(a).expect("seed"))
        .collect()
}

pub fn extra() -> Vec<Vec<u8>> {
    vec![b"[]".to_vec(), b"[\"\"]".to_vec(), b"[\"-\"]".to_vec()]
}

/// The argv of an input, without `--root` (the fence gives its own); None when an
/// argument holds a NUL (no argv can).
fn argv(data: &[u8]) -> Option<Vec<String>> {
    let words: Vec<String> = match serde_json::from_slice::<Vec<serde_json::Value>>(data) {
        // What JSON mutation put in place of a string is passed as its JSON text.
        Ok(w) => w
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Err(_) => data
            .split(|b| *b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect(),
    };
    let mut out = Vec::new();
    let mut skip_next = false;
    for w in words {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if w == "--root" {
            skip_next = true;
            continue;
        }
        if w.starts_with("--root=") {
            continue;
        }
        if w.contains('\0') {
            return None;
        }
        out.push(w);
    }
    Some(out)
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// In the child, before exec: a private mount namespace, every mount read-only, and a
/// fresh tmpfs at the fence as the working directory.
fn fence() -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    let (root, fence, tmpfs) = (c"/", c"/tmp/quai-fuzz-cli", c"tmpfs");
    // SAFETY: plain system calls on valid NUL-terminated strings and a valid mount_attr;
    // this child is single-threaded between fork and exec.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(err());
        }
        let private = libc::MS_REC | libc::MS_PRIVATE;
        if libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            private,
            std::ptr::null(),
        ) != 0
        {
            return Err(err());
        }
        let attr = MountAttr {
            attr_set: libc::MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        let rc = libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            root.as_ptr(),
            libc::AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        );
        if rc != 0 {
            return Err(err());
        }
        let opts = c"size=1m,mode=0700";
        if libc::mount(
            tmpfs.as_ptr(),
            fence.as_ptr(),
            tmpfs.as_ptr(),
            0,
            opts.as_ptr().cast(),
        ) != 0
        {
            return Err(err());
        }
        if libc::chdir(fence.as_ptr()) != 0 {
            return Err(err());
        }
    }
    Ok(())
}

pub fn run(data: &[u8]) {
    let Some(args) = argv(data) else { return };
    let mut cmd = Command::new(quai());
    cmd.arg("--root").arg(format!("{FENCE}/root"));
    cmd.args(&args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: `fence` only makes system calls (no allocation, no locks).
    unsafe { cmd.pre_exec(fence) };
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        // Longer than the kernel takes for an argv: no engine can pass it either.
        Err(e) if e.raw_os_error() == Some(libc::E2BIG) => return,
        Err(e) => panic!("spawn quai: {e}"),
    };
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait quai") {
            break st;
        }
        if start.elapsed() > Duration::from_secs(3) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("quai {args:?} ran for 3 s");
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let err = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    if let Some(sig) = status.signal() {
        panic!("quai {args:?} died of signal {sig}: {err}");
    }
    if status.code() == Some(101) || err.contains("panicked") {
        panic!("quai {args:?} panicked: {err}");
    }
}

/// Removes the fence's mount point (at the end of a run).
pub fn cleanup() {
    let _ = std::fs::remove_dir(FENCE);
}

/// No process of a fenced run is left (a run's processes would name the fence).
pub fn nothing_running() -> Result<(), String> {
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc")
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me.as_str() {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if cmdline.windows(FENCE.len()).any(|w| w == FENCE.as_bytes()) {
            return Err(format!("process {name} of a run is still there"));
        }
    }
    Ok(())
}
