//! Rootless containers: quai run by an unprivileged user the test makes (and removes),
//! with its state under `$XDG_RUNTIME_DIR/quai`, no cgroup of its own (this host's v1
//! hierarchies are not delegated; the VM suite covers a delegated v2 subtree), and its
//! ids mapped by the kernel's rules for unprivileged writers or through newuidmap.
//! Each test checks the container's view and the host's side: the ids its processes
//! run as, the owners of files it writes, and that nothing is left behind.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use integration_tests::rootless::{rootless_bundle, TestUser};
use integration_tests::{host, json, Ctr, Out, Value};

/// A rootless container fixture: the user, and a bundle the user can read.
struct Rootless {
    user: TestUser,
    c: Ctr,
}

impl Rootless {
    fn new() -> Rootless {
        Self::for_user(TestUser::new())
    }

    fn for_user(user: TestUser) -> Rootless {
        let mut c = Ctr::new();
        rootless_bundle(&mut c.bundle, user.uid, user.gid);
        // A rootless user's rootfs is the user's: mount points can be made in it. (Only
        // its top directory: the files below may be shared with other tests' bundles.)
        std::os::unix::fs::chown(c.bundle.rootfs(), Some(user.uid), Some(user.gid))
            .expect("chown rootfs");
        Rootless { user, c }
    }

    fn bundle(&self) -> String {
        self.c.bundle.dir().to_string_lossy().into_owned()
    }

    /// `quai <args>` as the user, with the default root.
    fn quai(&self, args: &[&str]) -> Out {
        let name = format!("user-{}", args.first().unwrap_or(&"none"));
        self.user
            .run(self.c.bin(), args, &self.c.work().join("out"), &name)
    }

    fn run(&self, extra: &[&str]) -> Out {
        self.c.bundle.save();
        let b = self.bundle();
        let mut args = vec!["run", "--bundle", &b];
        args.extend_from_slice(extra);
        args.push(&self.c.id);
        self.quai(&args)
    }

    fn create(&self) -> Out {
        self.c.bundle.save();
        let b = self.bundle();
        self.quai(&["create", "--bundle", &b, &self.c.id])
    }

    fn state(&self) -> Value {
        self.quai(&["state", &self.c.id]).ok().json()
    }

    /// Nothing of the container is left: no state directory under the user's root, no
    /// process, no cgroup named after it, no mount mentioning its bundle.
    #[track_caller]
    fn assert_gone(&self, pid: Option<i32>) {
        let dir = self.user.default_root().join(&self.c.id);
        assert!(!dir.exists(), "state directory {} is left", dir.display());
        if let Some(pid) = pid {
            assert!(host::wait_process_gone(pid), "process {pid} is still alive");
        }
        assert_eq!(
            host::cgroups_named(&self.c.id),
            Vec::<std::path::PathBuf>::new()
        );
        assert_eq!(host::mounts_mentioning(self.c.work()), Vec::<String>::new());
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        let id = self.c.id.clone();
        let _ = self.user.run(
            self.c.bin(),
            &["delete", "--force", &id],
            &self.c.work().join("out"),
            "drop-user-delete",
        );
    }
}

