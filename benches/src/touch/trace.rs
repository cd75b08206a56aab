//! Which functions of one binary each process runs, exactly: a one-shot breakpoint
//! (`int3`) on the first byte of every function, set when a traced process executes
//! the binary; a hit records the function for the process's label, puts the byte back
//! and resumes. Every process the command starts is followed (fork, clone, threads), a
//! process that executes another program is let go. No sampling: a function run once
//! for a microsecond counts as much as a hot loop, which is what page residency needs.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::elf::Function;
use super::layout::Touch;

const INT3: u8 = 0xcc;

/// The quai subcommands a label may be.
const SUBCOMMANDS: &[&str] = &[
    "create",
    "start",
    "run",
    "state",
    "kill",
    "delete",
    "list",
    "ls",
    "exec",
    "ps",
    "pause",
    "resume",
    "update",
    "events",
    "spec",
    "features",
    "checkpoint",
    "restore",
];

/// Global options of quai that take a separate value.
const VALUED_GLOBALS: &[&str] = &["--root", "--log", "--log-format", "--criu", "--rootless"];

/// The subcommand in a quai command line (`quai --root R create ...` -> `create`), or
/// `quai` when there is none.
pub fn label_of(args: &[String]) -> String {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if VALUED_GLOBALS.contains(&a.as_str()) {
            it.next();
        } else if !a.starts_with('-') {
            return if SUBCOMMANDS.contains(&a.as_str()) {
                a.clone()
            } else {
                "quai".into()
            };
        }
    }
    "quai".into()
}

struct Proc {
    /// The label touches are recorded under; `None` while the process runs something
    /// that is not the traced binary (before its exec).
    label: Option<String>,
}

/// A trace in progress.
pub struct Tracer<'a> {
    binary: PathBuf,
    functions: &'a [Function],
    /// Function start -> its original first byte (read from the first armed process).
    original: HashMap<u64, u8>,
    procs: HashMap<i32, Proc>,
    /// Labels of clones whose event arrived before their first stop.
    pending: HashMap<i32, Option<String>>,
    seen: HashSet<(String, u64)>,
    touches: Vec<Touch>,
    names: HashMap<u64, &'a str>,
}

fn os_err(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

fn ptrace(req: libc::c_uint, pid: i32, addr: u64, data: u64) -> io::Result<libc::c_long> {
    // SAFETY: the requests used here take plain integers or point to owned buffers.
    let r = unsafe {
        libc::ptrace(
            req,
            pid,
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        )
    };
    if r == -1 {
        return Err(os_err("ptrace"));
    }
    Ok(r)
}

fn peek(pid: i32, addr: u64) -> io::Result<u64> {
    // PEEKDATA returns the word; -1 is a valid word, so errno tells failure apart.
    // SAFETY: errno location is thread-local and valid.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: PEEKDATA with an address in the tracee and no data pointer.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_PEEKDATA,
            pid,
            addr as *mut libc::c_void,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    if r == -1 && io::Error::last_os_error().raw_os_error() != Some(0) {
        return Err(os_err("PTRACE_PEEKDATA"));
    }
    Ok(r as u64)
}

fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn is_thread(pid: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|t| t.trim().parse::<i32>().ok())
        .is_some_and(|tgid| tgid != pid)
}

impl<'a> Tracer<'a> {
    /// A tracer for `binary`, whose functions are `functions`.
    pub fn new(binary: &Path, functions: &'a [Function]) -> io::Result<Self> {
        Ok(Tracer {
            binary: binary.canonicalize()?,
            functions,
            original: HashMap::new(),
            procs: HashMap::new(),
            pending: HashMap::new(),
            seen: HashSet::new(),
            touches: Vec::new(),
            names: functions
                .iter()
                .map(|f| (f.addr, f.name.as_str()))
                .collect(),
        })
    }

