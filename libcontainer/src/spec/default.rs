//! The default `config.json` that `quai spec` writes: the document `runc spec` writes
//! (hostname `quai`), and with `rootless` the changes `runc spec --rootless` makes.

use serde_json::{json, Value};

/// The `ociVersion` of the default spec (also what `quai --version` reports).
const DEFAULT_OCI_VERSION: &str = "1.3.0";

/// runc's default spec (with `rootless` adjustments) as JSON.
///
/// Rootless: the network namespace is dropped and a user namespace added that maps
/// root to the caller's effective uid and gid, `/sys` becomes a read-only rbind (sysfs
/// cannot be mounted without owning the network namespace), `uid=`/`gid=` mount options
/// are removed (no such ids are mapped) and cgroup resources are dropped.
pub fn default_spec(rootless: bool) -> Value {
    let mut spec = base_spec();
    if rootless {
        to_rootless(
            &mut spec,
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
    }
    spec
}

fn caps() -> Value {
    json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
}

fn base_spec() -> Value {
    json!({
        "ociVersion": DEFAULT_OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": caps(),
                "effective": caps(),
                "permitted": caps(),
                "ambient": caps(),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true,
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "quai",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    })
}

/// The changes runc's `ToRootless` makes, for the given host uid and gid.
fn to_rootless(spec: &mut Value, uid: u32, gid: u32) {
    if let Some(linux) = spec["linux"].as_object_mut() {
        let mut nss: Vec<Value> = linux
            .get("namespaces")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|ns| !matches!(ns["type"].as_str(), Some("network" | "user")))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        nss.push(json!({"type": "user"}));
        linux.insert("namespaces".into(), Value::Array(nss));
        linux.insert(
            "uidMappings".into(),
            json!([{"containerID": 0, "hostID": uid, "size": 1}]),
        );
        linux.insert(
            "gidMappings".into(),
            json!([{"containerID": 0, "hostID": gid, "size": 1}]),
        );
        linux.remove("resources");
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if m["destination"] == "/sys" {
                *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            } else if let Some(opts) = m.get_mut("options").and_then(Value::as_array_mut) {
                opts.retain(|o| {
                    !o.as_str()
                        .is_some_and(|s| s.starts_with("uid=") || s.starts_with("gid="))
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxNamespaceType, Spec};

    fn roundtrip(v: &Value) -> Spec {
        let text = serde_json::to_string_pretty(v).expect("serializes");
        let spec = crate::spec::parse(&text).expect("parses as a spec");
        super::super::validate::check(&spec).expect("passes validation");
        spec
    }

    #[test]
    fn default_parses_and_matches_runc() {
        let v = default_spec(false);
        let spec: Spec = roundtrip(&v);
        assert_eq!(spec.hostname().as_deref(), Some("quai"));
        assert_eq!(v["process"]["args"], json!(["sh"]));
        let nss: Vec<_> = spec
            .linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        assert!(nss.contains(&LinuxNamespaceType::Network));
        assert!(!nss.contains(&LinuxNamespaceType::User));
        assert_eq!(spec.mounts().as_ref().unwrap().len(), 7);
        assert!(v["linux"]["resources"].is_object());
    }

    #[test]
    fn rootless_adjustments() {
        let mut v = base_spec();
        to_rootless(&mut v, 1000, 1001);
        let spec = roundtrip(&v);
        let linux = spec.linux().as_ref().unwrap();
        let nss: Vec<_> = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        assert!(!nss.contains(&LinuxNamespaceType::Network));
        assert_eq!(nss.last(), Some(&LinuxNamespaceType::User));
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
        assert_eq!(linux.gid_mappings().as_ref().unwrap()[0].host_id(), 1001);
        assert!(linux.resources().is_none());
        assert_eq!(v["mounts"][5]["type"], "none");
        assert_eq!(v["mounts"][5]["options"][0], "rbind");
        assert_eq!(
            v["mounts"][2]["options"],
            json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620"
            ])
        );
        // The public entry point maps the caller's own ids.
        let v = default_spec(true);
        assert_eq!(
            v["linux"]["uidMappings"][0]["hostID"],
            nix::unistd::geteuid().as_raw()
        );
        roundtrip(&v);
    }
}
