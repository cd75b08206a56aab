//! cgroups (v1 on this hybrid host): where the container's processes are placed, the
//! limits written there, and that nothing is left after `delete`.

use integration_tests::check::one_clear_error_all;
use integration_tests::{host, json, Ctr};
use std::path::{Path, PathBuf};

/// The tests that use the `/quai-it` parent take turns, so that one test removing the
/// (empty) parent at its end never races another creating its leaf under it.
static QUAI_IT: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The parent cgroup of the tests' `cgroupsPath` containers.
const PARENT: &str = "quai-it";

/// `cgroupsPath` for `c`: a leaf named after its unique id under `/quai-it`.
fn leaf_path(c: &Ctr) -> String {
    format!("/{PARENT}/{}", c.id)
}

/// The container's directory `rel` (relative to the hierarchy root) in every v1 hierarchy.
fn v1_dirs(rel: &str) -> Vec<PathBuf> {
    let mounts = host::cgroup_v1_mounts();
    assert!(
        !mounts.is_empty(),
        "no cgroup v1 hierarchy is mounted: these tests expect the hybrid host of MACHINE.md"
    );
    mounts.into_iter().map(|m| m.join(rel)).collect()
}

/// Remove `/quai-it` in every hierarchy if it is empty (rmdir of a cgroup with children
/// fails, which is what we want), whoever made it.
fn remove_parent_if_empty() {
    let mut mounts = host::cgroup_v1_mounts();
    mounts.push(PathBuf::from("/sys/fs/cgroup/unified"));
    for m in mounts {
        let _ = std::fs::remove_dir(m.join(PARENT));
    }
}

