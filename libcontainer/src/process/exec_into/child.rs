//! The two processes `exec` clones: the helper, which joins the container's namespaces
//! and clones the process into them, and the process, which sets itself up and
//! `execve`s. Both report any failure to the runtime as text and exit.

use std::convert::Infallible;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::messages::{FromExec, ToExec};
use crate::channel::Channel;
use crate::pidfd::Pidfd;
use crate::process::clone;
use crate::process::facts::KernelFacts;
use crate::process::{credentials, exec, fds, fields, filter, init};
use crate::procfs::ProcHandle;
use crate::spec::Process;
use crate::{limits, tty};

/// Everything the helper and the process work with (copies in the clones).
pub(super) struct Job<'a> {
    pub ch: Channel,
    pub init: &'a Pidfd,
    /// The `CLONE_NEW*` flags of the namespaces the init does not share with us.
    pub flags: libc::c_int,
    /// The container has no mount namespace of its own: chroot into its root instead.
    pub shares_mounts: bool,
    pub rootfs: &'a Path,
    pub process: &'a Process,
    pub linux: Option<&'a crate::spec::Linux>,
    pub seccomp: Option<&'a crate::seccomp::Filter>,
    pub preserve_fds: u32,
    /// The ways into the cgroup, opened by the runtime; the process joins at `Go`.
    pub cgroup: &'a crate::cgroups::SelfJoin,
    /// The host's procfs, opened by the runtime before the clone.
    pub proc: &'a ProcHandle,
    pub facts: &'a KernelFacts,
}

fn fail(ch: &Channel, err: String, code: i32) -> ! {
    let _ = ch.send(&FromExec::Error(err), &[]);
    // SAFETY: leaving a clone without running the parent's destructors.
    unsafe { libc::_exit(code) }
}

/// The helper: joins the init's namespaces, clones the process as the runtime's child
/// (a member of the container's pid namespace), sends its pidfd, and exits.
pub(super) fn helper(job: Job) -> ! {
    if let Err(e) = join(job.init, job.flags) {
        fail(&job.ch, e, 1);
    }
    match clone::clone3(nix::sched::CloneFlags::CLONE_PARENT, None) {
        Err(e) => fail(&job.ch, format!("clone into the container: {e}"), 1),
        Ok(clone::Forked::Child) => process(job),
        Ok(clone::Forked::Parent { pid, pidfd }) => {
            let sent = job
                .ch
                .send(&FromExec::Spawned { pid }, &[pidfd.as_raw_fd()]);
            if sent.is_err() {
                // The runtime will never know this process: it would wait for `Go` on
                // its end of the channel, keeping the runtime's read from ending.
                // SAFETY: signalling the process we just cloned, through its pidfd.
                unsafe {
                    libc::syscall(
                        libc::SYS_pidfd_send_signal,
                        pidfd.as_raw_fd(),
                        libc::SIGKILL,
                        std::ptr::null::<libc::siginfo_t>(),
                        0,
                    )
                };
            }
            // SAFETY: leaving the helper without running destructors.
            unsafe { libc::_exit(i32::from(sent.is_err())) }
        }
    }
}

