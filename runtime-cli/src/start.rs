//! What quai needs of a process start, done by hand because quai is `#![no_main]`.
//!
//! std's runtime start also finds the main thread's stack for its stack-overflow
//! message (glibc reads all of /proc/self/maps and the affinity mask for that) and
//! installs an alternate signal stack with SIGSEGV and SIGBUS handlers: 16 system
//! calls and a procfs read per exec, and a `create` execs quai twice (the second time
//! through the read-only view of the binary) while the init inherits the rest. Without
//! them a stack overflow is a plain SIGSEGV; the kernel's guard gap still stops it.
//!
//! Kept, as std does them: fds 0, 1 and 2 open (a closed one becomes /dev/null, so no
//! file quai opens later becomes its stdout or stderr), and SIGPIPE ignored (a write
//! to a closed pipe fails with EPIPE instead of killing quai; the init restores the
//! default before it executes the container's process).

#![cfg_attr(test, allow(dead_code))]

use std::io;

/// Opens /dev/null on each of fds 0-2 that is closed, and ignores SIGPIPE. Aborts if a
/// closed standard fd cannot be filled, as std does: writing on would be unsafe.
pub fn prepare() {
    if fill_closed_std_fds().is_err() {
        std::process::abort();
    }
    // SAFETY: setting a signal's disposition to SIG_IGN has no memory effects.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

fn fill_closed_std_fds() -> io::Result<()> {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    loop {
        // SAFETY: `fds` is a valid array of 3 pollfd; a zero timeout never blocks.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
        if r != -1 {
            break;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            // poll may be refused (a seccomp filter, an old sandbox): ask each fd.
            Some(libc::EINVAL) | Some(libc::EAGAIN) | Some(libc::ENOMEM) | Some(libc::EPERM) => {
                for p in &mut fds {
                    // SAFETY: F_GETFD only reads the fd's flags.
                    if unsafe { libc::fcntl(p.fd, libc::F_GETFD) } == -1
                        && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
                    {
                        p.revents = libc::POLLNVAL;
                    }
                }
                break;
            }
            _ => return Err(e),
        }
    }
    for p in fds {
        if p.revents & libc::POLLNVAL != 0 {
            // The lowest free fd is the closed one: the ones below it are open.
            // SAFETY: a NUL-terminated path; the result is checked.
            let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
            if fd != p.fd {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}
