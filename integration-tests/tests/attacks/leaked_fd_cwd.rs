//! Class: a runtime fd as the working directory (CVE-2024-21626). runc leaked a host
//! directory fd into its init, and `process.cwd = /proc/self/fd/7` put the container's
//! process in the host's filesystem. Here every fd number the runtime could hold when it
//! changes directory (3 to 24) is tried as `process.cwd`, as `exec --cwd`, and through an
//! image symlink `/work -> /proc/self/fd/N`. The host-side fact: the process's working
//! directory, read from the host (`/proc/<pid>/cwd`), lies inside the container's
//! rootfs — or the runtime refused with one clear error and left nothing behind.

use integration_tests::check::one_clear_error;
use integration_tests::{json, Ctr};

const FDS: std::ops::RangeInclusive<u32> = 3..=24;

/// The process's working directory, read from the host, is a directory of its own root
/// (the container's): the path the kernel shows for `/proc/<pid>/cwd`, looked up below
/// `/proc/<pid>/root`, is the very same directory. (The kernel shows a directory inside
/// another mount namespace by its path there, `/w`; a host directory the process escaped
/// to by its host path, which the container's root does not have.)
#[track_caller]
pub(crate) fn assert_cwd_inside(pid: i32, what: &str) {
    use std::os::unix::fs::MetadataExt;
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd of the process");
    let real = std::fs::metadata(format!("/proc/{pid}/cwd")).expect("stat the cwd");
    let via_root = std::fs::metadata(format!("/proc/{pid}/root{}", cwd.display()));
    assert!(
        via_root.is_ok_and(|m| (m.dev(), m.ino()) == (real.dev(), real.ino())),
        "{what}: the process's working directory {} is not in its root filesystem",
        cwd.display()
    );
}

/// Runs a sleeping container with `cwd`; checks where it landed or that it was refused.
fn container_with_cwd(cwd: &str, plant: Option<&str>) {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.set("/process/cwd", json!(cwd));
    if let Some(target) = plant {
        let at = c.bundle.rootfs().join("work");
        let _ = std::fs::remove_dir_all(&at);
        std::os::unix::fs::symlink(target, &at).expect("plant /work");
    }
    let out = c.run(&["--detach"]);
    let what = format!("cwd {cwd} (planted {plant:?})");
    if out.code == 0 {
        assert_cwd_inside(c.pid(), &what);
    } else {
        one_clear_error(&c, out, &["cwd", "chdir", "working directory"]);
    }
}

#[test]
fn process_cwd_in_a_runtime_fd_stays_in_the_rootfs() {
    for n in FDS {
        container_with_cwd(&format!("/proc/self/fd/{n}"), None);
    }
}

#[test]
fn image_cwd_link_to_a_runtime_fd_stays_in_the_rootfs() {
    for n in FDS {
        container_with_cwd("/work", Some(&format!("/proc/self/fd/{n}")));
    }
}

#[test]
fn exec_cwd_in_a_runtime_fd_stays_in_the_rootfs() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid_file = c.work().join("exec.pid");
    let pid_arg = pid_file.to_str().unwrap().to_string();
    for n in FDS {
        let cwd = format!("/proc/self/fd/{n}");
        let _ = std::fs::remove_file(&pid_file);
        let out = c.cmd(&[
            "exec",
            "--detach",
            "--pid-file",
            &pid_arg,
            "--cwd",
            &cwd,
            &c.id,
            "/bin/probe",
            "sleep",
            "forever",
        ]);
        if out.code != 0 {
            assert!(
                out.stderr.lines().filter(|l| !l.trim().is_empty()).count() == 1,
                "exec --cwd {cwd}: {out}"
            );
            continue;
        }
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .expect("pid file")
            .trim()
            .parse()
            .expect("a pid");
        assert_cwd_inside(pid, &format!("exec --cwd {cwd}"));
        // SAFETY: our exec'd process, found by its pid file a moment ago.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}
