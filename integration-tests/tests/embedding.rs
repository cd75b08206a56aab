//! The library used directly, as an embedder would: `libcontainer/examples/run_bundle.rs`.

use integration_tests::out::run_captured;
use integration_tests::{assets, host, Ctr};
use std::process::Command;

#[test]
fn run_bundle_example_reports_the_exit_code_and_cleans_up() {
    if assets::is_runc() {
        // The example links the library itself; there is no runc counterpart.
        eprintln!("run_bundle is quai's library example; not run against runc");
        return;
    }
    let mut c = Ctr::new();
    c.bundle.probe(&["exit", "3"]);
    c.bundle.save();
    let mut cmd = Command::new(assets::example_bin("run_bundle"));
    cmd.arg(c.bundle.dir())
        .arg(&c.id)
        // The example keeps its state under $TMPDIR/quai-example-root: our work dir.
        .env("TMPDIR", c.work());
    let out = run_captured(cmd, c.work(), "run_bundle", None);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        out.stdout.contains("container exited with 3"),
        "the exit code is not reported: {out}"
    );
    let state_dir = c.work().join("quai-example-root").join(&c.id);
    assert!(
        !state_dir.exists(),
        "state directory {} is left",
        state_dir.display()
    );
    let cgroups = host::cgroups_named(&c.id);
    assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:#?}");
    let mounts = host::mounts_mentioning(c.work());
    assert!(mounts.is_empty(), "mounts left behind: {mounts:#?}");
}

#[test]
fn in_memory_example_needs_no_bundle_and_its_stdio_is_the_callers_pipes() {
    if assets::is_runc() {
        eprintln!("in_memory is quai's library example; not run against runc");
        return;
    }
    let c = Ctr::new();
    // Only the rootfs is used: no config.json is written.
    let rootfs = c.bundle.rootfs();
    let config = c.bundle.dir().join("config.json");
    let _ = std::fs::remove_file(&config);
    let mut cmd = Command::new(assets::example_bin("in_memory"));
    cmd.arg(&rootfs).arg(&c.id).env("TMPDIR", c.work());
    let out = run_captured(cmd, c.work(), "in_memory", None);
    assert_eq!(out.code, 0, "{out}");
    assert!(!config.exists(), "a config.json was written");
    let parent = rootfs.parent().expect("rootfs has a parent");
    assert!(
        out.stdout
            .contains(&format!("(status created, bundle {})", parent.display())),
        "the state's bundle is not the rootfs's parent: {out}"
    );
    // The container read its stdin from the example's pipe, and its stdout and stderr
    // reached the example through its pipes, and only there.
    assert!(
        out.stdout
            .contains("container said: hello embedder from in-memory\n"),
        "{out}"
    );
    assert!(
        out.stdout.contains("container's stderr: to stderr\n"),
        "{out}"
    );
    assert!(!out.stderr.contains("to stderr"), "{out}");
    assert_eq!(out.stdout.matches("hello embedder").count(), 1, "{out}");
    // The exec'd process ran in the container (its hostname) with its own status.
    assert!(out.stdout.contains("exec in in-memory\n"), "{out}");
    assert!(out.stdout.contains("exec exited with 3\n"), "{out}");
    assert!(out.stdout.contains("container exited with 7"), "{out}");
    let state_dir = c.work().join("quai-example-root").join(&c.id);
    assert!(
        !state_dir.exists(),
        "state directory {} is left",
        state_dir.display()
    );
    let cgroups = host::cgroups_named(&c.id);
    assert!(cgroups.is_empty(), "cgroups left behind: {cgroups:#?}");
    let mounts = host::mounts_mentioning(c.work());
    assert!(mounts.is_empty(), "mounts left behind: {mounts:#?}");
}
