//! podman (through conmon) drives quai as it drives runc: quai registered as a runtime in
//! a private containers.conf (with `runtime_supports_json`, as CONTRACT.md says), private
//! storage, run/rm, exit statuses and podman's mapping of quai's errors, detached
//! containers with pause/unpause, top and stop, all under podman's default seccomp
//! profile.

use integration_tests::assets::{populate_rootfs, runtime_bin};
use integration_tests::tempdir::TempDir;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// A podman with everything of its own in a temporary directory; cleaned on drop.
struct Podman {
    dir: TempDir,
    /// Host paths podman makes outside `dir` that did not exist before.
    made: Vec<PathBuf>,
}

impl Podman {
    fn new() -> Option<Podman> {
        if Command::new("podman").arg("--version").output().is_err() {
            return None;
        }
        let dir = TempDir::new("podman");
        std::fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"quai\"\n\
                 runtime_supports_json = [\"crun\", \"runc\", \"quai\"]\n\
                 [engine.runtimes]\nquai = [\"{}\"]\n",
                runtime_bin().display()
            ),
        )
        .unwrap();
        let mut made: Vec<PathBuf> = vec![PathBuf::from("/run/containers")];
        for m in integration_tests::host::cgroup_v1_mounts() {
            made.push(m.join("libpod_parent/conmon"));
            made.push(m.join("libpod_parent"));
        }
        // conmon also makes directories for controllers this host does not mount
        // (hugetlb, net_cls, perf_event, ...) right on the /sys/fs/cgroup tmpfs: any entry
        // there that is new after the test is podman's, made for this test.
        for name in [
            "blkio",
            "cpu",
            "cpuacct",
            "cpuset",
            "devices",
            "freezer",
            "hugetlb",
            "memory",
            "misc",
            "net_cls",
            "net_prio",
            "perf_event",
            "pids",
            "rdma",
        ] {
            made.push(PathBuf::from("/sys/fs/cgroup").join(name));
        }
        made.retain(|p| !p.exists());
        let p = Podman { dir, made };
        let rootfs = p.dir.join("rootfs");
        populate_rootfs(&rootfs);
        let tar = p.dir.join("rootfs.tar");
        let t = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(t.success());
        p.ok(&["import", tar.to_str().unwrap(), "localhost/quai-it:latest"]);
        Some(p)
    }

    fn podman(&self, args: &[&str]) -> Output {
        Command::new("podman")
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("storage"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run podman")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.podman(args);
        assert!(
            o.status.success(),
            "podman {args:?}: {}{}",
            text(&o.stdout),
            text(&o.stderr)
        );
        text(&o.stdout)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-af", "-t", "0"]);
        let _ = self.podman(&["rmi", "-af"]);
        // vfs storage may hold no mount at all: a quiet best effort.
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.join("storage"))
            .stderr(Stdio::null())
            .status();
        for p in &self.made {
            // A directory podman made on the /sys/fs/cgroup tmpfs (not a cgroup: no
            // controller is mounted there) holds plain files, so it goes whole.
            let on_tmpfs = p.parent() == Some(std::path::Path::new("/sys/fs/cgroup"));
            if p.starts_with("/run") || on_tmpfs {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_dir(p);
            }
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// podman's defaults but the network (no CNI set-up here): its default seccomp profile
/// included.
const DEFAULTS: [&str; 2] = ["--network", "none"];

#[test]
fn podman_runs_containers_with_quai() {
    let Some(p) = Podman::new() else {
        eprintln!("podman is not installed (scripts/test.sh installs it): nothing to test here");
        return;
    };
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "--rm"];
        a.extend(DEFAULTS);
        a.push("localhost/quai-it:latest");
        a.extend(extra);
        p.podman(&a)
    };
    let o = run(&["/bin/sh", "-c", "echo hello from quai; id -u"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(text(&o.stdout), "hello from quai\n0\n");
    assert_eq!(run(&["/bin/sh", "-c", "exit 3"]).status.code(), Some(3));
    // podman maps quai's "no such file or directory" to 127, as it does runc's.
    let o = run(&["/nonexistent"]);
    assert_eq!(o.status.code(), Some(127), "{o:?}");
    assert!(
        text(&o.stderr).contains("no such file or directory"),
        "{o:?}"
    );

    let mut a = vec!["run", "-d", "--name", "quai-it-d"];
    a.extend(DEFAULTS);
    a.extend(["localhost/quai-it:latest", "/bin/sleep", "1000"]);
    p.ok(&a);
    let status = || p.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(status().contains("quai-it-d Up"), "{}", status());
    p.ok(&["pause", "quai-it-d"]);
    assert!(status().contains("Paused"), "{}", status());
    p.ok(&["unpause", "quai-it-d"]);
    assert!(status().contains("quai-it-d Up"), "{}", status());
    // exec through conmon (`exec --pid-file P --process F --detach`): output, status,
    // and podman's 127 for a missing program.
    let o = p.podman(&[
        "exec",
        "quai-it-d",
        "/bin/sh",
        "-c",
        "echo hello from exec; exit 4",
    ]);
    assert_eq!(o.status.code(), Some(4), "{o:?}");
    assert_eq!(text(&o.stdout), "hello from exec\n", "{o:?}");
    let o = p.podman(&["exec", "quai-it-d", "/nonexistent"]);
    assert_eq!(o.status.code(), Some(127), "{o:?}");
    let top = p.ok(&["top", "quai-it-d"]);
    assert!(top.contains("sleep 1000"), "{top}");
    // PID 1 ignores SIGTERM; podman falls back to SIGKILL after the timeout.
    p.ok(&["stop", "-t", "1", "quai-it-d"]);
    assert!(status().contains("Exited (137)"), "{}", status());
    p.ok(&["rm", "quai-it-d"]);
    assert_eq!(status().trim(), "");
}
