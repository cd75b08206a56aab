//! `Ctr`: one test's runtime root, bundle and container id, cleaned up on drop.

use crate::assets::runtime_bin;
use crate::out::{run_captured, try_run_captured, Out};
use crate::{host, Bundle, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One test's container: `work/root` is the runtime's `--root`, `work/bundle` the bundle,
/// `work/out` the captured outputs. Drop runs `delete --force` and removes everything.
pub struct Ctr {
    /// The container id, unique per test.
    pub id: String,
    /// The bundle; edit its config before `create`/`run` (they save it).
    pub bundle: Bundle,
    work: TempDir,
    bin: PathBuf,
    calls: AtomicUsize,
}

impl Default for Ctr {
    fn default() -> Self {
        Self::new()
    }
}

impl Ctr {
    /// A fresh container fixture with the base config.
    pub fn new() -> Ctr {
        let bin = runtime_bin();
        assert!(
            bin.exists(),
            "runtime {} not found: `cargo build -p runtime-cli`, or set QUAI_BIN",
            bin.display()
        );
        let work = TempDir::new("ctr");
        for d in ["root", "bundle", "out"] {
            std::fs::create_dir_all(work.join(d)).expect("mkdir work dir");
        }
        // The root itself is left for the runtime to create, as engines do.
        std::fs::remove_dir(work.join("root")).expect("rmdir root");
        let bundle = Bundle::new(&work.join("bundle"));
        Ctr {
            id: format!("it-{}", crate::tempdir::unique()),
            bundle,
            work,
            bin,
            calls: AtomicUsize::new(0),
        }
    }

    /// A fixture that runs `bin` instead of the runtime under test: a private copy, for
    /// attacks that could write to the runtime's own binary.
    pub fn with_runtime(bin: PathBuf) -> Ctr {
        let mut c = Ctr::new();
        c.bin = bin;
        c
    }

    /// The runtime binary this fixture runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The runtime's state root (`--root`).
    pub fn root(&self) -> PathBuf {
        self.work.join("root")
    }

    /// The work directory (a scratch space for the test, removed on drop).
    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// Run `<runtime> --root <root> <args>`.
    pub fn cmd(&self, args: &[&str]) -> Out {
        self.cmd_stdin(args, None)
    }

    /// Run the runtime with a given stdin.
    pub fn cmd_stdin(&self, args: &[&str], stdin: Option<Stdio>) -> Out {
        self.cmd_with(args, stdin, |_| {})
    }

    /// Run the runtime after `configure` adjusts the command (env, inherited fds...).
    pub fn cmd_with(
        &self,
        args: &[&str],
        stdin: Option<Stdio>,
        configure: impl FnOnce(&mut Command),
    ) -> Out {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root").arg(self.root()).args(args);
        configure(&mut cmd);
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let name = format!("{n}-{}", args.first().unwrap_or(&"none"));
        run_captured(cmd, &self.work.join("out"), &name, stdin)
    }

    /// Start `<runtime> --root <root> <args>` in the background, its output going to
    /// `out/<name>.out|.err`; the caller waits for (or kills) the child.
    pub fn spawn(&self, args: &[&str], name: &str) -> std::process::Child {
        let out = std::fs::File::create(self.work.join("out").join(format!("{name}.out")))
            .expect("create stdout file");
        let err = std::fs::File::create(self.work.join("out").join(format!("{name}.err")))
            .expect("create stderr file");
        Command::new(&self.bin)
            .arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()))
    }

    fn bundle_str(&self) -> String {
        self.bundle.dir().to_string_lossy().into_owned()
    }

    /// Save the config and `create --bundle B [extra] <id>`.
    pub fn create(&self, extra: &[&str]) -> Out {
        self.bundle.save();
        let b = self.bundle_str();
        let mut args = vec!["create", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(&self.id);
        self.cmd(&args)
    }

    /// The `--bundle B` arguments for this container.
    pub fn bundle_args(&self) -> [String; 2] {
        ["--bundle".to_string(), self.bundle_str()]
    }

    /// `start <id>`.
    pub fn start(&self) -> Out {
        self.cmd(&["start", &self.id])
    }

    /// Save the config and `run --bundle B [extra] <id>`.
    pub fn run(&self, extra: &[&str]) -> Out {
        self.bundle.save();
        let b = self.bundle_str();
        let mut args = vec!["run", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(&self.id);
        self.cmd(&args)
    }

    /// Run the probe in the foreground with `report <args>`, check that the finished
    /// container left nothing behind, and parse the report.
    #[track_caller]
    pub fn report(&mut self, args: &[&str]) -> Value {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        self.bundle.probe(&all);
        let report = self.run(&[]).ok().json();
        // A foreground `run` deletes its container when the process exits.
        self.assert_gone(None);
        report
    }

    /// `state <id>` parsed (asserting success).
    #[track_caller]
    pub fn state(&self) -> Value {
        self.cmd(&["state", &self.id]).ok().json()
    }

    /// `kill <id> [args]`.
    pub fn kill(&self, args: &[&str]) -> Out {
        let mut all = vec!["kill", self.id.as_str()];
        all.extend_from_slice(args);
        self.cmd(&all)
    }

    /// `delete [extra] <id>`.
    pub fn delete(&self, extra: &[&str]) -> Out {
        let mut all = vec!["delete"];
        all.extend_from_slice(extra);
        all.push(&self.id);
        self.cmd(&all)
    }

    /// The container's init pid from `state`.
    #[track_caller]
    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().expect("state has a pid") as i32
    }

    /// Poll `state` until the status is `want` (fails after 10 s); a container that does
    /// not exist yet (a `run` still setting up) is waited for too.
    #[track_caller]
    pub fn wait_status(&self, want: &str) -> Value {
        let start = Instant::now();
        loop {
            let out = self.cmd(&["state", &self.id]);
            if out.code == 0 && out.json()["status"] == want {
                return out.json();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "status never became {want}: {out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Assert that nothing of the container is left: no state directory under the root,
    /// no live process `pid` (when known), no mount mentioning the bundle or the root,
    /// no cgroup directory named after the id, and no `list` entry.
    #[track_caller]
    pub fn assert_gone(&self, pid: Option<i32>) {
        let state_dir = self.root().join(&self.id);
        assert!(
            !state_dir.exists(),
            "state directory {} is left",
            state_dir.display()
        );
        if let Some(pid) = pid {
            assert!(host::wait_process_gone(pid), "process {pid} is still alive");
        }
        let left = host::mounts_mentioning(self.work());
        assert!(left.is_empty(), "mounts left behind: {left:#?}");
        let cgroups = host::cgroups_named(&self.id);
        assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:#?}");
        let listed = self.cmd(&["list", "-q"]);
        assert!(
            !listed.stdout.lines().any(|l| l.trim() == self.id),
            "still listed: {listed}"
        );
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        // Never panic here: a panic while a failed test unwinds would abort the run.
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--root")
            .arg(self.root())
            .args(["delete", "--force", &self.id]);
        let _ = try_run_captured(cmd, &self.work.join("out"), "drop-delete", None);
        if self.root().join(&self.id).exists() {
            eprintln!(
                "warning: `delete --force {}` left its state directory",
                self.id
            );
        }
        // Best effort: a runtime bug must not leave the host's mount table dirty.
        for m in host::mounts_mentioning(self.work()).iter().rev() {
            host::lazy_unmount(m);
        }
    }
}
