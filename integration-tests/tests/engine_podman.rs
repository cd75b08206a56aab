//! podman (through conmon) drives quai as it drives runc, with podman's defaults kept
//! (its default seccomp profile, capabilities, cgroup namespace, /dev and /sys).
//!
//! One private podman (its own containers.conf with `quai` and `runc` registered and in
//! `runtime_supports_json`, as CONTRACT.md says; private storage) runs every case twice in
//! the same run, `--runtime runc` then `--runtime quai`. A case returns an observation
//! (what the runtime made visible, normalised); the suite fails when a case passes with
//! runc and fails with quai, or when both pass but quai's observation differs from runc's.
//! A case that fails with both runtimes is printed with both reasons and skipped (this
//! machine lacks something), never silently. Each case checks from inside the container
//! and from the host (cgroup files, namespaces, processes), and everything podman made is
//! checked gone at the end.
//!
//! Needs podman (4.3, with conmon), runc (the comparison; without it quai runs alone),
//! catatonit (`--init`), netavark, aardvark-dns and iptables (the bridge case), and
//! script(1) from bsdutils (`run -it`). About 2 minutes here (3 under heavy load).
//! `QUAI_PODMAN_CASES=word` runs only the cases whose name contains it;
//! `QUAI_PODMAN_PARALLEL=N` sets how many containers the parallel case starts (100, as
//! issue 17 asks: 68 s for both runtimes here).

use integration_tests::assets::{rootfs_tarball, runtime_bin};
use integration_tests::host;
use integration_tests::tempdir::TempDir;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/quai-it:latest";
const RUNC: &str = "/usr/sbin/runc";

/// A podman with everything of its own in a temporary directory; cleaned on drop.
struct Podman {
    dir: TempDir,
    /// Host paths podman makes outside `dir` that did not exist before.
    made: Vec<PathBuf>,
}

/// A finished podman command.
#[derive(Debug)]
struct R {
    args: String,
    code: i32,
    out: String,
    err: String,
}

impl std::fmt::Display for R {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`podman {}` exited {}: stdout {:?} stderr {:?}",
            self.args, self.code, self.out, self.err
        )
    }
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
                 [engine.runtimes]\nquai = [\"{}\"]\nrunc = [\"{RUNC}\"]\n\
                 [network]\nnetwork_backend = \"netavark\"\nnetwork_config_dir = \"{}\"\n",
                runtime_bin().display(),
                dir.join("networks").display()
            ),
        )
        .unwrap();
        let mut made: Vec<PathBuf> = vec![PathBuf::from("/run/containers")];
        for m in integration_tests::host::cgroup_v1_mounts() {
            made.push(m.join("libpod_parent/conmon"));
            made.push(m.join("libpod_parent"));
        }
        made.push(PathBuf::from("/sys/fs/cgroup/unified/libpod_parent/conmon"));
        made.push(PathBuf::from("/sys/fs/cgroup/unified/libpod_parent"));
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
        // A few more busybox applets the cases use.
        let tar = p.dir.join("rootfs.tar");
        rootfs_tarball(
            &tar,
            &[
                "pwd", "tty", "cut", "sed", "df", "cp", "sort", "seq", "dd", "od", "nproc", "mv",
                "awk", "httpd", "wget",
            ],
        );
        let r = p.podman(
            &[
                "import",
                "--change",
                "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                tar.to_str().unwrap(),
                IMAGE,
            ],
            None,
        );
        assert_eq!(r.code, 0, "{r}");
        Some(p)
    }

    /// Run podman with `args` (and `stdin` if given), within 120 s.
    fn podman(&self, args: &[&str], stdin: Option<&[u8]>) -> R {
        let mut c = Command::new("timeout");
        c.args(["-k", "5", "120", "podman"])
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .arg("--root")
            .arg(self.dir.join("storage"))
            .arg("--runroot")
            .arg(self.dir.join("run"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = c.spawn().expect("run podman");
        if let Some(input) = stdin {
            let mut w = child.stdin.take().unwrap();
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = w.write_all(&input);
            });
        }
        let o = child.wait_with_output().expect("wait for podman");
        R {
            args: args.join(" "),
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Remove every container left (a failing case may leave some).
    fn remove_all(&self) {
        let r = self.podman(&["ps", "-aq"], None);
        if !r.out.trim().is_empty() {
            let _ = self.podman(&["rm", "-af", "-t", "0"], None);
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-af", "-t", "0"], None);
        let _ = self.podman(&["volume", "rm", "-af"], None);
        let _ = self.podman(&["rmi", "-af"], None);
        // vfs storage may hold no mount at all: a quiet best effort.
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.join("storage"))
            .stderr(Stdio::null())
            .status();
        for p in &self.made {
            // A directory podman made on the /sys/fs/cgroup tmpfs (not a cgroup: no
            // controller is mounted there) holds plain files, so it goes whole.
            let on_tmpfs = p.parent() == Some(Path::new("/sys/fs/cgroup"));
            if p.starts_with("/run") || on_tmpfs {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_dir(p);
            }
        }
    }
}

/// One runtime's view of the shared podman.
struct Ctx<'a> {
    p: &'a Podman,
    rt: &'static str,
}

type Res = Result<String, String>;

macro_rules! ensure {
    ($c:expr, $($f:tt)*) => {
        if !$c {
            return Err(format!($($f)*));
        }
    };
}

impl Ctx<'_> {
    /// `podman --runtime <rt> args`.
    fn pm(&self, args: &[&str]) -> R {
        self.pm_in(args, None)
    }

    fn pm_in(&self, args: &[&str], stdin: Option<&[u8]>) -> R {
        let mut a = vec!["--runtime", self.rt];
        a.extend(args);
        self.p.podman(&a, stdin)
    }

    /// Like [`pm`](Self::pm), but status 0 is required; returns stdout.
    fn ok(&self, args: &[&str]) -> Res {
        let r = self.pm(args);
        ensure!(r.code == 0, "{r}");
        Ok(r.out)
    }

    /// A container name for this case and runtime.
    fn name(&self, base: &str) -> String {
        format!("{base}-{}", self.rt)
    }

    /// `run --rm --network none <opts> IMAGE <cmd>`.
    fn run(&self, opts: &[&str], cmd: &[&str]) -> R {
        let mut a = vec!["run", "--rm", "--network", "none"];
        a.extend(opts);
        a.push(IMAGE);
        a.extend(cmd);
        self.pm(&a)
    }

    /// [`run`](Self::run) of `sh -c script`, status 0 required; returns stdout.
    fn sh(&self, opts: &[&str], script: &str) -> Res {
        let r = self.run(opts, &["sh", "-c", script]);
        ensure!(r.code == 0, "{r}");
        Ok(r.out)
    }

    /// `run -d --name <name> --network none <opts> IMAGE <cmd>`.
    fn start(&self, name: &str, opts: &[&str], cmd: &[&str]) -> Res {
        let mut a = vec!["run", "-d", "--name", name];
        if !opts.iter().any(|o| o.starts_with("--network")) {
            a.extend(["--network", "none"]);
        }
        a.extend(opts);
        a.push(IMAGE);
        a.extend(cmd);
        Ok(self.ok(&a)?.trim().to_string())
    }

    /// A detached `sleep 1000`.
    fn sleeper(&self, name: &str, opts: &[&str]) -> Res {
        self.start(name, opts, &["sleep", "1000"])
    }

    fn inspect(&self, name: &str, format: &str) -> Res {
        Ok(self
            .ok(&["inspect", "--format", format, name])?
            .trim()
            .to_string())
    }

    fn pid(&self, name: &str) -> Result<i32, String> {
        let s = self.inspect(name, "{{.State.Pid}}")?;
        s.parse().map_err(|e| format!("pid {s:?}: {e}"))
    }

    /// `exec <opts> <name> <cmd>`.
    fn exec(&self, opts: &[&str], name: &str, cmd: &[&str]) -> R {
        let mut a = vec!["exec"];
        a.extend(opts);
        a.push(name);
        a.extend(cmd);
        self.pm(&a)
    }

    fn exec_ok(&self, opts: &[&str], name: &str, script: &str) -> Res {
        let r = self.exec(opts, name, &["sh", "-c", script]);
        ensure!(r.code == 0, "{r}");
        Ok(r.out)
    }

    fn rm(&self, name: &str) -> Res {
        self.ok(&["rm", "-f", "-t", "0", name])
    }
}

