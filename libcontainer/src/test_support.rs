//! Helpers shared by the unit tests that need a process of their own (they change
//! credentials, namespaces or mounts, which must never touch the test runner).

/// Runs `check` in a forked child and asserts it returned `Ok`; the child's error text
/// comes back through a pipe so the parent's assertion shows it.
pub(crate) fn in_child(check: impl FnOnce() -> Result<(), String>) {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    // SAFETY: the child runs `check` and leaves with `_exit`, never returning.
    match unsafe { nix::unistd::fork() }.expect("fork") {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let code = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)) {
                Ok(Ok(())) => 0,
                Ok(Err(msg)) => {
                    let _ = nix::unistd::write(&w, msg.as_bytes());
                    1
                }
                Err(_) => 2,
            };
            // SAFETY: leaves the forked child without running the test harness's exit.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            // A child forked from the multi-threaded test runner can deadlock on a lock
            // another thread held at fork time: it is killed after a deadline and the
            // test fails, rather than hanging the run or outliving it.
            let pidfd = crate::pidfd::Pidfd::open(child.as_raw()).expect("pidfd_open");
            let exited = pidfd
                .wait_exit(Some(std::time::Duration::from_secs(120)))
                .expect("wait for the child");
            if !exited {
                let _ = pidfd.signal(libc::SIGKILL);
                let _ = nix::sys::wait::waitpid(child, None);
                panic!("the test's child process hung for 120 s and was killed");
            }
            let status = nix::sys::wait::waitpid(child, None).expect("waitpid");
            // The child is gone; what it wrote is in the pipe (read without blocking, in
            // case a process it started still holds the write end).
            let r = std::fs::File::from(r);
            let _ = nix::fcntl::fcntl(
                &r,
                nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
            );
            let mut buf = Vec::new();
            let _ = std::io::Read::read_to_end(&mut &r, &mut buf);
            let msg = String::from_utf8_lossy(&buf);
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(child, 0),
                "child failed: {msg}"
            );
        }
    }
}
