//! Rootless podman with quai: podman run by an unprivileged user the test makes (with
//! subordinate ids for its user namespace, and private storage, runroot and home), for
//! the run, exec, volume and port cases. podman runs quai as root of its own user
//! namespace, where quai is rootless: state under the user's `$XDG_RUNTIME_DIR/quai`,
//! no cgroup of its own on this v1 host. Checked from the host: the ids the container
//! runs as, the owners of the files it writes into a volume, the published port, and
//! that nothing of the user is left (podman's pause process is stopped by the PID it
//! records, then the user is removed).

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::assets::{rootfs_tarball, runtime_bin};
use integration_tests::rootless::TestUser;
use integration_tests::tempdir::TempDir;

const IMAGE: &str = "localhost/quai-rootless-it:latest";
/// The user's subordinate ids: container id N >= 1 is host id SUB + N - 1.
const SUB: u32 = 3_100_000;

struct RootlessPodman {
    user: TestUser,
    home: TempDir,
}

struct R {
    code: i32,
    out: String,
    err: String,
}

impl RootlessPodman {
    fn new() -> RootlessPodman {
        let user = TestUser::new().with_subids(SUB, 65536);
        let home = TempDir::new("podman-home");
        std::os::unix::fs::chown(home.path(), Some(user.uid), Some(user.gid)).unwrap();
        let p = RootlessPodman { user, home };
        let tar = p.home.join("rootfs.tar");
        rootfs_tarball(&tar, &["httpd", "wget"]);
        std::os::unix::fs::chown(&tar, Some(p.user.uid), Some(p.user.gid)).unwrap();
        let r = p.podman(&["import", tar.to_str().unwrap(), IMAGE]);
        assert_eq!(r.code, 0, "podman import: {}", r.err);
        p
    }

    fn podman(&self, args: &[&str]) -> R {
        let mut c = self.user.command("timeout", None);
        c.env("HOME", self.home.path())
            .current_dir(self.home.path())
            .args(["-k", "5", "120", "podman"])
            .arg("--root")
            .arg(self.home.join("storage"))
            .arg("--runroot")
            .arg(self.user.xdg_runtime_dir().join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime"])
            .arg(runtime_bin())
            .args(args)
            .stdin(Stdio::null());
        let o = c.output().expect("run podman");
        R {
            code: o.status.code().unwrap_or(-1),
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let r = self.podman(args);
        assert_eq!(r.code, 0, "podman {args:?}: {}{}", r.out, r.err);
        r.out
    }

    /// The user's processes, from /proc (pid, command line).
    fn processes(&self) -> Vec<(i32, String)> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(meta) = std::fs::metadata(e.path()) else {
                continue;
            };
            if meta.uid() == self.user.uid {
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                out.push((pid, String::from_utf8_lossy(&cmd).replace('\0', " ")));
            }
        }
        out
    }
}

impl Drop for RootlessPodman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "-af", "-t", "0"]);
        let _ = self.podman(&["rmi", "-af"]);
        // podman's pause process holds the user's namespaces: ended by its recorded PID.
        let pid_file = self.user.xdg_runtime_dir().join("libpod/tmp/pause.pid");
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            // SAFETY: a plain kill of the PID podman recorded for this test's user.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            integration_tests::host::wait_process_gone(pid);
        }
        // vfs storage written from the user namespace: remove it as root.
        let _ = std::fs::remove_dir_all(self.home.join("storage"));
        // podman's lock file for the user, made on first use.
        let _ = std::fs::remove_file(format!("/dev/shm/libpod_rootless_lock_{}", self.user.uid));
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

#[test]
fn rootless_podman_runs_execs_mounts_and_publishes_with_quai() {
    if Command::new("podman").arg("--version").output().is_err() {
        panic!("podman is missing: scripts/test.sh installs it");
    }
    let p = RootlessPodman::new();
    let uid = p.user.uid.to_string();

    // run: root inside is the user outside; the user's subordinate ids map the rest.
    let out = p.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMAGE,
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map",
    ]);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["0"],
            vec!["0", uid.as_str(), "1"],
            vec!["1", "3100000", "65536"]
        ],
        "{out}"
    );
    // quai ran: its state root is the user's, and holds nothing after --rm.
    let root = p.user.default_root();
    assert!(root.is_dir(), "{} was not made", root.display());
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);

    // exec into a running container, as root and as another user.
    p.ok(&[
        "run",
        "-d",
        "--name",
        "sleeper",
        "--network",
        "none",
        IMAGE,
        "sleep",
        "1000",
    ]);
    assert_eq!(p.ok(&["exec", "sleeper", "id", "-u"]).trim(), "0");
    assert_eq!(
        p.ok(&["exec", "--user", "1000", "sleeper", "id", "-u"])
            .trim(),
        "1000"
    );
    let pid: i32 = p
        .ok(&["inspect", "--format", "{{.State.Pid}}", "sleeper"])
        .trim()
        .parse()
        .unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let host_uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap();
    assert_eq!(
        host_uid, uid,
        "the container's root is the user on the host"
    );
    p.ok(&["rm", "-f", "-t", "0", "sleeper"]);

    // volume: files the container writes belong to the mapped host ids.
    let vol = p.home.join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::os::unix::fs::chown(&vol, Some(p.user.uid), Some(p.user.gid)).unwrap();
    std::fs::set_permissions(&vol, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let spec = format!("{}:/data", vol.display());
    p.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &spec,
        IMAGE,
        "sh",
        "-c",
        "echo a > /data/by-root",
    ]);
    p.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--user",
        "1000",
        "-v",
        &spec,
        IMAGE,
        "sh",
        "-c",
        "echo b > /data/by-1000",
    ]);
    let owner = |f: &str| std::fs::metadata(vol.join(f)).unwrap().uid();
    assert_eq!(owner("by-root"), p.user.uid);
    assert_eq!(owner("by-1000"), SUB + 999);

    // port: a server in the container, reached from the host (slirp4netns).
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    p.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &publish,
        IMAGE,
        "sh",
        "-c",
        "mkdir /www && echo rootless-ok > /www/index.html && exec httpd -f -p 8080 -h /www",
    ]);
    let start = Instant::now();
    let body = loop {
        match get(port, "/index.html") {
            Some(b) if b.contains("rootless-ok") => break b,
            other => assert!(
                start.elapsed() < Duration::from_secs(20),
                "port {port} never answered: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(body.starts_with("HTTP/1."), "{body}");
    p.ok(&["rm", "-f", "-t", "0", "web"]);

    // Nothing left: no container state, and no process of the user but podman's pause
    // process (which the fixture stops).
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    let others = || -> Vec<(i32, String)> {
        p.processes()
            .into_iter()
            .filter(|(_, cmd)| !cmd.starts_with("catatonit") && !cmd.contains("podman pause"))
            .collect()
    };
    // conmon exits just after `rm` returns.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !others().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(others(), [], "the user's processes left");
    drop(p);
    let lock = std::path::Path::new("/dev/shm").join(format!("libpod_rootless_lock_{uid}"));
    assert!(!lock.exists(), "{} is left", lock.display());
}
