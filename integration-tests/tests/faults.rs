//! Faults of the host under the runtime: a full disk and a read-only file system at
//! `--root`. Each gives one clear error and leaves nothing (no state, cgroup, mount or
//! process); what was created before the fault can still be read, and removed once the
//! file system can be written again.

use integration_tests::{host, Ctr};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A small tmpfs mounted at a test's `--root`, unmounted on drop.
struct TmpfsAt(PathBuf);

impl TmpfsAt {
    fn mount(at: &Path) -> TmpfsAt {
        std::fs::create_dir_all(at).unwrap();
        host::sh(&format!(
            "mount -t tmpfs -o size=256k,mode=0700 quai-fault {}",
            at.display()
        ));
        TmpfsAt(at.to_path_buf())
    }

    fn remount(&self, opt: &str) {
        host::sh(&format!("mount -o remount,{opt} {}", self.0.display()));
    }

    /// Writes a file until the file system is full.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while matches!(f.write(&chunk), Ok(n) if n > 0) {}
    }
}

impl Drop for TmpfsAt {
    fn drop(&mut self) {
        host::lazy_unmount(self.0.to_str().unwrap());
    }
}

/// One line naming `phrase`, exit status 1, and no state or cgroup for the container.
#[track_caller]
fn refused(c: &Ctr, out: integration_tests::Out, phrase: &str) {
    assert_eq!(out.code, 1, "{out}");
    let lines = out.stderr.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(lines, 1, "expected one message: {out}");
    assert!(out.stderr.to_lowercase().contains(phrase), "{out}");
    assert!(!c.root().join(&c.id).exists(), "state left behind: {out}");
    let cgroups = host::cgroups_named(&c.id);
    assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:?}");
}

#[test]
fn a_full_disk_under_root_fails_create_clearly() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let fs = TmpfsAt::mount(&c.root());
    fs.fill();
    let out = c.create(&[]);
    refused(&c, out, "no space left on device");
    drop(fs);
    c.assert_gone(None);
}

#[test]
fn a_container_made_before_the_disk_filled_can_be_read_and_removed() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let fs = TmpfsAt::mount(&c.root());
    c.create(&[]).ok();
    let pid = c.pid();
    fs.fill();
    assert_eq!(c.state()["status"], "created");
    let listed = c.cmd(&["list", "-q"]).ok();
    assert!(listed.stdout.lines().any(|l| l.trim() == c.id), "{listed}");
    c.delete(&["--force"]).ok();
    assert!(host::wait_process_gone(pid), "process {pid} is still alive");
    assert!(!c.root().join(&c.id).exists());
    drop(fs);
    c.assert_gone(Some(pid));
}

#[test]
fn a_read_only_root_fails_create_clearly_and_keeps_what_was_there_readable() {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    let fs = TmpfsAt::mount(&c.root());
    fs.remount("ro");
    let out = c.create(&[]);
    refused(&c, out, "read-only file system");

    fs.remount("rw");
    c.create(&[]).ok();
    let pid = c.pid();
    fs.remount("ro");
    assert_eq!(c.state()["status"], "created");
    let listed = c.cmd(&["list", "-q"]).ok();
    assert!(listed.stdout.lines().any(|l| l.trim() == c.id), "{listed}");
    fs.remount("rw");
    c.delete(&["--force"]).ok();
    drop(fs);
    c.assert_gone(Some(pid));
}
