//! The container's init: runs in the cloned child, sets the container up step by step
//! in the order the runtime-spec and runc give, waits on the exec fifo, and `execve`s
//! the user's process. Any failure is sent to the runtime as text and the init exits.

use std::convert::Infallible;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use super::facts::KernelFacts;
use super::messages::{FromInit, ToInit};
use super::InitOptions;
use super::{credentials, exec, fds, fields, filter};
use crate::cgroups::SelfJoin;
use crate::channel::Channel;
use crate::procfs::ProcHandle;
use crate::rootdir::RootfsDir;
use crate::rootfs::{self, RootfsOptions};
use crate::spec::{Bundle, LinuxNamespaceType};
use crate::{hooks, limits, namespaces, sysctl, tty};

/// Runs the init to its `execve`; on failure reports to the runtime and exits 1.
pub(super) fn run(
    ch: Channel,
    joins: namespaces::Joins,
    opts: &InitOptions,
    cgroup: &SelfJoin,
    fifo: &OwnedFd,
    facts: &KernelFacts,
) -> ! {
    let err = match steps(&ch, joins, opts, cgroup, fifo, facts) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    if ch.send(&FromInit::Error(err.clone()), &[]).is_err() {
        // After `Committed` nobody listens any more: say it where the container's output goes.
        eprintln!("quai init: {err}");
    }
    // SAFETY: leaving the child without running the parent's destructors.
    unsafe { libc::_exit(1) }
}

fn recv(ch: &Channel) -> Result<ToInit, String> {
    ch.recv::<ToInit>()
        .map(|(m, _)| m)
        .map_err(|e| format!("waiting for the runtime: {e}"))
}

