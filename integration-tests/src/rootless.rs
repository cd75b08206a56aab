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
        let xdg = TempDir::new("xdg");
        chown(xdg.path(), Some(uid), Some(gid)).expect("chown XDG_RUNTIME_DIR");
        std::fs::set_permissions(
            xdg.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod XDG_RUNTIME_DIR");
        TestUser {
            name,
            uid,
            gid,
            xdg,
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
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", "/")
            .env("USER", &self.name)
            .env("XDG_RUNTIME_DIR", self.xdg.path())
            .current_dir("/")
            .uid(self.uid)
            .gid(self.gid);
        run_captured(cmd, out, name, None)
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