/// The host directory of `pid`'s cgroup in a v1 controller (`memory`, `cpu`, ...).
fn host_cgroup(pid: i32, controller: &str) -> Result<PathBuf, String> {
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .map_err(|e| format!("/proc/{pid}/cgroup: {e}"))?;
    for line in cg.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or(""));
        if ctrls.split(',').any(|c| c == controller) {
            let mount = if controller == "cpu" || controller == "cpuacct" {
                controller.to_string()
            } else {
                ctrls.to_string()
            };
            return Ok(Path::new("/sys/fs/cgroup")
                .join(mount)
                .join(path.trim_start_matches('/')));
        }
    }
    Err(format!("no {controller} cgroup for {pid}: {cg}"))
}

/// A cgroup file of `pid`'s cgroup, read on the host, trimmed.
fn host_cg_file(pid: i32, controller: &str, file: &str) -> Res {
    let p = host_cgroup(pid, controller)?.join(file);
    std::fs::read_to_string(&p)
        .map(|s| s.trim().to_string())
        .map_err(|e| format!("{}: {e}", p.display()))
}

/// Wait up to `secs` for `f` to hold.
fn wait_until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(secs) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Wait until the container's processes are gone and its cgroups removed on the host.
fn host_gone(pid: i32, id: &str) -> Result<(), String> {
    ensure!(
        host::wait_process_gone(pid),
        "pid {pid} still alive on the host"
    );
    ensure!(
        wait_until(5, || host::cgroups_named(id).is_empty()),
        "cgroups left on the host: {:?}",
        host::cgroups_named(id)
    );
    Ok(())
}

// ---------------------------------------------------------------- 1. run

fn run_exit_codes(c: &Ctx) -> Res {
    let mut codes = Vec::new();
    for (cmd, want) in [
        (&["true"][..], 0),
        (&["sh", "-c", "exit 3"][..], 3),
        (&["/nonexistent"][..], 127),
        (&["/etc/passwd"][..], 126),
    ] {
        let r = c.run(&[], cmd);
        ensure!(r.code == want, "expected {want}: {r}");
        codes.push(r.code);
    }
    let r = c.run(&[], &["/nonexistent"]);
    ensure!(
        r.err.contains("no such file or directory") || r.err.contains("not found"),
        "{r}"
    );
    let r = c.run(&["--user", "nosuchuser"], &["id"]);
    ensure!(r.code != 0, "a bad user ran: {r}");
    codes.push(r.code);
    // A numeric user with no passwd entry is fine.
    let id = c.sh(&["--user", "4242:4343"], "id -u; id -g")?;
    ensure!(id == "4242\n4343\n", "{id:?}");
    Ok(format!("{codes:?}"))
}

fn run_rm(c: &Ctx) -> Res {
    let cidfile = c.p.dir.join(c.name("rm.cid"));
    let cf = cidfile.to_str().unwrap();
    let out = c.sh(&["--cidfile", cf], "echo gone soon")?;
    ensure!(out == "gone soon\n", "{out:?}");
    let id = std::fs::read_to_string(&cidfile).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&cidfile);
    let r = c.pm(&["container", "exists", id.trim()]);
    ensure!(r.code == 1, "the --rm container is still there: {r}");
    ensure!(
        wait_until(5, || host::cgroups_named(id.trim()).is_empty()),
        "cgroups left: {:?}",
        host::cgroups_named(id.trim())
    );
    Ok(String::new())
}

fn stop_timeout(c: &Ctx) -> Res {
    let n = c.name("stop");
    // PID 1 has no SIGTERM handler: the kernel ignores it, podman must SIGKILL.
    let id = c.sleeper(&n, &[])?;
    let pid = c.pid(&n)?;
    let t = Instant::now();
    c.ok(&["stop", "-t", "2", &n])?;
    let took = t.elapsed();
    ensure!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(6),
        "stop -t 2 took {took:?}"
    );
    let code = c.inspect(&n, "{{.State.ExitCode}}")?;
    ensure!(code == "137", "exit code {code}");
    host_gone(pid, &id)?;
    c.ok(&["rm", &n])?;
    Ok(format!("exit {code}"))
}

fn run_stdin(c: &Ctx) -> Res {
    let r = c.pm_in(
        &[
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            IMAGE,
            "sh",
            "-c",
            "cat; echo end",
        ],
        Some(b"line one\nline two\n"),
    );
    ensure!(r.code == 0 && r.out == "line one\nline two\nend\n", "{r}");
    Ok(r.out)
}

fn run_tty(c: &Ctx) -> Res {
    let r = c.run(
        &["-t"],
        &["sh", "-c", "test -t 0 && test -t 1 && tty; exit 5"],
    );
    ensure!(r.code == 5, "{r}");
    ensure!(r.out == "/dev/pts/0\r\n", "{r}");
    Ok(r.out)
}