/// One `setns` with the init's pidfd for every namespace at once.
fn join(init: &Pidfd, flags: libc::c_int) -> Result<(), String> {
    if flags == 0 {
        return Ok(());
    }
    // SAFETY: plain syscall on a pidfd we hold.
    if unsafe { libc::setns(init.as_raw_fd(), flags) } != 0 {
        return Err(format!(
            "join the container's namespaces (setns {flags:#x}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The process: waits until it is in the cgroup, sets itself up, and `execve`s.
fn process(job: Job) -> ! {
    let err = match steps(&job) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    fail(&job.ch, err, 255)
}

fn prctl(op: i32, arg: u64) -> Result<(), String> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(op, arg, 0, 0, 0) } != 0 {
        return Err(format!("prctl({op}): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn steps(job: &Job) -> Result<Infallible, String> {
    crate::cgroups::release_cached_fds();
    // Until it execs, it must not outlive an exec that failed or was killed.
    prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64)?;
    prctl(libc::PR_SET_DUMPABLE, 0)?;
    match job.ch.recv::<ToExec>() {
        Ok((ToExec::Go, _)) => {}
        Ok((other, _)) => return Err(format!("unexpected message {other:?}")),
        Err(e) => return Err(format!("waiting for the runtime: {e}")),
    }
    job.cgroup.join_self_and_close()?;
    if job.shares_mounts {
        enter_root(job.rootfs)?;
    }
    let p = job.process;
    ensure_cwd(p.cwd())?;
    // Its own session and process group, as runc's exec gives (never the engine's).
    tty::new_session().map_err(|e| e.to_string())?;
    if p.terminal() == Some(true) {
        let pty = tty::open_process_pty(p).map_err(|e| e.to_string())?;
        job.ch
            .send(&FromExec::Console, &[pty.master.as_raw_fd()])
            .map_err(|e| e.to_string())?;
        drop(pty.master);
        // Not before the runtime has sized it: the program may read its size at once.
        match job.ch.recv::<ToExec>() {
            Ok((ToExec::ConsoleDone, _)) => {}
            Ok((other, _)) => return Err(format!("unexpected message {other:?}")),
            Err(e) => return Err(format!("waiting for the runtime: {e}")),
        }
        tty::make_controlling(pty.slave).map_err(|e| e.to_string())?;
    }
    if let Some(r) = p.rlimits() {
        limits::set_rlimits(r).map_err(|e| e.to_string())?;
    }
    if let Some(score) = p.oom_score_adj() {
        limits::set_oom_score_adj(job.proc, score).map_err(|e| e.to_string())?;
    }
    let env = init::container_env(
        &last_wins(p.env().as_deref().unwrap_or(&[])),
        &[],
        p.user().uid(),
    );
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err("args must not be empty".into());
    }
    fds::close_fds_on_exec(job.preserve_fds)?;
    if let Some(profile) = p.apparmor_profile().as_deref().filter(|s| !s.is_empty()) {
        // Validation refused it where AppArmor is not enabled; here it is: apply it.
        crate::apparmor::change_on_exec(job.proc, profile).map_err(|e| e.to_string())?;
    }
    // Scheduler, I/O priority, personality, memory policy: while it has its capabilities.
    fields::apply_privileged(Some(p), job.linux)?;
    let seccomp = filter::Plan::new(job.seccomp, p);
    seccomp.before_credentials(&job.ch, &FromExec::SeccompListener)?;
    credentials::finalize(p, job.proc, job.facts)?;
    // As the user, as runc's LookPath.
    let program = exec::find_program(&args[0], &env)?;
    // In its cgroup by now (a v1 cpuset resets the affinity on attach).
    fields::apply_final(Some(p))?;
    // Loaded here even without a listener: past `Ready` nothing may fail but execve.
    let late = seccomp.before_ready(&job.ch, &FromExec::SeccompListener)?;
    filter::last(late)?;
    job.ch
        .send(&FromExec::Ready, &[])
        .map_err(|e| e.to_string())?;
    // Past every check: from here the runtime waits for execve, and an exec that
    // finished need not die with it.
    prctl(libc::PR_SET_PDEATHSIG, 0)?;
    exec::reset_signals();
    let e = exec::execve(&program, &args, &env);
    Err(format!("exec {}: {e}", program.display()))
}

/// The container shares our mount namespace: its root is a directory of ours.
fn enter_root(rootfs: &Path) -> Result<(), String> {
    nix::unistd::chroot(rootfs).map_err(|e| format!("chroot {}: {e}", rootfs.display()))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir /: {e}"))
}

/// chdir into the process's cwd (which must exist) and check that the kernel sees it
/// inside our root: a leaked host directory fd would show as "(unreachable)".
fn ensure_cwd(cwd: &Path) -> Result<(), String> {
    // By path on purpose: the cwd is the container's, and we are in its root.
    nix::unistd::chdir(cwd)
        .map_err(|e| format!("chdir to cwd ({cwd:?}) set in config.json failed: {e}"))?;
    exec::check_cwd(cwd)
}

/// The environment with one entry per name, the last given winning, in the order
/// names first appear (as a shell's `export` of each would leave it).
pub(super) fn last_wins(env: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for e in env {
        let name = e.split_once('=').map_or(e.as_str(), |(n, _)| n);
        match out
            .iter_mut()
            .find(|o| o.split_once('=').map_or(o.as_str(), |(n, _)| n) == name)
        {
            Some(slot) => slot.clone_from(e),
            None => out.push(e.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_entries_override_same_names() {
        let e = last_wins(&[
            "PATH=/bin".into(),
            "A=1".into(),
            "PATH=/usr/bin".into(),
            "B=x=y".into(),
        ]);
        assert_eq!(e, vec!["PATH=/usr/bin", "A=1", "B=x=y"]);
    }
}