fn prctl(op: i32, arg: u64) -> Result<(), String> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(op, arg, 0, 0, 0) } != 0 {
        return Err(format!("prctl({op}): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn steps(
    ch: &Channel,
    joins: namespaces::Joins,
    opts: &InitOptions,
    cgroup: &SelfJoin,
    fifo: &OwnedFd,
    facts: &KernelFacts,
) -> Result<Infallible, String> {
    let b: &Bundle = opts.bundle;
    for fd in &opts.close_in_init {
        // SAFETY: closing fds of the runtime that this child must not keep.
        unsafe { libc::close(*fd) };
    }
    crate::cgroups::release_cached_fds();
    fds::install_stdio(&opts.stdio)?;
    // Until the runtime has recorded us, we must not outlive it; and until execve no
    // process of the container may ptrace us or open our /proc files.
    // (Non-dumpable from the clone, unless a rootless runtime writes our id maps: then
    // from `Go`, when they are written.)
    prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64)?;
    // If the runtime died before PDEATHSIG was set, the channel is closed and the
    // wait for `Go` below fails: the init never outlives an unrecorded create.
    let proc = ProcHandle::open().map_err(|e| format!("open /proc: {e}"))?;
    let idmapped = match ch
        .recv::<ToInit>()
        .map_err(|e| format!("waiting for the runtime: {e}"))?
    {
        (ToInit::Go { idmap }, fds) => rootfs::PreparedSources::from_parts(idmap, fds),
        (other, _) => return Err(format!("unexpected message {other:?}")),
    };
    prctl(libc::PR_SET_DUMPABLE, 0)?;
    // After the runtime applied execCPUAffinity.initial, before anything else.
    cgroup.join_self_and_close()?;
    if b.makes_namespace(LinuxNamespaceType::User) {
        become_namespace_root()?;
    }
    if joins.enter().map_err(|e| e.to_string())? {
        enter_new_pid_namespace(ch)?;
    }
    if b.namespace(LinuxNamespaceType::User)
        .is_some_and(|n| n.path().is_some())
    {
        // Our host ids mean nothing in a joined user namespace: take its root's.
        become_namespace_root()?;
    }
    namespaces::unshare_late(b, &proc).map_err(|e| e.to_string())?;
    if b.namespace(LinuxNamespaceType::Uts).is_some() {
        namespaces::set_uts_names(b).map_err(|e| e.to_string())?;
    }

    let ropts = RootfsOptions {
        bundle: b,
        no_pivot: opts.no_pivot,
        cgroup_ns: b.namespace(LinuxNamespaceType::Cgroup).is_some(),
        host_mounts: opts.host_mounts,
    };
    rootfs::prepare_with(&ropts, &idmapped, &proc).map_err(|e| e.to_string())?;
    drop(idmapped);
    ch.send(&FromInit::MountsDone, &[])
        .map_err(|e| e.to_string())?;
    let state = match recv(ch)? {
        ToInit::HooksDone { state } => state,
        other => return Err(format!("unexpected message {other:?}")),
    };
    let hooks = b.spec.hooks().clone().unwrap_or_default();
    if let Some(h) = hooks.create_container() {
        // Before pivot on purpose: the hook's path resolves in the runtime's namespace.
        // Its working directory is the container's root, as runc runs it.
        std::env::set_current_dir(&b.rootfs)
            .map_err(|e| format!("chdir to {}: {e}", b.rootfs.display()))?;
        hooks::run_all("createContainer", h, &state).map_err(|e| e.to_string())?;
    }
    rootfs::pivot(&ropts).map_err(|e| e.to_string())?;
    let process = b.process();
    ensure_cwd(process.cwd())?;
    // PID 1 leads its own session and process group, as runc's init does.
    tty::new_session().map_err(|e| e.to_string())?;
    if let Some(s) = b.spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        sysctl::apply(&proc, s).map_err(|e| e.to_string())?;
    }
    if process.terminal() == Some(true) {
        let pty = tty::open_process_pty(process).map_err(|e| e.to_string())?;
        ch.send(&FromInit::Console, &[pty.master.as_raw_fd()])
            .map_err(|e| e.to_string())?;
        drop(pty.master);
        rootfs::mount_console(pty.slave.as_fd()).map_err(|e| e.to_string())?;
        tty::make_controlling(pty.slave).map_err(|e| e.to_string())?;
    }
    rootfs::finalize(&ropts).map_err(|e| e.to_string())?;
    // From here to `Ready`, every step that can fail does, so `create` reports it.
    // First what needs privilege, while the init still has every capability.
    if let Some(r) = process.rlimits() {
        limits::set_rlimits(r).map_err(|e| e.to_string())?;
    }
    if let Some(score) = process.oom_score_adj() {
        limits::set_oom_score_adj(&proc, score).map_err(|e| e.to_string())?;
    }
    if !opts.no_new_keyring {
        join_session_keyring(opts.id)?;
    }
    fields::apply_privileged(Some(process), b.spec.linux().as_ref())?;
    let env = container_env(
        process.env().as_deref().unwrap_or(&[]),
        &opts.extra_env,
        process.user().uid(),
    );
    let args = process.args().clone().unwrap_or_default();
    fds::close_fds_on_exec(opts.preserve_fds)?;
    // The validator refused a profile where the host has no AppArmor (runc's place too:
    // before the credentials, so the startContainer hooks run confined as well).
    if let Some(profile) = process
        .apparmor_profile()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        crate::apparmor::change_on_exec(&proc, profile).map_err(|e| e.to_string())?;
    }
    let seccomp = filter::Plan::new(opts.seccomp, process);
    seccomp.before_credentials(ch, &FromInit::SeccompListener)?;
    credentials::finalize(process, &proc, facts)?;
    // As the user, as runc's LookPath.
    let program = exec::find_program(&args[0], &env)?;
    fields::apply_final(Some(process))?;
    let late_filter = seccomp.before_ready(ch, &FromInit::SeccompListener)?;

    ch.send(&FromInit::Ready, &[]).map_err(|e| e.to_string())?;
    match recv(ch)? {
        ToInit::Committed => {}
        other => return Err(format!("unexpected message {other:?}")),
    }
    // From here on the container outlives the `create` process; the runtime waits for
    // this acknowledgement so that its exit cannot race the clearing of PDEATHSIG.
    prctl(libc::PR_SET_PDEATHSIG, 0)?;
    // Before `create` returns: it waits lean from the moment anyone can look at it.
    super::idle::give_back();
    ch.send(&FromInit::Detached, &[])
        .map_err(|e| e.to_string())?;

    // Held open (close-on-exec) until execve: its closing tells `start` we exec'd. Our
    // own fd reopened needs no privilege, so the final credentials are already set.
    let _started = wait_for_start(&proc, fifo)?;
    exec::reset_signals();
    // Before the startContainer hooks, so they run confined too, as under runc; after
    // it, only the hooks and execve.
    filter::last(late_filter)?;
    // With the process's credentials, as runc runs them; the path resolves in the
    // container on purpose (runtime-spec).
    if let Some(h) = hooks.start_container() {
        let h = hooks::with_default_env(h, &env);
        hooks::run_all("startContainer", &h, &state).map_err(|e| e.to_string())?;
    }
    let e = exec::execve(&program, &args, &env);
    Err(format!("exec {}: {e}", program.display()))
}

