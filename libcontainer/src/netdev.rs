//! `linux.netDevices`: host network interfaces moved into the container's network
//! namespace (optionally renamed) by `create`, and back to the host, under their host
//! names, by `delete`. A small rtnetlink client over libc: RTM_GETLINK to find an
//! interface by name, RTM_NEWLINK with IFLA_NET_NS_FD and IFLA_IFNAME to move and
//! rename it in one request; its permanent addresses and its up state are carried
//! over (the kernel drops them on the move), as runc does.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::spec::Spec;

mod addr;

/// Why an interface could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum NetDevError {
    /// A name the kernel cannot take.
    #[error("linux.netDevices: {0:?} is not a valid interface name")]
    Name(String),
    /// A netlink request failed.
    #[error("linux.netDevices: {what}: {source}")]
    Sys {
        /// The step, with the interface.
        what: String,
        /// The cause.
        source: io::Error,
    },
}

fn sys(what: impl Into<String>) -> impl FnOnce(io::Error) -> NetDevError {
    let what = what.into();
    move |source| NetDevError::Sys { what, source }
}

/// Whether the kernel would take `name` as an interface name (dev_valid_name).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < libc::IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.contains(['/', ':'])
        && !name.chars().any(char::is_whitespace)
}

/// The name an interface gets in the container: `name` when given and not empty,
/// else its host name.
pub fn container_name<'a>(host: &'a str, name: Option<&'a str>) -> &'a str {
    name.filter(|n| !n.is_empty()).unwrap_or(host)
}

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;

/// One rtnetlink request: nlmsghdr, the family header `head`, then attributes.
fn message(kind: u16, flags: u16, head: &[u8], attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = vec![0u8; 16];
    m[4..6].copy_from_slice(&kind.to_ne_bytes());
    m[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    m[8..12].copy_from_slice(&1u32.to_ne_bytes());
    m.extend_from_slice(head);
    for (typ, data) in attrs {
        let len = 4 + data.len();
        m.extend_from_slice(&(len as u16).to_ne_bytes());
        m.extend_from_slice(&typ.to_ne_bytes());
        m.extend_from_slice(data);
        m.resize(m.len().next_multiple_of(4), 0);
    }
    let total = m.len() as u32;
    m[0..4].copy_from_slice(&total.to_ne_bytes());
    m
}

/// A link request: ifinfomsg for `index` with `flags` changed where `change` says.
fn link_message(
    kind: u16,
    nl_flags: u16,
    index: i32,
    (flags, change): (u32, u32),
    attrs: &[(u16, Vec<u8>)],
) -> Vec<u8> {
    let mut head = vec![0u8; 16];
    head[0] = libc::AF_UNSPEC as u8;
    head[4..8].copy_from_slice(&index.to_ne_bytes());
    head[8..12].copy_from_slice(&flags.to_ne_bytes());
    head[12..16].copy_from_slice(&change.to_ne_bytes());
    message(kind, nl_flags, &head, attrs)
}

fn name_attr(name: &str) -> (u16, Vec<u8>) {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    (IFLA_IFNAME, v)
}

/// A route netlink socket in the network namespace of the calling thread.
fn socket() -> io::Result<OwnedFd> {
    // SAFETY: socket takes integers; the fd is checked and then owned.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new socket that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A route netlink socket in the network namespace `netns` (made by a short-lived
/// thread that enters it: a socket stays in the namespace it was made in).
fn socket_in(netns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let raw = netns.as_raw_fd();
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on this thread only, with an fd we hold open.
            if unsafe { libc::setns(raw, libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            socket()
        })
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("netlink thread panicked")))
    })
}