    /// Runs `program args` traced to the end (every traced process gone, or let go) and
    /// returns the touches in time order, and the program's exit status.
    pub fn run(mut self, program: &str, args: &[String]) -> io::Result<(Vec<Touch>, i32)> {
        let mut cmd = Command::new(program);
        cmd.args(args);
        // SAFETY: PTRACE_TRACEME only marks this (forked) process as traced.
        unsafe {
            cmd.pre_exec(|| {
                if libc::ptrace(libc::PTRACE_TRACEME, 0, 0usize, 0usize) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        let root = child.id() as i32;
        // The exec stop (a plain SIGTRAP) of the root.
        let mut status = 0;
        // SAFETY: waits for our own child.
        if unsafe { libc::waitpid(root, &mut status, libc::__WALL) } != root {
            return Err(os_err("waitpid"));
        }
        let opts = libc::PTRACE_O_TRACECLONE
            | libc::PTRACE_O_TRACEFORK
            | libc::PTRACE_O_TRACEVFORK
            | libc::PTRACE_O_TRACEEXEC;
        ptrace(libc::PTRACE_SETOPTIONS, root, 0, opts as u64)?;
        self.procs.insert(root, Proc { label: None });
        self.on_exec(root)?;
        Self::resume(root, 0)?;
        let mut root_status = 0;
        loop {
            // SAFETY: status is a valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
            if pid == -1 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::ECHILD) {
                    break;
                }
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                self.procs.remove(&pid);
                if pid == root {
                    root_status = if libc::WIFEXITED(status) {
                        libc::WEXITSTATUS(status)
                    } else {
                        128 + libc::WTERMSIG(status)
                    };
                }
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            let sig = libc::WSTOPSIG(status);
            let event = status >> 16;
            // A tracee may vanish (killed) between its stop and our request: ESRCH
            // on resume is not an error of the trace.
            let _ = self.on_stop(pid, sig, event);
        }
        Ok((self.touches, root_status))
    }

    fn resume(pid: i32, sig: i32) -> io::Result<()> {
        ptrace(libc::PTRACE_CONT, pid, 0, sig as u64).map(drop)
    }

    fn on_stop(&mut self, pid: i32, sig: i32, event: i32) -> io::Result<()> {
        if !self.procs.contains_key(&pid) {
            // The first stop of a new clone (SIGSTOP), maybe before its parent's event.
            let label = self.pending.remove(&pid).unwrap_or(None);
            self.procs.insert(pid, Proc { label });
            return Self::resume(pid, 0);
        }
        match event {
            0 => {}
            libc::PTRACE_EVENT_EXEC => {
                let was_binary = self.procs[&pid].label.is_some();
                if self.on_exec(pid)? || !was_binary {
                    return Self::resume(pid, 0);
                }
                // The binary started another program (a container's process): let it
                // go, and whatever it starts.
                self.procs.remove(&pid);
                return ptrace(libc::PTRACE_DETACH, pid, 0, 0).map(drop);
            }
            libc::PTRACE_EVENT_CLONE | libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK => {
                let mut new: libc::c_ulong = 0;
                ptrace(
                    libc::PTRACE_GETEVENTMSG,
                    pid,
                    0,
                    &mut new as *mut libc::c_ulong as u64,
                )?;
                let new = new as i32;
                let parent = self.procs[&pid].label.clone();
                let label = if is_thread(new) {
                    parent
                } else {
                    parent.map(|l| format!("{l}+child"))
                };
                match self.procs.get_mut(&new) {
                    Some(p) => p.label = label,
                    None => {
                        self.pending.insert(new, label);
                    }
                }
                return Self::resume(pid, 0);
            }
            _ => return Self::resume(pid, 0),
        }
        if sig == libc::SIGTRAP && self.hit(pid)? {
            return Self::resume(pid, 0);
        }
        let sig = if sig == libc::SIGSTOP { 0 } else { sig };
        Self::resume(pid, sig)
    }

    /// After `pid` executed a program: arms it if it is the traced binary (true).
    fn on_exec(&mut self, pid: i32) -> io::Result<bool> {
        // By inode, not by name: quai re-executes itself through a detached read-only
        // view of its binary, whose exe link names no path of ours.
        let same = |a: &std::fs::Metadata, b: &std::fs::Metadata| {
            use std::os::unix::fs::MetadataExt;
            a.dev() == b.dev() && a.ino() == b.ino()
        };
        let is_binary = match (
            std::fs::metadata(format!("/proc/{pid}/exe")),
            std::fs::metadata(&self.binary),
        ) {
            (Ok(a), Ok(b)) => same(&a, &b),
            _ => false,
        };
        if !is_binary {
            if let Some(p) = self.procs.get_mut(&pid) {
                p.label = None;
            }
            return Ok(false);
        }
        let label = label_of(&cmdline(pid));
        let mem = File::options()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))?;
        if self.original.is_empty() {
            for f in self.functions {
                let mut b = [0u8];
                mem.read_exact_at(&mut b, f.addr)?;
                self.original.insert(f.addr, b[0]);
            }
        }
        for f in self.functions {
            mem.write_all_at(&[INT3], f.addr)?;
        }
        if let Some(p) = self.procs.get_mut(&pid) {
            p.label = Some(label);
        }
        Ok(true)
    }

    /// A SIGTRAP: if it is one of our breakpoints, records it, restores the byte and
    /// backs the instruction pointer up onto it (true).
    fn hit(&mut self, pid: i32) -> io::Result<bool> {
        let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
        ptrace(
            libc::PTRACE_GETREGS,
            pid,
            0,
            &mut regs as *mut libc::user_regs_struct as u64,
        )?;
        let addr = regs.rip.wrapping_sub(1);
        let Some(&orig) = self.original.get(&addr) else {
            return Ok(false);
        };
        let word = peek(pid, addr)?;
        if word as u8 != INT3 {
            return Ok(false);
        }
        let restored = (word & !0xff) | orig as u64;
        ptrace(libc::PTRACE_POKEDATA, pid, addr, restored)?;
        regs.rip = addr;
        ptrace(
            libc::PTRACE_SETREGS,
            pid,
            0,
            &regs as *const libc::user_regs_struct as u64,
        )?;
        let label = self.procs[&pid].label.clone().unwrap_or_else(|| "?".into());
        if self.seen.insert((label.clone(), addr)) {
            self.touches.push(Touch {
                label,
                name: self.names[&addr].to_string(),
                seq: self.touches.len() as u64,
            });
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn labels_are_the_subcommand() {
        assert_eq!(label_of(&v(&["quai", "create", "-b", "x", "c"])), "create");
        assert_eq!(
            label_of(&v(&[
                "quai",
                "--root",
                "/r",
                "--log-format",
                "json",
                "exec",
                "c",
                "true"
            ])),
            "exec"
        );
        assert_eq!(
            label_of(&v(&["quai", "--root=/r", "--debug", "state", "c"])),
            "state"
        );
        assert_eq!(label_of(&v(&["quai", "--root", "/r"])), "quai");
        assert_eq!(label_of(&v(&["quai", "init"])), "quai");
    }
}
