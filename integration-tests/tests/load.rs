//! Load: many containers made and removed in sequence and at once, and many commands on
//! one container at once. Afterwards the host is as it was (mount table, cgroup
//! directories, the state root, processes), every command finished within the deadline,
//! and what the commands said agrees with each other and with the host.

use integration_tests::interrupt::processes_naming;
use integration_tests::out::try_wait_deadline;
use integration_tests::{host, Ctr};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every cgroup directory, three levels under /sys/fs/cgroup.
fn cgroup_dirs() -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, depth: u32, out: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.insert(e.path());
                if depth < 3 {
                    walk(&e.path(), depth + 1, out);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(Path::new("/sys/fs/cgroup"), 1, &mut out);
    out
}

/// The host's mount table without the per-mount ids (those of mounts made and removed
/// meanwhile by nobody would be equal anyway; the rest is what matters).
fn mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.split(' ').skip(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// What of the host could hold something of these containers: mounts and cgroup
/// directories whose line or path names the test's work directory or id prefix (other
/// activity on the host, an engine test's daemon, say, is not ours to judge).
struct Host {
    marks: [String; 2],
    mounts: BTreeSet<String>,
    cgroups: BTreeSet<PathBuf>,
}

impl Host {
    fn now(work: &Path, prefix: &str) -> Host {
        let marks = [work.to_string_lossy().into_owned(), prefix.to_string()];
        let ours = |s: &str| marks.iter().any(|m| s.contains(m.as_str()));
        Host {
            mounts: mounts().into_iter().filter(|l| ours(l)).collect(),
            cgroups: cgroup_dirs()
                .into_iter()
                .filter(|d| ours(&d.to_string_lossy()))
                .collect(),
            marks,
        }
    }

    #[track_caller]
    fn assert_same(&self, what: &str) {
        let now = Host::now(Path::new(&self.marks[0]), &self.marks[1]);
        let gained: Vec<_> = now.mounts.difference(&self.mounts).collect();
        let lost: Vec<_> = self.mounts.difference(&now.mounts).collect();
        assert!(
            gained.is_empty() && lost.is_empty(),
            "{what}: mounts +{gained:#?} -{lost:#?}"
        );
        let gained: Vec<_> = now.cgroups.difference(&self.cgroups).collect();
        assert!(gained.is_empty(), "{what}: cgroups left: {gained:#?}");
    }
}

/// 1,000 containers created and deleted one after the other, then 200 created at once
/// and deleted at once: no failure, and the mount table, the cgroup directories, the
/// state root and the process table end as they began.
#[test]
fn a_thousand_in_sequence_and_two_hundred_at_once_leave_nothing() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let [b, dir] = c.bundle_args();
    let prefix = c.id.clone();
    let before = Host::now(c.work(), &prefix);
    for i in 0..1000 {
        let id = format!("{prefix}-s{i}");
        let out = c.cmd(&["create", &b, &dir, &id]);
        assert_eq!(out.code, 0, "create {i}: {out}");
        let out = c.cmd(&["delete", "--force", &id]);
        assert_eq!(out.code, 0, "delete {i}: {out}");
    }
    before.assert_same("after 1,000 in sequence");

    let ids: Vec<String> = (0..200).map(|i| format!("{prefix}-p{i}")).collect();
    for (verb, extra) in [
        ("create", vec![b.as_str(), dir.as_str()]),
        ("delete", vec!["--force"]),
    ] {
        let mut children: Vec<_> = ids
            .iter()
            .map(|id| {
                let mut args = vec![verb];
                args.extend(&extra);
                args.push(id);
                (id, c.spawn(&args, &format!("{verb}-{id}")))
            })
            .collect();
        for (id, child) in &mut children {
            let code =
                try_wait_deadline(child, &format!("{verb} {id}")).unwrap_or_else(|e| panic!("{e}"));
            let err = std::fs::read_to_string(c.work().join(format!("out/{verb}-{id}.err")))
                .unwrap_or_default();
            assert_eq!(code, 0, "{verb} {id} in parallel: {err}");
        }
    }
    before.assert_same("after 200 at once");
    let root: Vec<_> = std::fs::read_dir(c.root())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(root.is_empty(), "the state root holds {root:?}");
    host::eventually("no process of the containers left", || {
        processes_naming(&prefix).is_empty()
    });
}

/// Twenty commands at once on one created container — `start`, `state`, `exec`,
/// `pause` then `resume`, `kill 0`, `ps`, `list` — none hangs or panics, exactly one
/// `start` succeeds, and what `state` says at the end is true of the host. A pause
/// always has its resume after it in the same thread: a paused container's processes
/// do not run, so a `start` or a foreground `exec` caught by the pause waits for the
/// resume (as under runc), and the container ends resumed whatever the interleaving.
/// Starts that meet a paused container are refused ("in the paused state"), so at most
/// one succeeds, and the container is running if one did, created if none did (then it
/// is started). (This test found a paused created container reported as `created`:
/// `resume` refused it, and a `start` then waited forever for its frozen init.)
#[test]
fn twenty_commands_at_once_on_one_container_agree() {
    for round in 0..3 {
        let mut c = Ctr::new();
        c.bundle.probe(&["sleep", "forever"]);
        c.create(&[]).ok();
        let pid = c.pid();
        let c = Arc::new(c);
        let commands: Vec<Vec<&str>> = (0..20)
            .map(|i| match i % 8 {
                0 => vec!["start"],
                1 => vec!["state"],
                2 => vec!["exec", "/bin/probe", "exit", "0"],
                3 | 4 => vec!["pause"],
                5 => vec!["kill", "0"],
                6 => vec!["ps"],
                _ => vec!["list"],
            })
            .collect();
        let threads: Vec<_> = commands
            .into_iter()
            .enumerate()
            .map(|(i, cmd)| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let mut args: Vec<&str> = vec![cmd[0]];
                    if cmd[0] != "list" {
                        args.push(&c.id);
                    }
                    args.extend(&cmd[1..]);
                    let mut child = c.spawn(&args, &format!("r{round}-{i}-{}", cmd[0]));
                    let code =
                        try_wait_deadline(&mut child, cmd[0]).unwrap_or_else(|e| panic!("{e}"));
                    if cmd[0] == "pause" {
                        let name = format!("r{round}-{i}-resume");
                        let mut resume = c.spawn(&["resume", &c.id], &name);
                        try_wait_deadline(&mut resume, "resume").unwrap_or_else(|e| panic!("{e}"));
                    }
                    let err = std::fs::read_to_string(
                        c.work().join(format!("out/r{round}-{i}-{}.err", cmd[0])),
                    )
                    .unwrap_or_default();
                    (cmd[0], code, err)
                })
            })
            .collect();
        let results: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        for (cmd, code, err) in &results {
            assert!(!err.contains("panicked"), "{cmd} panicked: {err}");
            assert!(matches!(code, 0 | 1 | 255), "{cmd} exited {code}: {err}");
        }
        let starts = results
            .iter()
            .filter(|(c, code, _)| *c == "start" && *code == 0)
            .count();
        assert!(starts <= 1, "starts that succeeded: {results:#?}");
        if starts == 0 {
            assert_eq!(c.state()["status"], "created", "no start succeeded");
            c.start().ok();
        }
        let state = c.state();
        assert_eq!(state["status"], "running", "{state}");
        assert_eq!(state["pid"], pid, "{state}");
        assert!(
            host::process_alive(pid),
            "state says running, but {pid} is gone"
        );
        c.delete(&["--force"]).ok();
        c.assert_gone(Some(pid));
    }
}
