//! A private dockerd for the engine tests: its data root, exec root, pidfile, socket and
//! daemon.json in a temporary directory, the containerd it starts itself under that exec
//! root, quai registered with `--add-runtime`-style `runtimes` and made the default
//! runtime (runc stays available by name), and every container's cgroup under a parent
//! named after this run. Stopped by PID on drop, with exactly what it made outside its
//! directory removed: mounts, cgroups, `/run/docker`, `/etc/docker/key.json`, and (for a
//! daemon with bridge networking) the links and iptables rules and chains that appeared.

use crate::assets::{rootfs_tarball, runtime_bin};
use crate::out::{try_run_captured, Out};
use crate::tempdir::TempDir;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Debian client (not `/usr/local/bin/docker`, which may be another version).
pub const DOCKER: &str = "/usr/bin/docker";
/// The image every case runs: busybox with its applets and the probe.
pub const IMAGE: &str = "quai-it:latest";

/// Applets the Docker cases use beyond the common test root filesystem's.
const EXTRA_APPLETS: &[&str] = &[
    "seq", "cut", "sed", "tty", "chown", "wget", "httpd", "df", "stty",
];

/// How the daemon is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Net {
    /// `--bridge=none --iptables=false`: no docker0, no iptables rules (the default).
    Private,
    /// The default bridge and iptables rules (`--ip-forward=false`), removed at the end.
    Bridge,
}

/// A private dockerd.
pub struct Dockerd {
    dir: TempDir,
    child: std::sync::Mutex<Option<Child>>,
    sock: String,
    /// `quai-docker-it-<pid>-<n>`: the `--cgroup-parent` of every container.
    pub cgroup_parent: String,
    made: Vec<PathBuf>,
    net_before: Option<NetSnapshot>,
    bridge_sysctls: Vec<crate::host::SysctlGuard>,
    calls: AtomicUsize,
    net: Net,
    live_restore: bool,
}

/// Links and iptables rules of the host before the daemon started.
struct NetSnapshot {
    links: Vec<String>,
    filter: Vec<String>,
    nat: Vec<String>,
}

fn links() -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
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

