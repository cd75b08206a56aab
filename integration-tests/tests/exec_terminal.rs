//! `exec` with a terminal (`--tty`): through `--console-socket`, with `consoleSize`, and
//! on the caller's own terminal (window size passed on and followed); and
//! `--pidfd-socket`, whose receiver gets a pidfd of the process.

use integration_tests::console::{open_pty, read_pty};
use integration_tests::{ConsoleSocket, Ctr, Value};
use serde_json::json;
use std::os::fd::AsRawFd;
use std::time::Duration;

fn running() -> Ctr {
    let mut c = Ctr::new();
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["-d"]).ok();
    c.wait_status("running");
    c
}

/// Every JSON object in terminal output (which has `\r\n` line ends).
fn reports(text: &str) -> Vec<Value> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn console_socket_receives_the_exec_pty_master() {
    let c = running();
    let mut sock = ConsoleSocket::listen(&c.work().join("console.sock"));
    let path = sock.path().to_str().unwrap().to_string();
    let out = c.cmd(&[
        "exec",
        "-t",
        "-d",
        "--console-socket",
        &path,
        &c.id,
        "/bin/probe",
        "report",
    ]);
    out.ok();
    let (master, name) = sock.receive();
    assert!(!name.is_empty(), "the fd comes with its name");
    let text = read_pty(&master, Duration::from_secs(20));
    let r = reports(&text)
        .pop()
        .unwrap_or_else(|| panic!("no report in {text:?}"));
    for fd in 0..3 {
        assert_eq!(r["stdio"][fd]["tty"], true, "fd {fd}: {}", r["stdio"]);
    }
    let target = r["stdio"][0]["target"].as_str().unwrap();
    assert!(target.starts_with("/dev/pts/"), "{}", r["stdio"]);
}

#[test]
fn console_size_of_a_process_file_is_honoured() {
    let c = running();
    let p = c.work().join("process.json");
    // No `user`: runc takes Go's zero value, root (its tty.bats sends such a file).
    let process = json!({
        "terminal": true,
        "consoleSize": { "height": 40, "width": 120 },
        "args": ["/bin/probe", "report"],
        "env": ["PATH=/bin"],
        "cwd": "/"
    });
    std::fs::write(&p, process.to_string()).unwrap();
    let mut sock = ConsoleSocket::listen(&c.work().join("console.sock"));
    let path = sock.path().to_str().unwrap().to_string();
    c.cmd(&[
        "exec",
        "-d",
        "--console-socket",
        &path,
        "--process",
        p.to_str().unwrap(),
        &c.id,
    ])
    .ok();
    let (master, _) = sock.receive();
    let text = read_pty(&master, Duration::from_secs(20));
    let r = reports(&text)
        .pop()
        .unwrap_or_else(|| panic!("no report in {text:?}"));
    assert_eq!(
        r["stdio"][0]["winsize"],
        json!({ "rows": 40, "cols": 120 }),
        "{}",
        r["stdio"]
    );
}

#[test]
fn tty_without_console_socket_when_detached_is_refused() {
    let c = running();
    let out = c.cmd(&["exec", "-t", "-d", &c.id, "/bin/probe", "exit", "0"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("console socket"), "{out}");
}

fn set_size(fd: i32, rows: u16, cols: u16) {
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: a valid winsize for TIOCSWINSZ on our own pty.
    assert_eq!(unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &size) }, 0);
}

#[test]
fn tty_on_the_callers_terminal_passes_and_follows_the_window_size() {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let c = running();
    let (master, slave) = open_pty();
    set_size(slave.as_raw_fd(), 33, 111);
    let mut cmd = std::process::Command::new(integration_tests::assets::runtime_bin());
    cmd.arg("--root").arg(c.root()).args([
        "exec",
        "-t",
        &c.id,
        "/bin/sh",
        "-c",
        "/bin/probe report; while read l; do /bin/probe report; done",
    ]);
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
    drop(cmd);
    let mut text = String::new();
    let mut writer = std::fs::File::from(master.try_clone().unwrap());
    let read_some = |text: &mut String| {
        text.push_str(&read_pty_for(&master, Duration::from_millis(200)));
    };
    integration_tests::host::eventually("the first report", || {
        read_some(&mut text);
        !reports(&text).is_empty()
    });
    let first = reports(&text).remove(0);
    assert_eq!(first["stdio"][1]["tty"], true, "{}", first["stdio"]);
    assert_eq!(
        first["stdio"][0]["winsize"],
        json!({ "rows": 33, "cols": 111 })
    );
    // The caller's terminal changes size: SIGWINCH, and the container's follows.
    set_size(slave.as_raw_fd(), 44, 99);
    integration_tests::host::eventually("a report with the new size", || {
        writer.write_all(b"\n").unwrap();
        read_some(&mut text);
        reports(&text)
            .iter()
            .any(|r| r["stdio"][0]["winsize"] == json!({ "rows": 44, "cols": 99 }))
    });
    // End of input (^D in raw mode reaches the container's terminal): the shell exits 0.
    writer.write_all(&[4]).unwrap();
    drop(slave);
    let code = integration_tests::out::wait_deadline(&mut child, "exec -t");
    assert_eq!(code, 0, "{text}");
}

/// What the pty master gives within `wait` (non-blocking reads, no end needed).
fn read_pty_for(master: &std::os::fd::OwnedFd, wait: Duration) -> String {
    use std::io::Read;
    let mut f = std::fs::File::from(master.try_clone().unwrap());
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let mut pfd = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    while unsafe { libc::poll(&mut pfd, 1, wait.as_millis() as i32) } > 0 {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn pidfd_socket_receives_a_pidfd_of_the_process() {
    if integration_tests::assets::is_runc() {
        eprintln!("--pidfd-socket is runc 1.2's; runc 1.1.5 has no such flag: not checked");
        return;
    }
    let c = running();
    let mut sock = ConsoleSocket::listen(&c.work().join("pidfd.sock"));
    let path = sock.path().to_str().unwrap().to_string();
    let pid_file = c.work().join("exec.pid");
    c.cmd(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        "--pidfd-socket",
        &path,
        &c.id,
        "/bin/probe",
        "sleep",
        "forever",
    ])
    .ok();
    let (pidfd, _) = sock.receive();
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfd.as_raw_fd())).unwrap();
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().eq(["Pid:", pid.as_str()])),
        "a pidfd of {pid}: {info}"
    );
    // It works as one: SIGKILL through it ends the process.
    // SAFETY: plain syscall on the pidfd we received.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            0,
            0,
        )
    };
    assert_eq!(r, 0);
    assert!(integration_tests::host::wait_process_gone(
        pid.parse().unwrap()
    ));
}
