//! cgroup v2: containers on a pure cgroup v2 host, placement and resources.
//!
//! These tests need a pure cgroup v2 host, which this project's machines are not (their
//! cgroups are hybrid v1), so they run inside a small VM: `scripts/vm/run-cgroup-v2-tests.sh`
//! builds this test binary, quai and the probe on the host, boots the VM
//! (`scripts/vm/run.sh`) and runs the binary there with `QUAI_IN_VM=1`. Anywhere else
//! each test says why it does nothing and returns; inside the VM a host that is not
//! what the suite needs fails the test instead of skipping it.

use integration_tests::{json, report, Ctr, Value};
use std::path::{Path, PathBuf};

/// The cgroup2 mount inside the VM.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Controllers the tests below write limits for; the VM prelude enables them at the root.
const NEEDED_CONTROLLERS: &[&str] = &["cpu", "memory", "pids"];

/// True inside the VM (`QUAI_IN_VM=1` on a pure cgroup v2 host); false elsewhere, after
/// saying why. Inside the VM a host that lacks what the suite needs panics: a broken VM
/// must fail the run, not pass it empty.
fn in_vm() -> bool {
    let asked = std::env::var("QUAI_IN_VM").is_ok_and(|v| v == "1");
    let controllers = Path::new(CGROUP_ROOT).join("cgroup.controllers");
    if !asked {
        let host = if controllers.exists() {
            "this host is cgroup v2, but QUAI_IN_VM is not set"
        } else {
            "this host is cgroup v1"
        };
        eprintln!(
            "cgroup v2 suite: runs inside the VM via scripts/vm/run-cgroup-v2-tests.sh; {host}"
        );
        return false;
    }
    assert!(
        controllers.exists(),
        "QUAI_IN_VM=1 but {CGROUP_ROOT} is not a cgroup2 mount: the VM prelude failed"
    );
    let enabled = read(&Path::new(CGROUP_ROOT).join("cgroup.subtree_control"));
    for c in NEEDED_CONTROLLERS {
        assert!(
            enabled.split_whitespace().any(|e| e == *c),
            "controller {c} is not enabled at the root (subtree_control: {enabled:?})"
        );
    }
    true
}

#[track_caller]
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A parent cgroup made the way an engine makes one before asking the runtime for a
/// container inside it; removed on drop (after the container's own directory is gone).
struct EngineParent {
    name: String,
}

impl EngineParent {
    fn new() -> EngineParent {
        let name = format!("quai-v2-eng-{}", integration_tests::tempdir::unique());
        let dir = Path::new(CGROUP_ROOT).join(&name);
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        EngineParent { name }
    }

    /// `cgroupsPath` for a container named `leaf` under this parent.
    fn cgroups_path(&self, leaf: &str) -> String {
        format!("/{}/{leaf}", self.name)
    }
}

impl Drop for EngineParent {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(Path::new(CGROUP_ROOT).join(&self.name));
    }
}

/// The host directory of a `cgroupsPath`.
fn host_dir(cgroups_path: &str) -> PathBuf {
    Path::new(CGROUP_ROOT).join(cgroups_path.trim_start_matches('/'))
}

/// The single `0::<path>` line of a v2 `/proc/<pid>/cgroup`, failing on anything else.
#[track_caller]
fn v2_path(proc_cgroup: &str) -> &str {
    let lines: Vec<&str> = proc_cgroup.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "one unified hierarchy only: {proc_cgroup:?}"
    );
    lines[0]
        .strip_prefix("0::")
        .unwrap_or_else(|| panic!("not a cgroup v2 line: {proc_cgroup:?}"))
}

#[test]
fn container_runs_on_pure_v2_host() {
    if !in_vm() {
        return;
    }
    let mut c = Ctr::new();
    let r = c.report(&["--read", "/proc/self/cgroup"]);
    let own = r["read"]["/proc/self/cgroup"]
        .as_str()
        .unwrap_or_else(|| panic!("probe could not read /proc/self/cgroup: {r}"));
    let path = v2_path(own);
    assert!(
        path.starts_with('/') && path.ends_with(&format!("/{}", c.id)),
        "without cgroupsPath the container gets a cgroup named after its id: {path:?}"
    );
    let cg = report::mount(&r, "/sys/fs/cgroup");
    assert_eq!(cg["fstype"], "cgroup2", "{cg}");
}

