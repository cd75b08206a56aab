//! A bundle in a temporary directory: `rootfs/` plus a `config.json` edited as JSON.

mod base;

pub use base::base_config;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// An OCI bundle: a directory with a busybox `rootfs/` and the config to write.
pub struct Bundle {
    dir: PathBuf,
    /// The config document; `save` writes it to `config.json`.
    pub config: Value,
}

impl Bundle {
    /// A bundle in `dir` (which must exist) with a fresh root filesystem and the base config.
    pub fn new(dir: &Path) -> Bundle {
        crate::assets::populate_rootfs(&dir.join("rootfs"));
        Bundle {
            dir: dir.to_path_buf(),
            config: base_config(),
        }
    }

    /// The bundle directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root filesystem directory.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Write `config.json`.
    pub fn save(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        std::fs::write(self.dir.join("config.json"), text).expect("write config.json");
    }

    /// The value at a JSON pointer (`/process/args`), creating objects on the way.
    pub fn at(&mut self, pointer: &str) -> &mut Value {
        let mut v = &mut self.config;
        for key in pointer.split('/').skip(1) {
            if !v.is_object() {
                *v = json!({});
            }
            v = v
                .as_object_mut()
                .map(|o| o.entry(key.to_string()).or_insert(Value::Null))
                .expect("object");
        }
        v
    }

    /// Set the value at a JSON pointer.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        *self.at(pointer) = value;
        self
    }

    /// Remove the key a JSON pointer names.
    pub fn remove(&mut self, pointer: &str) -> &mut Self {
        if let Some((parent, key)) = pointer.rsplit_once('/') {
            if let Some(o) = self
                .config
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
            {
                o.remove(key);
            }
        }
        self
    }

    /// Append to the array at a JSON pointer, creating it.
    pub fn push(&mut self, pointer: &str, value: Value) -> &mut Self {
        let v = self.at(pointer);
        if !v.is_array() {
            *v = json!([]);
        }
        if let Some(a) = v.as_array_mut() {
            a.push(value)
        }
        self
    }

    /// Set `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }

    /// Set `process.args` to `/bin/probe <args>`.
    pub fn probe(&mut self, args: &[&str]) -> &mut Self {
        let mut all = vec!["/bin/probe"];
        all.extend_from_slice(args);
        self.args(&all)
    }

    /// Append a mount.
    pub fn add_mount(
        &mut self,
        dest: &str,
        typ: &str,
        source: &str,
        options: &[&str],
    ) -> &mut Self {
        self.push(
            "/mounts",
            json!({ "destination": dest, "type": typ, "source": source, "options": options }),
        )
    }

    /// Remove every mount with this destination.
    pub fn remove_mount(&mut self, dest: &str) -> &mut Self {
        if let Some(a) = self.config["mounts"].as_array_mut() {
            a.retain(|m| m["destination"] != dest);
        }
        self
    }

    /// Replace the namespace list with new namespaces of these types.
    pub fn namespaces(&mut self, kinds: &[&str]) -> &mut Self {
        let list: Vec<Value> = kinds.iter().map(|k| json!({ "type": k })).collect();
        self.set("/linux/namespaces", json!(list))
    }

    /// Add (or replace) a namespace, joined at `path` when given.
    pub fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(kind);
        let ns = match path {
            Some(p) => json!({ "type": kind, "path": p }),
            None => json!({ "type": kind }),
        };
        self.push("/linux/namespaces", ns)
    }

    /// Drop a namespace type, so the container shares the host's.
    pub fn remove_namespace(&mut self, kind: &str) -> &mut Self {
        if let Some(a) = self.config["linux"]["namespaces"].as_array_mut() {
            a.retain(|n| n["type"] != kind);
        }
        self
    }

    /// A new user namespace mapping container 0..size to host `host_id..host_id+size`
    /// for both uids and gids.
    pub fn userns(&mut self, host_id: u32, size: u32) -> &mut Self {
        self.namespace("user", None);
        let map = json!([{ "containerID": 0, "hostID": host_id, "size": size }]);
        self.set("/linux/uidMappings", map.clone());
        self.set("/linux/gidMappings", map)
    }

    /// Append a hook of `kind` (`prestart`, `createRuntime`, ...).
    pub fn add_hook(
        &mut self,
        kind: &str,
        path: &str,
        args: &[&str],
        env: &[&str],
        timeout: Option<u32>,
    ) -> &mut Self {
        let mut hook = json!({ "path": path, "args": args, "env": env });
        if let Some(t) = timeout {
            hook["timeout"] = json!(t);
        }
        self.push(&format!("/hooks/{kind}"), hook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare() -> Bundle {
        Bundle {
            dir: PathBuf::from("/nonexistent"),
            config: base_config(),
        }
    }

    #[test]
    fn set_creates_objects_on_the_way() {
        let mut b = bare();
        b.set("/linux/timeOffsets/monotonic/secs", json!(5));
        assert_eq!(b.config["linux"]["timeOffsets"]["monotonic"]["secs"], 5);
        assert!(
            b.config["linux"]["namespaces"].is_array(),
            "siblings are kept"
        );
    }

    #[test]
    fn namespaces_add_replace_remove() {
        let mut b = bare();
        b.namespace("network", Some("/run/netns/x"));
        let ns = b.config["linux"]["namespaces"].as_array().unwrap().clone();
        assert_eq!(ns.iter().filter(|n| n["type"] == "network").count(), 1);
        assert!(ns.iter().any(|n| n["path"] == "/run/netns/x"));
        b.remove_namespace("pid");
        assert!(!b.config["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "pid"));
    }

    #[test]
    fn mounts_hooks_and_remove() {
        let mut b = bare();
        b.add_mount("/x", "tmpfs", "tmpfs", &["size=1m"]);
        b.add_hook("prestart", "/bin/true", &["true"], &[], Some(3));
        assert_eq!(
            b.config["mounts"].as_array().unwrap().last().unwrap()["destination"],
            "/x"
        );
        assert_eq!(b.config["hooks"]["prestart"][0]["timeout"], 3);
        b.remove_mount("/x").remove("/hostname");
        assert!(b.config.get("hostname").is_none());
        assert!(!b.config["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["destination"] == "/x"));
    }
}