fn read_value(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

/// Put back `/quai-it` state even when an assertion fails half-way.
struct ParentCleanup;

impl Drop for ParentCleanup {
    fn drop(&mut self) {
        remove_parent_if_empty();
    }
}

#[test]
fn cgroups_path_holds_the_limits_and_the_process() {
    let _turn = QUAI_IT.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = ParentCleanup;
    let mut c = Ctr::new();
    let path = leaf_path(&c);
    c.bundle.set("/linux/cgroupsPath", json!(path));
    c.bundle.set(
        "/linux/resources",
        json!({
            "memory": { "limit": 64 * 1024 * 1024 },
            "pids": { "limit": 50 },
            "cpu": { "shares": 512 }
        }),
    );
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    c.start().ok();
    let pid = c.pid();

    let rel = path.trim_start_matches('/');
    for dir in v1_dirs(rel) {
        assert!(dir.is_dir(), "{} is missing", dir.display());
        assert!(
            host::cgroup_procs(&dir).contains(&pid),
            "pid {pid} is not in {}/cgroup.procs",
            dir.display()
        );
    }
    // /sys/fs/cgroup/cpu is the cpu hierarchy whether mounted alone or as cpu,cpuacct.
    let root = Path::new("/sys/fs/cgroup");
    assert_eq!(
        read_value(&root.join("memory").join(rel).join("memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(
        read_value(&root.join("pids").join(rel).join("pids.max")),
        "50"
    );
    assert_eq!(
        read_value(&root.join("cpu").join(rel).join("cpu.shares")),
        "512"
    );

    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
    for dir in v1_dirs(rel) {
        assert!(!dir.exists(), "{} is left after delete", dir.display());
    }
}

#[test]
fn default_placement_is_quai_slash_id_in_every_hierarchy() {
    let mut c = Ctr::new();
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["--detach"]).ok();
    let pid = c.pid();
    if integration_tests::assets::is_runc() {
        // runc 1.1.5 puts a container without cgroupsPath at `<id>` relative to its own
        // cgroup in each hierarchy; /quai/<id> is quai's contract. Only cleanup is checked.
        c.delete(&["--force"]).ok();
        c.assert_gone(Some(pid));
        return;
    }
    // The /quai parent is quai's own, removed by the last container out.
    let rel = format!("quai/{}", c.id);
    for dir in v1_dirs(&rel) {
        assert!(
            host::cgroup_procs(&dir).contains(&pid),
            "pid {pid} is not in {}/cgroup.procs",
            dir.display()
        );
    }
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
    for dir in v1_dirs(&rel) {
        assert!(!dir.exists(), "{} is left after delete", dir.display());
    }
}

/// A resource this host cannot apply fails create with one message naming the field
/// and the controller, and leaves no cgroup behind.
fn refused_resource(resources: serde_json::Value, phrases: &[&str]) {
    let _turn = QUAI_IT.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = ParentCleanup;
    let mut c = Ctr::new();
    let path = leaf_path(&c);
    c.bundle.set("/linux/cgroupsPath", json!(path));
    c.bundle.set("/linux/resources", resources);
    let out = c.create(&[]);
    one_clear_error_all(&c, out, phrases);
    for dir in v1_dirs(path.trim_start_matches('/')) {
        assert!(!dir.exists(), "{} is left", dir.display());
    }
}

#[test]
fn block_io_weight_is_written() {
    let _turn = QUAI_IT.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = ParentCleanup;
    let mut c = Ctr::new();
    let path = leaf_path(&c);
    c.bundle.set("/linux/cgroupsPath", json!(path));
    c.bundle
        .set("/linux/resources", json!({ "blockIO": { "weight": 500 } }));
    c.bundle.probe(&["sleep"]);
    // The weight files exist only with BFQ (or CFQ) as some disk's scheduler; kernels
    // without it have neither, and the field must then fail clearly.
    let root = Path::new("/sys/fs/cgroup/blkio");
    if !["blkio.bfq.weight", "blkio.weight"]
        .iter()
        .any(|f| root.join(f).exists())
    {
        println!("no blkio weight file on this host (no BFQ scheduler): checking the refusal");
        let out = c.create(&[]);
        one_clear_error_all(&c, out, &["blockIO.weight", "blkio"]);
        return;
    }
    c.create(&[]).ok();
    let dir = root.join(path.trim_start_matches('/'));
    // BFQ's file where the kernel has it (runc prefers it), else CFQ's.
    let file = ["blkio.bfq.weight", "blkio.weight"]
        .iter()
        .map(|f| dir.join(f))
        .find(|f| f.exists())
        .expect("no blkio weight file on this host");
    assert_eq!(read_value(&file), "500", "{}", file.display());
    c.delete(&["--force"]).ok();
    assert!(!dir.exists(), "{} is left", dir.display());
}

#[test]
fn hugepage_limits_without_the_controller_fail_clearly() {
    // This host has hugetlb only in its unified tree, where the machine does not
    // enable it; quai does not change the machine's root cgroup, so it refuses.
    if std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.subtree_control")
        .is_ok_and(|s| s.contains("hugetlb"))
        || Path::new("/sys/fs/cgroup/hugetlb").exists()
    {
        eprintln!("hugetlb is usable on this host: the refusal cannot be shown here");
        return;
    }
    refused_resource(
        json!({ "hugepageLimits": [ { "pageSize": "2MB", "limit": 2097152 } ] }),
        &["hugepageLimits", "hugetlb"],
    );
}

#[test]
fn network_class_id_without_net_cls_fails_clearly() {
    if Path::new("/sys/fs/cgroup/net_cls").exists() {
        eprintln!("net_cls is mounted on this host: the refusal cannot be shown here");
        return;
    }
    refused_resource(
        json!({ "network": { "classID": 42 } }),
        &["network.classID", "net_cls"],
    );
}

#[test]
fn refused_resource_with_default_placement_leaves_no_cgroup() {
    if Path::new("/sys/fs/cgroup/net_cls").exists() {
        eprintln!("net_cls is mounted on this host: the refusal cannot be shown here");
        return;
    }
    let mut c = Ctr::new();
    c.bundle.remove("/linux/cgroupsPath");
    c.bundle
        .set("/linux/resources", json!({ "network": { "classID": 42 } }));
    let out = c.create(&[]);
    one_clear_error_all(&c, out, &["network.classID"]);
    for dir in v1_dirs(&format!("quai/{}", c.id)) {
        assert!(!dir.exists(), "{} is left", dir.display());
    }
}

/// A cgroup that is frozen already would hold the init frozen for ever: `create` refuses
/// it with runc's words before making anything, and leaves the cgroup (not ours) alone.
#[test]
fn a_pre_existing_frozen_cgroup_is_refused() {
    let _turn = QUAI_IT.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = ParentCleanup;
    let mut c = Ctr::new();
    let path = leaf_path(&c);
    let freezer = Path::new("/sys/fs/cgroup/freezer").join(path.trim_start_matches('/'));
    std::fs::create_dir_all(&freezer).expect("make the freezer cgroup");
    std::fs::write(freezer.join("freezer.state"), "FROZEN").expect("freeze it");
    c.bundle.set("/linux/cgroupsPath", json!(path));
    c.bundle.probe(&["sleep", "forever"]);
    let out = c.create(&[]);
    let still_there = freezer.exists();
    let _ = std::fs::remove_dir(&freezer);
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr
            .contains("container's cgroup unexpectedly frozen"),
        "{out}"
    );
    assert!(still_there, "create removed a cgroup it did not make");
    assert!(!c.root().join(&c.id).exists(), "state directory left");
}

/// A second container joining a cgroup the first one's processes are in is warned about
/// (runc's words), and deleting it leaves the first running, without waiting for the
/// shared cgroup to empty.
#[test]
fn joining_a_populated_cgroup_warns() {
    let _turn = QUAI_IT.lock().unwrap_or_else(|e| e.into_inner());
    let _cleanup = ParentCleanup;
    let mut first = Ctr::new();
    let path = leaf_path(&first);
    first.bundle.set("/linux/cgroupsPath", json!(path));
    first.bundle.probe(&["sleep", "forever"]);
    first.create(&[]).ok();
    first.start().ok();
    let pid = first.pid();

    let mut second = Ctr::new();
    second.bundle.set("/linux/cgroupsPath", json!(path));
    second.bundle.probe(&["sleep", "forever"]);
    let out = second.create(&[]).ok();
    assert!(
        out.stderr
            .contains("container's cgroup is not empty: 1 process(es) found"),
        "{out}"
    );
    let t = std::time::Instant::now();
    second.delete(&["--force"]).ok();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(3),
        "delete waited for a cgroup that others still use"
    );
    assert!(
        host::process_alive(pid),
        "the first container died with the second"
    );
    assert_eq!(first.state()["status"], "running");
    first.delete(&["--force"]).ok();
    first.assert_gone(Some(pid));
}

/// `unified` keys of a controller that is on v1 here: refused in runc's words
/// ("invalid configuration", which runc's cgroups.bats matches).
#[test]
fn unified_keys_of_a_v1_controller_are_an_invalid_configuration() {
    refused_resource(
        json!({ "unified": { "memory.min": "131072" } }),
        &["invalid configuration", "unified"],
    );
}