fn run_it(c: &Ctx) -> Res {
    // `run -it` from a terminal: script(1) gives podman a pty as its stdin and stdout.
    let d = &c.p.dir;
    let cmd = format!(
        "podman --root {} --runroot {} --tmpdir {} --storage-driver vfs --runtime {} \
         run -it --rm --network none {IMAGE} sh -c 'read l; echo got:$l; tty; exit 7'",
        d.join("storage").display(),
        d.join("run").display(),
        d.join("tmp").display(),
        c.rt
    );
    let mut child = Command::new("timeout")
        .args(["60", "script", "-qec", &cmd, "/dev/null"])
        .env("CONTAINERS_CONF", d.join("containers.conf"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("script: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    // Typed once the container reads its terminal.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let _ = stdin.write_all(b"typed\n");
        std::thread::sleep(Duration::from_secs(10));
    });
    let o = child.wait_with_output().map_err(|e| e.to_string())?;
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    ensure!(
        o.status.code() == Some(7) && out.contains("got:typed") && out.contains("/dev/pts/0"),
        "status {:?}: {out:?} {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(String::new())
}

// ---------------------------------------------------------------- 2. operations

fn exec_options(c: &Ctx) -> Res {
    let n = c.name("exec");
    c.sleeper(&n, &[])?;
    let r = c.exec(&[], &n, &["sh", "-c", "echo from exec; exit 4"]);
    ensure!(r.code == 4 && r.out == "from exec\n", "{r}");
    let r = c.exec(&[], &n, &["/nonexistent"]);
    ensure!(r.code == 127, "{r}");
    let r = c.exec(&[], &n, &["/etc/passwd"]);
    ensure!(r.code == 126, "{r}");
    let out = c.exec_ok(&["-u", "65534"], &n, "id -u")?;
    ensure!(out == "65534\n", "-u 65534: {out:?}");
    let out = c.exec_ok(&["-u", "nobody"], &n, "id -un")?;
    ensure!(out == "nobody\n", "-u nobody: {out:?}");
    let out = c.exec_ok(&["-w", "/tmp"], &n, "pwd")?;
    ensure!(out == "/tmp\n", "-w: {out:?}");
    let out = c.exec_ok(&["-e", "FOO=bar baz"], &n, "echo \"$FOO\"")?;
    ensure!(out == "bar baz\n", "-e: {out:?}");
    let r = c.pm_in(&["exec", "-i", &n, "cat"], Some(b"through exec\n"));
    ensure!(r.code == 0 && r.out == "through exec\n", "{r}");
    let r = c.exec(&["-t"], &n, &["tty"]);
    ensure!(r.code == 0 && r.out.starts_with("/dev/pts/"), "{r}");
    // The exec'd process is in the container's cgroup on the host.
    let pid = c.pid(&n)?;
    let out = c.exec_ok(&[], &n, "cat /proc/self/cgroup | grep memory")?;
    let host_cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let mem = out.trim().split(':').nth(2).unwrap_or("?").to_string();
    ensure!(
        host_cg.lines().any(|l| l.ends_with(&format!(":{mem}"))),
        "exec in {mem}, init in {host_cg}"
    );
    c.rm(&n)?;
    Ok(String::new())
}

fn top(c: &Ctx) -> Res {
    let n = c.name("top");
    c.sleeper(&n, &[])?;
    let out = c.ok(&["top", &n])?;
    ensure!(out.contains("sleep 1000"), "{out}");
    let pid = c.pid(&n)?;
    let out = c.ok(&["top", &n, "hpid"])?;
    ensure!(out.lines().any(|l| l.trim() == pid.to_string()), "{out}");
    c.rm(&n)?;
    Ok(String::new())
}

fn pause_unpause(c: &Ctx) -> Res {
    let n = c.name("pause");
    c.sleeper(&n, &[])?;
    let pid = c.pid(&n)?;
    c.ok(&["pause", &n])?;
    let st = c.inspect(&n, "{{.State.Status}}")?;
    ensure!(st == "paused", "status {st}");
    let fz = host_cg_file(pid, "freezer", "freezer.state")?;
    ensure!(fz == "FROZEN", "freezer {fz}");
    let state = host::proc_status(pid, "State").unwrap_or_default();
    ensure!(state.starts_with('S') || state.starts_with('D'), "{state}");
    c.ok(&["unpause", &n])?;
    let st = c.inspect(&n, "{{.State.Status}}")?;
    ensure!(st == "running", "status {st}");
    let fz = host_cg_file(pid, "freezer", "freezer.state")?;
    ensure!(fz == "THAWED", "freezer {fz}");
    c.exec_ok(&[], &n, "true")?;
    c.rm(&n)?;
    Ok(String::new())
}

fn kill_signal(c: &Ctx) -> Res {
    let n = c.name("kill");
    c.start(
        &n,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got USR1' USR1; echo ready; while :; do sleep 0.1; done",
        ],
    )?;
    ensure!(
        wait_until(10, || c.pm(&["logs", &n]).out.contains("ready")),
        "never ready"
    );
    c.ok(&["kill", "-s", "USR1", &n])?;
    ensure!(
        wait_until(10, || c.pm(&["logs", &n]).out.contains("got USR1")),
        "USR1 not delivered: {}",
        c.pm(&["logs", &n])
    );
    let pid = c.pid(&n)?;
    c.ok(&["kill", "-s", "KILL", &n])?;
    ensure!(host::wait_process_gone(pid), "pid {pid} survived SIGKILL");
    ensure!(
        wait_until(10, || c
            .inspect(&n, "{{.State.Status}}")
            .is_ok_and(|s| s == "exited")),
        "never exited"
    );
    let code = c.inspect(&n, "{{.State.ExitCode}}")?;
    ensure!(code == "137", "exit code {code}");
    c.rm(&n)?;
    Ok(code)
}

fn restart(c: &Ctx) -> Res {
    let n = c.name("restart");
    c.sleeper(&n, &[])?;
    let pid1 = c.pid(&n)?;
    c.ok(&["restart", "-t", "0", &n])?;
    let pid2 = c.pid(&n)?;
    ensure!(pid2 != pid1 && pid2 > 0, "pid {pid1} then {pid2}");
    ensure!(host::wait_process_gone(pid1), "old pid {pid1} alive");
    ensure!(host::process_alive(pid2), "new pid {pid2} not alive");
    let st = c.inspect(&n, "{{.State.Status}}")?;
    ensure!(st == "running", "status {st}");
    host_cg_file(pid2, "memory", "memory.limit_in_bytes")?;
    c.exec_ok(&[], &n, "true")?;
    c.rm(&n)?;
    Ok(String::new())
}

fn rm_force(c: &Ctx) -> Res {
    let n = c.name("rmf");
    let id = c.sleeper(&n, &[])?;
    let pid = c.pid(&n)?;
    // PID 1 ignores SIGTERM: -t 1 bounds the wait before podman's SIGKILL.
    c.ok(&["rm", "-f", "-t", "1", &n])?;
    host_gone(pid, &id)?;
    let r = c.pm(&["container", "exists", &n]);
    ensure!(r.code == 1, "{r}");
    Ok(String::new())
}

fn logs(c: &Ctx) -> Res {
    let n = c.name("logs");
    c.start(
        &n,
        &[],
        &["sh", "-c", "echo one; echo two >&2; sleep 1; echo three"],
    )?;
    // logs -f follows until the container exits.
    let t = Instant::now();
    let r = c.pm(&["logs", "-f", &n]);
    ensure!(r.code == 0, "{r}");
    ensure!(
        t.elapsed() >= Duration::from_millis(500),
        "logs -f returned early: {r}"
    );
    ensure!(
        r.out.contains("one\n") && r.out.contains("three\n") && r.err.contains("two\n"),
        "{r}"
    );
    let r = c.pm(&["logs", &n]);
    ensure!(r.out == "one\nthree\n" && r.err == "two\n", "{r}");
    c.ok(&["rm", &n])?;
    Ok(String::new())
}

fn stats(c: &Ctx) -> Res {
    let n = c.name("stats");
    c.sleeper(&n, &["-m", "64m"])?;
    let out = c.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.MemUsage}}|{{.PIDs}}",
        &n,
    ])?;
    let f: Vec<&str> = out.trim().split('|').collect();
    ensure!(f.len() == 3 && f[0] == n, "{out}");
    ensure!(
        f[1].contains("/ 67.11MB") || f[1].contains("64"),
        "mem {out}"
    );
    ensure!(f[2] == "1", "pids {out}");
    c.rm(&n)?;
    Ok(String::new())
}

fn healthcheck(c: &Ctx) -> Res {
    let n = c.name("health");
    c.sleeper(
        &n,
        &["--health-cmd", "test -e /tmp/ok", "--health-interval", "0"],
    )?;
    let r = c.pm(&["healthcheck", "run", &n]);
    ensure!(r.code == 1 && r.out.contains("unhealthy"), "{r}");
    c.exec_ok(&[], &n, "touch /tmp/ok")?;
    c.ok(&["healthcheck", "run", &n])?;
    let h = c.inspect(&n, "{{.State.Health.Status}}")?;
    ensure!(h == "healthy", "{h}");
    c.rm(&n)?;
    Ok(h)
}

// ---------------------------------------------------------------- 3. limits

