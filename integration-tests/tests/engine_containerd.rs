//! containerd drives quai as it drives runc: its own daemon (config, root, state and
//! socket in a temporary directory), `ctr run --runc-binary <quai> --rootfs <dir>`, the
//! shim's create/start/state/kill/delete, pause/resume, ps and metrics through the
//! cgroup. containerd is stopped by its PID; nothing of ours is left behind.

use integration_tests::assets::{populate_rootfs, runtime_bin};
use integration_tests::tempdir::TempDir;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A private containerd, stopped (by PID) and cleaned on drop.
struct Containerd {
    dir: TempDir,
    child: Child,
    /// Directories outside `dir` that containerd or quai make and that did not exist
    /// before: removed at the end if empty.
    made: Vec<PathBuf>,
}

impl Containerd {
    fn start() -> Option<Containerd> {
        if Command::new("containerd")
            .arg("--version")
            .output()
            .is_err()
        {
            return None;
        }
        let dir = TempDir::new("containerd");
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{0}/containerd.sock\"\n",
                dir.path().display()
            ),
        )
        .unwrap();
        // The shim keeps runc's state under /run/containerd/runc/<namespace>, and the
        // container's cgroup is /<namespace>/<id>: note which of those parents are new.
        let made: Vec<PathBuf> = [
            "/run/containerd/runc/quai-ctr-it",
            "/run/containerd/runc",
            "/run/containerd",
        ]
        .iter()
        .map(PathBuf::from)
        .chain(cgroup_parents())
        .filter(|p| !p.exists())
        .collect();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        let c = Containerd { dir, child, made };
        let sock = c.dir.join("containerd.sock");
        let start = Instant::now();
        while c.ctr(&["version"]).status.code() != Some(0) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "containerd did not come up: {sock:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(c)
    }

    fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.dir.join("containerd.sock"))
            .arg("--namespace")
            .arg("quai-ctr-it")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.ctr(args);
        assert!(
            o.status.success(),
            "ctr {args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // SAFETY: signalling the daemon we started, by its PID.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        for p in &self.made {
            let _ = std::fs::remove_dir(p);
        }
        let _ = std::fs::remove_dir("/run/containerd/fifo");
        let _ = std::fs::remove_dir("/run/containerd/s");
        let _ = std::fs::remove_dir("/run/containerd");
    }
}

/// `/sys/fs/cgroup/<hierarchy>/quai-ctr-it` on every hierarchy.
fn cgroup_parents() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = integration_tests::host::cgroup_v1_mounts()
        .into_iter()
        .map(|m| m.join("quai-ctr-it"))
        .collect();
    v.push(PathBuf::from("/sys/fs/cgroup/unified/quai-ctr-it"));
    v
}

fn rootfs(dir: &Path) -> PathBuf {
    let r = dir.join("rootfs");
    populate_rootfs(&r);
    r
}

#[test]
fn containerd_runs_tasks_with_quai() {
    let Some(d) = Containerd::start() else {
        eprintln!(
            "containerd is not installed (scripts/test.sh installs it): nothing to test here"
        );
        return;
    };
    let quai = runtime_bin();
    let quai = quai.to_str().unwrap();
    let work = TempDir::new("ctr-work");
    let root = rootfs(work.path());
    let root = root.to_str().unwrap();
    let id = format!("it-{}", std::process::id());

    // Foreground: output and exit status come through the shim.
    let o = d.ctr(&[
        "run",
        "--rm",
        "--runc-binary",
        quai,
        "--rootfs",
        root,
        &id,
        "/bin/sh",
        "-c",
        "echo hello from quai; exit 7",
    ]);
    assert_eq!(o.status.code(), Some(7), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("hello from quai"),
        "{o:?}"
    );

    // Detached: the task's life through the shim.
    let id2 = format!("{id}-d");
    d.ok(&[
        "run",
        "-d",
        "--runc-binary",
        quai,
        "--rootfs",
        root,
        &id2,
        "/bin/sleep",
        "1000",
    ]);
    let tasks = d.ok(&["task", "ls"]);
    assert!(
        tasks
            .lines()
            .any(|l| l.starts_with(&id2) && l.contains("RUNNING")),
        "{tasks}"
    );
    d.ok(&["task", "pause", &id2]);
    assert!(d
        .ok(&["task", "ls"])
        .lines()
        .any(|l| l.starts_with(&id2) && l.contains("PAUSED")));
    d.ok(&["task", "resume", &id2]);
    assert!(d
        .ok(&["task", "ls"])
        .lines()
        .any(|l| l.starts_with(&id2) && l.contains("RUNNING")));
    // exec through the shim (`exec --process F --detach --pid-file P`): its output and
    // exit status come back.
    let o = d.ctr(&[
        "task",
        "exec",
        "--exec-id",
        "e1",
        &id2,
        "/bin/sh",
        "-c",
        "echo hello from exec; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("hello from exec"),
        "{o:?}"
    );
    let ps = d.ok(&["task", "ps", &id2]);
    assert_eq!(ps.lines().count(), 2, "one process: {ps}");
    let metrics = d.ok(&["task", "metrics", &id2]);
    assert!(
        metrics.contains("memory.usage_in_bytes") || metrics.contains("memory.usage"),
        "{metrics}"
    );
    d.ok(&["task", "kill", "-s", "KILL", &id2]);
    let start = Instant::now();
    while !d
        .ok(&["task", "ls"])
        .lines()
        .any(|l| l.starts_with(&id2) && l.contains("STOPPED"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "task never stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    d.ok(&["task", "rm", &id2]);
    d.ok(&["container", "rm", &id2]);

    // Nothing of quai's is left: no state, no cgroup.
    let state = Path::new("/run/containerd/runc/quai-ctr-it");
    let left: Vec<_> = std::fs::read_dir(state)
        .map(|r| r.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "state left in {}: {left:?}",
        state.display()
    );
    for p in cgroup_parents() {
        for cid in [&id, &id2] {
            assert!(!p.join(cid).exists(), "{} is left", p.join(cid).display());
        }
    }
}