/// Sends `msg` and returns the first reply (the kernel's answer or its error).
fn talk(sock: &OwnedFd, msg: &[u8]) -> io::Result<Vec<u8>> {
    // SAFETY: msg is a valid buffer of its length; the kernel is the default peer.
    if unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; 16384];
    // SAFETY: buf is valid for writing buf.len() bytes.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    if buf.len() < 16 {
        return Err(io::Error::other("short netlink reply"));
    }
    let kind = u16::from_ne_bytes([buf[4], buf[5]]);
    if kind == NLMSG_ERROR {
        let code = buf
            .get(16..20)
            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| io::Error::other("short netlink error"))?;
        if code != 0 {
            return Err(io::Error::from_raw_os_error(-code));
        }
    }
    Ok(buf)
}

/// The index and flags (IFF_UP, ...) of interface `name` in the socket's namespace.
fn link_of(sock: &OwnedFd, name: &str) -> io::Result<(i32, u32)> {
    let reply = talk(
        sock,
        &link_message(RTM_GETLINK, 0, 0, (0, 0), &[name_attr(name)]),
    )?;
    let word = |at: usize| {
        reply
            .get(at..at + 4)
            .map(|b| [b[0], b[1], b[2], b[3]])
            .ok_or_else(|| io::Error::other("short RTM_GETLINK reply"))
    };
    Ok((i32::from_ne_bytes(word(20)?), u32::from_ne_bytes(word(24)?)))
}

/// Moves `from` (found through `src`) into `target` under the name `to`, in one
/// request, then through `dst` (a socket in `target`) gives it back its permanent
/// addresses and, if it was up, brings it up.
fn move_link(
    src: &OwnedFd,
    from: &str,
    target: BorrowedFd<'_>,
    dst: &OwnedFd,
    to: &str,
) -> io::Result<()> {
    let (index, flags) = link_of(src, from)?;
    let addresses = addr::permanent(src, index)?;
    let fd = (target.as_raw_fd() as u32).to_ne_bytes().to_vec();
    let msg = link_message(
        RTM_NEWLINK,
        NLM_F_ACK,
        index,
        (0, 0),
        &[(IFLA_NET_NS_FD, fd), name_attr(to)],
    );
    talk(src, &msg)?;
    let (new_index, _) = link_of(dst, to)?;
    for a in &addresses {
        addr::add(dst, new_index, a)?;
    }
    let up = libc::IFF_UP as u32;
    if flags & up != 0 {
        talk(
            dst,
            &link_message(RTM_NEWLINK, NLM_F_ACK, new_index, (up, up), &[]),
        )?;
    }
    Ok(())
}

/// The interfaces `spec` asks for, as (host name, name in the container), sorted.
pub fn planned(spec: &Spec) -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = spec
        .linux()
        .as_ref()
        .and_then(|l| l.net_devices().as_ref())
        .into_iter()
        .flatten()
        .map(|(host, d)| {
            let to = container_name(host, d.name().as_deref());
            (host.clone(), to.to_string())
        })
        .collect();
    list.sort();
    list
}

/// Moves host interface `host` from the caller's network namespace into `netns`,
/// named `to` there.
pub fn move_in(host: &str, to: &str, netns: BorrowedFd<'_>) -> Result<(), NetDevError> {
    for n in [host, to] {
        if !valid_name(n) {
            return Err(NetDevError::Name(n.into()));
        }
    }
    let here = socket().map_err(sys("netlink socket"))?;
    let inside = socket_in(netns).map_err(sys("netlink socket in the container"))?;
    move_link(&here, host, netns, &inside, to).map_err(sys(format!(
        "move host interface {host:?} into the container as {to:?}"
    )))
}

/// Moves the interface the container knows as `from` out of `netns` into
/// `host_netns`, under its host name `host`.
pub fn move_out(
    host: &str,
    from: &str,
    netns: BorrowedFd<'_>,
    host_netns: BorrowedFd<'_>,
) -> Result<(), NetDevError> {
    let inside = socket_in(netns).map_err(sys("netlink socket in the container"))?;
    let here = socket_in(host_netns).map_err(sys("netlink socket"))?;
    move_link(&inside, from, host_netns, &here, host)
        .map_err(sys(format!("move {from:?} back to the host as {host:?}")))
}

#[cfg(test)]
mod tests;
