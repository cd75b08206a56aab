use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, LocalFlags, SetArg};

use super::relay::relay_fds;
use super::*;
use crate::test_support::in_child;

/// A pty whose slave is raw, so bytes pass unchanged and are not echoed.
fn raw_pty() -> Pty {
    let pty = open_pty().expect("open_pty");
    let mut t = tcgetattr(pty.slave.as_fd()).expect("tcgetattr");
    cfmakeraw(&mut t);
    tcsetattr(pty.slave.as_fd(), SetArg::TCSANOW, &t).expect("tcsetattr");
    pty
}

fn read_exact(fd: &OwnedFd, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    std::fs::File::from(fd.try_clone().expect("dup"))
        .read_exact(&mut buf)
        .expect("read");
    buf
}

fn write_all(fd: &OwnedFd, data: &[u8]) {
    std::fs::File::from(fd.try_clone().expect("dup"))
        .write_all(data)
        .expect("write");
}

/// Puts `fd` on fd 0 of this (forked) process.
fn onto_stdin(fd: std::os::fd::RawFd) -> Result<(), String> {
    // SAFETY: dup2 between open fds; only called in forked children.
    if unsafe { libc::dup2(fd, 0) } < 0 {
        return Err(format!(
            "dup2 onto stdin: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

fn window(fd: &OwnedFd) -> (u16, u16) {
    // SAFETY: a zeroed winsize is valid; TIOCGWINSZ fills it.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) },
        0
    );
    (ws.ws_row, ws.ws_col)
}

#[test]
fn open_pty_gives_a_connected_verified_pair() {
    let pty = raw_pty();
    write_all(&pty.slave, b"from the slave");
    assert_eq!(read_exact(&pty.master, 14), b"from the slave");
    write_all(&pty.master, b"to the slave");
    assert_eq!(read_exact(&pty.slave, 12), b"to the slave");
}

/// Receives one fd and the payload from a socket, as go-runc's console receiver does.
fn receive_master(sock: &OwnedFd) -> (String, OwnedFd) {
    let mut name = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .expect("recvmsg");
    let fd = match msg.cmsgs().expect("cmsgs").next() {
        Some(ControlMessageOwned::ScmRights(fds)) if fds.len() == 1 => fds[0],
        other => panic!("expected one SCM_RIGHTS fd, got {other:?}"),
    };
    let n = msg.bytes;
    // SAFETY: the fd was just received and is owned by nobody else.
    (String::from_utf8_lossy(&name[..n]).into_owned(), unsafe {
        OwnedFd::from_raw_fd(fd)
    })
}

#[test]
fn send_master_passes_a_working_master_and_its_name() {
    let pty = raw_pty();
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair");
    send_master(a.as_fd(), pty.master.as_fd()).expect("send_master");
    let (name, received) = receive_master(&b);
    assert_eq!(name, PTMX_NAME);
    write_all(&received, b"via socket");
    assert_eq!(read_exact(&pty.slave, 10), b"via socket");
}

#[test]
fn connect_console_socket_reaches_a_listener() {
    let dir = std::env::temp_dir().join(format!("quai-tty-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("console.sock");
    let listener = UnixListener::bind(&path).expect("bind");
    let sock = connect_console_socket(&path).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    // SAFETY: F_GETFD only reads the fd flags.
    assert_eq!(
        unsafe { libc::fcntl(sock.as_raw_fd(), libc::F_GETFD) } & libc::FD_CLOEXEC,
        libc::FD_CLOEXEC
    );
    let pty = raw_pty();
    send_master(sock.as_fd(), pty.master.as_fd()).expect("send_master");
    let (name, _master) = receive_master(&OwnedFd::from(server));
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(name, PTMX_NAME);

    let missing = connect_console_socket(&dir.join("gone.sock")).expect_err("no listener");
    assert!(missing.to_string().contains("gone.sock"), "{missing}");
}

#[test]
fn set_size_is_seen_on_the_slave() {
    let pty = open_pty().expect("open_pty");
    set_size(pty.master.as_fd(), 40, 100).expect("set_size");
    assert_eq!(window(&pty.slave), (40, 100));
}

#[test]
fn make_controlling_makes_the_slave_stdio_and_the_controlling_terminal() {
    in_child(|| {
        // Closing the master at the end hangs up our new controlling terminal.
        // SAFETY: ignoring a signal in this forked child only.
        unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
        let pty = raw_pty();
        let slave_raw = pty.slave.as_raw_fd();
        make_controlling(pty.slave).map_err(|e| e.to_string())?;
        for fd in 0..=2 {
            // SAFETY: isatty only inspects the fd.
            if unsafe { libc::isatty(fd) } != 1 {
                return Err(format!("fd {fd} is not a terminal"));
            }
        }
        // SAFETY: plain queries.
        if unsafe { libc::tcgetsid(0) } != unsafe { libc::getpid() } {
            return Err("the pty is not the controlling terminal of our session".into());
        }
        // SAFETY: F_GETFD on a closed fd fails with EBADF.
        if slave_raw > 2 && unsafe { libc::fcntl(slave_raw, libc::F_GETFD) } != -1 {
            return Err(format!("the original slave fd {slave_raw} is still open"));
        }
        std::io::stdout()
            .write_all(b"on stdout")
            .map_err(|e| e.to_string())?;
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let got = read_exact(&pty.master, 9);
        (got == b"on stdout")
            .then_some(())
            .ok_or(format!("master read {got:?}"))
    });
}

#[test]
fn inherit_size_copies_stdin_size_and_ignores_a_non_terminal() {
    in_child(|| {
        let outer = open_pty().map_err(|e| e.to_string())?;
        set_size(outer.master.as_fd(), 30, 90).map_err(|e| e.to_string())?;
        onto_stdin(outer.slave.as_raw_fd())?;
        let inner = open_pty().map_err(|e| e.to_string())?;
        inherit_size(inner.master.as_fd()).map_err(|e| e.to_string())?;
        if window(&inner.slave) != (30, 90) {
            return Err(format!("inner size is {:?}", window(&inner.slave)));
        }
        let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
        onto_stdin(null.as_raw_fd())?;
        inherit_size(inner.master.as_fd()).map_err(|e| format!("with /dev/null as stdin: {e}"))
    });
}

#[test]
fn raw_mode_is_set_and_restored_on_drop() {
    in_child(|| {
        let pty = open_pty().map_err(|e| e.to_string())?;
        onto_stdin(pty.slave.as_raw_fd())?;
        let canonical = |fd: &OwnedFd| {
            tcgetattr(fd.as_fd()).map(|t| t.local_flags.contains(LocalFlags::ICANON))
        };
        let raw = RawMode::enable_on_stdin()
            .map_err(|e| e.to_string())?
            .ok_or("stdin is a pty but got None")?;
        if canonical(&pty.slave) != Ok(false) {
            return Err("stdin is still canonical in raw mode".into());
        }
        drop(raw);
        if canonical(&pty.slave) != Ok(true) {
            return Err("canonical mode was not restored".into());
        }
        let null = std::fs::File::open("/dev/null").map_err(|e| e.to_string())?;
        onto_stdin(null.as_raw_fd())?;
        match RawMode::enable_on_stdin() {
            Ok(None) => Ok(()),
            other => Err(format!("expected None for /dev/null, got {other:?}")),
        }
    });
}

#[test]
fn relay_copies_both_ways_until_the_slave_closes() {
    let pty = raw_pty();
    let (in_r, in_w) = nix::unistd::pipe().expect("pipe");
    let (out_r, out_w) = nix::unistd::pipe().expect("pipe");
    let master = pty.master;
    let (in_r2, out_w2) = (
        in_r.try_clone().expect("dup"),
        out_w.try_clone().expect("dup"),
    );
    let relay =
        std::thread::spawn(move || relay_fds(in_r2.as_fd(), master.as_fd(), out_w2.as_fd()));

    write_all(&in_w, b"ping");
    assert_eq!(read_exact(&pty.slave, 4), b"ping");
    write_all(&pty.slave, b"pong");
    assert_eq!(read_exact(&out_r, 4), b"pong");

    // End of input stops only that direction: output still flows.
    drop(in_w);
    write_all(&pty.slave, b"bye");
    assert_eq!(read_exact(&out_r, 3), b"bye");

    drop(pty.slave);
    relay
        .join()
        .expect("relay thread")
        .expect("relay ends cleanly when the slave closes");
    drop((in_r, out_w));
    let mut rest = Vec::new();
    std::fs::File::from(out_r)
        .read_to_end(&mut rest)
        .expect("read rest");
    assert!(rest.is_empty(), "unexpected output {rest:?}");
}
