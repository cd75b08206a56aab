//! An unprivileged user made for a test (`useradd`, removed with `userdel` on drop), the
//! runtime run as that user, and a bundle set up as `quai spec --rootless` sets one up.

use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::json;

use crate::out::{run_captured, Out};
use crate::{Bundle, TempDir};

/// useradd and userdel lock /etc/passwd; the tests of one binary take turns.
static ACCOUNTS: Mutex<()> = Mutex::new(());

/// A system user (no home, no login shell, no subordinate ids unless given), with its
/// own `XDG_RUNTIME_DIR`.
pub struct TestUser {
    /// The login name.
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
    xdg: TempDir,
    /// Made with useradd (and so removed with userdel).
    account: bool,
}

fn account_cmd(program: &str, args: &[&str]) -> Result<(), String> {
    let _turn = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn id_of(flag: &str, name: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, name])
        .output()
        .expect("run id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("id {flag} {name}: {out:?}"))
}

impl TestUser {
    /// Makes the user.
    pub fn new() -> TestUser {
        let name = format!("qit{}", crate::tempdir::unique().replace('-', "x"));
        account_cmd(
            "useradd",
            &[
                "--system",
                "--no-create-home",
                "--user-group",
                "--shell",
                "/usr/sbin/nologin",
                &name,
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let uid = id_of("-u", &name);
        let gid = id_of("-g", &name);
        let mut u = Self::without_account(uid, gid);
        u.name = name;
        u.account = true;
        u
    }

    /// A uid and gid with no account (where /etc cannot be written, as in the VM, whose
    /// root filesystem is the host's, read-only): enough for quai, which looks no
    /// account up; not for newuidmap, which needs /etc/subuid.
    pub fn without_account(uid: u32, gid: u32) -> TestUser {
        let xdg = TempDir::new("xdg");
        chown(xdg.path(), Some(uid), Some(gid)).expect("chown XDG_RUNTIME_DIR");
        std::fs::set_permissions(
            xdg.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod XDG_RUNTIME_DIR");
        TestUser {
            name: format!("#{uid}"),
            uid,
            gid,
            xdg,
            account: false,
        }
    }

    /// Gives the user `count` subordinate uids and gids from `first` (`/etc/subuid`,
    /// `/etc/subgid`), for `newuidmap`/`newgidmap`.
    pub fn with_subids(self, first: u32, count: u32) -> TestUser {
        let range = format!("{first}-{}", first + count - 1);
        account_cmd(
            "usermod",
            &["--add-subuids", &range, "--add-subgids", &range, &self.name],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        self
    }

    /// The user's `XDG_RUNTIME_DIR`.
    pub fn xdg_runtime_dir(&self) -> &Path {
        self.xdg.path()
    }

    /// Where the runtime keeps this user's state by default: `$XDG_RUNTIME_DIR/quai`.
    pub fn default_root(&self) -> PathBuf {
        self.xdg.join("quai")
    }

    /// Runs `bin args` as the user, with a clean environment (PATH, HOME, USER and
    /// XDG_RUNTIME_DIR) and no supplementary groups; the output goes to `out/<name>`.
    pub fn run(&self, bin: &Path, args: &[&str], out: &Path, name: &str) -> Out {
        self.run_in_cgroup(bin, args, out, name, None)
    }

    /// [`TestUser::run`], the process first moved (by root, before it drops to the
    /// user) into the cgroup v2 directory `cgroup`: where a delegated subtree's owner
    /// runs, as systemd puts a user's session in the subtree it delegates.
    pub fn run_in_cgroup(
        &self,
        bin: &Path,
        args: &[&str],
        out: &Path,
        name: &str,
        cgroup: Option<&Path>,
    ) -> Out {
        let mut cmd = self.command(bin, cgroup);
        cmd.args(args);
        run_captured(cmd, out, name, None)
    }

    /// `program` to be run as the user (see [`TestUser::run_in_cgroup`]); the caller
    /// adds arguments and may change the environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, cgroup: Option<&Path>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", "/")
            .env("USER", &self.name)
            .env("XDG_RUNTIME_DIR", self.xdg.path())
            .current_dir("/");
        let procs = cgroup.map(|d| {
            std::ffi::CString::new(d.join("cgroup.procs").into_os_string().into_encoded_bytes())
                .expect("cgroup path")
        });
        let (uid, gid) = (self.uid, self.gid);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(p) = &procs {
                    let fd = libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }
}

impl Default for TestUser {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Never panic in drop; a user left behind is reported.
        if !self.account {
            return;
        }
        if let Err(e) = account_cmd("userdel", &[&self.name]) {
            eprintln!("warning: {e}");
        }
    }
}

/// Makes `bundle` what `quai spec --rootless` (runc's rootless template) makes for a
/// caller `uid`/`gid`: a user namespace mapping root to the caller alone, no network
/// namespace and the host's /sys bound read-only, no `gid=` on devpts, no resources.
pub fn rootless_bundle(bundle: &mut Bundle, uid: u32, gid: u32) {
    bundle.namespace("user", None);
    bundle.remove_namespace("network");
    bundle.set(
        "/linux/uidMappings",
        json!([{ "containerID": 0, "hostID": uid, "size": 1 }]),
    );
    bundle.set(
        "/linux/gidMappings",
        json!([{ "containerID": 0, "hostID": gid, "size": 1 }]),
    );
    bundle.remove_mount("/sys");
    bundle.add_mount(
        "/sys",
        "none",
        "/sys",
        &["rbind", "nosuid", "noexec", "nodev", "ro"],
    );
    if let Some(mounts) = bundle.config["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| !o.as_str().is_some_and(|s| s.starts_with("gid=")));
            }
        }
        // /sys/fs/cgroup after /sys: the rbind replaced /sys at the end.
        let i = mounts
            .iter()
            .position(|m| m["destination"] == "/sys/fs/cgroup");
        if let Some(i) = i {
            let cg = mounts.remove(i);
            mounts.push(cg);
        }
    }
    bundle.remove("/linux/resources");
}