fn map_lines(r: &Value, file: &str) -> Vec<Vec<String>> {
    r["read"][file]
        .as_str()
        .unwrap_or_else(|| panic!("{file} not read: {r}"))
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

fn ids(host_status: &str) -> Vec<u32> {
    host_status
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

#[test]
fn unprivileged_user_runs_a_container_with_its_state_under_xdg_runtime_dir() {
    let mut r = Rootless::new();
    r.c.bundle.probe(&[
        "report",
        "--read",
        "/proc/self/uid_map",
        "--read",
        "/proc/self/gid_map",
        "--read",
        "/proc/self/setgroups",
    ]);
    let out = r.run(&[]).ok();
    let rep = out.json();
    assert_eq!(
        (rep["uid"].as_i64(), rep["gid"].as_i64()),
        (Some(0), Some(0)),
        "{rep}"
    );
    let (u, g) = (r.user.uid.to_string(), r.user.gid.to_string());
    assert_eq!(
        map_lines(&rep, "/proc/self/uid_map"),
        [["0", u.as_str(), "1"]]
    );
    assert_eq!(
        map_lines(&rep, "/proc/self/gid_map"),
        [["0", g.as_str(), "1"]]
    );
    // The kernel lets an unprivileged writer map its own gid only with setgroups denied.
    assert_eq!(rep["read"]["/proc/self/setgroups"], "deny\n", "{rep}");
    assert_ne!(rep["namespaces"]["user"], host::ns_link("user"));
    // No cgroup could be made: said once, as a warning, and the container ran.
    assert!(out.stderr.contains("without a cgroup of its own"), "{out}");
    // The state root was the user's, made by quai, private to the user.
    let root = r.user.default_root();
    let meta = std::fs::metadata(&root).expect("the default root under XDG_RUNTIME_DIR");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (r.user.uid, 0o700));
    r.assert_gone(None);
}

#[test]
fn every_command_works_for_the_user_and_the_host_sees_its_ids() {
    let mut r = Rootless::new();
    r.c.bundle.probe(&["sleep", "forever"]);
    let out = r.create().ok();
    assert!(out.stderr.contains("without a cgroup"), "{out}");
    let st = r.state();
    assert_eq!(st["status"], "created", "{st}");
    let pid = st["pid"].as_i64().unwrap() as i32;
    assert!(r
        .user
        .default_root()
        .join(&r.c.id)
        .join("state.json")
        .exists());
    r.quai(&["start", &r.c.id]).ok();
    assert_eq!(r.state()["status"], "running");
    // The host sees the container's root as the user, every id of it.
    let uid = host::proc_status(pid, "Uid").expect("status of the init");
    let gid = host::proc_status(pid, "Gid").expect("status of the init");
    assert_eq!(ids(&uid), [r.user.uid; 4]);
    assert_eq!(ids(&gid), [r.user.gid; 4]);

    let list = r.quai(&["list", "-q"]).ok();
    assert_eq!(list.stdout.trim(), r.c.id);
    let e = r
        .quai(&["exec", &r.c.id, "/bin/probe", "report"])
        .ok()
        .json();
    assert_eq!(e["uid"], 0, "{e}");
    assert_eq!(
        e["namespaces"]["pid"],
        host::pid_ns_link(pid, "pid").unwrap()
    );

    // Without a cgroup, ps and kill --all find the container's processes by its pid
    // namespace.
    r.quai(&[
        "exec",
        "--detach",
        &r.c.id,
        "/bin/probe",
        "sleep",
        "forever",
    ])
    .ok();
    let pids: Vec<i32> =
        serde_json::from_str(&r.quai(&["ps", "--format", "json", &r.c.id]).ok().stdout).unwrap();
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.contains(&pid), "{pids:?}");
    let other = *pids.iter().find(|p| **p != pid).unwrap();
    assert_eq!(
        ids(&host::proc_status(other, "Uid").unwrap()),
        [r.user.uid; 4]
    );
    // SIGTERM reaches every process; the init, PID 1 of its namespace with no handler,
    // is the one the kernel spares.
    r.quai(&["kill", "--all", &r.c.id, "TERM"]).ok();
    assert!(host::wait_process_gone(other), "kill --all missed {other}");
    assert!(host::process_alive(pid));
    let table = r.quai(&["ps", &r.c.id]).ok();
    assert!(table.stdout.contains("PID"), "{table}");

    // Pausing needs a freezer cgroup: a clear error, and the container runs on.
    let p = r.quai(&["pause", &r.c.id]).fails();
    assert_eq!(p.code, 1);
    assert!(p.stderr.contains("cgroup"), "{p}");
    assert_eq!(r.state()["status"], "running");

    r.quai(&["kill", &r.c.id, "KILL"]).ok();
    assert!(host::wait_process_gone(pid));
    assert_eq!(r.state()["status"], "stopped");
    r.quai(&["delete", &r.c.id]).ok();
    r.assert_gone(Some(pid));
}