/// Whether `prog` runs (`prog --version`).
pub fn have(prog: &str) -> bool {
    Command::new(prog)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Dockerd {
    /// Starts dockerd with quai as its default runtime; `Err` says why it cannot run here.
    pub fn start(net: Net) -> Result<Dockerd, String> {
        Dockerd::start_with(net, false)
    }

    /// [`Dockerd::start`], with `live-restore` (containers outlive the daemon) if asked.
    pub fn start_with(net: Net, live_restore: bool) -> Result<Dockerd, String> {
        if !have("dockerd") || !Path::new(DOCKER).exists() {
            return Err("dockerd or /usr/bin/docker is missing (apt-get install docker.io)".into());
        }
        if net == Net::Bridge && !have("iptables") {
            return Err("iptables is missing (apt-get install iptables)".into());
        }
        let dir = TempDir::new("dockerd");
        let cgroup_parent = format!("quai-docker-it-{}", crate::tempdir::unique());
        // Paths dockerd makes outside its directories: removed at the end if new. The
        // containerd shim keeps its sockets in /run/containerd/s whatever its config
        // says; those directories are only removed when empty (another engine test may
        // be using them).
        let made: Vec<PathBuf> = [
            "/etc/docker/key.json",
            "/run/docker",
            "/run/containerd/s",
            "/run/containerd/fifo",
            "/run/containerd/runc",
            "/run/containerd",
        ]
        .iter()
        .map(PathBuf::from)
        .filter(|p| !p.exists())
        .collect();
        let net_before = (net == Net::Bridge).then(|| NetSnapshot {
            links: links(),
            filter: iptables_rules("filter"),
            nat: iptables_rules("nat"),
        });
        // dockerd turns these on for bridge networking when br_netfilter is loaded.
        let bridge_sysctls = [
            "net.bridge.bridge-nf-call-iptables",
            "net.bridge.bridge-nf-call-ip6tables",
            "net.ipv4.ip_forward",
        ]
        .iter()
        .filter(|k| Path::new(&format!("/proc/sys/{}", k.replace('.', "/"))).exists())
        .map(|k| crate::host::SysctlGuard::new(k))
        .collect();
        let sock = format!("unix://{}", dir.join("docker.sock").display());
        let d = Dockerd {
            dir,
            child: std::sync::Mutex::new(None),
            sock,
            cgroup_parent,
            made,
            net_before,
            bridge_sysctls,
            calls: AtomicUsize::new(0),
            net,
            live_restore,
        };
        d.write_config("quai");
        std::fs::create_dir_all(d.dir.join("client")).unwrap();
        d.spawn()?;
        d.import_image();
        Ok(d)
    }

    /// Starts the daemon process and waits until it answers.
    fn spawn(&self) -> Result<(), String> {
        let d = self;
        let net = d.net;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.dir.join("dockerd.log"))
            .unwrap();
        let mut cmd = Command::new("dockerd");
        cmd.arg("--config-file")
            .arg(d.dir.join("daemon.json"))
            .arg("--data-root")
            .arg(d.dir.join("data"))
            .arg("--exec-root")
            .arg(d.dir.join("exec"))
            .arg("--pidfile")
            .arg(d.dir.join("docker.pid"))
            .args(["-H", &d.sock])
            .arg("--storage-driver=overlay2")
            .arg(format!("--cgroup-parent=/{}", d.cgroup_parent));
        match net {
            Net::Private => cmd.args(["--iptables=false", "--ip-masq=false", "--bridge=none"]),
            Net::Bridge => cmd.args(["--iptables=true", "--ip-forward=false"]),
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start dockerd: {e}"))?;
        *d.child.lock().unwrap() = Some(child);
        let start = Instant::now();
        loop {
            let o = d.docker(&["version", "--format", "{{.Server.Version}}"]);
            if o.code == 0 {
                break;
            }
            let exited = d.child.lock().unwrap().as_mut().map(|c| c.try_wait());
            if let Some(Ok(Some(st))) = exited {
                return Err(format!("dockerd exited ({st}): {}", d.log_tail()));
            }
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("dockerd did not answer in 30 s: {}", d.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Stops the daemon (SIGTERM, by PID) and starts it again with the same options;
    /// with live-restore its containers keep running meanwhile.
    pub fn restart_daemon(&self) -> Result<(), String> {
        let child = self.child.lock().unwrap().take();
        if let Some(mut child) = child {
            // SAFETY: signalling the daemon we started, by its PID.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
        }
        self.spawn()
    }

    /// daemon.json: quai (the binary under test) and runc by name, `default` the default.
    fn write_config(&self, default: &str) {
        let cfg = serde_json::json!({
            "runtimes": { "quai": { "path": runtime_bin() } },
            "default-runtime": default,
            "live-restore": self.live_restore,
        });
        std::fs::write(self.dir.join("daemon.json"), cfg.to_string()).unwrap();
    }

    /// Makes `default` the default runtime (daemon.json rewritten, SIGHUP: dockerd
    /// reloads its runtimes), for what only uses the default one (`docker build`).
    pub fn set_default_runtime(&self, default: &str) -> Result<(), String> {
        self.write_config(default);
        let pid = self.pid();
        // SAFETY: signalling the daemon we started, by its PID.
        unsafe { libc::kill(pid, libc::SIGHUP) };
        let start = Instant::now();
        loop {
            let o = self.docker(&["info", "--format", "{{.DefaultRuntime}}"]);
            if o.stdout.trim() == default {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(10) {
                return Err(format!("default runtime still {:?}", o.stdout.trim()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// dockerd's PID.
    pub fn pid(&self) -> i32 {
        self.child
            .lock()
            .unwrap()
            .as_ref()
            .map(|c| c.id() as i32)
            .unwrap_or(0)
    }

    /// The daemon's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The exec root (containerd's state, the runtimes' state roots, netns).
    pub fn exec_root(&self) -> PathBuf {
        self.dir.join("exec")
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(DOCKER);
        c.env("DOCKER_CONFIG", self.dir.join("client"))
            .env("DOCKER_BUILDKIT", "0")
            .args(["-H", &self.sock])
            .args(args);
        c
    }

    /// `docker -H <sock> ARGS` with stdin from /dev/null.
    pub fn docker(&self, args: &[&str]) -> Out {
        self.docker_in(args, None)
    }

    /// `docker ARGS` with `stdin` as its standard input.
    pub fn docker_in(&self, args: &[&str], stdin: Option<Stdio>) -> Out {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let out = self.dir.join("out");
        let _ = std::fs::create_dir_all(&out);
        try_run_captured(self.command(args), &out, &format!("c{n}"), stdin).unwrap_or_else(|e| {
            Out {
                cmdline: format!("docker {args:?}"),
                code: -1,
                stdout: String::new(),
                stderr: e,
                stdout_path: PathBuf::new(),
            }
        })
    }

    /// Another client of this daemon (`docker-compose`), with `DOCKER_HOST` pointing at
    /// it, run in `cwd`.
    pub fn client(&self, prog: &str, args: &[&str], cwd: &Path) -> Out {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let mut c = Command::new(prog);
        c.env("DOCKER_HOST", &self.sock)
            .env("DOCKER_CONFIG", self.dir.join("client"))
            .current_dir(cwd)
            .args(args);
        let out = self.dir.join("out");
        let _ = std::fs::create_dir_all(&out);
        try_run_captured(c, &out, &format!("c{n}"), None).unwrap_or_else(|e| Out {
            cmdline: format!("{prog} {args:?}"),
            code: -1,
            stdout: String::new(),
            stderr: e,
            stdout_path: PathBuf::new(),
        })
    }

    /// `docker ARGS` run under `script` (a pty for `-t` with `-i`), its stdin `input`.
    pub fn docker_pty(&self, args: &[&str], input: &str) -> Out {
        let cmd = self.command(args);
        let mut line = String::new();
        for (k, v) in cmd.get_envs() {
            if let (k, Some(v)) = (k.to_string_lossy(), v) {
                line.push_str(&format!("{k}={} ", shell_quote(&v.to_string_lossy())));
            }
        }
        line.push_str(DOCKER);
        for a in cmd.get_args() {
            line.push(' ');
            line.push_str(&shell_quote(&a.to_string_lossy()));
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let input_file = self.dir.join(format!("in{n}"));
        std::fs::write(&input_file, input).unwrap();
        let mut s = Command::new("script");
        s.args(["-qefc", &line, "/dev/null"]);
        let out = self.dir.join("out");
        let _ = std::fs::create_dir_all(&out);
        let stdin = std::fs::File::open(&input_file).unwrap();
        try_run_captured(s, &out, &format!("c{n}"), Some(stdin.into())).unwrap_or_else(|e| Out {
            cmdline: line.clone(),
            code: -1,
            stdout: String::new(),
            stderr: e,
            stdout_path: PathBuf::new(),
        })
    }

    /// `docker ARGS`, failing the test unless it succeeds; its stdout.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.docker(args);
        assert_eq!(o.code, 0, "{o}");
        o.stdout
    }

    /// Imports the busybox root filesystem (with the probe) as [`IMAGE`]: no registry.
    fn import_image(&self) {
        let tar = self.dir.join("rootfs.tar");
        rootfs_tarball(&tar, EXTRA_APPLETS);
        self.ok(&["import", tar.to_str().unwrap(), IMAGE]);
    }

    /// The host cgroup directory of a container in hierarchy `ctrl` (`memory`, ...).
    pub fn cgroup_dir(&self, ctrl: &str, id: &str) -> PathBuf {
        Path::new("/sys/fs/cgroup")
            .join(ctrl)
            .join(&self.cgroup_parent)
            .join(id)
    }

    /// Every cgroup directory whose name contains `id`, in any hierarchy, under the
    /// daemon's parent.
    pub fn cgroups_of(&self, id: &str) -> Vec<PathBuf> {
        let mut v = Vec::new();
        for h in cgroup_hierarchies() {
            let p = h.join(&self.cgroup_parent).join(id);
            if p.exists() {
                v.push(p);
            }
        }
        v
    }

    /// The runtime state directory of a container (dockerd gives every runtime the
    /// root `<exec-root>/runtime-runc` in 20.10, namespace `moby`).
    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.exec_root().join("runtime-runc/moby").join(id)
    }

    /// The shim's `options.json` for a running container: which binary it calls.
    pub fn shim_binary(&self, id: &str) -> Option<String> {
        let p = self
            .exec_root()
            .join("containerd/daemon/io.containerd.runtime.v2.task/moby")
            .join(id)
            .join("options.json");
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()?;
        v["binary_name"].as_str().map(str::to_string)
    }

    fn stop(&mut self) {
        let child = self.child.lock().unwrap().take();
        let Some(mut child) = child else {
            return;
        };
        // Containers first, while the daemon can still stop them cleanly.
        let ids = self.docker(&["ps", "-aq"]).stdout;
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut a = vec!["rm", "-f", "-v"];
            a.extend(ids);
            let _ = self.docker(&a);
        }
        let _ = self.docker(&["network", "prune", "-f"]);
        // SAFETY: signalling the daemon we started, by its PID.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        while matches!(child.try_wait(), Ok(None)) {
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // With live-restore, the containerd dockerd started outlives it: stop it by the
        // PID in its pidfile, once its command line shows it is ours.
        let pidfile = self.exec_root().join("containerd/containerd.pid");
        if let Ok(pid) = std::fs::read_to_string(pidfile) {
            let pid: i32 = pid.trim().parse().unwrap_or(0);
            let cmdline =
                std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if pid > 0 && cmdline.contains(&self.dir.path().to_string_lossy().into_owned()) {
                // SAFETY: our daemon's containerd, checked by its command line.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                let start = Instant::now();
                while crate::host::process_alive(pid) && start.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Every cgroup hierarchy's mount point (v1 and the unified one).
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let mut v = crate::host::cgroup_v1_mounts();
    let unified = PathBuf::from("/sys/fs/cgroup/unified");
    if unified.join("cgroup.procs").exists() {
        v.push(unified);
    } else if Path::new("/sys/fs/cgroup/cgroup.procs").exists() {
        v.push(PathBuf::from("/sys/fs/cgroup"));
    }
    v
}

/// Removes a cgroup tree bottom-up (only directories: cgroupfs refuses anything else).
fn remove_cgroup_tree(p: &Path) {
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(p);
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.stop();
        // Mounts left under our directory (netns, overlay, shm), deepest first.
        let mut mounts = crate::host::mounts_mentioning(self.dir.path());
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            crate::host::lazy_unmount(&m);
        }
        // The containers' cgroups: the shims are gone with their containers, but give
        // the kernel a moment to let go of the last tasks.
        let start = Instant::now();
        loop {
            let mut left = false;
            for h in cgroup_hierarchies() {
                let p = h.join(&self.cgroup_parent);
                if p.exists() {
                    remove_cgroup_tree(&p);
                    left |= p.exists();
                }
            }
            if !left || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(before) = self.net_before.take() {
            restore_net(&before);
        }
        self.bridge_sysctls.clear();
        for p in &self.made {
            if p.starts_with("/run/containerd") {
                let _ = std::fs::remove_dir(p);
            } else if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Deletes the links, iptables rules and chains that appeared since `before`.
fn restore_net(before: &NetSnapshot) {
    for l in links() {
        if !before.links.contains(&l) {
            let _ = Command::new("ip")
                .args(["link", "delete", &l])
                .stderr(Stdio::null())
                .status();
        }
    }
    for (table, old) in [("filter", &before.filter), ("nat", &before.nat)] {
        let now = iptables_rules(table);
        // Rules first (jumps to the new chains included), newest first, then the chains.
        for r in now.iter().rev().filter(|r| !old.contains(r)) {
            if let Some(rule) = r.strip_prefix("-A ") {
                // Through the shell: `iptables -S` quotes what has spaces.
                let _ = Command::new("/bin/sh")
                    .args(["-c", &format!("iptables -t {table} -D {rule}")])
                    .status();
            }
        }
        let new_chains: Vec<&str> = now
            .iter()
            .filter(|r| !old.contains(r))
            .filter_map(|r| r.strip_prefix("-N "))
            .collect();
        for c in &new_chains {
            let _ = Command::new("iptables")
                .args(["-t", table, "-F", c])
                .status();
        }
        for c in &new_chains {
            let _ = Command::new("iptables")
                .args(["-t", table, "-X", c])
                .status();
        }
    }
}

/// What is left on the host of a daemon's run, for the final check: its cgroup parent
/// in any hierarchy, and mounts under its directory.
pub fn leftovers(cgroup_parent: &str, dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = cgroup_hierarchies()
        .into_iter()
        .map(|h| h.join(cgroup_parent))
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    v.extend(crate::host::mounts_mentioning(dir));
    v
}