fn limits(c: &Ctx) -> Res {
    let n = c.name("limits");
    c.sleeper(
        &n,
        &[
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--pids-limit",
            "50",
        ],
    )?;
    let pid = c.pid(&n)?;
    let mut errs = Vec::new();
    let mut seen = Vec::new();
    for (ctrl, file, want) in [
        ("memory", "memory.limit_in_bytes", "67108864"),
        ("memory", "memory.memsw.limit_in_bytes", "134217728"),
        ("cpu", "cpu.cfs_quota_us", "50000"),
        ("cpu", "cpu.cfs_period_us", "100000"),
        ("cpu", "cpu.shares", "512"),
        ("cpuset", "cpuset.cpus", "0"),
        ("pids", "pids.max", "50"),
    ] {
        let host = host_cg_file(pid, ctrl, file).unwrap_or_else(|e| e);
        let inside = c
            .exec_ok(&[], &n, &format!("cat /sys/fs/cgroup/{ctrl}/{file}"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|e| e);
        if host != want || inside != want {
            errs.push(format!(
                "{file}: host {host:?}, inside {inside:?}, want {want}"
            ));
        }
        seen.push(format!("{file}={inside}"));
    }
    let nproc = c.exec_ok(&[], &n, "nproc").unwrap_or_else(|e| e);
    if nproc.trim() != "1" {
        errs.push(format!("nproc with --cpuset-cpus 0: {nproc}"));
    }
    // The limits hold: 50 pids (last: a full pids cgroup leaves no room for an exec).
    let r = c.exec(
        &[],
        &n,
        &[
            "sh",
            "-c",
            "for i in $(seq 60); do sleep 5 & done 2>/dev/null; wait",
        ],
    );
    if r.code == 0 && !r.err.contains("fork") && !r.err.contains("Resource") {
        errs.push(format!("60 processes started under pids.max 50: {r}"));
    }
    c.rm(&n)?;
    ensure!(errs.is_empty(), "{}", errs.join("; "));
    Ok(seen.join(" "))
}

fn blkio_weight(c: &Ctx) -> Res {
    let n = c.name("blkio");
    let r = c.pm(&[
        "run",
        "-d",
        "--name",
        &n,
        "--network",
        "none",
        "--blkio-weight",
        "300",
        IMAGE,
        "sleep",
        "1000",
    ]);
    ensure!(r.code == 0, "{r}");
    let pid = c.pid(&n)?;
    let dir = host_cgroup(pid, "blkio")?;
    let file = ["blkio.weight", "blkio.bfq.weight"]
        .into_iter()
        .find(|f| dir.join(f).exists());
    let Some(file) = file else {
        c.rm(&n)?;
        return Err(format!(
            "this kernel's blkio cgroup has no weight file (no BFQ scheduler); podman said: {}",
            r.err.trim()
        ));
    };
    let v = host_cg_file(pid, "blkio", file)?;
    c.rm(&n)?;
    ensure!(v.contains("300"), "{file} {v}");
    Ok(v)
}

/// The host's block device node: (path, major, minor).
fn host_block_dev() -> Result<(PathBuf, i64, i64), String> {
    let (maj, min) = host::block_device();
    let dev = std::fs::read_dir("/dev")
        .map_err(|e| e.to_string())?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            use std::os::unix::fs::{FileTypeExt, MetadataExt};
            std::fs::metadata(p).is_ok_and(|m| {
                m.file_type().is_block_device()
                    && libc::major(m.rdev()) as i64 == maj
                    && libc::minor(m.rdev()) as i64 == min
            })
        })
        .ok_or("no /dev node for the block device")?;
    Ok((dev, maj, min))
}

fn blkio_throttle(c: &Ctx) -> Res {
    let (dev, maj, min) = host_block_dev()?;
    let n = c.name("bps");
    let spec = format!("{}:1mb", dev.display());
    c.sleeper(&n, &["--device-read-bps", &spec])?;
    let pid = c.pid(&n)?;
    let v = host_cg_file(pid, "blkio", "blkio.throttle.read_bps_device")?;
    let inside = c.exec_ok(
        &[],
        &n,
        "cat /sys/fs/cgroup/blkio/blkio.throttle.read_bps_device",
    )?;
    c.rm(&n)?;
    let want = format!("{maj}:{min} 1048576");
    ensure!(
        v == want && inside.trim() == want,
        "host {v:?} inside {inside:?}"
    );
    Ok(v)
}

fn update(c: &Ctx) -> Res {
    let n = c.name("update");
    c.sleeper(&n, &["-m", "64m", "--cpu-shares", "512"])?;
    let pid = c.pid(&n)?;
    c.ok(&[
        "update",
        "--memory",
        "128m",
        "--cpu-shares",
        "256",
        "--cpus",
        "0.25",
        &n,
    ])?;
    let mem = host_cg_file(pid, "memory", "memory.limit_in_bytes")?;
    let shares = host_cg_file(pid, "cpu", "cpu.shares")?;
    let quota = host_cg_file(pid, "cpu", "cpu.cfs_quota_us")?;
    let inside = c.exec_ok(
        &[],
        &n,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.shares",
    )?;
    c.rm(&n)?;
    ensure!(
        mem == "134217728" && shares == "256" && quota == "25000",
        "host: memory {mem}, shares {shares}, quota {quota}"
    );
    ensure!(inside == "134217728\n256\n", "inside: {inside:?}");
    Ok(String::new())
}

// ---------------------------------------------------------------- 4. options

fn read_only(c: &Ctx) -> Res {
    let r = c.run(&["--read-only"], &["sh", "-c", "touch /x"]);
    ensure!(r.code != 0 && r.err.contains("Read-only"), "{r}");
    // podman's --read-only-tmpfs default: /tmp, /var/tmp and /run stay writable.
    c.sh(&["--read-only"], "touch /tmp/x /run/x")?;
    Ok(String::new())
}

fn volumes(c: &Ctx) -> Res {
    let host_dir = c.p.dir.join(c.name("bind"));
    std::fs::create_dir_all(&host_dir).map_err(|e| e.to_string())?;
    std::fs::write(host_dir.join("in"), "from host\n").map_err(|e| e.to_string())?;
    let hd = host_dir.to_str().unwrap();
    let out = c.sh(
        &["-v", &format!("{hd}:/data")],
        "cat /data/in; echo from container > /data/out",
    )?;
    ensure!(out == "from host\n", "{out:?}");
    let back = std::fs::read_to_string(host_dir.join("out")).unwrap_or_default();
    ensure!(back == "from container\n", "{back:?}");
    let r = c.run(
        &["-v", &format!("{hd}:/data:ro")],
        &["sh", "-c", "cat /data/in; touch /data/no"],
    );
    ensure!(
        r.code != 0 && r.out == "from host\n" && r.err.contains("Read-only"),
        "{r}"
    );
    ensure!(!host_dir.join("no").exists(), "ro bind written");
    // A named volume shared by two containers.
    let vol = c.name("vol");
    c.ok(&["volume", "create", &vol])?;
    let res = (|| {
        c.sh(&["-v", &format!("{vol}:/v")], "echo kept > /v/f")?;
        let out = c.sh(
            &["-v", &format!("{vol}:/v:ro")],
            "cat /v/f; touch /v/g 2>&1 || true",
        )?;
        ensure!(
            out.starts_with("kept\n") && out.contains("Read-only"),
            "{out:?}"
        );
        Ok(())
    })();
    c.ok(&["volume", "rm", &vol])?;
    res?;
    let _ = std::fs::remove_dir_all(&host_dir);
    Ok(String::new())
}

fn tmpfs(c: &Ctx) -> Res {
    let out = c.sh(
        &[
            "--tmpfs",
            "/scratch:size=1m",
            "--mount",
            "type=tmpfs,destination=/m2",
            "--read-only",
        ],
        "touch /scratch/a /m2/b && grep -E ' /(scratch|m2) ' /proc/self/mountinfo | cut -d' ' -f5,6,9- | sed 's/ - / /'",
    )?;
    ensure!(
        out.contains("/scratch") && out.contains("/m2") && out.contains("size=1024k"),
        "{out:?}"
    );
    // podman lists these mounts in no fixed order.
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    Ok(lines.join("\n"))
}