#[test]
fn another_users_containers_are_out_of_reach() {
    // Root's container, under root's state root.
    let mut theirs = Ctr::new();
    theirs.bundle.probe(&["sleep", "forever"]);
    theirs.run(&["--detach"]).ok();
    let pid = theirs.pid();
    let r = Rootless::new();
    let root = theirs.root().to_string_lossy().into_owned();
    // Each fails (exec as runc's does, with 255) naming the permission it lacks; none
    // may pass for "no such container" (delete --force would then report success).
    for (args, code) in [
        (vec!["--root", &root, "state", &theirs.id], 1),
        (vec!["--root", &root, "kill", &theirs.id, "KILL"], 1),
        (vec!["--root", &root, "delete", "--force", &theirs.id], 1),
        (
            vec!["--root", &root, "exec", &theirs.id, "/bin/probe", "report"],
            255,
        ),
    ] {
        let out = r.quai(&args);
        assert_eq!(out.code, code, "{out}");
        assert!(out.stderr.contains("Permission denied"), "{out}");
    }
    // The user's own root does not list it, and the container is untouched.
    let list = r.quai(&["list", "-q"]).ok();
    assert_eq!(list.stdout.trim(), "", "{list}");
    assert!(host::process_alive(pid));
    assert_eq!(theirs.state()["status"], "running");
    theirs.delete(&["--force"]).ok();
    theirs.assert_gone(Some(pid));
}

#[test]
fn limits_without_a_cgroup_are_an_error_and_leave_nothing() {
    let r = Rootless::new();
    let mut r = r;
    r.c.bundle.set(
        "/linux/resources",
        json!({ "memory": { "limit": 67108864 } }),
    );
    let out = r.run(&[]).fails();
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains("cannot set the cgroup limits") && out.stderr.contains("rootless"),
        "{out}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "one error: {out}");
    r.assert_gone(None);
}

/// A mapping wider than the user's own id goes through newuidmap/newgidmap, which
/// grant the ranges /etc/subuid and /etc/subgid give the user.
#[test]
fn wider_mappings_go_through_newuidmap() {
    assert!(
        Path::new("/usr/bin/newuidmap").exists(),
        "newuidmap is missing: apt-get install uidmap (scripts/test.sh installs it)"
    );
    let user = TestUser::new().with_subids(2_100_000, 65536);
    let mut r = Rootless::for_user(user);
    let (u, g) = (r.user.uid, r.user.gid);
    r.c.bundle.set(
        "/linux/uidMappings",
        json!([{ "containerID": 0, "hostID": u, "size": 1 },
               { "containerID": 1, "hostID": 2_100_000, "size": 65536 }]),
    );
    r.c.bundle.set(
        "/linux/gidMappings",
        json!([{ "containerID": 0, "hostID": g, "size": 1 },
               { "containerID": 1, "hostID": 2_100_000, "size": 65536 }]),
    );
    r.c.bundle.set(
        "/process/user",
        json!({ "uid": 1000, "gid": 1000, "additionalGids": [1001] }),
    );
    r.c.bundle.probe(&["sleep", "forever"]);
    r.run(&["--detach"]).ok();
    let pid = r.state()["pid"].as_i64().unwrap() as i32;
    // Container uid 1000 is host 2,100,999: a subordinate id, not the user's.
    assert_eq!(ids(&host::proc_status(pid, "Uid").unwrap()), [2_100_999; 4]);
    assert_eq!(ids(&host::proc_status(pid, "Gid").unwrap()), [2_100_999; 4]);
    // newgidmap leaves setgroups allowed: the extra group is there.
    assert_eq!(ids(&host::proc_status(pid, "Groups").unwrap()), [2_101_000]);
    let e = r
        .quai(&[
            "exec",
            &r.c.id,
            "/bin/probe",
            "report",
            "--read",
            "/proc/self/uid_map",
        ])
        .ok()
        .json();
    let ustr = u.to_string();
    assert_eq!(
        map_lines(&e, "/proc/self/uid_map"),
        [vec!["0", ustr.as_str(), "1"], vec!["1", "2100000", "65536"]]
    );
    r.quai(&["delete", "--force", &r.c.id]).ok();
    r.assert_gone(Some(pid));
}

