//! Faults of the host under the runtime: a full disk and a read-only file system at
//! `--root`, a host with no `/run`, and every system call failing once. Each gives one
//! clear error and leaves nothing (no state, cgroup, mount or process); what was created
//! before the fault can still be read, and removed once the file system can be written
//! again.

use integration_tests::{host, Ctr};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A small tmpfs mounted at a test's `--root`, unmounted on drop.
struct TmpfsAt(PathBuf);

impl TmpfsAt {
    fn mount(at: &Path) -> TmpfsAt {
        std::fs::create_dir_all(at).unwrap();
        host::sh(&format!(
            "mount -t tmpfs -o size=256k,mode=0700 quai-fault {}",
            at.display()
        ));
        TmpfsAt(at.to_path_buf())
    }

    fn remount(&self, opt: &str) {
        host::sh(&format!("mount -o remount,{opt} {}", self.0.display()));
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while matches!(f.write(&chunk), Ok(n) if n > 0) {}
    }
}

impl Drop for TmpfsAt {
    fn drop(&mut self) {
        host::lazy_unmount(self.0.to_str().unwrap());
    }
}

/// One line naming `phrase`, exit status 1, and no state or cgroup for the container.
#[track_caller]
fn refused(c: &Ctr, out: integration_tests::Out, phrase: &str) {
    assert_eq!(out.code, 1, "{out}");
    let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(lines, 1, "expected one message: {out}");
    assert!(out.stderr.to_lowercase().contains(phrase), "{out}");
    assert!(!c.root().join(&c.id).exists(), "state left behind: {out}");
    let cgroups = host::cgroups_named(&c.id);
    assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
}

#[test]
fn a_full_disk_under_root_fails_create_clearly() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let fs = TmpfsAt::mount(&c.root());
    fs.fill();
    let out = c.create(&[]);
    refused(&c, out, "no space left on device");
    drop(fs);
    c.assert_gone(None);
}

#[test]
fn a_container_made_before_the_disk_filled_can_be_read_and_removed() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let fs = TmpfsAt::mount(&c.root());
    c.create(&[]).ok();
    let pid = c.pid();
    fs.fill();
    assert_eq!(c.state()["status"], "created");
    let listed = c.cmd(&["list", "-q"]).ok();
    assert!(listed.stdout.lines().any(|l| l.trim() == c.id), "{listed}");
    c.delete(&["--force"]).ok();
    assert!(host::wait_process_gone(pid), "process {pid} is still alive");
    assert!(!c.root().join(&c.id).exists());
    drop(fs);
    c.assert_gone(Some(pid));
}

#[test]
fn a_read_only_root_fails_create_clearly_and_keeps_what_was_there_readable() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let fs = TmpfsAt::mount(&c.root());
    fs.remount("ro");
    let out = c.create(&[]);
    refused(&c, out, "read-only file system");

    fs.remount("rw");
    c.create(&[]).ok();
    let pid = c.pid();
    fs.remount("ro");
    assert_eq!(c.state()["status"], "created");
    let listed = c.cmd(&["list", "-q"]).ok();
    assert!(listed.stdout.lines().any(|l| l.trim() == c.id), "{listed}");
    fs.remount("rw");
    c.delete(&["--force"]).ok();
    drop(fs);
    c.assert_gone(Some(pid));
}

// --- Every system call failing once ------------------------------------------------

use integration_tests::interrupt::processes_naming;
use integration_tests::out::try_wait_deadline;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// Calls whose failure is not an error a program can report: the process would not
/// end, a signal frame would be lost, or the C library's own start-up (the loader's
/// and libc's memory and thread setup, before `main`, in the runtime and in the
/// container's process alike) would crash.
const NOT_INJECTED: &[&str] = &[
    "exit",
    "exit_group",
    "rt_sigreturn",
    "restart_syscall",
    "brk",
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "arch_prctl",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    // Rust's runtime before `main`: it aborts when it cannot check the standard fds
    // (poll), install its stack-overflow handler (sigaltstack, rt_sigaction) or seed
    // hash maps (getrandom, which cannot fail here in practice).
    "poll",
    "sigaltstack",
    "rt_sigaction",
    "getrandom",
];

/// `strace <strace_args> <runtime> --root R <args>`, bounded by the deadline; returns
/// the runtime's exit status and what it wrote to stderr.
fn traced(
    c: &Ctr,
    strace_args: &[&str],
    args: &[&str],
    name: &str,
) -> Result<(i32, String), String> {
    let out = c.work().join(format!("out/{name}.out"));
    let err = c.work().join(format!("out/{name}.err"));
    let mut child = Command::new("strace")
        .args(strace_args)
        .arg(c.bin())
        .arg("--root")
        .arg(c.root())
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("strace (apt-get install strace)");
    let code = try_wait_deadline(&mut child, name)?;
    Ok((code, std::fs::read_to_string(&err).unwrap_or_default()))
}

