//! The runtime binary under test and the assets built once per test process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The runtime under test: `$QUAI_BIN`, else the workspace's `target/debug/quai`.
pub fn runtime_bin() -> PathBuf {
    match std::env::var_os("QUAI_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join("target/debug/quai"),
    }
}

/// An example binary of the workspace (`target/debug/examples/<name>`), built by
/// `cargo build -p libcontainer --examples` (scripts/test.sh does it before the tests).
pub fn example_bin(name: &str) -> PathBuf {
    let p = workspace_root().join("target/debug/examples").join(name);
    assert!(
        p.exists(),
        "{} not found: run `cargo build -p libcontainer --examples` first",
        p.display()
    );
    p
}

/// Whether the runtime under test is runc, for the few places where the contract asks
/// more of quai than runc 1.1.5 gives.
pub fn is_runc() -> bool {
    runtime_bin().file_name().is_some_and(|n| n == "runc")
}

/// The host's busybox-static (`apt-get install busybox-static`).
pub fn busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    assert!(
        p.exists(),
        "/bin/busybox is missing: apt-get install busybox-static"
    );
    p
}

/// The static probe, built once per test process into its own target directory so that
/// the nested cargo never waits on the outer one's lock. `$QUAI_PROBE` overrides it.
pub fn probe_bin() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        if let Some(p) = std::env::var_os("QUAI_PROBE") {
            return PathBuf::from(p);
        }
        build_probe()
    })
}

/// Build `probe` statically (glibc's `crt-static`) so it runs in any root filesystem.
pub fn build_probe() -> PathBuf {
    let root = workspace_root();
    let target_dir = root.join("target/probe-static");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "-p",
            "probe",
            "--target",
            "x86_64-unknown-linux-gnu",
        ])
        .env(
            "RUSTFLAGS",
            "-C target-feature=+crt-static -C strip=symbols",
        )
        .env("CARGO_TARGET_DIR", &target_dir)
        .status()
        .expect("running cargo to build the probe");
    assert!(status.success(), "building the static probe failed");
    target_dir.join("x86_64-unknown-linux-gnu/debug/probe")
}

/// Busybox applets linked into every test root filesystem.
pub const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "echo", "sleep", "true", "false", "id", "mount", "umount", "mkdir", "touch",
    "ps", "grep", "stat", "readlink", "env", "hostname", "wc", "head", "test", "rm", "ln", "chmod",
    "kill", "uname", "printf", "tr",
];

/// Fill `rootfs` with busybox, its applet links, `/bin/probe` and the usual directories.
pub fn populate_rootfs(rootfs: &Path) {
    let bin = rootfs.join("bin");
    for d in [
        "bin", "dev", "proc", "sys", "tmp", "etc", "root", "run", "var",
    ] {
        std::fs::create_dir_all(rootfs.join(d)).expect("mkdir in rootfs");
    }
    std::fs::copy(busybox(), bin.join("busybox")).expect("copy busybox");
    std::fs::copy(probe_bin(), bin.join("probe")).expect("copy probe");
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet symlink");
    }
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .expect("write passwd");
    std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("write group");
}

/// A busybox root filesystem (with the probe, as [`populate_rootfs`] makes it) plus
/// links for `applets`, written as the tarball `tar` for an engine's image import; the
/// directory it was made in (`<tar>.d`) is removed.
pub fn rootfs_tarball(tar: &Path, applets: &[&str]) {
    let rootfs = tar.with_extension("d");
    populate_rootfs(&rootfs);
    for applet in applets {
        let link = rootfs.join("bin").join(applet);
        if !link.exists() {
            std::os::unix::fs::symlink("busybox", link).unwrap();
        }
    }
    let t = std::process::Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(t.success(), "tar of {}", rootfs.display());
    let _ = std::fs::remove_dir_all(&rootfs);
}
