//! Class: paths the runtime uses inside the rootfs, swapped for symlinks *while* it uses
//! them. The image's symlinks are refused or followed inside the rootfs (the tests in
//! `proc_mounts`, `device_symlinks` and `security`); the published escapes won the
//! race instead: the path is a directory when checked and a symlink when used.
//! A second process (here a host thread, as a second container sharing the volume
//! would be) exchanges a real path with a symlink (`renameat2(RENAME_EXCHANGE)`, so
//! the name always exists) as fast as it can, while the runtime creates a container
//! again and again:
//!
//! - CVE-2019-19921: a volume's destination raced into a link to `/proc`: no mount may
//!   land on or in the container's procfs;
//! - CVE-2024-45310: mount targets made (`mkdir`) through a raced link to a host
//!   directory: nothing may appear in the host directory;
//! - CVE-2025-31133: `/dev/null`, bound over masked paths, raced into a link to
//!   `core_pattern`: no procfs file may be mounted anywhere;
//! - CVE-2025-52565: `/dev/console`, where the pty is bound, raced the same way;
//! - CVE-2024-21626 from inside: a process *of the running container* exchanges `exec
//!   --cwd`'s directory with a link to a runtime fd.
//!
//! Each round's create either works or fails with one clear error; the host side is
//! checked after every round (the init's mountinfo, the host directory, the host's
//! `core_pattern`), and the swapper is checked to have run throughout.

use super::device_symlinks::{core_pattern, procfs_file_mounts, CORE_PATTERN};
use super::proc_mounts::foreign_proc_mounts;
use integration_tests::{ConsoleSocket, Ctr, TempDir};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Rounds of create per class: each create is a few milliseconds, and the swapper
/// exchanges the names tens of thousands of times per second.
const ROUNDS: usize = 60;

/// A thread exchanging two names in the rootfs until stopped.
struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
    real: PathBuf,
    other: PathBuf,
}

