//! The addresses an interface keeps across the move: the kernel drops them when an
//! interface changes network namespace, so the permanent ones (IFA_F_PERMANENT: set
//! by hand or by the kernel, not leased) are read before and added again after, as
//! runc does.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use super::{message, talk, NLM_F_ACK};

const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const IFA_F_PERMANENT: u8 = 0x80;
/// Attributes carried over: IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST, IFA_FLAGS (not the
/// label, which names the old interface, nor the lifetimes).
const KEPT: [u16; 4] = [1, 2, 4, 8];

/// One address: its ifaddrmsg (family, prefix length, flags, scope) and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Addr {
    head: [u8; 4],
    attrs: Vec<(u16, Vec<u8>)>,
}

fn ifaddrmsg(head: [u8; 4], index: i32) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend_from_slice(&(index as u32).to_ne_bytes());
    v
}

/// The permanent addresses of interface `index`, read through `sock`.
pub(super) fn permanent(sock: &OwnedFd, index: i32) -> io::Result<Vec<Addr>> {
    let req = message(RTM_GETADDR, NLM_F_DUMP, &ifaddrmsg([0; 4], 0), &[]);
    // SAFETY: req is a valid buffer of its length.
    if unsafe { libc::send(sock.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = Vec::new();
    let mut buf = vec![0u8; 32768];
    loop {
        // SAFETY: buf is valid for writing buf.len() bytes.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut rest = &buf[..n as usize];
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            if len < 16 || len > rest.len() {
                return Err(io::Error::other("malformed netlink message"));
            }
            match kind {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => return talk_error(&rest[..len]),
                RTM_NEWADDR => found.extend(parse(&rest[16..len], index)),
                _ => {}
            }
            rest = &rest[len.next_multiple_of(4).min(rest.len())..];
        }
    }
}

fn talk_error(msg: &[u8]) -> io::Result<Vec<Addr>> {
    let code = msg
        .get(16..20)
        .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(-libc::EIO);
    Err(io::Error::from_raw_os_error(-code))
}

/// One RTM_NEWADDR payload, if it is a permanent address of interface `index`.
fn parse(payload: &[u8], index: i32) -> Option<Addr> {
    let head: [u8; 4] = payload.get(0..4)?.try_into().ok()?;
    let ifindex = u32::from_ne_bytes(payload.get(4..8)?.try_into().ok()?);
    if ifindex != index as u32 || head[2] & IFA_F_PERMANENT == 0 {
        return None;
    }
    let mut attrs = Vec::new();
    let mut rest = payload.get(8..)?;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let typ = u16::from_ne_bytes([rest[2], rest[3]]);
        if len < 4 || len > rest.len() {
            break;
        }
        if KEPT.contains(&typ) {
            attrs.push((typ, rest[4..len].to_vec()));
        }
        rest = &rest[len.next_multiple_of(4).min(rest.len())..];
    }
    Some(Addr { head, attrs })
}

/// Adds `addr` to interface `index` through `sock`.
pub(super) fn add(sock: &OwnedFd, index: i32, addr: &Addr) -> io::Result<()> {
    let msg = message(
        RTM_NEWADDR,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &ifaddrmsg(addr.head, index),
        &addr.attrs,
    );
    match talk(sock, &msg) {
        // The kernel made it again itself (an IPv6 link-local address).
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Ok(()),
        other => other.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_addresses_of_the_interface_only() {
        let mut p = vec![libc::AF_INET as u8, 24, IFA_F_PERMANENT, 0];
        p.extend_from_slice(&7u32.to_ne_bytes());
        // IFA_ADDRESS 10.0.0.1, IFA_LABEL "eth0", IFA_CACHEINFO (16 bytes).
        p.extend_from_slice(&[8, 0, 1, 0, 10, 0, 0, 1]);
        p.extend_from_slice(&[9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);
        p.extend_from_slice(&[20, 0, 6, 0]);
        p.extend_from_slice(&[0; 16]);
        let a = parse(&p, 7).unwrap();
        assert_eq!(a.head, [libc::AF_INET as u8, 24, IFA_F_PERMANENT, 0]);
        assert_eq!(a.attrs, vec![(1, vec![10, 0, 0, 1])]);
        assert_eq!(parse(&p, 8), None);
        p[2] = 0;
        assert_eq!(parse(&p, 7), None);
    }
}