/// The system calls every process of `args` makes, and how often.
fn calls_of(c: &Ctr, args: &[&str]) -> BTreeMap<String, u32> {
    let log = c.work().join("calls.log");
    let (code, err) = traced(
        c,
        &["-f", "-qq", "-o", log.to_str().unwrap()],
        args,
        "count",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{args:?} under strace: {err}");
    let mut calls = BTreeMap::new();
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        // "1234  openat(AT_FDCWD, ..." (a resumed call is "<... openat resumed>").
        let rest = line
            .split_once(' ')
            .map(|(_, r)| r.trim_start())
            .unwrap_or("");
        if let Some((name, _)) = rest.split_once('(') {
            if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                *calls.entry(name.to_string()).or_insert(0) += 1;
            }
        }
    }
    calls.retain(|name, _| !NOT_INJECTED.contains(&name.as_str()));
    assert!(calls.len() > 10, "too few calls seen: {calls:?}");
    calls
}

/// The injections to make: each call failing at its first and at its last occurrence.
fn injections(calls: &BTreeMap<String, u32>) -> Vec<String> {
    let mut all = Vec::new();
    for (name, n) in calls {
        let error = match name.as_str() {
            "clone" | "clone3" | "fork" | "vfork" => "EAGAIN",
            "write" | "pwrite64" | "mkdir" | "mkdirat" | "fsync" => "ENOSPC",
            _ => "EIO",
        };
        for when in [1, *n]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
        {
            all.push(format!("inject={name}:error={error}:when={when}"));
        }
    }
    all
}

/// A run under an injected fault: it finished, without a panic; a failure is reported.
#[track_caller]
fn judge(inject: &str, run: Result<(i32, String), String>) {
    let (code, err) = run.unwrap_or_else(|e| panic!("{inject}: {e}"));
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{inject}: the runtime panicked: {err}"
    );
    if code != 0 {
        assert!(
            !err.trim().is_empty(),
            "{inject}: exit {code} without a word"
        );
    }
}

/// After a fault, `state` still answers: the container's state as JSON, or one clear
/// error that it does not exist.
#[track_caller]
fn state_answers(c: &Ctr, inject: &str) {
    let out = c.cmd(&["state", &c.id]);
    if out.code == 0 {
        let status = out.json()["status"].as_str().map(str::to_string);
        assert!(
            matches!(
                status.as_deref(),
                Some("created" | "running" | "stopped" | "paused")
            ),
            "{inject}: state says {out}"
        );
    } else {
        assert!(
            out.code == 1 && out.stderr.contains("does not exist"),
            "{inject}: state gives no answer: {out}"
        );
    }
}

/// `run` (create, start, wait, delete: the runtime, its init and the container's
/// process) with every system call failing once: after each, `delete --force` leaves
/// no state, cgroup, mount or process.
#[test]
fn run_survives_every_system_call_failing() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/true"]);
    c.bundle.save();
    let [b, dir] = c.bundle_args();
    let base = c.id.clone();
    let calls = calls_of(&c, &["run", &b, &dir, &base]);
    let all = injections(&calls);
    for (i, inject) in all.iter().enumerate() {
        c.id = format!("{base}-{i}");
        let run = traced(
            &c,
            &["-f", "-qq", "-o", "/dev/null", "-e", inject],
            &["run", &b, &dir, &c.id],
            "inject",
        );
        judge(inject, run);
        state_answers(&c, inject);
        c.cmd(&["delete", "--force", &c.id]);
        c.assert_gone(None);
        // A killed init may be a zombie for a moment, until PID 1 reaps it.
        host::eventually(&format!("{inject}: no process of {} left", c.id), || {
            processes_naming(&c.id).is_empty()
        });
    }
    eprintln!(
        "run: {} faults injected over {} system calls",
        all.len(),
        calls.len()
    );
    c.id = base;
}

