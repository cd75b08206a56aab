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
            let mut msg = String::new();
            std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut msg)
                .expect("read child report");
            let status = nix::sys::wait::waitpid(child, None).expect("waitpid");
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(child, 0),
                "child failed: {msg}"
            );
        }
    }
}
