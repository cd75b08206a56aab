//! `terminal: true`: through `--console-socket`, and on the runtime's own stdio.

use integration_tests::console::{open_pty, read_pty};
use integration_tests::{ConsoleSocket, Ctr, Value};
use std::time::Duration;

/// The first JSON object in terminal output (which has `\r\n` line ends).
fn json_in(text: &str) -> Value {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in {text:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e}): {line}"))
}

#[test]
fn console_socket_receives_the_pty_master() {
    let mut c = Ctr::new();
    c.bundle.set("/process/terminal", serde_json::json!(true));
    c.bundle.probe(&["report"]);
    let mut sock = ConsoleSocket::listen(&c.work().join("console.sock"));
    let path = sock.path().to_str().unwrap().to_string();
    c.create(&["--console-socket", &path]).ok();
    let (master, name) = sock.receive();
    assert!(!name.is_empty(), "the fd comes with its name");
    c.start().ok();
    let text = read_pty(&master, Duration::from_secs(20));
    let r = json_in(&text);
    for fd in 0..3 {
        assert_eq!(r["stdio"][fd]["tty"], true, "fd {fd}: {}", r["stdio"]);
    }
    assert!(
        r["stdio"][0]["target"]
            .as_str()
            .unwrap()
            .starts_with("/dev/pts/"),
        "{}",
        r["stdio"]
    );
    c.wait_status("stopped");
}

#[test]
fn terminal_without_console_socket_fails_create() {
    // `create` with a terminal needs somewhere to send the master.
    let mut c = Ctr::new();
    c.bundle.set("/process/terminal", serde_json::json!(true));
    c.create(&[]).fails();
    c.assert_gone(None);
}

#[test]
fn run_with_terminal_on_own_stdio() {
    use std::os::unix::process::CommandExt;
    let mut c = Ctr::new();
    c.bundle.set("/process/terminal", serde_json::json!(true));
    c.bundle.probe(&["report"]);
    c.bundle.save();
    let (master, slave) = open_pty();
    let reader = std::thread::spawn(move || read_pty(&master, Duration::from_secs(30)));
    let [flag, b] = c.bundle_args();
    let mut cmd = std::process::Command::new(integration_tests::assets::runtime_bin());
    cmd.arg("--root")
        .arg(c.root())
        .args(["run", &flag, &b, &c.id]);
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap());
    // SAFETY: setsid and TIOCSCTTY in the child before exec make the pty its controlling tty.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn runtime");
    // Only the runtime may hold the slave, or the reader never sees it close.
    drop(cmd);
    drop(slave);
    let code = integration_tests::out::wait_deadline(&mut child, "run with a terminal");
    let text = reader.join().expect("pty reader");
    assert_eq!(code, 0, "output: {text}");
    let r = json_in(&text);
    assert_eq!(r["stdio"][1]["tty"], true, "{}", r["stdio"]);
}