/// `start` of a created container with every system call failing once: `state` answers
/// after it, and `delete --force` removes everything.
#[test]
fn start_survives_every_system_call_failing() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/true"]);
    let base = c.id.clone();
    c.id = format!("{base}-count");
    c.create(&[]).ok();
    let calls = calls_of(&c, &["start", &c.id]);
    c.delete(&["--force"]).ok();
    let all = injections(&calls);
    for (i, inject) in all.iter().enumerate() {
        c.id = format!("{base}-{i}");
        c.create(&[]).ok();
        let pid = c.pid();
        let run = traced(
            &c,
            &["-f", "-qq", "-o", "/dev/null", "-e", inject],
            &["start", &c.id],
            "inject",
        );
        judge(inject, run);
        state_answers(&c, inject);
        c.cmd(&["delete", "--force", &c.id]).ok();
        c.assert_gone(Some(pid));
    }
    eprintln!(
        "start: {} faults injected over {} system calls",
        all.len(),
        calls.len()
    );
    c.id = base;
}

/// `exec` into a running container with every system call failing once: the container
/// keeps running, and nothing of the exec stays in it.
#[test]
fn exec_survives_every_system_call_failing() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let calls = calls_of(&c, &["exec", &c.id, "/bin/true"]);
    let all = injections(&calls);
    let cgroup = host::cgroups_named(&c.id);
    for inject in &all {
        let run = traced(
            &c,
            &["-f", "-qq", "-o", "/dev/null", "-e", inject],
            &["exec", &c.id, "/bin/true"],
            "inject",
        );
        judge(inject, run);
        assert_eq!(c.state()["status"], "running", "{inject}");
        for dir in &cgroup {
            let procs = host::cgroup_procs(dir);
            assert!(
                procs == [pid] || procs.is_empty(),
                "{inject}: {dir:?} holds {procs:?}"
            );
        }
    }
    eprintln!(
        "exec: {} faults injected over {} system calls",
        all.len(),
        calls.len()
    );
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

/// `delete --force` of a running container with every system call failing once: a
/// second, plain `delete --force` then removes everything.
#[test]
fn delete_survives_every_system_call_failing() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let base = c.id.clone();
    c.id = format!("{base}-count");
    c.run(&["--detach"]).ok();
    let calls = calls_of(&c, &["delete", "--force", &c.id]);
    let all = injections(&calls);
    for (i, inject) in all.iter().enumerate() {
        c.id = format!("{base}-{i}");
        c.run(&["--detach"]).ok();
        let pid = c.pid();
        let run = traced(
            &c,
            &["-f", "-qq", "-o", "/dev/null", "-e", inject],
            &["delete", "--force", &c.id],
            "inject",
        );
        judge(inject, run);
        state_answers(&c, inject);
        c.cmd(&["delete", "--force", &c.id]);
        c.assert_gone(Some(pid));
    }
    eprintln!(
        "delete: {} faults injected over {} system calls",
        all.len(),
        calls.len()
    );
    c.id = base;
}

// --- No /run ----------------------------------------------------------------------------

/// Runs `quai <args>` with no `--root` (so the default, `/run/quai`) in a private mount
/// namespace whose root is a tmpfs holding every top-level directory of the host but
/// `/run` (bound), read-only when `read_only`. Returns the exit status and stderr.
fn without_run(c: &Ctr, read_only: bool, args: &[&str]) -> (i32, String) {
    let script = r#"
set -e
mount --make-rprivate /
R="$1"; RO="$2"; shift 2
mount -t tmpfs quai-no-run "$R"
for e in /*; do
    n="${e#/}"
    [ "$n" = run ] && continue
    if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$R/$n"
    elif [ -d "$e" ]; then mkdir "$R/$n"; mount --rbind "$e" "$R/$n"
    fi
done
[ "$RO" = ro ] && mount -o remount,ro,bind "$R"
exec chroot "$R" "$@"
"#;
    let new_root = c.work().join("no-run-root");
    std::fs::create_dir_all(&new_root).unwrap();
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&new_root)
        .arg(if read_only { "ro" } else { "rw" })
        .arg(c.bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("unshare (util-linux)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A host with no `/run`: the default state root is made (as runc makes it) and a
/// container runs and is removed; where it cannot be made, one clear error names it.
#[test]
fn a_missing_run_is_made_or_refused_clearly() {
    let mut c = Ctr::new();
    c.bundle.args(&["/bin/true"]);
    c.bundle.save();
    let [b, dir] = c.bundle_args();
    let (code, err) = without_run(&c, false, &["run", &b, &dir, &c.id]);
    assert_eq!(code, 0, "run with no /run: {err}");
    c.assert_gone(None);

    let (code, err) = without_run(&c, true, &["run", &b, &dir, &c.id]);
    assert_eq!(code, 1, "run with no /run on a read-only root: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one message: {err}");
    assert!(
        err.contains("/run") && err.to_lowercase().contains("read-only"),
        "{err}"
    );
    c.assert_gone(None);
}
