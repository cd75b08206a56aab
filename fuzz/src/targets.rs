//! The fuzz targets: each reads bytes as the runtime would read them from outside.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A target: its seeds, extra fixed inputs, the function under test, and a check that
/// nothing was left behind after an input.
pub struct Target {
    pub seeds: fn() -> Vec<Vec<u8>>,
    pub extra: fn() -> Vec<Vec<u8>>,
    pub run: fn(&[u8]),
    pub left_behind: fn() -> Result<(), String>,
}

pub fn all() -> Vec<(&'static str, Target)> {
    vec![
        (
            "config",
            Target {
                seeds: config_seeds,
                extra: no_extra,
                run: config,
                left_behind: scratch_is_clean,
            },
        ),
        (
            "seccomp",
            Target {
                seeds: seccomp_seeds,
                extra: no_extra,
                run: seccomp,
                left_behind: nothing,
            },
        ),
        (
            "state",
            Target {
                seeds: state_seeds,
                extra: no_extra,
                run: state,
                left_behind: state_root_is_clean,
            },
        ),
        (
            "cli",
            Target {
                seeds: crate::cli::seeds,
                extra: crate::cli::extra,
                run: crate::cli::run,
                left_behind: crate::cli::nothing_running,
            },
        ),
        (
            "mountinfo",
            Target {
                seeds: mountinfo_seeds,
                extra: no_extra,
                run: mountinfo,
                left_behind: nothing,
            },
        ),
    ]
}

fn no_extra() -> Vec<Vec<u8>> {
    Vec::new()
}

fn nothing() -> Result<(), String> {
    Ok(())
}

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files_in(dir: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A scratch directory of this process (an empty rootfs for validation, a state root).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("quai-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(d.join("rootfs")).expect("scratch rootfs");
        std::fs::create_dir_all(d.join("root")).expect("scratch state root");
        d
    })
}

/// Removes the scratch directory (at the end of a run).
pub fn cleanup() {
    let _ = std::fs::remove_dir_all(scratch());
    crate::cli::cleanup();
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// --- config.json ---------------------------------------------------------------------

fn config_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        serde_json::to_vec_pretty(&libcontainer::spec::default_spec(false)).expect("default"),
        serde_json::to_vec_pretty(&libcontainer::spec::default_spec(true)).expect("rootless"),
    ];
    // The default spec as engines fill it: Docker's seccomp profile, resources,
    // namespaces joined by path, devices, hooks, mounts with options.
    let mut full = libcontainer::spec::default_spec(false);
    let profile =
        std::fs::read(repo().join("integration-tests/tests/data/seccomp/docker-default.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    if let Some(p) = profile {
        full["linux"]["seccomp"] = p;
    }
    full["linux"]["resources"] = serde_json::json!({
        "memory": { "limit": 268435456, "reservation": 1024, "swap": -1 },
        "cpu": { "shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0" },
        "pids": { "limit": 100 },
        "devices": [{ "allow": false, "access": "rwm" }, { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" }],
        "blockIO": { "weight": 500 },
        "hugepageTlb": [{ "pageSize": "2MB", "limit": 0 }],
        "unified": { "memory.high": "max" }
    });
    full["linux"]["devices"] = serde_json::json!([{ "path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0 }]);
    full["linux"]["namespaces"] = serde_json::json!([{ "type": "pid" }, { "type": "network", "path": "/proc/1/ns/net" }, { "type": "mount" }, { "type": "user" }]);
    full["linux"]["uidMappings"] =
        serde_json::json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    full["linux"]["gidMappings"] =
        serde_json::json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    full["linux"]["sysctl"] = serde_json::json!({ "net.ipv4.ip_forward": "1" });
    full["hooks"] = serde_json::json!({ "prestart": [{ "path": "/bin/true", "args": ["true"], "timeout": 5 }] });
    if let Some(m) = full["mounts"].as_array_mut() {
        m.push(serde_json::json!({
            "destination": "/data", "type": "bind", "source": "/tmp",
            "options": ["rbind", "ro", "idmap"],
            "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }]
        }));
    }
    full["process"]["rlimits"] =
        serde_json::json!([{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }]);
    full["process"]["user"] =
        serde_json::json!({ "uid": 1000, "gid": 1000, "additionalGids": [10, 20], "umask": 18 });
    seeds.push(serde_json::to_vec_pretty(&full).expect("full seed"));
    seeds
}

fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(spec) = libcontainer::spec::parse(&text) {
        let _ = libcontainer::spec::Bundle::from_spec(spec, &scratch().join("rootfs"));
    }
}

fn scratch_is_clean() -> Result<(), String> {
    let left = listing(&scratch().join("rootfs"));
    if left.is_empty() {
        Ok(())
    } else {
        Err(format!("validation wrote into the rootfs: {left:?}"))
    }
}

// --- seccomp -------------------------------------------------------------------------

fn seccomp_seeds() -> Vec<Vec<u8>> {
    files_in(&repo().join("integration-tests/tests/data/seccomp"))
}

fn seccomp(data: &[u8]) {
    if let Ok(profile) = serde_json::from_slice::<libcontainer::spec::LinuxSeccomp>(data) {
        let _ = libcontainer::seccomp::Filter::compile(&profile);
    }
}

// --- state.json ----------------------------------------------------------------------

fn state_seeds() -> Vec<Vec<u8>> {
    files_in(&repo().join("fuzz/seeds/state"))
}

/// Writes the input as the state of container `fuzz` and reads it back as `state`
/// does: nothing in this target may write, signal or remove.
fn state(data: &[u8]) {
    let dir = scratch().join("root/fuzz");
    std::fs::create_dir_all(&dir).expect("state dir");
    std::fs::write(dir.join("state.json"), data).expect("write state.json");
    if let Ok(c) = libcontainer::container::Container::load(&scratch().join("root"), "fuzz") {
        let _ = c.state();
    }
    let _ = libcontainer::container::Container::list(&scratch().join("root"));
}

fn state_root_is_clean() -> Result<(), String> {
    let left = listing(&scratch().join("root/fuzz"));
    if left == ["state.json"] {
        Ok(())
    } else {
        Err(format!("the state directory holds {left:?}"))
    }
}

// --- mountinfo -----------------------------------------------------------------------

fn mountinfo_seeds() -> Vec<Vec<u8>> {
    vec![std::fs::read("/proc/self/mountinfo").expect("read mountinfo")]
}

fn mountinfo(data: &[u8]) {
    let _ = libcontainer::mountinfo::parse(&String::from_utf8_lossy(data));
}