/// The kernel forces one extra process here: a pid namespace made after joining a user
/// namespace is entered by the next child only. This process forks that child, tells
/// the runtime its PID, and leaves; the child goes on as the init, PID 1.
fn enter_new_pid_namespace(ch: &Channel) -> Result<(), String> {
    // SAFETY: single-threaded; the child goes on with this process's state.
    match unsafe { nix::unistd::fork() }
        .map_err(|e| format!("fork into the new pid namespace: {e}"))?
    {
        nix::unistd::ForkResult::Child => Ok(()),
        nix::unistd::ForkResult::Parent { child } => {
            let code = i32::from(
                ch.send(
                    &FromInit::Reparent {
                        pid: child.as_raw(),
                    },
                    &[],
                )
                .is_err(),
            );
            // SAFETY: leaving the intermediate process without running destructors.
            unsafe { libc::_exit(code) }
        }
    }
}

/// In a new user namespace the init starts with the host's (unmapped) ids; it takes
/// the namespace's root ids now that the maps are written.
fn become_namespace_root() -> Result<(), String> {
    nix::unistd::setresgid(0.into(), 0.into(), 0.into())
        .map_err(|e| format!("setresgid(0) in user namespace: {e}"))?;
    nix::unistd::setresuid(0.into(), 0.into(), 0.into())
        .map_err(|e| format!("setresuid(0) in user namespace: {e}"))
}

/// Blocks until `start` opens the fifo, by opening it for writing through our fd, and
/// writes the go-ahead byte; returns the write end, which must stay open until execve.
fn wait_for_start(proc: &ProcHandle, fifo: &OwnedFd) -> Result<OwnedFd, String> {
    let w = proc
        .reopen_fd(fifo.as_raw_fd(), libc::O_WRONLY)
        .map_err(|e| format!("open exec fifo: {e}"))?;
    nix::unistd::write(&w, b"0").map_err(|e| format!("write exec fifo: {e}"))?;
    Ok(w)
}

/// chdir into the process's cwd, creating it if missing, and check that the kernel
/// sees it inside our root (a leaked host fd as cwd would show as "(unreachable)").
fn ensure_cwd(cwd: &Path) -> Result<(), String> {
    // By path on purpose: the cwd is the container's, and we are in its root already.
    if nix::unistd::chdir(cwd).is_err() {
        let root = RootfsDir::open(Path::new("/")).map_err(|e| format!("open /: {e}"))?;
        root.mkdir_all(cwd, 0o755)
            .map_err(|e| format!("create cwd {}: {e}", cwd.display()))?;
        nix::unistd::chdir(cwd)
            .map_err(|e| format!("chdir to cwd ({:?}) set in config.json failed: {e}", cwd))?;
    }
    exec::check_cwd(cwd)
}

/// A session keyring of the container's own, so it cannot read the host's keys.
fn join_session_keyring(id: &str) -> Result<(), String> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let name =
        std::ffi::CString::new(format!("_ses.{id}")).map_err(|_| "bad keyring name".to_string())?;
    // SAFETY: keyctl with a valid C string.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        // Kernels without keys, or user namespaces that may not make one: as runc, go on.
        if !matches!(
            e.raw_os_error(),
            Some(libc::ENOSYS) | Some(libc::EACCES) | Some(libc::EPERM)
        ) {
            return Err(format!("join session keyring: {e}"));
        }
    }
    Ok(())
}

/// The process's environment plus what the runtime adds (LISTEN_FDS, HOME).
pub(super) fn container_env(spec_env: &[String], extra: &[String], uid: u32) -> Vec<String> {
    let mut env: Vec<String> = spec_env.to_vec();
    env.extend(extra.iter().cloned());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", home_of(uid)));
    }
    env
}

/// The home directory of `uid` in the container's /etc/passwd, or `/`.
fn home_of(uid: u32) -> String {
    // By path on purpose: the container's own /etc/passwd is container data.
    let passwd = read_image_file(Path::new("/etc/passwd")).unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
        })
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".into())
}

/// Reads a small regular file of the image; anything else (a FIFO that would block the
/// init, a device such as /dev/zero that never ends, a huge file) counts as absent.
fn read_image_file(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const MAX: u64 = 4 << 20;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let md = f.metadata().ok()?;
    if !md.is_file() || md.len() > MAX {
        return None;
    }
    let mut text = String::new();
    f.take(MAX).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_files_that_would_block_or_never_end_are_absent() {
        assert!(read_image_file(Path::new("/dev/zero")).is_none());
        assert!(read_image_file(Path::new("/nonexistent")).is_none());
        let dir = std::env::temp_dir().join(format!("quai-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("passwd");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert!(read_image_file(&fifo).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(read_image_file(Path::new("/etc/passwd")).is_some());
    }

    #[test]
    fn env_gets_home_once() {
        let e = container_env(&["A=1".into()], &["LISTEN_FDS=1".into()], 4_000_000_000);
        assert_eq!(e, vec!["A=1", "LISTEN_FDS=1", "HOME=/"]);
        let e = container_env(&["HOME=/x".into()], &[], 0);
        assert_eq!(e, vec!["HOME=/x"]);
    }
}
