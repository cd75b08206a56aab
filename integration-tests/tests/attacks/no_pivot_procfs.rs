//! Class: a fully visible procfs left in the container's mount namespace. With
//! `--no-pivot` the host's root stays under the container's; while a full procfs is
//! there, the kernel lets the container mount a fresh procfs without the masked paths
//! (from a user namespace of its own), and write `/proc/sysrq-trigger` through it.

use integration_tests::Ctr;

fn mount_fresh_proc(extra: &[&str]) -> integration_tests::Out {
    let mut c = Ctr::new();
    c.bundle.args(&[
        "busybox",
        "unshare",
        "-mrpf",
        "busybox",
        "sh",
        "-c",
        "echo STARTED; busybox mount -t proc none /proc && echo MOUNTED",
    ]);
    c.bundle
        .push("/process/capabilities/bounding", "CAP_SETFCAP".into());
    c.bundle
        .push("/process/capabilities/permitted", "CAP_SETFCAP".into());
    c.run(extra)
}

#[test]
fn no_pivot_leaves_no_procfs_to_remount() {
    let out = mount_fresh_proc(&["--no-pivot"]);
    assert!(
        out.stdout.contains("STARTED"),
        "the attack did not run: {out}"
    );
    assert!(
        !out.stdout.contains("MOUNTED"),
        "a fresh procfs could be mounted in a --no-pivot container: {out}"
    );
    assert_ne!(out.code, 0, "{out}");
}

#[test]
fn pivot_root_leaves_no_procfs_to_remount() {
    let out = mount_fresh_proc(&[]);
    assert!(
        out.stdout.contains("STARTED"),
        "the attack did not run: {out}"
    );
    assert!(
        !out.stdout.contains("MOUNTED"),
        "a fresh procfs could be mounted in a container: {out}"
    );
    assert_ne!(out.code, 0, "{out}");
}
