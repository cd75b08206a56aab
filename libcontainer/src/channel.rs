//! A typed message channel over a `SOCK_SEQPACKET` socketpair: each message is one JSON
//! datagram, optionally carrying file descriptors with `SCM_RIGHTS`.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{de::DeserializeOwned, Serialize};

/// A message travels as datagrams of at most this many bytes, each led by one byte that
/// says whether more follow: a config with a megabyte of annotations must pass, and the
/// kernel caps one datagram at the socket's send buffer.
const CHUNK: usize = 32 * 1024;
const MORE: u8 = 1;
const LAST: u8 = 0;
/// The most fds one message carries (id-mapped mount sources, a pty master).
const MAX_FDS: usize = 64;

/// One end of a parent/init channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// Creates a connected pair of channels (both close-on-exec).
pub fn pair() -> io::Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// The raw descriptor, for closing it in a child or polling.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends one message with optional fds.
    pub fn send<T: Serialize>(&self, msg: &T, fds: &[RawFd]) -> io::Result<()> {
        let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
        self.send_bytes(&body, fds)
    }

    /// Sends raw bytes with optional fds (which travel with the first datagram).
    pub fn send_bytes(&self, body: &[u8], fds: &[RawFd]) -> io::Result<()> {
        let mut chunks = body.chunks(CHUNK).peekable();
        let mut first = true;
        // An empty body is still one (empty) datagram.
        let empty: &[u8] = &[];
        loop {
            let part = chunks.next().unwrap_or(empty);
            let flag = if chunks.peek().is_some() { MORE } else { LAST };
            self.send_datagram(flag, part, if first { fds } else { &[] })?;
            first = false;
            if flag == LAST {
                return Ok(());
            }
        }
    }

    fn send_datagram(&self, flag: u8, part: &[u8], fds: &[RawFd]) -> io::Result<()> {
        let head = [flag];
        let iov = [IoSlice::new(&head), IoSlice::new(part)];
        let cmsg = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
        loop {
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message and the fds that came with it. A closed peer is
    /// `UnexpectedEof`.
    pub fn recv<T: DeserializeOwned>(&self) -> io::Result<(T, Vec<OwnedFd>)> {
        let mut body = Vec::new();
        let mut fds = Vec::new();
        let mut buf = vec![0u8; CHUNK + 1];
        loop {
            let n = self.recv_datagram(&mut buf, &mut fds)?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "peer closed the channel",
                ));
            }
            body.extend_from_slice(&buf[1..n]);
            if buf[0] != MORE {
                break;
            }
        }
        let msg = serde_json::from_slice(&body)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok((msg, fds))
    }

    /// One datagram into `buf`; its fds are added to `fds`. Returns its length.
    fn recv_datagram(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> io::Result<usize> {
        let mut cmsg_space = nix::cmsg_space!([RawFd; MAX_FDS]);
        loop {
            let mut iov = [IoSliceMut::new(buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => {
                    for c in m.cmsgs().map_err(io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(v) = c {
                            // SAFETY: the kernel installed these fds for us.
                            fds.extend(v.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
                        }
                    }
                    return Ok(m.bytes);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Msg {
        Hello(u32),
        Bye { why: String },
    }

    #[test]
    fn round_trip_with_fd() {
        let (a, b) = pair().unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        a.send(&Msg::Hello(7), &[f.as_raw_fd()]).unwrap();
        let (m, fds): (Msg, _) = b.recv().unwrap();
        assert_eq!(m, Msg::Hello(7));
        assert_eq!(fds.len(), 1);
        b.send(&Msg::Bye { why: "done".into() }, &[]).unwrap();
        let (m, fds): (Msg, _) = a.recv().unwrap();
        assert_eq!(m, Msg::Bye { why: "done".into() });
        assert!(fds.is_empty());
    }

    #[test]
    fn a_megabyte_message_arrives_whole() {
        let (a, b) = pair().unwrap();
        let big = "x".repeat(1 << 20);
        let sender = std::thread::spawn(move || {
            a.send(&Msg::Bye { why: big }, &[]).unwrap();
            a
        });
        let (m, _): (Msg, _) = b.recv().unwrap();
        let _a = sender.join().unwrap();
        assert_eq!(
            m,
            Msg::Bye {
                why: "x".repeat(1 << 20)
            }
        );
    }

    #[test]
    fn closed_peer_is_eof() {
        let (a, b) = pair().unwrap();
        drop(a);
        let e = b.recv::<Msg>().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