fn env_user_misc(c: &Ctx) -> Res {
    let out = c.sh(
        &[
            "-e",
            "FOO=bar",
            "-w",
            "/tmp",
            "--user",
            "65534:65534",
            "--group-add",
            "1234",
            "--hostname",
            "quai-host",
        ],
        "echo $FOO; pwd; id -u; id -g; id -G; hostname; cat /etc/hostname; echo",
    )?;
    ensure!(
        out.split_whitespace().collect::<Vec<_>>()
            == [
                "bar",
                "/tmp",
                "65534",
                "65534",
                "65534",
                "1234",
                "quai-host",
                "quai-host"
            ],
        "{out:?}"
    );
    let out = c.sh(&["--user", "nobody"], "id -un")?;
    ensure!(out == "nobody\n", "{out:?}");
    Ok(String::new())
}

fn status_field(status: &str, field: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("?")
        .trim()
        .to_string()
}

fn caps(c: &Ctx) -> Res {
    let default = c.sh(&[], "cat /proc/self/status")?;
    let dropped = c.sh(&["--cap-drop", "all"], "cat /proc/self/status")?;
    let added = c.sh(
        &["--cap-add", "SYS_ADMIN", "--cap-drop", "NET_RAW"],
        "cat /proc/self/status",
    )?;
    let def = status_field(&default, "CapEff");
    ensure!(def == "00000000a80425fb", "podman's default set: {def}");
    let d = status_field(&dropped, "CapEff");
    ensure!(
        d == "0000000000000000" && status_field(&dropped, "CapBnd") == d,
        "cap-drop all: {dropped}"
    );
    let a = u64::from_str_radix(&status_field(&added, "CapEff"), 16).unwrap_or(0);
    ensure!(
        a & (1 << 21) != 0 && a & (1 << 13) == 0,
        "SYS_ADMIN added, NET_RAW dropped: {a:x}"
    );
    // Another user keeps no effective capabilities but the bounding set.
    let u = c.sh(&["--user", "65534"], "cat /proc/self/status")?;
    ensure!(status_field(&u, "CapEff") == "0000000000000000", "{u}");
    let fields = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"];
    Ok([&default, &dropped, &added, &u]
        .iter()
        .map(|s| {
            fields
                .iter()
                .map(|f| format!("{f}={}", status_field(s, f)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

fn privileged(c: &Ctx) -> Res {
    let out = c.sh(
        &["--privileged"],
        "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status; \
         grep -E ' /sys | /proc/(keys|acpi|kcore) | /sys/firmware ' /proc/self/mountinfo | cut -d' ' -f5,6 ; \
         test -e /dev/null && ls /dev | wc -l",
    )?;
    // Every capability the host's bounding set has (this machine lacks SYS_RESOURCE).
    let host_bnd = host::proc_status(std::process::id() as i32, "CapBnd").unwrap_or_default();
    ensure!(
        out.contains(&format!("CapEff:\t{host_bnd}")),
        "host CapBnd {host_bnd}: {out}"
    );
    ensure!(out.contains("Seccomp:\t0"), "{out}");
    ensure!(
        out.contains("/sys rw"),
        "/sys is read-write when privileged: {out}"
    );
    ensure!(!out.contains("/proc/keys"), "masked paths unmasked: {out}");
    let ndev: usize = out
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0);
    ensure!(ndev > 20, "the host's devices in /dev: {ndev}");
    Ok(out.lines().take(4).collect::<Vec<_>>().join("\n"))
}

fn security_opts(c: &Ctx) -> Res {
    let s = c.sh(&[], "cat /proc/self/status")?;
    ensure!(status_field(&s, "Seccomp") == "2", "default profile: {s}");
    ensure!(status_field(&s, "NoNewPrivs") == "0", "{s}");
    let s = c.sh(
        &["--security-opt", "no-new-privileges"],
        "cat /proc/self/status",
    )?;
    ensure!(status_field(&s, "NoNewPrivs") == "1", "{s}");
    let s = c.sh(
        &["--security-opt", "seccomp=unconfined"],
        "cat /proc/self/status",
    )?;
    ensure!(status_field(&s, "Seccomp") == "0", "{s}");
    // The default profile refuses what it does not list, with EPERM (mount is allowed
    // only with CAP_SYS_ADMIN, which podman does not give).
    let r = c.run(&[], &["sh", "-c", "mkdir /m && mount -t tmpfs t /m"]);
    ensure!(r.code != 0 && r.err.contains("denied"), "{r}");
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/podman/seccomp-no-mkdir.json");
    let opt = format!("seccomp={}", profile.display());
    let r = c.run(
        &["--security-opt", &opt],
        &[
            "sh",
            "-c",
            "grep Seccomp: /proc/self/status; touch /t && echo touched; mkdir /d",
        ],
    );
    ensure!(
        r.code != 0
            && r.out.contains("Seccomp:\t2")
            && r.out.contains("touched")
            && r.err.contains("Operation not permitted"),
        "{r}"
    );
    Ok(String::new())
}

fn ulimit(c: &Ctx) -> Res {
    let out = c.sh(
        &["--ulimit", "nofile=1024:2048", "--ulimit", "nproc=500:600"],
        "grep -E 'open files|processes' /proc/self/limits",
    )?;
    let norm: Vec<String> = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    ensure!(
        norm.contains(&"Max processes 500 600 processes".to_string())
            && norm.contains(&"Max open files 1024 2048 files".to_string()),
        "{norm:?}"
    );
    // podman's default from containers.conf.
    let out = c.sh(&[], "grep 'open files' /proc/self/limits")?;
    ensure!(out.contains("20000"), "{out}");
    Ok(norm.join("\n"))
}

fn init(c: &Ctx) -> Res {
    let out = c.sh(&["--init"], "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$")?;
    let lines: Vec<&str> = out.lines().collect();
    ensure!(
        lines.len() == 2 && lines[0].contains("init") && lines[1] != "1",
        "{out:?}"
    );
    // The init forwards signals: stop ends it at once, not after the timeout.
    let n = c.name("init");
    c.sleeper(&n, &["--init"])?;
    let t = Instant::now();
    c.ok(&["stop", "-t", "10", &n])?;
    let took = t.elapsed();
    let code = c.inspect(&n, "{{.State.ExitCode}}")?;
    c.rm(&n)?;
    ensure!(
        took < Duration::from_secs(5),
        "stop through --init took {took:?}"
    );
    Ok(format!("{} exit {code}", lines[0]))
}

fn sysctl(c: &Ctx) -> Res {
    // A per-network-namespace sysctl no engine touches (not ip_forward, which a daemon
    // another test starts in parallel sets on the host).
    let guard = host::SysctlGuard::new("net.ipv4.tcp_keepalive_time");
    let other = if guard.value() == "7200" {
        "7201"
    } else {
        "7200"
    };
    let out = c.sh(
        &[
            "--sysctl",
            &format!("net.ipv4.tcp_keepalive_time={other}"),
            "--sysctl",
            "kernel.shm_rmid_forced=1",
        ],
        "cat /proc/sys/net/ipv4/tcp_keepalive_time /proc/sys/kernel/shm_rmid_forced",
    )?;
    ensure!(out == format!("{other}\n1\n"), "{out:?}");
    ensure!(guard.unchanged(), "the host's tcp_keepalive_time changed");
    Ok(out)
}

fn device(c: &Ctx) -> Res {
    // A device no default rule allows (the host's block device refuses every open here,
    // runc's containers included).
    let host_dev = Path::new("/dev/loop-control");
    ensure!(host_dev.exists(), "this host has no /dev/loop-control");
    let n = c.name("dev");
    c.sleeper(&n, &["--device", "/dev/loop-control:/dev/myloop:r"])?;
    let pid = c.pid(&n)?;
    let out = c.exec_ok(
        &[],
        &n,
        "stat -c '%F %t:%T' /dev/myloop; : < /dev/myloop && echo opened; \
         true > /dev/myloop 2>/dev/null || echo refused",
    )?;
    let list = host_cg_file(pid, "devices", "devices.list")?;
    c.rm(&n)?;
    ensure!(
        out == "character special file a:ed\nopened\nrefused\n",
        "{out:?}"
    );
    ensure!(
        list.lines().any(|l| l == "c 10:237 r"),
        "devices.list lacks c 10:237 r: {list}"
    );
    let mut list: Vec<&str> = list.lines().collect();
    list.sort();
    Ok(format!("{out}{}", list.join("\n")))
}

fn shm_size(c: &Ctx) -> Res {
    let out = c.sh(
        &["--shm-size", "32m"],
        "grep ' /dev/shm ' /proc/self/mountinfo | sed 's/.* - //'",
    )?;
    ensure!(out.contains("size=32768k"), "{out:?}");
    Ok(out)
}

// ---------------------------------------------------------------- 5. namespaces

fn network_none_host(c: &Ctx) -> Res {
    let out = c.sh(&[], "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")?;
    ensure!(out == "lo\n", "--network none: {out:?}");
    let r = c.pm(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMAGE,
        "readlink",
        "/proc/self/ns/net",
    ]);
    ensure!(
        r.code == 0 && r.out.trim() == host::ns_link("net"),
        "--network host: {r}"
    );
    Ok(out)
}

fn shared_namespaces(c: &Ctx) -> Res {
    let a = c.name("nsa");
    let b = c.name("nsb");
    c.sleeper(&a, &[])?;
    let res = (|| {
        c.start(
            &b,
            &[
                "--network",
                &format!("container:{a}"),
                "--pid",
                &format!("container:{a}"),
                "--ipc",
                &format!("container:{a}"),
            ],
            &["sleep", "1001"],
        )?;
        let (pa, pb) = (c.pid(&a)?, c.pid(&b)?);
        for kind in ["net", "pid", "ipc"] {
            let (la, lb) = (host::pid_ns_link(pa, kind), host::pid_ns_link(pb, kind));
            ensure!(la.is_some() && la == lb, "{kind}: {la:?} vs {lb:?}");
        }
        ensure!(
            host::pid_ns_link(pa, "uts") != host::pid_ns_link(pb, "uts"),
            "uts shared"
        );
        let ps = c.exec_ok(&[], &b, "ps -o args")?;
        ensure!(
            ps.contains("sleep 1000") && ps.contains("sleep 1001"),
            "{ps}"
        );
        Ok(())
    })();
    let rb = c.rm(&b);
    let ra = c.rm(&a);
    res?;
    rb?;
    ra?;
    Ok(String::new())
}

// ---------------------------------------------------------------- 6. images and policies

fn commit(c: &Ctx) -> Res {
    let n = c.name("commit");
    let img = format!("localhost/quai-commit-{}", c.rt);
    c.start(&n, &[], &["sh", "-c", "echo marker > /marker; sleep 1000"])?;
    ensure!(
        wait_until(10, || c.exec_ok(&[], &n, "test -e /marker").is_ok()),
        "no marker"
    );
    c.ok(&["commit", "-q", &n, &img])?;
    c.rm(&n)?;
    let r = c.pm(&["run", "--rm", "--network", "none", &img, "cat", "/marker"]);
    c.ok(&["rmi", &img])?;
    ensure!(r.code == 0 && r.out == "marker\n", "{r}");
    Ok(String::new())
}

fn cp(c: &Ctx) -> Res {
    let n = c.name("cp");
    c.sleeper(&n, &[])?;
    let src = c.p.dir.join(c.name("cp-in"));
    let dst = c.p.dir.join(c.name("cp-out"));
    std::fs::write(&src, "copied in\n").map_err(|e| e.to_string())?;
    c.ok(&["cp", src.to_str().unwrap(), &format!("{n}:/tmp/in")])?;
    let out = c.exec_ok(&[], &n, "cat /tmp/in; echo made inside > /tmp/out")?;
    ensure!(out == "copied in\n", "{out:?}");
    c.ok(&["cp", &format!("{n}:/tmp/out"), dst.to_str().unwrap()])?;
    let back = std::fs::read_to_string(&dst).unwrap_or_default();
    c.rm(&n)?;
    let _ = std::fs::remove_file(&src);
    let _ = std::fs::remove_file(&dst);
    ensure!(back == "made inside\n", "{back:?}");
    Ok(String::new())
}

fn restart_policy(c: &Ctx) -> Res {
    let n = c.name("policy");
    c.start(
        &n,
        &["--restart", "on-failure:2"],
        &["sh", "-c", "sleep 0.2; exit 1"],
    )?;
    let done = wait_until(20, || {
        c.inspect(&n, "{{.RestartCount}} {{.State.Status}}")
            .is_ok_and(|s| s == "2 exited")
    });
    let st = c.inspect(
        &n,
        "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
    )?;
    c.rm(&n)?;
    ensure!(done, "restart count/status: {st}");
    Ok(st)
}

fn failing_mount(c: &Ctx) -> Res {
    // A file bound over a directory: the runtime's mount fails, podman says 126.
    let f = c.p.dir.join(c.name("afile"));
    std::fs::write(&f, "x").map_err(|e| e.to_string())?;
    let r = c.run(&["-v", &format!("{}:/etc", f.display())], &["true"]);
    let _ = std::fs::remove_file(&f);
    ensure!(r.code == 126 && r.err.contains("/etc"), "{r}");
    let r = c.run(
        &[
            "--mount",
            &format!("type=bind,src={},dst=/proc/sys/x", c.p.dir.path().display()),
        ],
        &["true"],
    );
    ensure!(r.code == 126 && r.err.contains("inside /proc"), "{r}");
    Ok(String::new())
}

fn build(c: &Ctx) -> Res {
    let ctx = c.p.dir.join(c.name("build"));
    std::fs::create_dir_all(&ctx).map_err(|e| e.to_string())?;
    std::fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM {IMAGE}\nRUN echo built with {} > /built && id -u >> /built\n\
             HEALTHCHECK --interval=30s CMD test -e /built\nCMD [\"cat\", \"/built\"]\n",
            c.rt
        ),
    )
    .map_err(|e| e.to_string())?;
    let img = format!("localhost/quai-build-{}", c.rt);
    // RUN steps go through the runtime named by --runtime (no cache: each runtime runs them).
    let r = c.pm(&[
        "build",
        "--runtime",
        c.rt,
        "--no-cache",
        "--format",
        "docker",
        "--network",
        "none",
        "-t",
        &img,
        ctx.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&ctx);
    ensure!(r.code == 0, "{r}");
    let res = (|| {
        let r = c.pm(&["run", "--rm", "--network", "none", &img]);
        ensure!(r.out == format!("built with {}\n0\n", c.rt), "{r}");
        let hc = c.ok(&[
            "image",
            "inspect",
            "--format",
            "{{.HealthCheck.Test}}",
            &img,
        ])?;
        ensure!(hc.contains("test -e /built"), "{hc}");
        let n = c.name("built");
        c.ok(&[
            "run",
            "-d",
            "--name",
            &n,
            "--network",
            "none",
            "--health-interval",
            "0",
            &img,
            "sleep",
            "1000",
        ])?;
        let r = c.pm(&["healthcheck", "run", &n]);
        c.rm(&n)?;
        ensure!(r.code == 0, "HEALTHCHECK from the image: {r}");
        Ok(())
    })();
    let _ = c.pm(&["rmi", "-f", &img]);
    res?;
    Ok(String::new())
}

/// `GET /index.html` from a host port.
fn http_get(port: u16) -> Result<String, String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut body = String::new();
    s.read_to_string(&mut body).map_err(|e| e.to_string())?;
    Ok(body)
}

fn bridge(c: &Ctx) -> Res {
    ensure!(
        Path::new("/usr/sbin/iptables").exists() || Path::new("/sbin/iptables").exists(),
        "no iptables: netavark cannot publish ports here"
    );
    let (net, subnet, port) = if c.rt == "runc" {
        ("quai-it-net-runc", "10.231.7.0/24", 18087)
    } else {
        ("quai-it-net-quai", "10.231.8.0/24", 18088)
    };
    c.ok(&["network", "create", "--subnet", subnet, net])?;
    let res = (|| {
        let web = c.name("web");
        c.start(
            &web,
            &["--network", net, "-p", &format!("127.0.0.1:{port}:8080")],
            &[
                "sh",
                "-c",
                "mkdir /www && echo hello-web > /www/index.html && exec httpd -f -p 8080 -h /www",
            ],
        )?;
        let mut body = String::new();
        let reached = wait_until(10, || {
            body = http_get(port).unwrap_or_else(|e| e);
            body.contains("hello-web")
        });
        ensure!(reached, "published port {port}: {body}");
        // Another container on the network reaches it by name (aardvark-dns).
        let r = c.pm(&[
            "run",
            "--rm",
            "--network",
            net,
            IMAGE,
            "wget",
            "-qO-",
            &format!("http://{web}:8080/index.html"),
        ]);
        ensure!(r.code == 0 && r.out == "hello-web\n", "by name: {r}");
        let addr = c.exec_ok(
            &[],
            &web,
            "grep -v ' lo' /proc/net/fib_trie | grep -c 10.231",
        )?;
        ensure!(addr.trim() != "0", "no 10.231 address: {addr}");
        c.rm(&web)?;
        Ok(())
    })();
    c.ok(&["network", "rm", "-f", net])?;
    res?;
    Ok(String::new())
}

/// What netavark adds to the host that podman does not take back: iptables chains and
/// rules named NETAVARK (filter and nat), its bridge if a failure left it, ip_forward.
/// Removes, on drop, exactly those that were not there before.
struct NetGuard {
    rules: Vec<(String, Vec<String>)>,
    links: Vec<String>,
    _forward: host::SysctlGuard,
}

fn iptables_rules(table: &str) -> Vec<String> {
    Command::new("iptables")
        .args(["-t", table, "-S"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn link_names() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

impl NetGuard {
    fn new() -> NetGuard {
        NetGuard {
            rules: ["filter", "nat"]
                .iter()
                .map(|t| (t.to_string(), iptables_rules(t)))
                .collect(),
            links: link_names(),
            _forward: host::SysctlGuard::new("net.ipv4.ip_forward"),
        }
    }

    /// Netavark's rules, chains and bridges that appeared since `new`.
    fn added(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (t, before) in &self.rules {
            v.extend(
                iptables_rules(t)
                    .into_iter()
                    .filter(|l| l.contains("NETAVARK") && !before.contains(l))
                    .map(|l| format!("{t}: {l}")),
            );
        }
        v.extend(
            link_names()
                .into_iter()
                .filter(|l| l.starts_with("podman") && !self.links.contains(l)),
        );
        v
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        self.clean();
    }
}

impl NetGuard {
    /// Remove what [`added`](Self::added) lists.
    fn clean(&self) {
        for (t, before) in &self.rules {
            let now = iptables_rules(t);
            let new = |l: &&String| l.contains("NETAVARK") && !before.contains(l);
            for rule in now.iter().filter(new).filter(|l| l.starts_with("-A ")) {
                // `-A CHAIN spec` -> `-D CHAIN spec`; the quoted comment is one argument.
                let mut args = vec!["-t".to_string(), t.clone(), "-D".to_string()];
                args.extend(shell_words(&rule[3..]));
                let _ = Command::new("iptables").args(&args).status();
            }
            for chain in now.iter().filter(new).filter_map(|l| l.strip_prefix("-N ")) {
                let _ = Command::new("iptables")
                    .args(["-t", t, "-F", chain])
                    .status();
                let _ = Command::new("iptables")
                    .args(["-t", t, "-X", chain])
                    .status();
            }
        }
        for l in link_names() {
            if l.starts_with("podman") && !self.links.contains(&l) {
                let _ = Command::new("ip").args(["link", "del", &l]).status();
            }
        }
    }
}

/// Split an `iptables -S` line into arguments (double quotes group words).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in s.chars() {
        match ch {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(ch),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The runtime binary and its default state root (podman passes no `--root`).
fn runtime_and_root(rt: &str) -> (PathBuf, PathBuf) {
    if rt == "runc" {
        (PathBuf::from(RUNC), PathBuf::from("/run/runc"))
    } else {
        (runtime_bin(), PathBuf::from("/run/quai"))
    }
}

fn conmon_killed(c: &Ctx) -> Res {
    let n = c.name("conmon");
    let id = c.sleeper(&n, &[])?;
    let pid = c.pid(&n)?;
    let conmon: i32 = c
        .inspect(&n, "{{.State.ConmonPid}}")?
        .parse()
        .map_err(|e| format!("conmon pid: {e}"))?;
    // SAFETY: plain kill(2) of the conmon podman started for this container.
    unsafe { libc::kill(conmon, libc::SIGKILL) };
    ensure!(host::wait_process_gone(conmon), "conmon {conmon} survived");
    let (bin, root) = runtime_and_root(c.rt);
    let state = Command::new(&bin)
        .arg("--root")
        .arg(&root)
        .args(["state", &id])
        .output()
        .map_err(|e| e.to_string())?;
    let state = String::from_utf8_lossy(&state.stdout).into_owned();
    ensure!(
        state.contains("\"running\""),
        "state after conmon died: {state}"
    );
    // The container lives on and podman still drives it through the runtime.
    c.exec_ok(&[], &n, "true")?;
    c.ok(&["stop", "-t", "1", &n])?;
    ensure!(host::wait_process_gone(pid), "pid {pid} survived stop");
    c.ok(&["rm", "-f", "-t", "0", &n])?;
    // With no conmon to report the exit, podman deletes nothing in the runtime (runc
    // and quai alike): the runtime's own `delete` cleans up from its state on disk.
    let left = root.join(&id).exists();
    if left {
        let d = Command::new(&bin)
            .arg("--root")
            .arg(&root)
            .args(["delete", &id])
            .output()
            .map_err(|e| e.to_string())?;
        ensure!(d.status.success(), "delete: {d:?}");
    }
    host_gone(pid, &id)?;
    ensure!(!root.join(&id).exists(), "state directory left");
    Ok(format!("state running; left for delete: {left}"))
}

fn parallel(c: &Ctx) -> Res {
    let n: usize = std::env::var("QUAI_PODMAN_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let names: Vec<String> = (0..n).map(|i| c.name(&format!("par{i}"))).collect();
    let results: Vec<Res> = std::thread::scope(|s| {
        let hs: Vec<_> = names
            .iter()
            .map(|name| s.spawn(move || c.sleeper(name, &[])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: Vec<String> = results.iter().filter_map(|r| r.clone().ok()).collect();
    let pids: Vec<i32> = names.iter().filter_map(|nm| c.pid(nm).ok()).collect();
    let mut rm = vec!["rm", "-f", "-t", "0"];
    rm.extend(names.iter().map(String::as_str));
    let r = c.pm(&rm);
    let errs: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    ensure!(
        errs.is_empty(),
        "{} of {n} failed to start: {:?}",
        errs.len(),
        errs
    );
    ensure!(r.code == 0, "{r}");
    let (_, root) = runtime_and_root(c.rt);
    for (pid, id) in pids.iter().zip(&ids) {
        host_gone(*pid, id)?;
        ensure!(!root.join(id).exists(), "state directory of {id} left");
        ensure!(
            host::mounts_mentioning(Path::new(id)).is_empty(),
            "mounts of {id} left"
        );
    }
    Ok(format!("{n} started and removed"))
}

// ---------------------------------------------------------------- views

/// mountinfo reduced to what must match runc's: mount point, root, per-mount options,
/// propagation tags, fs type, source, super options; ids and hex ids masked; sorted.
fn normalise_mountinfo(info: &str) -> String {
    let mut lines: Vec<String> = info
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            let tags: Vec<&str> = pre[6..]
                .iter()
                .map(|t| t.split(':').next().unwrap_or(""))
                .collect();
            Some(format!(
                "{} {} {} [{}] - {}",
                pre.get(4)?,
                mask_hex(pre.get(3)?),
                pre.get(5)?,
                tags.join(","),
                post
            ))
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Replace runs of 64 hex digits (container, layer ids) with `<id>`.
fn mask_hex(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if run >= 64 {
            out.push_str("<id>");
            i += run;
        } else if run > 0 {
            out.push_str(&s[i..i + run]);
            i += run;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn mountinfo_view(c: &Ctx) -> Res {
    let info = c.sh(&[], "cat /proc/self/mountinfo")?;
    let view = normalise_mountinfo(&info);
    ensure!(
        !view.contains("/sys/fs/cgroup/unified"),
        "an extra cgroup2 mount at /sys/fs/cgroup/unified on this hybrid host:\n{view}"
    );
    Ok(view)
}

fn cgroup_view(c: &Ctx) -> Res {
    let out = c.sh(
        &[],
        "ls -l /sys/fs/cgroup | tail -n +2 | awk '{print $1, $NF}'; \
         for d in /sys/fs/cgroup /sys/fs/cgroup/memory; do \
           if touch $d/probe-w 2>/dev/null; then echo $d writable; rm -f $d/probe-w; else echo $d read-only; fi; done; \
         cat /proc/self/cgroup | cut -d: -f2,3 | sed 's/[0-9a-f]\\{64\\}/<id>/'",
    )?;
    Ok(out)
}

fn dev_view(c: &Ctx) -> Res {
    c.sh(
        &[],
        "cd /dev && for f in $(ls -a); do stat -c '%n %F %a %u:%g %t:%T' $f; done; \
         grep -E '^(NoNewPrivs|Seccomp|CapBnd|CapEff):' /proc/self/status; \
         readlink /proc/self/ns/cgroup >/dev/null && echo cgroupns; hostname | wc -c",
    )
}

type Case = fn(&Ctx) -> Res;

const CASES: &[(&str, Case)] = &[
    ("run: exit codes 0/3/127/126, bad --user", run_exit_codes),
    ("run --rm", run_rm),
    ("stop -t 2 of a PID 1 ignoring SIGTERM", stop_timeout),
    ("run -i", run_stdin),
    ("run -t", run_tty),
    ("run -it from a terminal", run_it),
    ("exec -u -w -e -i -t, exit codes", exec_options),
    ("top", top),
    ("pause/unpause", pause_unpause),
    ("kill -s", kill_signal),
    ("restart", restart),
    ("rm -f", rm_force),
    ("logs, logs -f", logs),
    ("stats --no-stream", stats),
    ("healthcheck run", healthcheck),
    (
        "limits -m --memory-swap --cpus --cpu-shares --cpuset-cpus --pids-limit",
        limits,
    ),
    ("--blkio-weight", blkio_weight),
    ("--device-read-bps", blkio_throttle),
    ("update", update),
    ("--read-only", read_only),
    ("-v bind, :ro, named volume", volumes),
    ("--tmpfs, --mount type=tmpfs", tmpfs),
    ("-e -w --user --group-add --hostname", env_user_misc),
    ("--cap-add/--cap-drop", caps),
    ("--privileged", privileged),
    (
        "no-new-privileges, seccomp default/unconfined/<file>",
        security_opts,
    ),
    ("--ulimit", ulimit),
    ("--init", init),
    ("--sysctl", sysctl),
    ("--device", device),
    ("--shm-size", shm_size),
    ("--network none, host", network_none_host),
    ("--network/--pid/--ipc container:<id>", shared_namespaces),
    ("commit", commit),
    ("cp", cp),
    ("--restart on-failure:2", restart_policy),
    ("a failing mount (126)", failing_mount),
    ("build: RUN steps, HEALTHCHECK", build),
    ("bridge: user network, -p, by name", bridge),
    ("conmon killed: state, stop, rm, delete", conmon_killed),
    ("parallel run -d and rm -f", parallel),
    ("view: /proc/self/mountinfo", mountinfo_view),
    ("view: /sys/fs/cgroup", cgroup_view),
    ("view: /dev, status", dev_view),
];

/// Host state a run must leave as it found it.
fn host_snapshot() -> Vec<String> {
    let mut s = Vec::new();
    let mut roots = host::cgroup_v1_mounts();
    roots.push(PathBuf::from("/sys/fs/cgroup/unified"));
    for m in roots {
        if let Ok(rd) = std::fs::read_dir(m.join("libpod_parent")) {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) && e.file_name() != "conmon" {
                    s.push(e.path().display().to_string());
                }
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir("/run/netns") {
        s.extend(rd.flatten().map(|e| e.path().display().to_string()));
    }
    s.sort();
    s
}

#[test]
fn podman_with_quai_matches_runc() {
    let Some(p) = Podman::new() else {
        eprintln!("podman is not installed (scripts/test.sh installs it): nothing to test here");
        return;
    };
    let have_runc = Path::new(RUNC).exists();
    let net = NetGuard::new();
    let before = host_snapshot();
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut report = Vec::new();
    // QUAI_PODMAN_CASES=word runs only the cases whose name contains it (development).
    let only = std::env::var("QUAI_PODMAN_CASES").unwrap_or_default();
    for (name, case) in CASES.iter().filter(|(n, _)| n.contains(only.as_str())) {
        let t = Instant::now();
        let runc = if have_runc {
            let r = case(&Ctx { p: &p, rt: "runc" });
            p.remove_all();
            Some(r)
        } else {
            None
        };
        let runc_secs = t.elapsed().as_secs_f64();
        let quai = case(&Ctx { p: &p, rt: "quai" });
        p.remove_all();
        let quai_secs = t.elapsed().as_secs_f64() - runc_secs;
        let verdict = match (&runc, &quai) {
            (Some(Ok(a)), Ok(b)) if a != b => {
                failures.push(format!(
                    "{name}: quai's view differs from runc's\n--- runc\n{a}\n--- quai\n{b}"
                ));
                "DIFFERS"
            }
            (Some(Err(e)), Ok(_)) => {
                eprintln!("NOTE {name}: fails with runc, passes with quai: {e}");
                "pass"
            }
            (_, Ok(_)) => "pass",
            (Some(Ok(_)), Err(e)) => {
                failures.push(format!("{name}: passes with runc, fails with quai: {e}"));
                "FAIL"
            }
            (Some(Err(re)), Err(qe)) => {
                eprintln!(
                    "SKIP {name}: fails with runc too (this machine):\n  runc: {re}\n  quai: {qe}"
                );
                "skip"
            }
            (None, Err(e)) => {
                failures.push(format!("{name}: fails with quai (no runc to compare): {e}"));
                "FAIL"
            }
        };
        let rv = match &runc {
            Some(Ok(_)) => "pass",
            Some(Err(_)) => "fail",
            None => "-",
        };
        report.push(format!(
            "{verdict:8} runc {rv:4} {runc_secs:5.1}s  quai {:4} {quai_secs:5.1}s  {name}",
            if quai.is_ok() { "pass" } else { "fail" },
        ));
    }
    eprintln!(
        "podman cases (runc, then quai, in one run; {:.0} s):\n{}",
        started.elapsed().as_secs_f64(),
        report.join("\n")
    );
    let leftover: Vec<String> = host_snapshot()
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect();
    drop(p);
    net.clean();
    let net_left = net.added();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        net_left.is_empty(),
        "netavark left what could not be removed: {net_left:?}"
    );
    assert!(leftover.is_empty(), "left on the host: {leftover:?}");
}
