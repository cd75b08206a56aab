//! The state a container lives by: configs of any size the kernel allows, state that
//! cannot be read, and two engines deleting the same container at once.

use integration_tests::check::one_clear_error;
use integration_tests::{host, json, Ctr};

/// A config with a megabyte of annotations passes through create (the init's channel
/// used to cut messages at 64 KiB) and comes back whole from `state`.
#[test]
fn a_one_megabyte_config_is_created() {
    let mut c = Ctr::new();
    let big = "a".repeat(1 << 20);
    c.bundle
        .set("/annotations", json!({ "big": big, "small": "x" }));
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    let st = c.state();
    assert_eq!(st["status"], "created");
    assert_eq!(
        st["annotations"]["big"].as_str().map(str::len),
        Some(1 << 20)
    );
    c.start().ok();
    assert_eq!(c.state()["status"], "running");
    let pid = c.pid();
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

/// A FIFO in place of config.json would block `create` forever: it is refused.
#[test]
fn a_config_that_is_a_fifo_is_refused() {
    let c = Ctr::new();
    let cfg = c.bundle.dir().join("config.json");
    let _ = std::fs::remove_file(&cfg);
    let path = std::ffi::CString::new(cfg.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0, "mkfifo");
    if integration_tests::assets::is_runc() {
        // runc 1.1.5 opens it and blocks until the harness's deadline.
        eprintln!("runc waits forever on a FIFO config.json; only checked for quai");
        return;
    }
    let [flag, b] = c.bundle_args();
    let out = c.cmd(&["create", &flag, &b, &c.id]);
    one_clear_error(&c, out, &["config.json"]);
}

/// Truncates the state file of a running container, as a crash or a full disk would.
fn corrupt_state(c: &Ctr) {
    let p = c.root().join(&c.id).join("state.json");
    let text = std::fs::read_to_string(&p).expect("read state.json");
    std::fs::write(&p, &text[..text.len() / 2]).expect("truncate state.json");
}

fn running_container() -> (Ctr, i32) {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.create(&[]).ok();
    c.start().ok();
    let pid = c.pid();
    (c, pid)
}

/// A container whose state.json is unreadable is listed as `unknown`, and
/// `delete --force` finds its processes through its cgroup, kills them, removes the
/// cgroup and the state, and says what it did.
#[test]
fn unreadable_state_is_listed_and_force_deleted() {
    if integration_tests::assets::is_runc() {
        eprintln!("runc 1.1.5 cannot delete a container with a corrupt state; quai only");
        return;
    }
    let (c, pid) = running_container();
    corrupt_state(&c);

    let list = c.cmd(&["list", "--format", "json"]).ok().json();
    let me = list
        .as_array()
        .and_then(|a| a.iter().find(|s| s["id"] == c.id.as_str()))
        .unwrap_or_else(|| panic!("not listed: {list}"));
    assert_eq!(me["status"], "unknown", "{me}");
    let table = c.cmd(&["list"]).ok();
    assert!(
        table
            .stdout
            .lines()
            .any(|l| l.starts_with(c.id.as_str()) && l.contains("unknown")),
        "{table}"
    );

    let st = c.cmd(&["state", &c.id]);
    assert_eq!(st.code, 1, "{st}");
    let plain = c.delete(&[]);
    assert_eq!(
        plain.code, 1,
        "delete without --force must not guess: {plain}"
    );
    assert!(
        host::process_alive(pid),
        "a refused delete killed the container"
    );

    let forced = c.delete(&["--force"]).ok();
    assert!(
        forced.stderr.contains("killed 1 process") && forced.stderr.contains("cgroup"),
        "delete --force does not say what it did: {forced}"
    );
    c.assert_gone(Some(pid));
}

/// The same when the cgroup record is gone too: the cgroup is the one the id gives.
#[test]
fn unreadable_state_without_its_cgroup_record_is_force_deleted() {
    if integration_tests::assets::is_runc() {
        eprintln!("runc 1.1.5 cannot delete a container with a corrupt state; quai only");
        return;
    }
    let (c, pid) = running_container();
    corrupt_state(&c);
    let _ = std::fs::remove_file(c.root().join(&c.id).join("cgroup.json"));
    c.delete(&["--force"]).ok();
    c.assert_gone(Some(pid));
}

/// Two engines `delete --force` the same running container at once: both succeed
/// (the one that finds it gone has nothing left to do), and nothing is left.
#[test]
fn racing_force_deletes_both_succeed() {
    for _ in 0..5 {
        let (c, pid) = running_container();
        let c = std::sync::Arc::new(c);
        let other = {
            let c = c.clone();
            std::thread::spawn(move || c.delete(&["--force"]))
        };
        let mine = c.delete(&["--force"]);
        let theirs = other.join().expect("delete thread");
        assert_eq!(mine.code, 0, "{mine}");
        assert_eq!(theirs.code, 0, "{theirs}");
        c.assert_gone(Some(pid));
    }
}

/// Deletes the listed containers of a fixture's root, also when an assertion failed.
struct Many<'a>(&'a Ctr, Vec<String>);

impl Drop for Many<'_> {
    fn drop(&mut self) {
        for id in &self.1 {
            self.0.cmd(&["delete", "--force", id]);
        }
    }
}

/// With many containers `list` reads their states in parallel (from 64 on): every
/// container is listed once, with its own status and pid, in id order.
#[test]
fn list_of_many_containers_is_whole_and_ordered() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let bundle = c.bundle_args();
    let mut many = Many(&c, Vec::new());
    for i in (0..70).rev() {
        let id = format!("{}-{i:02}", c.id);
        c.cmd(&["create", &bundle[0], &bundle[1], &id]).ok();
        many.1.push(id);
    }
    // One of them running, one stopped: each keeps its own status.
    let running = &many.1[0];
    c.cmd(&["start", running]).ok();
    let stopped = &many.1[1];
    c.cmd(&["kill", stopped, "KILL"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while c.cmd(&["state", stopped]).ok().json()["status"] != "stopped" {
        assert!(
            std::time::Instant::now() < deadline,
            "{stopped} never stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let list = c.cmd(&["list", "--format", "json"]).ok().json();
    let list = list.as_array().expect("a JSON array");
    let ids: Vec<&str> = list.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = many.1.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(ids, want);
    for s in list {
        let id = s["id"].as_str().unwrap();
        let one = c.cmd(&["state", id]).ok().json();
        assert_eq!(s["status"], one["status"], "{id}: {s} vs {one}");
        assert_eq!(s["pid"], one["pid"], "{id}");
        let want = match id {
            _ if id == running => "running",
            _ if id == stopped => "stopped",
            _ => "created",
        };
        assert_eq!(s["status"], want, "{id}");
    }
}