fn exchange(a: &CString, b: &CString) -> bool {
    // SAFETY: two valid NUL-terminated paths; renameat2 reads them only.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

impl Swapper {
    /// Makes `rootfs/<path>.swap` a symlink to `target` and starts exchanging it with
    /// `rootfs/<path>` (which must exist).
    fn start(c: &Ctr, path: &str, target: &str) -> Swapper {
        let real = c.bundle.rootfs().join(path.trim_start_matches('/'));
        let other = PathBuf::from(format!("{}.swap", real.display()));
        std::os::unix::fs::symlink(target, &other).expect("plant the swap link");
        let (a, b) = (cstr(&real), cstr(&other));
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, swaps) = (stop.clone(), swaps.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if exchange(&a, &b) {
                        swaps.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        Swapper {
            stop,
            swaps,
            thread: Some(thread),
            real,
            other,
        }
    }

    fn swaps(&self) -> u64 {
        self.swaps.load(Ordering::Relaxed)
    }

    /// Stops the thread, leaves the link at `<path>.swap`, and says how often it swapped.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().expect("swapper");
        let link_at_real =
            std::fs::symlink_metadata(&self.real).is_ok_and(|m| m.file_type().is_symlink());
        if link_at_real {
            exchange(&cstr(&self.real), &cstr(&self.other));
        }
        self.swaps()
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// What one round's create did.
#[derive(Default)]
struct Tally {
    created: usize,
    refused: usize,
    /// The first refusal's message.
    example: String,
}

/// Runs `rounds` creates of `c` (ids `<id>-<n>`) while `swapper` runs: each is either
/// created, checked by `check(pid)` and removed, or refused with one clear error and
/// nothing left. `before_create` may prepare the round (and hand extra arguments).
fn rounds(
    c: &mut Ctr,
    swapper: &Swapper,
    mut before_create: impl FnMut(&Ctr, usize) -> Vec<String>,
    mut check: impl FnMut(&Ctr, i32),
) -> Tally {
    let base = c.id.clone();
    let mut tally = Tally::default();
    c.bundle.save();
    for n in 0..ROUNDS {
        c.id = format!("{base}-{n}");
        let extra = before_create(c, n);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let before = swapper.swaps();
        let out = c.create(&extra);
        assert!(
            swapper.swaps() > before,
            "the swapper did not run during round {n}"
        );
        if out.code == 0 {
            tally.created += 1;
            let pid = c.pid();
            check(c, pid);
            c.delete(&["--force"]).ok();
            c.assert_gone(Some(pid));
        } else {
            tally.refused += 1;
            if tally.example.is_empty() {
                tally.example = out.stderr.trim().to_string();
            }
            let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
            assert!(
                out.code == 1 && lines == 1,
                "round {n}: not one clear error: {out}"
            );
            c.assert_gone(None);
        }
    }
    c.id = base;
    tally
}

#[track_caller]
fn report(class: &str, tally: &Tally, swaps: u64) {
    eprintln!(
        "{class}: {} rounds, {} created, {} refused, {swaps} swaps; refused with: {}",
        ROUNDS, tally.created, tally.refused, tally.example
    );
    assert!(
        swaps > ROUNDS as u64,
        "{class}: the swapper hardly ran ({swaps} swaps)"
    );
}

/// A directory at `rootfs/vol` for the swapper to exchange.
fn volume_dir(c: &Ctr) {
    std::fs::create_dir_all(c.bundle.rootfs().join("vol")).unwrap();
}

#[test]
fn cve_2019_19921_volume_raced_into_a_link_to_proc() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    volume_dir(&c);
    let src = TempDir::new("volume");
    c.bundle
        .add_mount("/vol", "bind", src.path().to_str().unwrap(), &["rbind"]);
    c.bundle.add_mount("/vol/sub", "tmpfs", "tmpfs", &[]);
    std::fs::create_dir(src.join("sub")).unwrap();
    let swapper = Swapper::start(&c, "/vol", "/proc");
    let tally = rounds(
        &mut c,
        &swapper,
        |_, _| vec![],
        |c, pid| {
            let foreign = foreign_proc_mounts(c, pid);
            assert!(foreign.is_empty(), "a mount landed on /proc: {foreign:#?}");
        },
    );
    report("CVE-2019-19921", &tally, swapper.stop());
}

#[test]
fn cve_2024_45310_mount_targets_made_through_a_raced_link() {
    let victim = TempDir::new("victim");
    std::fs::write(victim.join("keep.txt"), "host\n").unwrap();
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    volume_dir(&c);
    c.bundle
        .add_mount("/vol/made/by/runtime", "tmpfs", "tmpfs", &[]);
    let swapper = Swapper::start(&c, "/vol", victim.path().to_str().unwrap());
    let tally = rounds(&mut c, &swapper, |_, _| vec![], |_, _| {});
    let swaps = swapper.stop();
    let entries: Vec<_> = std::fs::read_dir(victim.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("keep.txt")],
        "the runtime made directories in the host directory"
    );
    let left = integration_tests::host::mounts_mentioning(victim.path());
    assert!(left.is_empty(), "a mount landed on the host: {left:?}");
    // The race was won at least once: the runtime followed the link, inside the rootfs.
    let inside = c
        .bundle
        .rootfs()
        .join(victim.path().strip_prefix("/").unwrap());
    assert!(
        inside.join("made").exists() || tally.refused > 0,
        "the link was never met in {ROUNDS} rounds"
    );
    report("CVE-2024-45310", &tally, swaps);
}

/// A device path of the image's own `/dev` (no tmpfs there), a regular file to begin
/// with, raced into a link to `core_pattern` while containers are created (`extra`
/// prepares a round and gives create's extra arguments): no procfs file may be mounted
/// anywhere, and the host's `core_pattern` never changes.
fn dev_node_race(
    class: &str,
    name: &str,
    c: &mut Ctr,
    mut extra: impl FnMut(usize) -> Vec<String>,
) {
    let before = core_pattern();
    c.bundle.remove_mount("/dev");
    let at = c.bundle.rootfs().join("dev").join(name);
    std::fs::write(&at, "image\n").unwrap();
    c.bundle.probe(&["sleep", "forever"]);
    let swapper = Swapper::start(c, &format!("/dev/{name}"), CORE_PATTERN);
    let tally = rounds(
        c,
        &swapper,
        |_, n| {
            // The runtime replaces the image's node; give the swapper a file again.
            if std::fs::symlink_metadata(&at).is_err() {
                let _ = std::fs::write(&at, "image\n");
            }
            extra(n)
        },
        |_, pid| {
            let bad = procfs_file_mounts(pid);
            assert!(bad.is_empty(), "a procfs file was mounted: {bad:#?}");
        },
    );
    report(class, &tally, swapper.stop());
    assert_eq!(core_pattern(), before, "the host's core_pattern changed");
}

#[test]
fn cve_2025_31133_dev_null_raced_into_a_link_to_core_pattern() {
    dev_node_race("CVE-2025-31133", "null", &mut Ctr::new(), |_| vec![]);
}

#[test]
fn cve_2025_52565_dev_console_raced_into_a_link_to_core_pattern() {
    let mut c = Ctr::new();
    c.bundle.set("/process/terminal", serde_json::json!(true));
    let sockets = TempDir::new("consoles");
    let mut listening: Vec<ConsoleSocket> = Vec::new();
    dev_node_race("CVE-2025-52565", "console", &mut c, |n| {
        let sock = ConsoleSocket::listen(&sockets.join(format!("s{n}")));
        let path = sock.path().to_str().unwrap().to_string();
        listening.push(sock);
        vec!["--console-socket".into(), path]
    });
}

/// CVE-2024-21626 (and runc's CVE-2021-30465, the symlink-exchange mount race) from
/// inside: a process of the running container exchanges `/w` and a link to
/// `/proc/self/fd/5` while the engine runs `exec --cwd /w` again and again. Every exec'd
/// process's working directory, read from the host, is inside the rootfs.
#[test]
fn exec_cwd_raced_by_a_process_in_the_container() {
    let mut c = Ctr::new();
    std::fs::create_dir_all(c.bundle.rootfs().join("w")).unwrap();
    let w = std::fs::metadata(c.bundle.rootfs().join("w")).unwrap();
    let w = (w.dev(), w.ino());
    std::os::unix::fs::symlink("/proc/self/fd/5", c.bundle.rootfs().join("w.swap")).unwrap();
    c.bundle.probe(&["swap", "/w", "/w.swap"]);
    c.run(&["--detach"]).ok();
    let pid_file = c.work().join("exec.pid");
    let mut tally = Tally::default();
    for n in 0..ROUNDS {
        let _ = std::fs::remove_file(&pid_file);
        let out = c.cmd(&[
            "exec",
            "--detach",
            "--cwd",
            "/w",
            "--pid-file",
            pid_file.to_str().unwrap(),
            &c.id,
            "/bin/probe",
            "sleep",
            "forever",
        ]);
        if out.code == 0 {
            tally.created += 1;
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            // The directory itself (its inode never changes, whatever its name), or else
            // a directory of the container's root filesystem.
            let cwd = std::fs::metadata(format!("/proc/{pid}/cwd")).expect("stat the cwd");
            if (cwd.dev(), cwd.ino()) != w {
                super::leaked_fd_cwd::assert_cwd_inside(pid, &format!("round {n}"));
            }
            integration_tests::host::sh(&format!("kill -KILL {pid}"));
        } else {
            tally.refused += 1;
            if tally.example.is_empty() {
                tally.example = out.stderr.trim().to_string();
            }
            let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
            // runc's exec exits 255 when the process cannot be started.
            assert!(
                (out.code == 1 || out.code == 255) && lines == 1,
                "round {n}: not one clear error: {out}"
            );
        }
    }
    eprintln!(
        "exec --cwd raced from inside: {ROUNDS} rounds, {} ran, {} refused; refused with: {}",
        tally.created, tally.refused, tally.example
    );
    assert!(
        tally.created > 0 && tally.refused > 0 || tally.created == ROUNDS,
        "no exec ran"
    );
    c.delete(&["--force"]).ok();
    c.assert_gone(None);
}