#[test]
fn cgroup_namespace_root_is_the_containers_cgroup() {
    if !in_vm() {
        return;
    }
    let mut c = Ctr::new();
    c.bundle.namespace("cgroup", None);
    let r = c.report(&[
        "--read",
        "/proc/self/cgroup",
        "--read",
        "/sys/fs/cgroup/cgroup.procs",
    ]);
    assert_eq!(r["read"]["/proc/self/cgroup"], "0::/\n", "{}", r["read"]);
    let cg = report::mount(&r, "/sys/fs/cgroup");
    assert_eq!(cg["fstype"], "cgroup2", "{cg}");
    // The mounted hierarchy is the container's own cgroup: its only process is PID 1.
    assert_eq!(
        r["read"]["/sys/fs/cgroup/cgroup.procs"], "1\n",
        "{}",
        r["read"]
    );
}

#[test]
fn init_is_in_cgroups_path_until_delete() {
    if !in_vm() {
        return;
    }
    let parent = EngineParent::new();
    let mut c = Ctr::new();
    let path = parent.cgroups_path(&c.id);
    c.bundle.set("/linux/cgroupsPath", json!(path));
    c.bundle.probe(&["sleep", "forever"]);
    let dir = host_dir(&path);
    c.create(&[]).ok();
    let pid = c.pid();
    let assert_inside = |when: &str| {
        let procs = read(&dir.join("cgroup.procs"));
        assert!(
            procs.lines().any(|l| l.trim() == pid.to_string()),
            "{when}: init {pid} is not in {}/cgroup.procs: {procs:?}",
            dir.display()
        );
        let own = read(Path::new(&format!("/proc/{pid}/cgroup")));
        assert_eq!(v2_path(&own), path, "{when}: /proc/{pid}/cgroup");
    };
    assert_inside("created");
    c.start().ok();
    c.wait_status("running");
    assert_inside("running");
    c.kill(&["KILL"]).ok();
    c.wait_status("stopped");
    c.delete(&[]).ok();
    assert!(!dir.exists(), "{} is left after delete", dir.display());
    c.assert_gone(Some(pid));
}

/// Run a sleeping container under an engine parent with `linux.resources` = `resources`
/// and return the host's reading of each of `files` in its cgroup. The container is
/// deleted (and checked gone) before returning.
#[track_caller]
fn host_view_of_limits(resources: Value, files: &[&str]) -> Vec<String> {
    // Declared first, dropped last: the container's directory goes before its parent.
    let parent = EngineParent::new();
    let mut c = Ctr::new();
    let path = parent.cgroups_path(&c.id);
    c.bundle.set("/linux/cgroupsPath", json!(path));
    c.bundle.set("/linux/resources", resources);
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    let dir = host_dir(&path);
    let values = files
        .iter()
        .map(|f| read(&dir.join(f)).trim().to_string())
        .collect();
    c.delete(&["--force"]).ok();
    assert!(!dir.exists(), "{} is left after delete", dir.display());
    c.assert_gone(Some(pid));
    values
}

#[test]
fn memory_limit_is_memory_max() {
    if !in_vm() {
        return;
    }
    let limit = 64 * 1024 * 1024;
    let v = host_view_of_limits(json!({ "memory": { "limit": limit } }), &["memory.max"]);
    assert_eq!(v[0], limit.to_string(), "memory.max");
}

#[test]
fn memory_limit_seen_from_inside_with_cgroup_namespace() {
    if !in_vm() {
        return;
    }
    let limit = 64 * 1024 * 1024;
    let mut c = Ctr::new();
    c.bundle.namespace("cgroup", None);
    c.bundle
        .set("/linux/resources", json!({ "memory": { "limit": limit } }));
    let r = c.report(&["--read", "/sys/fs/cgroup/memory.max"]);
    assert_eq!(
        r["read"]["/sys/fs/cgroup/memory.max"],
        format!("{limit}\n"),
        "{}",
        r["read"]
    );
}

#[test]
fn pids_limit_is_pids_max() {
    if !in_vm() {
        return;
    }
    let v = host_view_of_limits(json!({ "pids": { "limit": 50 } }), &["pids.max"]);
    assert_eq!(v[0], "50", "pids.max");
}

#[test]
fn cpu_shares_become_cpu_weight() {
    if !in_vm() {
        return;
    }
    // runc's conversion: weight = 1 + (shares - 2) * 9999 / 262142, so 1024 -> 39.
    let v = host_view_of_limits(json!({ "cpu": { "shares": 1024 } }), &["cpu.weight"]);
    assert_eq!(v[0], "39", "cpu.weight");
}
