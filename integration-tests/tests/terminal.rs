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
    c.bundle.probe(&["report", "--stat", "/dev/console"]);
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
    // /dev/console is the pty slave (runc binds it there): a pts node, major 136..143.
    let console = &r["stat"]["/dev/console"];
    assert_eq!(console["type"], "char", "{console}");
    let major = console["major"].as_i64().unwrap_or(-1);
    assert!((136..=143).contains(&major), "{console}");
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
    // runc 1.1.5 copies the window size just after the process starts: give it a moment.
    c.bundle
        .args(&["/bin/sh", "-c", "sleep 0.5; exec /bin/probe report"]);
    c.bundle.save();
    let (master, slave) = open_pty();
    let size = libc::winsize {
        ws_row: 33,
        ws_col: 111,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: a valid winsize for TIOCSWINSZ on our own pty.
    assert_eq!(
        unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&slave),
                libc::TIOCSWINSZ,
                &size,
            )
        },
        0
    );
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
    // The window size of the runtime's terminal is passed on.
    assert_eq!(
        r["stdio"][0]["winsize"],
        serde_json::json!({ "rows": 33, "cols": 111 }),
        "{}",
        r["stdio"]
    );
}

#[test]
fn run_with_terminal_sets_raw_mode_and_restores_it() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let mut c = Ctr::new();
    c.bundle.set("/process/terminal", serde_json::json!(true));
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let (master, slave) = open_pty();
    let master_for_reader = master.try_clone().unwrap();
    let reader = std::thread::spawn(move || read_pty(&master_for_reader, Duration::from_secs(30)));
    let lflag = |fd: i32| {
        // SAFETY: termios is plain data that tcgetattr fills.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is our open pty master; t is valid.
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut t) }, 0);
        t.c_lflag
    };
    assert_ne!(
        lflag(master.as_raw_fd()) & libc::ICANON,
        0,
        "a new pty starts canonical"
    );
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
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn runtime");
    drop(cmd);
    drop(slave);
    c.wait_status("running");
    assert_eq!(
        lflag(master.as_raw_fd()) & (libc::ICANON | libc::ECHO),
        0,
        "raw mode while the container runs"
    );
    c.kill(&["KILL"]).ok();
    let code = integration_tests::out::wait_deadline(&mut child, "run with a terminal");
    assert_eq!(code, 137);
    assert_ne!(
        lflag(master.as_raw_fd()) & libc::ICANON,
        0,
        "the terminal mode is restored"
    );
    drop(master);
    let _ = reader.join();
}

/// With a non-root process user, the terminal belongs to that user (group unchanged),
/// as runc leaves it: `podman run -it --user 1000` gets a tty it can use.
#[test]
fn the_terminal_belongs_to_the_process_user() {
    let mut c = Ctr::new();
    c.bundle.set("/process/terminal", serde_json::json!(true));
    c.bundle.set(
        "/process/user",
        serde_json::json!({ "uid": 1000, "gid": 100 }),
    );
    c.bundle.probe(&["report", "--stat", "/dev/console"]);
    let mut sock = ConsoleSocket::listen(&c.work().join("console.sock"));
    let path = sock.path().to_str().unwrap().to_string();
    c.create(&["--console-socket", &path]).ok();
    let (master, _) = sock.receive();
    c.start().ok();
    let r = json_in(&read_pty(&master, Duration::from_secs(20)));
    let tty = &r["stat"]["/dev/console"];
    assert_eq!(tty["uid"], 1000, "{tty}");
    assert_eq!(tty["type"], "char", "{tty}");
    c.wait_status("stopped");
}

/// `--console-socket` naming what an engine should not hand over: nothing, a file, a
/// directory, a FIFO, a socket nobody listens on, a datagram socket, a listener that
/// hangs up at once. Each create either works (the master was queued before the hang-up)
/// or fails with one clear error naming the socket, never hangs, and leaves nothing.
#[test]
fn hostile_console_sockets_fail_clearly_or_work() {
    use std::os::unix::net::{UnixDatagram, UnixListener};
    let c0 = Ctr::new();
    let dir = c0.work().join("sockets");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("file");
    std::fs::write(&file, "").unwrap();
    let directory = dir.join("dir");
    std::fs::create_dir(&directory).unwrap();
    let fifo = dir.join("fifo");
    integration_tests::host::sh(&format!("mkfifo {}", fifo.display()));
    let unbound = dir.join("bound-not-listening");
    // SAFETY: a fresh socket, bound to a path and never listened on.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as u16;
        for (d, s) in addr
            .sun_path
            .iter_mut()
            .zip(unbound.to_str().unwrap().bytes())
        {
            *d = s as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        assert_eq!(libc::bind(fd, std::ptr::addr_of!(addr).cast(), len), 0);
    }
    let datagram = dir.join("datagram");
    let _dgram = UnixDatagram::bind(&datagram).unwrap();
    let hangup = dir.join("hangup");
    let listener = UnixListener::bind(&hangup).unwrap();
    let hanger = std::thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            drop(s);
        }
    });
    let cases = [
        ("missing", dir.join("missing")),
        ("file", file),
        ("directory", directory),
        ("fifo", fifo),
        ("not listening", unbound),
        ("datagram", datagram),
        ("hang-up", hangup),
    ];
    for (what, path) in cases {
        let mut c = Ctr::new();
        c.bundle.set("/process/terminal", serde_json::json!(true));
        c.bundle.probe(&["sleep", "forever"]);
        let out = c.create(&["--console-socket", path.to_str().unwrap()]);
        eprintln!("{what}: exit {} {}", out.code, out.stderr.trim());
        if out.code == 0 {
            let pid = c.pid();
            c.delete(&["--force"]).ok();
            c.assert_gone(Some(pid));
        } else {
            integration_tests::check::one_clear_error(&c, out, &["console", "socket"]);
        }
    }
    hanger.join().unwrap();
}
