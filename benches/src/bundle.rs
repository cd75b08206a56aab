//! The benchmark's scratch directory and its bundle: a busybox-static rootfs running
//! `true`, with a config from `quai spec`. Containers created at the same time each get
//! a bundle directory of their own ([`Bundle::write_variant`]) that shares the rootfs.

use serde_json::Value;
use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The static busybox every runtime's container runs.
const BUSYBOX: &str = "/bin/busybox";

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory under `parent`.
    pub fn new_in(parent: &Path, prefix: &str) -> io::Result<TempDir> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = parent.join(format!("{prefix}-{}-{nanos}", std::process::id()));
        fs::create_dir(&path)?;
        Ok(TempDir(path))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A bundle whose config is rewritten for every container (each needs its own cgroup).
pub struct Bundle {
    dir: PathBuf,
    config: Value,
}

impl Bundle {
    /// Builds `<parent>/bundle` with a busybox rootfs and `quai spec`'s default config,
    /// changed to run `true` without a terminal.
    pub fn create(parent: &Path, quai: &Path) -> Result<Bundle, String> {
        let dir = parent.join("bundle");
        let bin = dir.join("rootfs/bin");
        fs::create_dir_all(&bin).map_err(|e| format!("mkdir {}: {e}", bin.display()))?;
        fs::copy(BUSYBOX, bin.join("busybox")).map_err(|e| format!("copy {BUSYBOX}: {e}"))?;
        for name in ["true", "sh", "sleep"] {
            symlink("busybox", bin.join(name)).map_err(|e| format!("symlink {name}: {e}"))?;
        }
        let out = Command::new(quai)
            .arg("spec")
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("{} spec: {e}", quai.display()))?;
        if !out.status.success() {
            return Err(format!(
                "quai spec failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let text = fs::read_to_string(dir.join("config.json"))
            .map_err(|e| format!("read config.json: {e}"))?;
        let mut config: Value =
            serde_json::from_str(&text).map_err(|e| format!("parse config.json: {e}"))?;
        // crun 1.8.1 refuses any ociVersion newer than 1.1 ("unknown version specified");
        // every runtime gets the same config, so give them one all three accept.
        config["ociVersion"] = Value::from("1.0.2");
        config["process"]["terminal"] = Value::from(false);
        config["process"]["args"] = Value::from(vec!["true"]);
        Ok(Bundle { dir, config })
    }

    /// The bundle directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sets the process's arguments for the containers that follow (written with the
    /// next [`Bundle::set_cgroups_path`]).
    pub fn set_args(&mut self, args: &[&str]) {
        self.config["process"]["args"] = Value::from(args.to_vec());
    }

    /// Gives every container this `linux.seccomp` (an engine's default profile).
    pub fn set_seccomp(&mut self, profile: Value) {
        self.config["linux"]["seccomp"] = profile;
    }

    /// Writes `<dir>/config.json`: this config with the given `cgroupsPath`, the shared
    /// rootfs by its absolute path, and `edit` applied; returns `dir` for `--bundle`.
    pub fn write_variant(
        &self,
        dir: &Path,
        cgroups_path: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<String, String> {
        let mut config = self.config.clone();
        config["linux"]["cgroupsPath"] = Value::from(cgroups_path);
        let rootfs = self.dir.join("rootfs");
        config["root"]["path"] = Value::from(rootfs.to_string_lossy().into_owned());
        edit(&mut config);
        fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let text = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
        fs::write(dir.join("config.json"), text)
            .map_err(|e| format!("write {}/config.json: {e}", dir.display()))?;
        Ok(dir.to_string_lossy().into_owned())
    }

    /// Writes config.json with the given `cgroupsPath` for the next container.
    pub fn set_cgroups_path(&mut self, cgroups_path: &str) -> Result<(), String> {
        self.config["linux"]["cgroupsPath"] = Value::from(cgroups_path);
        let text = serde_json::to_string_pretty(&self.config).map_err(|e| e.to_string())?;
        fs::write(self.dir.join("config.json"), text).map_err(|e| format!("write config: {e}"))
    }
}
