//! Copying between the runtime's stdio and a container's pty master (`run -t`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{last, TtyError};

/// Bridges the runtime's stdin and stdout to `master` until every holder of the slave
/// has closed it (the master reads EOF or EIO). End of stdin stops only that direction.
/// Raw mode ([`super::RawMode`]) and window size ([`super::inherit_size`]) are the
/// caller's; this runs on its own thread while the main thread reaps and forwards signals.
pub fn relay(master: &OwnedFd) -> Result<(), TtyError> {
    // SAFETY: fds 0 and 1 stay open for the life of the process.
    let (input, output) = unsafe { (BorrowedFd::borrow_raw(0), BorrowedFd::borrow_raw(1)) };
    relay_fds(input, master.as_fd(), output)
}

/// [`relay`] between any `input`, `master` and `output`.
pub(super) fn relay_fds(
    input: BorrowedFd<'_>,
    master: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
) -> Result<(), TtyError> {
    // Non-blocking master: a container that does not read its stdin must not stop us
    // from copying what it writes.
    set_nonblocking(master.as_raw_fd())?;
    let mut to_master: Vec<u8> = Vec::new();
    let mut input_open = true;
    let mut output_ok = true;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let master_events = libc::POLLIN
            | if to_master.is_empty() {
                0
            } else {
                libc::POLLOUT
            };
        // A negative fd is ignored by poll: stop reading input while data is pending.
        let input_fd = if input_open && to_master.is_empty() {
            input.as_raw_fd()
        } else {
            -1
        };
        let mut fds = [
            libc::pollfd {
                fd: master.as_raw_fd(),
                events: master_events,
                revents: 0,
            },
            libc::pollfd {
                fd: input_fd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: a valid array of two pollfd.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(last("waiting on the pty and stdin (poll)"));
        }
        if fds[0].revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
            match read(master.as_raw_fd(), &mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) if output_ok => output_ok = write_all(output.as_raw_fd(), &buf[..n]).is_ok(),
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(()),
                Err(e) if is_retry(&e) => {}
                Err(source) => {
                    return Err(TtyError::Sys {
                        what: "reading the pty master",
                        source,
                    })
                }
            }
        }
        if fds[0].revents & libc::POLLOUT != 0 && !to_master.is_empty() {
            match write(master.as_raw_fd(), &to_master) {
                Ok(n) => drop(to_master.drain(..n)),
                Err(e) if is_retry(&e) => {}
                // The container side is gone; its output still decides when we stop.
                Err(_) => to_master.clear(),
            }
        }
        if fds[1].revents != 0 {
            match read(input.as_raw_fd(), &mut buf) {
                Ok(0) => input_open = false,
                Ok(n) => to_master.extend_from_slice(&buf[..n]),
                Err(e) if is_retry(&e) => {}
                // A hung-up terminal (EIO) or any other failure ends this direction only.
                Err(_) => input_open = false,
            }
        }
    }
}

fn is_retry(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR))
}

fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: reads into a valid buffer.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

fn write(fd: RawFd, data: &[u8]) -> io::Result<usize> {
    // SAFETY: writes from a valid buffer.
    let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Writes all of `data`, waiting for room if `fd` happens to be non-blocking.
fn write_all(fd: RawFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLOUT,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                unsafe { libc::poll(&mut p, 1, -1) };
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn set_nonblocking(fd: RawFd) -> Result<(), TtyError> {
    // SAFETY: fcntl on an open fd.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(last("making the pty master non-blocking"));
    }
    Ok(())
}