#[test]
fn wider_mappings_without_subordinate_ids_are_refused() {
    let mut r = Rootless::new();
    let u = r.user.uid;
    r.c.bundle.set(
        "/linux/uidMappings",
        json!([{ "containerID": 0, "hostID": u, "size": 1 },
               { "containerID": 1, "hostID": 2_200_000, "size": 65536 }]),
    );
    let out = r.run(&[]).fails();
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains("linux.uidMappings") && out.stderr.contains("/etc/subuid"),
        "{out}"
    );
    r.assert_gone(None);
}

/// A rootless container may have a network namespace of its own (owned by its user
/// namespace, so sysfs mounts too): only a loopback, none of the host's interfaces.
#[test]
fn own_network_namespace_without_host_networking() {
    let mut r = Rootless::new();
    r.c.bundle.namespace("network", None);
    r.c.bundle.remove_mount("/sys");
    r.c.bundle.add_mount(
        "/sys",
        "sysfs",
        "sysfs",
        &["nosuid", "noexec", "nodev", "ro"],
    );
    r.c.bundle.remove_mount("/sys/fs/cgroup");
    r.c.bundle.probe(&["report", "--read", "/proc/net/dev"]);
    let rep = r.run(&[]).ok().json();
    assert_ne!(rep["namespaces"]["net"], host::ns_link("net"), "{rep}");
    let dev = rep["read"]["/proc/net/dev"].as_str().unwrap();
    let names: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(names, ["lo"], "{dev}");
    r.assert_gone(None);
}

/// Files the container's root writes into a bind mount belong to the user on the host;
/// an idmapped bind is refused clearly (the host's filesystem belongs to the host's
/// user namespace, where the user has no privilege), leaving nothing behind.
#[test]
fn bind_mounts_write_as_the_user_and_idmap_is_refused_clearly() {
    let mut r = Rootless::new();
    let vol = r.c.work().join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::os::unix::fs::chown(&vol, Some(r.user.uid), Some(r.user.gid)).unwrap();
    let v = vol.to_string_lossy().into_owned();
    r.c.bundle.add_mount("/data", "bind", &v, &["rbind", "rw"]);
    r.c.bundle.probe(&["write", "/data/made-inside"]);
    let w = r.run(&[]).ok().json();
    assert_eq!(w["ok"], true, "{w}");
    let meta = std::fs::metadata(vol.join("made-inside")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (r.user.uid, r.user.gid));
    r.assert_gone(None);

    r.c.bundle.remove_mount("/data");
    r.c.bundle
        .add_mount("/data", "bind", &v, &["rbind", "rw", "idmap"]);
    let out = r.run(&[]).fails();
    assert_eq!(out.code, 1, "{out}");
    assert!(
        out.stderr.contains("/data") && out.stderr.contains("only the host's root can id-map"),
        "{out}"
    );
    r.assert_gone(None);
}

/// `features` is true to what works for whoever asks: id-mapped mounts are the host
/// root's alone.
#[test]
fn features_say_idmap_only_to_the_hosts_root() {
    let r = Rootless::new();
    let theirs = r.quai(&["features"]).ok().json();
    assert_eq!(
        theirs["linux"]["mountExtensions"]["idmap"]["enabled"], false,
        "{theirs}"
    );
    let ours = r.c.cmd(&["features"]).ok().json();
    assert_eq!(ours["linux"]["mountExtensions"]["idmap"]["enabled"], true);
}
