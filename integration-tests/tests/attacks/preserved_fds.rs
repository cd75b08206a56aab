//! Class: the runtime's own fds reaching the container through `--preserve-fds` or
//! `LISTEN_FDS`. A careless engine asks for more fds than it passes; if the runtime
//! made fds 3..3+N inheritable blindly, the container would get whatever the runtime
//! had open there (its verified /proc handle, the exec fifo, the sync socket, its log)
//! and could write the host's /proc/sys through /proc/self/fd/N. Each preserved fd must
//! be one the caller really passed; the host's view of the container's fds is checked.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use integration_tests::assets::is_runc;
use integration_tests::check::one_clear_error;
use integration_tests::{host, Ctr, Out};

/// Runs the runtime with `passed` as its fds 3, 4, ... (inheritable, as an engine
/// passes them) and nothing else above stdio.
fn with_fds(c: &Ctr, passed: &[RawFd], args: &[&str]) -> Out {
    assert!(passed.len() <= 8, "at most 8 fds");
    let passed = passed.to_vec();
    c.cmd_with(args, None, move |cmd: &mut Command| {
        // SAFETY: only async-signal-safe fcntl/dup2 calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Move every source out of the way first: a source may sit at 3.. already.
                // (A fixed array: no allocation between fork and exec.)
                let mut high = [0 as RawFd; 8];
                for (i, &fd) in passed.iter().enumerate() {
                    high[i] = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 1000);
                    if high[i] < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                for (i, &h) in high[..passed.len()].iter().enumerate() {
                    let to = 3 + i as RawFd;
                    // dup2 clears close-on-exec on the new fd.
                    if libc::dup2(h, to) < 0 || libc::fcntl(to, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                no_strays(3 + passed.len() as u32);
                Ok(())
            });
        }
    })
}

/// Marks every fd from `first` up close-on-exec: an fd the test runner itself inherited
/// without close-on-exec must not reach the runtime as if an engine had passed it.
/// Async-signal-safe (one syscall), for use between fork and exec.
fn no_strays(first: u32) {
    // SAFETY: plain syscall; only flags change.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
}

/// `create --bundle B <extra> <id>` with `passed` as fds 3, 4, ...
fn create_with_fds(c: &Ctr, passed: &[RawFd], extra: &[&str]) -> Out {
    c.bundle.save();
    let [flag, b] = c.bundle_args();
    let mut args = vec!["create", flag.as_str(), b.as_str()];
    args.extend_from_slice(extra);
    args.push(&c.id);
    with_fds(c, passed, &args)
}

/// The host's view of a process's fds: number -> link target.
fn host_fds(pid: i32) -> BTreeMap<i32, String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("read /proc/{pid}/fd: {e}"))
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().parse().ok()?;
            let target = std::fs::read_link(e.path()).ok()?;
            Some((n, target.to_string_lossy().into_owned()))
        })
        .collect()
}

#[test]
fn more_preserved_fds_than_passed_is_refused_before_anything_is_made() {
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    // Only 0-2 are open in the runtime: fds 3..7 would be the runtime's own.
    let out = create_with_fds(&c, &[], &["--preserve-fds", "5"]);
    one_clear_error(&c, out, &["preserved-fd"]);
}

#[test]
fn one_passed_fd_of_two_is_refused() {
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    let f = std::fs::File::open("/dev/null").expect("open /dev/null");
    let out = create_with_fds(&c, &[f.as_raw_fd()], &["--preserve-fds", "2"]);
    if is_runc() {
        eprintln!(
            "runc 1.1.5 passes its own fd 4 as the second preserved fd ({out}); \
             checked for quai only"
        );
        return;
    }
    one_clear_error(&c, out, &["preserved-fd"]);
}

#[test]
fn preserve_fds_beyond_the_open_file_limit_is_refused() {
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    let out = create_with_fds(&c, &[], &["--preserve-fds", "4294967295"]);
    // quai names the limit; runc 1.1.5 fails on the first fd that is not open.
    one_clear_error(&c, out, &["RLIMIT_NOFILE", "preserved-fd"]);
}

