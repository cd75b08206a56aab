//! A typed message channel over a `SOCK_SEQPACKET` socketpair: each message is one JSON
//! datagram, optionally carrying file descriptors with `SCM_RIGHTS`.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use serde::{de::DeserializeOwned, Serialize};

const MAX_MSG: usize = 64 * 1024;
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
    /// Wraps an already connected socket (for example a console socket).
    pub fn from_fd(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// The raw descriptor, for closing it in a child or polling.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Sends one message with optional fds.
    pub fn send<T: Serialize>(&self, msg: &T, fds: &[RawFd]) -> io::Result<()> {
        let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
        self.send_bytes(&body, fds)
    }

    /// Sends raw bytes with optional fds.
    pub fn send_bytes(&self, body: &[u8], fds: &[RawFd]) -> io::Result<()> {
        let iov = [IoSlice::new(body)];
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
        let mut buf = vec![0u8; MAX_MSG];
        let mut cmsg_space = nix::cmsg_space!([RawFd; MAX_FDS]);
        let (n, fds) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Ok(m) => {
                    let mut fds = Vec::new();
                    for c in m.cmsgs().map_err(io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(v) = c {
                            // SAFETY: the kernel installed these fds for us.
                            fds.extend(v.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
                        }
                    }
                    break (m.bytes, fds);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "peer closed the channel",
            ));
        }
        let msg = serde_json::from_slice(&buf[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok((msg, fds))
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
    fn closed_peer_is_eof() {
        let (a, b) = pair().unwrap();
        drop(a);
        let e = b.recv::<Msg>().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