#[test]
fn the_runtimes_log_is_never_passed_on() {
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    let log = c.work().join("runtime.log");
    let log = log.to_string_lossy().into_owned();
    c.bundle.save();
    let [flag, b] = c.bundle_args();
    // The runtime opens its log first, at fd 3: the one fd the engine says it passes.
    let out = with_fds(
        &c,
        &[],
        &[
            "--log",
            &log,
            "run",
            &flag,
            &b,
            "--preserve-fds",
            "1",
            &c.id,
        ],
    );
    if is_runc() {
        eprintln!(
            "runc 1.1.5 passes its own log fd on as preserved fd 3 ({out}); \
             checked for quai only"
        );
        return;
    }
    assert_eq!(out.code, 1, "{out}");
    assert!(out.stderr.contains("preserved-fd"), "{out}");
    c.assert_gone(None);
}

#[test]
fn listen_fds_not_passed_are_refused() {
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    c.bundle.save();
    let [flag, b] = c.bundle_args();
    let root = c.root().to_string_lossy().into_owned();
    let bin = integration_tests::assets::runtime_bin()
        .to_string_lossy()
        .into_owned();
    // systemd-style activation naming two fds, with none passed.
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "export LISTEN_PID=$$ LISTEN_FDS=2; exec \"$@\"",
        "sh",
        &bin,
        "--root",
        &root,
        "run",
        &flag,
        &b,
        &c.id,
    ]);
    // SAFETY: one syscall between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            no_strays(3);
            Ok(())
        });
    }
    let out = integration_tests::out::run_captured(cmd, c.work(), "listen", None);
    if is_runc() {
        eprintln!(
            "runc 1.1.5 passes whatever it has at fds 3-4 for LISTEN_FDS=2 ({out}); \
             checked for quai only"
        );
        return;
    }
    one_clear_error(&c, out, &["preserved-fd"]);
}

#[test]
fn only_the_passed_fds_reach_the_container() {
    let mut c = Ctr::new();
    let a = c.work().join("passed-a");
    let b = c.work().join("passed-b");
    let fa = std::fs::File::create(&a).expect("create passed-a");
    let fb = std::fs::File::create(&b).expect("create passed-b");
    let (a, b) = (a.to_string_lossy(), b.to_string_lossy());

    // The container's own view.
    c.bundle.probe(&["fds"]);
    c.bundle.save();
    let [flag, bundle] = c.bundle_args();
    let seen = with_fds(
        &c,
        &[fa.as_raw_fd(), fb.as_raw_fd()],
        &["run", &flag, &bundle, "--preserve-fds", "2", &c.id],
    )
    .ok()
    .json();
    let keys: Vec<&String> = seen.as_object().expect("fds object").keys().collect();
    assert_eq!(keys, ["0", "1", "2", "3", "4"], "{seen}");
    assert_eq!(
        (seen["3"].as_str(), seen["4"].as_str()),
        (Some(&*a), Some(&*b))
    );

    // The host's view of the running process: stdio and the two passed fds, nothing of
    // the runtime (no /proc handle, fifo, socket or log).
    c.bundle.probe(&["sleep", "forever"]);
    create_with_fds(
        &c,
        &[fa.as_raw_fd(), fb.as_raw_fd()],
        &["--preserve-fds", "2"],
    )
    .ok();
    let pid = c.pid();
    c.start().ok();
    host::eventually("the container's process has exec'd", || {
        host::proc_status(pid, "Name").as_deref() == Some("probe")
    });
    let fds = host_fds(pid);
    let numbers: Vec<i32> = fds.keys().copied().collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4], "{fds:#?}");
    assert_eq!((fds[&3].as_str(), fds[&4].as_str()), (&*a, &*b), "{fds:#?}");
    c.kill(&["KILL"]).ok();
}
