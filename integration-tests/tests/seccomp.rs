//! Seccomp (`linux.seccomp`) in real containers: the probe makes one raw system call
//! (`probe syscall NR ARG...` natively, an x32 call being the native one with bit 30 set,
//! or `probe syscall32 NR ARG...` through the i386 gate) and reports `{"ret","errno"}`, or
//! is killed by SIGSYS (`run` exits 128+31). Several calls against one profile share a
//! container through busybox `sh`, which reports each probe's status.
//!
//! Covered:
//! - every action as a rule's action and as `defaultAction` (KILL, KILL_PROCESS,
//!   KILL_THREAD, TRAP, ERRNO with and without `errnoRet`, TRACE with no tracer, ALLOW,
//!   LOG), `defaultErrnoRet`, and `errnoRet` 0;
//! - every operator (NE, LT, LE, EQ, GE, GT, MASKED_EQ with `value` the mask and
//!   `valueTwo` the datum) on both sides of the boundary, with 64-bit values (the high word
//!   counts) and on i386 32-bit arguments (where only the value's low word counts);
//!   several conditions on one rule (AND); several conditions on one argument (runc makes
//!   each its own rule: OR); several rules for one system call, with libseccomp's
//!   precedence where they overlap; several names per rule;
//! - architectures: a call from an arch the profile does not list is killed (libseccomp's
//!   bad-arch action), a listed compat arch is filtered by its own numbers, and an i386
//!   socket or IPC rule also catches the call through socketcall(2) or ipc(2);
//! - `flags`: the known ones load and enforce (runc 1.1.5 refuses every flag), an unknown
//!   one is refused;
//! - unknown syscall names are skipped; an unknown action, arch, operator, an argument
//!   index past 5, an `errnoRet` past 16 bits, the same condition with two actions, or
//!   NOTIFY without `listenerPath` fail `create` with one clear error and leave nothing
//!   behind;
//! - the ENOSYS stub: a number above the highest the profile names gets ENOSYS, an unnamed
//!   one below it the default errno (runc stubs only the arches the profile lists);
//! - `exec`'d processes get the container's filter, a `--process` file too;
//! - `noNewPrivileges: false` with a non-root user and no capabilities still loads it;
//! - SCMP_ACT_NOTIFY: an agent ([`integration_tests::seccomp_agent`]) gets the listener fd
//!   and the container process state with `listenerMetadata` (for the init and for each
//!   `exec`), and its answers (a value, an error, continue) are what the probe sees; no
//!   agent listening fails `create`; an agent that closes the fd leaves the call failing
//!   with ENOSYS.
//!
//! The expectations are runc 1.1.5's (libseccomp 2.5.4) wherever quai must match it.

use integration_tests::assets::is_runc;
use integration_tests::check::one_clear_error;
use integration_tests::seccomp_agent::{Agent, Answer, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64};
use integration_tests::{json, Ctr, Value};

/// x86_64 `getppid`: no side effect and no argument, so the argument registers are free
/// for the conditions to look at. In a new pid namespace it returns 0 to the container's
/// init and 1 to a child of `sh`.
const GETPPID: &str = "syscall 110";
const GETPPID_NR: &str = "110";
/// i386 numbers (asm/unistd_32.h): `getpid`, `getppid`.
const I386_GETPID: &str = "20";
const I386_GETPPID: &str = "64";
/// x32 numbers: the x86_64 ones with `__X32_SYSCALL_BIT` (the kernel has x32 disabled and
/// answers ENOSYS to whatever the filter lets through).
const X32_GETPID: &str = "syscall 0x40000027";
const X32_GETPPID: &str = "syscall 0x4000006e";
const EPERM: i64 = 1;
const ENOSYS: i64 = 38;
const SIGSYS: i32 = 31;

/// Every x86_64 system call up to `set_mempolicy_home_node` (450, the newest libseccomp
/// 2.5.4 knows) except `getppid`: with it allowed, a denying default action still lets the
/// runtime finish and the probe start, and applies to `getppid` and unnamed numbers.
#[rustfmt::skip]
const ALL_BUT_GETPPID: &[&str] = &[
    "read", "write", "open", "close", "stat", "fstat", "lstat", "poll", "lseek", "mmap",
    "mprotect", "munmap", "brk", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "ioctl",
    "pread64", "pwrite64", "readv", "writev", "access", "pipe", "select", "sched_yield",
    "mremap", "msync", "mincore", "madvise", "shmget", "shmat", "shmctl", "dup", "dup2",
    "pause", "nanosleep", "getitimer", "alarm", "setitimer", "getpid", "sendfile", "socket",
    "connect", "accept", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "bind",
    "listen", "getsockname", "getpeername", "socketpair", "setsockopt", "getsockopt",
    "clone", "fork", "vfork", "execve", "exit", "wait4", "kill", "uname", "semget", "semop",
    "semctl", "shmdt", "msgget", "msgsnd", "msgrcv", "msgctl", "fcntl", "flock", "fsync",
    "fdatasync", "truncate", "ftruncate", "getdents", "getcwd", "chdir", "fchdir", "rename",
    "mkdir", "rmdir", "creat", "link", "unlink", "symlink", "readlink", "chmod", "fchmod",
    "chown", "fchown", "lchown", "umask", "gettimeofday", "getrlimit", "getrusage",
    "sysinfo", "times", "ptrace", "getuid", "syslog", "getgid", "setuid", "setgid",
    "geteuid", "getegid", "setpgid", "getpgrp", "setsid", "setreuid", "setregid",
    "getgroups", "setgroups", "setresuid", "getresuid", "setresgid", "getresgid", "getpgid",
    "setfsuid", "setfsgid", "getsid", "capget", "capset", "rt_sigpending",
    "rt_sigtimedwait", "rt_sigqueueinfo", "rt_sigsuspend", "sigaltstack", "utime", "mknod",
    "uselib", "personality", "ustat", "statfs", "fstatfs", "sysfs", "getpriority",
    "setpriority", "sched_setparam", "sched_getparam", "sched_setscheduler",
    "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "sched_rr_get_interval", "mlock", "munlock", "mlockall", "munlockall", "vhangup",
    "modify_ldt", "pivot_root", "_sysctl", "prctl", "arch_prctl", "adjtimex", "setrlimit",
    "chroot", "sync", "acct", "settimeofday", "mount", "umount2", "swapon", "swapoff",
    "reboot", "sethostname", "setdomainname", "iopl", "ioperm", "create_module",
    "init_module", "delete_module", "get_kernel_syms", "query_module", "quotactl",
    "nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security", "gettid",
    "readahead", "setxattr", "lsetxattr", "fsetxattr", "getxattr", "lgetxattr", "fgetxattr",
    "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    "tkill", "time", "futex", "sched_setaffinity", "sched_getaffinity", "set_thread_area",
    "io_setup", "io_destroy", "io_getevents", "io_submit", "io_cancel", "get_thread_area",
    "lookup_dcookie", "epoll_create", "epoll_ctl_old", "epoll_wait_old", "remap_file_pages",
    "getdents64", "set_tid_address", "restart_syscall", "semtimedop", "fadvise64",
    "timer_create", "timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
    "clock_settime", "clock_gettime", "clock_getres", "clock_nanosleep", "exit_group",
    "epoll_wait", "epoll_ctl", "tgkill", "utimes", "vserver", "mbind", "set_mempolicy",
    "get_mempolicy", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
    "mq_getsetattr", "kexec_load", "waitid", "add_key", "request_key", "keyctl",
    "ioprio_set", "ioprio_get", "inotify_init", "inotify_add_watch", "inotify_rm_watch",
    "migrate_pages", "openat", "mkdirat", "mknodat", "fchownat", "futimesat", "newfstatat",
    "unlinkat", "renameat", "linkat", "symlinkat", "readlinkat", "fchmodat", "faccessat",
    "pselect6", "ppoll", "unshare", "set_robust_list", "get_robust_list", "splice", "tee",
    "sync_file_range", "vmsplice", "move_pages", "utimensat", "epoll_pwait", "signalfd",
    "timerfd_create", "eventfd", "fallocate", "timerfd_settime", "timerfd_gettime",
    "accept4", "signalfd4", "eventfd2", "epoll_create1", "dup3", "pipe2", "inotify_init1",
    "preadv", "pwritev", "rt_tgsigqueueinfo", "perf_event_open", "recvmmsg",
    "fanotify_init", "fanotify_mark", "prlimit64", "name_to_handle_at", "open_by_handle_at",
    "clock_adjtime", "syncfs", "sendmmsg", "setns", "getcpu", "process_vm_readv",
    "process_vm_writev", "kcmp", "finit_module", "sched_setattr", "sched_getattr",
    "renameat2", "seccomp", "getrandom", "memfd_create", "kexec_file_load", "bpf",
    "execveat", "userfaultfd", "membarrier", "mlock2", "copy_file_range", "preadv2",
    "pwritev2", "pkey_mprotect", "pkey_alloc", "pkey_free", "statx", "io_pgetevents",
    "rseq", "pidfd_send_signal", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "pidfd_open",
    "clone3", "close_range", "openat2", "pidfd_getfd", "faccessat2", "process_madvise",
    "epoll_pwait2", "mount_setattr", "quotactl_fd", "landlock_create_ruleset",
    "landlock_add_rule", "landlock_restrict_self", "memfd_secret", "process_mrelease",
    "futex_waitv", "set_mempolicy_home_node",
];

/// What one call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    /// It returned this (no error).
    Ret(i64),
    /// It failed with this errno.
    Errno(i64),
    /// The probe was killed by this signal.
    Signal(i32),
}

/// What a call should come to.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// It ran: any return that is not an error.
    Allowed,
    /// It returned exactly this.
    Ret(i64),
    /// It failed with this errno.
    Errno(i64),
    /// SIGSYS killed the probe.
    Killed,
    /// Not killed and not this errno: the kernel's own answer, whatever it is.
    NotErrno(i64),
}

impl Want {
    fn matches(self, got: Got) -> bool {
        match (self, got) {
            (Want::Allowed, Got::Ret(_)) => true,
            (Want::Ret(a), Got::Ret(b)) | (Want::Errno(a), Got::Errno(b)) => a == b,
            (Want::Killed, Got::Signal(s)) => s == SIGSYS,
            (Want::NotErrno(e), Got::Errno(g)) => e != g,
            (Want::NotErrno(_), Got::Ret(_)) => true,
            _ => false,
        }
    }
}

use Want::{Allowed, Errno, Killed};

/// The profile for the error messages, with long name lists shortened.
fn describe(seccomp: &Value) -> String {
    let mut s = seccomp.clone();
    if let Some(rules) = s["syscalls"].as_array_mut() {
        for r in rules {
            let n = r["names"].as_array().map_or(0, Vec::len);
            if n > 8 {
                r["names"] = json!(format!("<{n} names>"));
            }
        }
    }
    s.to_string()
}

/// Parse one probe report line.
fn got_from(line: &str) -> Got {
    let v: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("probe output is not JSON ({e}): {line:?}"));
    let (ret, errno) = (v["ret"].as_i64(), v["errno"].as_i64());
    match (ret, errno) {
        (Some(r), Some(0)) => Got::Ret(r),
        (Some(_), Some(e)) => Got::Errno(e),
        _ => panic!("probe output lacks ret/errno: {line}"),
    }
}

/// Run `calls` (probe arguments such as `"syscall 110 5"`) in `c` with `seccomp` as
/// `linux.seccomp`. One call runs as the container's process; several run one after the
/// other under `sh`, which prints each probe's exit status after it.
fn run_calls(c: &mut Ctr, seccomp: &Value, calls: &[&str]) -> Vec<Got> {
    c.bundle.set("/linux/seccomp", seccomp.clone());
    if let [call] = calls {
        let words: Vec<&str> = call.split_whitespace().collect();
        c.bundle.probe(&words);
        let out = c.run(&[]);
        return vec![match out.code {
            0 => got_from(out.stdout.trim()),
            n if n > 128 && out.stdout.trim().is_empty() => Got::Signal(n - 128),
            _ => panic!("{call}: {out}\nprofile: {}", describe(seccomp)),
        }];
    }
    let script: String = calls
        .iter()
        .map(|call| format!("/bin/probe {call}; echo \"status $?\"\n"))
        .collect();
    c.bundle.args(&["/bin/sh", "-c", &script]);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{out}\nprofile: {}", describe(seccomp));
    let mut got = Vec::new();
    let mut pending = None;
    for line in out.stdout.lines() {
        if let Some(status) = line.strip_prefix("status ") {
            let status: i32 = status.trim().parse().expect("sh prints a number");
            match (status, pending.take()) {
                (0, Some(line)) => got.push(got_from(line)),
                (n, None) if n > 128 => got.push(Got::Signal(n - 128)),
                _ => panic!("call {} exited {status}: {out}", got.len()),
            }
        } else if line.starts_with('{') {
            pending = Some(line);
        }
    }
    assert_eq!(got.len(), calls.len(), "{out}");
    got
}

/// Run every call against `seccomp` in one container and assert each outcome.
#[track_caller]
fn check(seccomp: Value, cases: &[(&str, Want)]) {
    let mut c = Ctr::new();
    let calls: Vec<&str> = cases.iter().map(|(call, _)| *call).collect();
    let got = run_calls(&mut c, &seccomp, &calls);
    let wrong: Vec<String> = cases
        .iter()
        .zip(&got)
        .filter(|((_, want), got)| !want.matches(**got))
        .map(|((call, want), got)| format!("{call}: want {want:?}, got {got:?}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{}\nprofile: {}",
        wrong.join("\n"),
        describe(&seccomp)
    );
}

/// A profile with `default` and these rules.
fn profile(default: &str, rules: Value) -> Value {
    json!({ "defaultAction": default, "syscalls": rules })
}

/// A rule allowing everything but `getppid`, for denying defaults.
fn allow_all_but_getppid() -> Value {
    json!({ "names": ALL_BUT_GETPPID, "action": "SCMP_ACT_ALLOW" })
}

/// `getppid` fails with `errno` when every condition holds.
fn getppid_errno_if(errno: i64, args: Value) -> Value {
    json!({ "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno, "args": args })
}

/// One condition.
fn cond(index: u32, op: &str, value: u64) -> Value {
    json!({ "index": index, "value": value, "op": op })
}

fn call(nr: &str, args: &[u64]) -> String {
    let mut s = format!("syscall {nr}");
    for a in args {
        s.push_str(&format!(" {a:#x}"));
    }
    s
}

// ---------------------------------------------------------------------------------------
// Actions

#[test]
fn each_action_as_a_rule() {
    // (action, errnoRet, what getppid comes to) under a default that allows.
    let cases = [
        ("SCMP_ACT_KILL", None, Killed),
        ("SCMP_ACT_KILL_PROCESS", None, Killed),
        ("SCMP_ACT_KILL_THREAD", None, Killed),
        ("SCMP_ACT_TRAP", None, Killed),
        ("SCMP_ACT_ERRNO", None, Errno(EPERM)),
        ("SCMP_ACT_ERRNO", Some(7), Errno(7)),
        // No tracer is attached: the kernel fails the call with ENOSYS, whatever errnoRet
        // (the tracer's message data) says.
        ("SCMP_ACT_TRACE", Some(9), Errno(ENOSYS)),
        ("SCMP_ACT_TRACE", None, Errno(ENOSYS)),
        ("SCMP_ACT_LOG", None, Want::Ret(0)),
    ];
    for (action, errno, want) in cases {
        let mut rule = json!({ "names": ["getppid"], "action": action });
        if let Some(e) = errno {
            rule["errnoRet"] = json!(e);
        }
        // getpid is in no rule: the default lets it through.
        let p = profile("SCMP_ACT_ALLOW", json!([rule]));
        check(p.clone(), &[(GETPPID, want)]);
        check(p, &[("syscall 39", Want::Ret(1))]);
    }
}

#[test]
fn allow_and_log_rules_under_a_denying_default() {
    for action in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
        let p = profile(
            "SCMP_ACT_ERRNO",
            json!([allow_all_but_getppid(), { "names": ["getppid"], "action": action }]),
        );
        // The container's init: its parent is outside the pid namespace.
        check(p, &[(GETPPID, Want::Ret(0))]);
    }
}

#[test]
fn each_action_as_the_default() {
    // (defaultAction, defaultErrnoRet, what getppid, named in no rule, comes to).
    let cases = [
        ("SCMP_ACT_KILL", None, Killed),
        ("SCMP_ACT_KILL_PROCESS", None, Killed),
        ("SCMP_ACT_KILL_THREAD", None, Killed),
        ("SCMP_ACT_TRAP", None, Killed),
        ("SCMP_ACT_ERRNO", None, Errno(EPERM)),
        ("SCMP_ACT_ERRNO", Some(13), Errno(13)),
        ("SCMP_ACT_TRACE", None, Errno(ENOSYS)),
        ("SCMP_ACT_LOG", None, Want::Ret(0)),
        ("SCMP_ACT_ALLOW", None, Want::Ret(0)),
    ];
    for (action, errno, want) in cases {
        let mut p = profile(action, json!([allow_all_but_getppid()]));
        if let Some(e) = errno {
            p["defaultErrnoRet"] = json!(e);
        }
        check(p, &[(GETPPID, want)]);
    }
}

#[test]
fn default_errno_ret_is_not_a_rules_errno() {
    // A rule's ERRNO without errnoRet is EPERM, whatever defaultErrnoRet says; unnamed
    // calls get defaultErrnoRet.
    let p = json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 13,
        "syscalls": [
            allow_all_but_getppid(),
            { "names": ["getppid"], "action": "SCMP_ACT_ERRNO",
              "args": [cond(0, "SCMP_CMP_EQ", 1)] },
        ]
    });
    check(
        p,
        &[
            ("syscall 110 1", Errno(EPERM)),
            ("syscall 110 2", Errno(13)),
            ("syscall 39", Allowed),
        ],
    );
}

#[test]
fn errno_ret_zero_returns_zero_without_running_the_call() {
    // getpid would say 1 (the container's init).
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([{ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0 }]),
    );
    check(p, &[("syscall 39", Want::Ret(0))]);
}

// ---------------------------------------------------------------------------------------
// Operators and conditions

/// Arguments on both sides of the 32-bit boundary and of small values.
const ARGS: [u64; 14] = [
    4,
    5,
    6,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0004,
    0x1_0000_0005,
    0x1_0000_0006,
    0x2_0000_0005,
    0x1234,
    0x2234,
    0x1_0000_1200,
    0x1234_0000_0000_0005,
    u64::MAX,
];

#[test]
fn every_operator_on_64_bit_arguments() {
    type Pred = fn(u64) -> bool;
    // (operator, value, valueTwo, the truth the filter must compute)
    let cases: [(&str, u64, u64, Pred); 12] = [
        ("SCMP_CMP_EQ", 5, 0, |a| a == 5),
        ("SCMP_CMP_EQ", 0x1_0000_0005, 0, |a| a == 0x1_0000_0005),
        ("SCMP_CMP_NE", 5, 0, |a| a != 5),
        ("SCMP_CMP_NE", 0x1_0000_0005, 0, |a| a != 0x1_0000_0005),
        ("SCMP_CMP_LT", 5, 0, |a| a < 5),
        ("SCMP_CMP_LT", 0x1_0000_0000, 0, |a| a < 0x1_0000_0000),
        ("SCMP_CMP_LE", 0x1_0000_0005, 0, |a| a <= 0x1_0000_0005),
        ("SCMP_CMP_GE", 0x1_0000_0005, 0, |a| a >= 0x1_0000_0005),
        ("SCMP_CMP_GT", 5, 0, |a| a > 5),
        ("SCMP_CMP_GT", 0x1_0000_0005, 0, |a| a > 0x1_0000_0005),
        // value is the mask, valueTwo the datum (runtime-spec).
        ("SCMP_CMP_MASKED_EQ", 0xff00, 0x1200, |a| {
            a & 0xff00 == 0x1200
        }),
        (
            "SCMP_CMP_MASKED_EQ",
            0xffff_0000_0000_0000,
            0x1234_0000_0000_0000,
            |a| a & 0xffff_0000_0000_0000 == 0x1234_0000_0000_0000,
        ),
    ];
    for (op, value, value_two, truth) in cases {
        let mut c = cond(0, op, value);
        c["valueTwo"] = json!(value_two);
        let p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([c]))]));
        let calls: Vec<(String, Want)> = ARGS
            .iter()
            .map(|&a| {
                let want = if truth(a) { Errno(7) } else { Allowed };
                (call(GETPPID_NR, &[a]), want)
            })
            .collect();
        let cases: Vec<(&str, Want)> = calls.iter().map(|(c, w)| (c.as_str(), *w)).collect();
        check(p, &cases);
    }
}

#[test]
fn conditions_see_every_argument_register() {
    // Index 5 is r9 natively; the call's other arguments do not matter.
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([getppid_errno_if(
            7,
            json!([cond(5, "SCMP_CMP_EQ", 0x1_0000_0009)])
        )]),
    );
    check(
        p,
        &[
            ("syscall 110 0 0 0 0 0 0x100000009", Errno(7)),
            ("syscall 110 0x100000009 0 0 0 0 9", Allowed),
            ("syscall 110 0x100000009", Allowed),
        ],
    );
}

#[test]
fn operators_on_i386_arguments() {
    // An i386 call's arguments are 32 bits: a condition on the x86 arch compares them.
    let archs = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
    let mut p = profile(
        "SCMP_ACT_ALLOW",
        json!([
            getppid_errno_if(7, json!([cond(0, "SCMP_CMP_GT", 5)])),
            getppid_errno_if(8, json!([cond(4, "SCMP_CMP_EQ", 0xffff_fffe)])),
        ]),
    );
    p["architectures"] = archs;
    check(
        p,
        &[
            ("syscall32 64 5", Allowed),
            ("syscall32 64 6", Errno(7)),
            ("syscall32 64 0xffffffff", Errno(7)),
            ("syscall32 64 0 0 0 0 0xfffffffe", Errno(8)),
            ("syscall32 64 0 0 0 0 0xfffffffd", Allowed),
            // The native call is filtered by the same rules.
            ("syscall 110 6", Errno(7)),
            ("syscall 110 0 0 0 0 0xfffffffe", Errno(8)),
        ],
    );
}

#[test]
fn an_i386_condition_compares_the_low_32_bits_of_its_value() {
    // libseccomp truncates a condition's value to the low word on a 32-bit arch, so
    // 0x1_0000_0005 is 5 for an i386 call, while a native call compares all 64 bits.
    for (op, truth) in [
        ("SCMP_CMP_EQ", [true, false, false]),
        ("SCMP_CMP_NE", [false, true, true]),
        ("SCMP_CMP_GT", [false, false, true]),
        ("SCMP_CMP_LT", [false, true, false]),
        ("SCMP_CMP_MASKED_EQ", [true, false, false]),
    ] {
        let mut c = cond(0, op, 0x1_0000_0005);
        c["valueTwo"] = json!(5);
        let mut p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([c]))]));
        p["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
        let want = |t: bool| if t { Errno(7) } else { Allowed };
        let native_5 = match op {
            "SCMP_CMP_EQ" | "SCMP_CMP_GT" => Allowed,
            _ => Errno(7),
        };
        check(
            p,
            &[
                ("syscall32 64 5", want(truth[0])),
                ("syscall32 64 4", want(truth[1])),
                ("syscall32 64 6", want(truth[2])),
                ("syscall 110 5", native_5),
            ],
        );
    }
}

#[test]
fn several_conditions_on_one_rule_must_all_hold() {
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([getppid_errno_if(
            7,
            json!([
                cond(0, "SCMP_CMP_EQ", 1),
                cond(1, "SCMP_CMP_GE", 0x1_0000_0000),
                cond(2, "SCMP_CMP_NE", 3)
            ])
        )]),
    );
    check(
        p,
        &[
            ("syscall 110 1 0x100000000 4", Errno(7)),
            ("syscall 110 1 0x200000000 0", Errno(7)),
            ("syscall 110 2 0x100000000 4", Allowed),
            ("syscall 110 1 0xffffffff 4", Allowed),
            ("syscall 110 1 0x100000000 3", Allowed),
        ],
    );
}

#[test]
fn several_conditions_on_one_argument_each_make_a_rule() {
    // runc 1.1.5: when one rule has two conditions on the same argument, every one of its
    // conditions becomes a rule of its own, so they are ORed (on other arguments too).
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([getppid_errno_if(
            7,
            json!([
                cond(0, "SCMP_CMP_EQ", 1),
                cond(0, "SCMP_CMP_EQ", 2),
                cond(1, "SCMP_CMP_EQ", 9)
            ])
        )]),
    );
    check(
        p,
        &[
            ("syscall 110 1 0", Errno(7)),
            ("syscall 110 2 0", Errno(7)),
            ("syscall 110 3 9", Errno(7)),
            ("syscall 110 3 0", Allowed),
        ],
    );
    // A range written as two conditions is no range: GE 5 or LE 10 holds for everything.
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([getppid_errno_if(
            7,
            json!([cond(0, "SCMP_CMP_GE", 5), cond(0, "SCMP_CMP_LE", 10)])
        )]),
    );
    check(
        p,
        &[
            ("syscall 110 2", Errno(7)),
            ("syscall 110 7", Errno(7)),
            ("syscall 110 20", Errno(7)),
        ],
    );
}

#[test]
fn several_rules_for_one_syscall() {
    // Disjoint conditions: each rule's own action.
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([
            getppid_errno_if(5, json!([cond(0, "SCMP_CMP_EQ", 1)])),
            getppid_errno_if(6, json!([cond(0, "SCMP_CMP_EQ", 2)])),
            { "names": ["getppid"], "action": "SCMP_ACT_KILL",
              "args": [cond(0, "SCMP_CMP_EQ", 3)] },
        ]),
    );
    check(
        p,
        &[
            ("syscall 110 1", Errno(5)),
            ("syscall 110 2", Errno(6)),
            ("syscall 110 3", Killed),
            ("syscall 110 4", Allowed),
        ],
    );
}

// Where two rules for one system call both match, what runc (libseccomp 2.5.4) does:
// whatever their order in the profile, except between two unconditional rules.

#[test]
fn overlapping_rules_an_unconditional_rule_decides_alone() {
    for rules in [
        json!([
            { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5 },
            getppid_errno_if(6, json!([cond(0, "SCMP_CMP_EQ", 1)])),
        ]),
        json!([
            getppid_errno_if(6, json!([cond(0, "SCMP_CMP_EQ", 1)])),
            { "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5 },
        ]),
    ] {
        check(
            profile("SCMP_ACT_ALLOW", rules),
            &[("syscall 110 1", Errno(5)), ("syscall 110 0", Errno(5))],
        );
    }
    // Two unconditional rules: the first in the profile decides, KILL or not.
    let errno = |e: i64| json!({ "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": e });
    let kill = json!({ "names": ["getppid"], "action": "SCMP_ACT_KILL" });
    for (rules, want) in [
        (json!([errno(6), errno(5)]), Errno(6)),
        (json!([kill.clone(), errno(5)]), Killed),
        (json!([errno(5), kill]), Errno(5)),
    ] {
        check(profile("SCMP_ACT_ALLOW", rules), &[(GETPPID, want)]);
    }
}

#[test]
fn the_same_condition_with_two_actions_is_refused() {
    // libseccomp refuses the second rule (EEXIST: runc says "file exists"); the same
    // condition with the same action twice is fine.
    let mut c = Ctr::new();
    let when = json!([cond(0, "SCMP_CMP_EQ", 1)]);
    c.bundle.set(
        "/linux/seccomp",
        profile(
            "SCMP_ACT_ALLOW",
            json!([
                getppid_errno_if(5, when.clone()),
                getppid_errno_if(6, when.clone())
            ]),
        ),
    );
    let out = c.create(&[]);
    one_clear_error(&c, out, &["getppid"]);
    check(
        profile(
            "SCMP_ACT_ALLOW",
            json!([getppid_errno_if(5, when.clone()), getppid_errno_if(5, when)]),
        ),
        &[("syscall 110 1", Errno(5)), ("syscall 110 2", Allowed)],
    );
}

#[test]
fn overlapping_rules_on_different_arguments_the_higher_argument_decides() {
    // libseccomp checks the rule on the higher argument first: it decides, even against
    // a KILL on the lower one.
    let kill_if_a0 = json!({ "names": ["getppid"], "action": "SCMP_ACT_KILL",
                             "args": [cond(0, "SCMP_CMP_EQ", 1)] });
    let errno_if_a1 = getppid_errno_if(6, json!([cond(1, "SCMP_CMP_EQ", 2)]));
    for rules in [
        json!([kill_if_a0.clone(), errno_if_a1.clone()]),
        json!([errno_if_a1, kill_if_a0]),
    ] {
        check(
            profile("SCMP_ACT_ALLOW", rules),
            &[
                ("syscall 110 1 2", Errno(6)),
                ("syscall 110 1 0", Killed),
                ("syscall 110 0 2", Errno(6)),
                ("syscall 110 0 0", Allowed),
            ],
        );
    }
}

#[test]
fn overlapping_rules_on_one_argument_equality_then_ranges() {
    // Two ranges on one argument: where both hold (5..=10), the LE rule decides.
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([
            getppid_errno_if(5, json!([cond(0, "SCMP_CMP_GE", 5)])),
            getppid_errno_if(6, json!([cond(0, "SCMP_CMP_LE", 10)])),
        ]),
    );
    check(
        p,
        &[
            ("syscall 110 2", Errno(6)),
            ("syscall 110 7", Errno(6)),
            ("syscall 110 20", Errno(5)),
        ],
    );
    // An equality and a range on one argument: the equality decides where both hold.
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([
            getppid_errno_if(6, json!([cond(0, "SCMP_CMP_LE", 10)])),
            getppid_errno_if(5, json!([cond(0, "SCMP_CMP_EQ", 5)])),
        ]),
    );
    check(
        p,
        &[
            ("syscall 110 2", Errno(6)),
            ("syscall 110 5", Errno(5)),
            ("syscall 110 20", Allowed),
        ],
    );
}

#[test]
fn a_rule_with_several_names() {
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([{ "names": ["getppid", "getpgrp", "getsid"],
                 "action": "SCMP_ACT_ERRNO", "errnoRet": 7 }]),
    );
    check(
        p,
        &[
            (GETPPID, Errno(7)),
            ("syscall 111", Errno(7)),
            ("syscall 124 0", Errno(7)),
            // getpgid, in no rule.
            ("syscall 121 0", Allowed),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Architectures

#[test]
fn a_call_from_an_arch_the_profile_does_not_list_is_killed() {
    // libseccomp's bad-arch action (KILL) whatever the default action and the rules: an
    // i386 or x32 call under a profile of x86_64 alone (or of no arch: the native one).
    for archs in [Some(json!(["SCMP_ARCH_X86_64"])), None] {
        for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"] {
            let mut rules = vec![getppid_errno_if(7, json!([]))];
            if default != "SCMP_ACT_ALLOW" {
                rules.push(allow_all_but_getppid());
            }
            let mut p = profile(default, json!(rules));
            if let Some(a) = &archs {
                p["architectures"] = a.clone();
            }
            check(
                p,
                &[
                    (GETPPID, Errno(7)),
                    ("syscall32 20", Killed),
                    ("syscall32 64", Killed),
                    (X32_GETPID, Killed),
                    (X32_GETPPID, Killed),
                ],
            );
        }
    }
}

#[test]
fn listed_compat_arches_are_filtered_by_their_own_numbers() {
    let p = |archs: Value| {
        let mut p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([]))]));
        p["architectures"] = archs;
        p
    };
    check(
        p(json!([
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X32"
        ])),
        &[
            (GETPPID, Errno(7)),
            // i386 getppid is 64; i386 20 is getpid, allowed.
            (&format!("syscall32 {I386_GETPPID}"), Errno(7)),
            (&format!("syscall32 {I386_GETPID}"), Allowed),
            // i386 110 is iopl, x86_64 110 is getppid: the rule must not follow the number
            // (the kernel answers iopl(0), with ENOSYS where it lacks iopl).
            ("syscall32 110 0", Want::NotErrno(7)),
            (X32_GETPPID, Errno(7)),
            // Let through to a kernel without x32.
            (X32_GETPID, Errno(ENOSYS)),
        ],
    );
    // x86 listed but not x32, and the other way round.
    check(
        p(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])),
        &[
            ("syscall32 64", Errno(7)),
            ("syscall32 20", Allowed),
            (X32_GETPID, Killed),
        ],
    );
    check(
        p(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"])),
        &[
            (X32_GETPPID, Errno(7)),
            (X32_GETPID, Errno(ENOSYS)),
            ("syscall32 20", Killed),
        ],
    );
    // An arch of another machine in the list changes nothing here.
    check(
        p(json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"])),
        &[(GETPPID, Errno(7)), ("syscall 39", Allowed)],
    );
}

#[test]
fn i386_socketcall_and_ipc_follow_the_calls_they_multiplex() {
    // libseccomp: a rule for an i386 socket or IPC call also catches that call made through
    // socketcall(2) or ipc(2), whose arguments it cannot see (so a condition does not
    // narrow it there); a rule for socketcall itself leaves the direct call alone.
    let x86 = |rules: Value| {
        let mut p = profile("SCMP_ACT_ALLOW", rules);
        p["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
        p
    };
    let socket = |args: Value| json!([{ "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7, "args": args }]);
    // i386 socket is 359, socketcall 102 (SYS_SOCKET 1, SYS_BIND 2), ipc 117 (MSGGET 13,
    // MSGCTL 14), msgget 399; x86_64 socket is 41, msgget 68.
    check(
        x86(socket(json!([]))),
        &[
            ("syscall32 359 1 1 0", Errno(7)),
            ("syscall32 102 1 0", Errno(7)),
            ("syscall32 102 2 0", Want::NotErrno(7)),
            ("syscall 41 1 1 0", Errno(7)),
        ],
    );
    check(
        x86(socket(json!([cond(0, "SCMP_CMP_EQ", 1)]))),
        &[
            ("syscall32 359 1 1 0", Errno(7)),
            ("syscall32 359 2 1 0", Allowed),
            ("syscall32 102 1 0", Errno(7)),
            ("syscall 41 1 1 0", Errno(7)),
            ("syscall 41 2 1 0", Allowed),
        ],
    );
    check(
        x86(json!([{ "names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7 }])),
        &[
            ("syscall32 359 1 1 0", Allowed),
            ("syscall32 102 1 0", Errno(7)),
            ("syscall32 102 2 0", Errno(7)),
        ],
    );
    check(
        x86(json!([{ "names": ["msgget"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7 }])),
        &[
            ("syscall32 399 0 0", Errno(7)),
            ("syscall32 117 13 0", Errno(7)),
            ("syscall32 117 14 0", Want::NotErrno(7)),
            ("syscall 68 0 0", Errno(7)),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Flags

#[test]
fn filter_flags_load_and_enforce() {
    for flag in [
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    ] {
        let mut p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([]))]));
        p["flags"] = json!([flag]);
        if is_runc() {
            // runc 1.1.5 refuses every flag ("seccomp flags are not yet supported by runc").
            let mut c = Ctr::new();
            c.bundle.set("/linux/seccomp", p);
            let out = c.create(&[]);
            eprintln!("{flag} not checked on runc: runc 1.1.5 refuses seccomp flags");
            one_clear_error(&c, out, &["flag"]);
            continue;
        }
        check(p, &[(GETPPID, Errno(7)), ("syscall 39", Allowed)]);
    }
    // No flag at all is fine for runc too.
    let mut p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([]))]));
    p["flags"] = json!([]);
    check(p, &[(GETPPID, Errno(7))]);
}

#[test]
fn an_unknown_flag_is_refused() {
    let mut c = Ctr::new();
    let mut p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([]))]));
    p["flags"] = json!(["SECCOMP_FILTER_FLAG_NO_SUCH"]);
    c.bundle.set("/linux/seccomp", p);
    let out = c.create(&[]);
    // runc refuses every flag without naming it; quai names the one it does not know.
    let phrase = if is_runc() {
        "flag"
    } else {
        "SECCOMP_FILTER_FLAG_NO_SUCH"
    };
    one_clear_error(&c, out, &[phrase]);
}

// ---------------------------------------------------------------------------------------
// Bad profiles

#[test]
fn unknown_syscall_names_are_skipped() {
    let p = profile(
        "SCMP_ACT_ALLOW",
        json!([
            { "names": ["no_such_syscall", "getppid", "quai_made_this_up"],
              "action": "SCMP_ACT_ERRNO", "errnoRet": 7 },
            { "names": ["another_unknown_one"], "action": "SCMP_ACT_KILL" },
        ]),
    );
    check(p, &[(GETPPID, Errno(7))]);
}

#[test]
fn an_unknown_action_arch_or_operator_is_refused() {
    let rule = |action: &str, args: Value| json!([{ "names": ["getppid"], "action": action, "args": args }]);
    let cases = [
        (
            profile("SCMP_ACT_ALLOW", rule("SCMP_ACT_NO_SUCH", json!([]))),
            "SCMP_ACT_NO_SUCH",
        ),
        (
            profile("SCMP_ACT_NO_SUCH", rule("SCMP_ACT_ALLOW", json!([]))),
            "SCMP_ACT_NO_SUCH",
        ),
        (
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NO_SUCH"],
                    "syscalls": rule("SCMP_ACT_ERRNO", json!([])) }),
            "SCMP_ARCH_NO_SUCH",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                rule("SCMP_ACT_ERRNO", json!([cond(0, "SCMP_CMP_NO_SUCH", 1)])),
            ),
            "SCMP_CMP_NO_SUCH",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                rule("SCMP_ACT_ERRNO", json!([cond(6, "SCMP_CMP_EQ", 1)])),
            ),
            "argument",
        ),
        // SECCOMP_RET_DATA has 16 bits.
        (
            profile(
                "SCMP_ACT_ALLOW",
                json!([{ "names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 70000 }]),
            ),
            "errnoRet",
        ),
    ];
    for (p, phrase) in cases {
        let mut c = Ctr::new();
        c.bundle.set("/linux/seccomp", p);
        let out = c.create(&[]);
        // runc names the system call, not the field, for a bad errnoRet.
        let phrases: &[&str] = if is_runc() && phrase == "errnoRet" {
            &["getppid"]
        } else {
            &[phrase]
        };
        one_clear_error(&c, out, phrases);
    }
}

#[test]
fn notify_without_a_listener_path_is_refused() {
    let mut c = Ctr::new();
    c.bundle.set(
        "/linux/seccomp",
        profile(
            "SCMP_ACT_ALLOW",
            json!([{ "names": ["getppid"], "action": "SCMP_ACT_NOTIFY" }]),
        ),
    );
    let out = c.create(&[]);
    one_clear_error(&c, out, &["listenerPath"]);
}

// ---------------------------------------------------------------------------------------
// The ENOSYS stub

#[test]
fn enosys_for_numbers_above_the_highest_named_syscall() {
    // The profile names every x86_64 call up to 450 but getppid; the default is EPERM.
    let mut p = profile("SCMP_ACT_ERRNO", json!([allow_all_but_getppid()]));
    p["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    check(
        p,
        &[
            // Named or not, at or below the highest named number: the profile decides.
            (GETPPID, Errno(EPERM)),
            ("syscall 400", Errno(EPERM)),
            ("syscall 450", Allowed),
            // Above it: ENOSYS, so that programs fall back.
            ("syscall 451", Errno(ENOSYS)),
            ("syscall 1000", Errno(ENOSYS)),
            ("syscall 0x3fff", Errno(ENOSYS)),
            // Each arch has its own highest number: x32's are up to 547.
            (X32_GETPPID, Errno(EPERM)),
            ("syscall 0x400001c3", Errno(EPERM)),
            ("syscall 0x40000400", Errno(ENOSYS)),
            // i386: 64 is getppid, 451 and up were never named.
            ("syscall32 64", Errno(EPERM)),
            ("syscall32 451", Errno(ENOSYS)),
            ("syscall32 1000", Errno(ENOSYS)),
        ],
    );
}

#[test]
fn the_native_arch_gets_the_enosys_stub_without_listed_arches() {
    // With no `architectures`, the native arch is still filtered, and runc 1.1.15 and
    // later (and quai) give it the stub too; runc 1.1.5 built the stub only for the
    // arches the profile lists, so there a number above the highest gets the default.
    let p = profile("SCMP_ACT_ERRNO", json!([allow_all_but_getppid()]));
    let above = if is_runc() {
        eprintln!("runc 1.1.5 has no stub without listed arches: checking its EPERM");
        Errno(EPERM)
    } else {
        Errno(ENOSYS)
    };
    check(p, &[("syscall 400", Errno(EPERM)), ("syscall 1000", above)]);
}

#[test]
fn no_enosys_stub_when_the_default_errno_is_enosys_or_the_default_lets_calls_through() {
    let mut p = profile("SCMP_ACT_ERRNO", json!([allow_all_but_getppid()]));
    p["architectures"] = json!(["SCMP_ARCH_X86_64"]);
    p["defaultErrnoRet"] = json!(ENOSYS);
    check(
        p,
        &[
            (GETPPID, Errno(ENOSYS)),
            ("syscall 400", Errno(ENOSYS)),
            ("syscall 1000", Errno(ENOSYS)),
        ],
    );
    // A default that lets calls through (ALLOW, LOG) has no stub: getpgrp (111), above the
    // only name (getppid, 110), runs.
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"] {
        let mut p = profile(default, json!([getppid_errno_if(7, json!([]))]));
        p["architectures"] = json!(["SCMP_ARCH_X86_64"]);
        check(
            p,
            &[
                (GETPPID, Errno(7)),
                ("syscall 39", Allowed),
                ("syscall 111", Allowed),
            ],
        );
    }
}

#[test]
fn the_enosys_stub_comes_before_a_killing_default() {
    let mut p = profile("SCMP_ACT_KILL_PROCESS", json!([allow_all_but_getppid()]));
    p["architectures"] = json!(["SCMP_ARCH_X86_64"]);
    check(p.clone(), &[(GETPPID, Killed)]);
    check(p.clone(), &[("syscall 400", Killed)]);
    check(p, &[("syscall 1000", Errno(ENOSYS))]);
}

// ---------------------------------------------------------------------------------------
// exec and privileges

#[test]
fn exec_processes_get_the_containers_filter() {
    let mut c = Ctr::new();
    c.bundle.set(
        "/linux/seccomp",
        profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([]))])),
    );
    c.bundle.probe(&["sleep", "forever"]);
    c.run(&["-d"]).ok();
    c.wait_status("running");
    let got = c
        .cmd(&["exec", &c.id, "/bin/probe", "syscall", GETPPID_NR])
        .ok();
    assert_eq!(got_from(got.stdout.trim()), Got::Errno(7), "{got}");
    let got = c.cmd(&["exec", &c.id, "/bin/probe", "syscall", "39"]).ok();
    assert!(Allowed.matches(got_from(got.stdout.trim())), "{got}");
    // A process file has no seccomp of its own: the container's filter applies, also
    // without no_new_privs and as another user.
    let p = c.work().join("process.json");
    let process = json!({
        "user": { "uid": 1000, "gid": 1000 },
        "args": ["/bin/probe", "syscall", GETPPID_NR],
        "cwd": "/",
        "noNewPrivileges": false
    });
    std::fs::write(&p, process.to_string()).unwrap();
    let got = c
        .cmd(&["exec", "--process", p.to_str().unwrap(), &c.id])
        .ok();
    assert_eq!(got_from(got.stdout.trim()), Got::Errno(7), "{got}");
}

#[test]
fn without_no_new_privs_a_user_without_capabilities_is_still_filtered() {
    if is_runc() {
        // Its init panics (nil pointer in StartInitialization) whenever a container has a
        // seccomp profile and noNewPrivileges false, as root too; `exec` of such a process
        // works, and exec_processes_get_the_containers_filter checks that.
        eprintln!("not checked on runc: runc 1.1.5 panics on seccomp without no_new_privs");
        return;
    }
    let mut c = Ctr::new();
    c.bundle
        .set("/process/noNewPrivileges", json!(false))
        .set("/process/user", json!({ "uid": 1000, "gid": 1000 }))
        .set(
            "/process/capabilities",
            json!({ "bounding": [], "effective": [], "permitted": [], "ambient": [] }),
        );
    let p = profile("SCMP_ACT_ALLOW", json!([getppid_errno_if(7, json!([]))]));
    c.bundle.set("/linux/seccomp", p);
    c.bundle.args(&[
        "/bin/sh",
        "-c",
        "/bin/probe syscall 110; grep -E '^(NoNewPrivs|Seccomp|CapEff|Uid):' /proc/self/status",
    ]);
    let out = c.run(&[]).ok();
    let first = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(got_from(first), Got::Errno(7), "{out}");
    for want in [
        "NoNewPrivs:\t0",
        "Seccomp:\t2",
        "CapEff:\t0000000000000000",
        "Uid:\t1000",
    ] {
        assert!(out.stdout.contains(want), "{want:?}: {out}");
    }
}

// ---------------------------------------------------------------------------------------
// SCMP_ACT_NOTIFY

/// The second argument of the getppid calls notified (the shell's own are not).
const NOTIFY_MARK: u64 = 0x5ecc;

/// A profile notifying getppid (with [`NOTIFY_MARK`]) to the agent at `path`.
fn notify_profile(path: &std::path::Path) -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "listenerMetadata": "quai-test metadata",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_NOTIFY",
                       "args": [cond(1, "SCMP_CMP_EQ", NOTIFY_MARK)] }]
    })
}

#[test]
fn notify_the_agent_answers_with_a_value_an_error_or_continue() {
    let mut c = Ctr::new();
    let agent = Agent::listen(&c.work().join("agent.sock"));
    let p = notify_profile(agent.path());
    // By the first argument: 1 returns 4242, 2 fails with EACCES, 3 runs.
    let thread = agent.spawn_serving(|n| match n.args[0] {
        1 => Answer::Return(4242),
        2 => Answer::Error(libc::EACCES),
        _ => Answer::Continue,
    });
    let mark = format!("{NOTIFY_MARK:#x}");
    let calls = [
        format!("syscall 110 1 {mark}"),
        format!("syscall 110 2 {mark}"),
        format!("syscall 110 3 {mark}"),
        format!("syscall32 64 1 {mark}"),
        // Without the mark: not notified.
        "syscall 110 1 0".to_string(),
    ];
    let calls: Vec<&str> = calls.iter().map(String::as_str).collect();
    let got = run_calls(&mut c, &p, &calls);
    let (state, nfds, seen) = thread
        .join()
        .expect("agent thread")
        .expect("the agent's run");
    assert_eq!(
        got,
        [
            Got::Ret(4242),
            Got::Errno(libc::EACCES as i64),
            // Continued: the real getppid, the shell's pid.
            Got::Ret(1),
            Got::Ret(4242),
            Got::Ret(1),
        ],
        "agent saw {seen:?}"
    );
    // The container process state, as the runtime-spec says.
    assert_eq!(nfds, 1, "one fd: {state}");
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["metadata"], "quai-test metadata", "{state}");
    assert!(state["ociVersion"].is_string(), "{state}");
    assert!(state["pid"].as_i64().is_some_and(|p| p > 0), "{state}");
    assert_eq!(state["state"]["id"], c.id.as_str(), "{state}");
    assert_eq!(state["state"]["pid"], state["pid"], "{state}");
    assert_eq!(
        state["state"]["bundle"],
        c.bundle.dir().to_str().unwrap(),
        "{state}"
    );
    assert_eq!(state["state"]["status"], "creating", "{state}");
    // The agent saw exactly the probe's marked calls, with their arch and arguments, from
    // the container's processes (host pids other than the init's, which is sh).
    let summary: Vec<(i32, u32, u64, u64)> = seen
        .iter()
        .map(|n| (n.nr, n.arch, n.args[0], n.args[1]))
        .collect();
    assert_eq!(
        summary,
        [
            (110, AUDIT_ARCH_X86_64, 1, NOTIFY_MARK),
            (110, AUDIT_ARCH_X86_64, 2, NOTIFY_MARK),
            (110, AUDIT_ARCH_X86_64, 3, NOTIFY_MARK),
            (64, AUDIT_ARCH_I386, 1, NOTIFY_MARK),
        ],
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .all(|n| n.pid as i64 != state["pid"].as_i64().unwrap()),
        "{seen:?}"
    );
}

#[test]
fn notify_for_an_exec_d_process_goes_to_the_agent_too() {
    let mut c = Ctr::new();
    let agent = Agent::listen(&c.work().join("agent.sock"));
    c.bundle.set("/linux/seccomp", notify_profile(agent.path()));
    c.bundle.probe(&["sleep", "forever"]);
    let answer = |n: &integration_tests::seccomp_agent::Notification| match n.args[0] {
        1 => Answer::Return(4242),
        _ => Answer::Continue,
    };
    // One connection for the init (taken before the exec can make its own), then one for
    // the exec'd process, each with its own listener fd.
    c.run(&["-d"]).ok();
    c.wait_status("running");
    let init = agent
        .accept(std::time::Duration::from_secs(20))
        .expect("the init's connection");
    let init_state = init.state.clone();
    let for_init = std::thread::spawn(move || init.serve(answer));
    let for_exec = agent.spawn_serving(answer);
    let out = c
        .cmd(&[
            "exec",
            &c.id,
            "/bin/probe",
            "syscall",
            GETPPID_NR,
            "1",
            &format!("{NOTIFY_MARK:#x}"),
        ])
        .ok();
    assert_eq!(got_from(out.stdout.trim()), Got::Ret(4242), "{out}");
    let (state, nfds, seen) = for_exec.join().unwrap().expect("the exec's agent");
    assert_eq!(nfds, 1, "{state}");
    assert_eq!(state["metadata"], "quai-test metadata", "{state}");
    assert_eq!(state["state"]["id"], c.id.as_str(), "{state}");
    assert_eq!(state["state"]["status"], "running", "{state}");
    let summary: Vec<(i32, u64)> = seen.iter().map(|n| (n.nr, n.args[0])).collect();
    assert_eq!(summary, [(110, 1)], "{seen:?}");
    c.kill(&["KILL"]).ok();
    let seen = for_init.join().unwrap().expect("the init's agent");
    assert_eq!(init_state["state"]["status"], "creating", "{init_state}");
    assert!(seen.is_empty(), "{seen:?}");
}

#[test]
fn notify_with_wait_killable_recv() {
    if is_runc() {
        eprintln!("not checked on runc: runc 1.1.5 refuses seccomp flags");
        return;
    }
    let mut c = Ctr::new();
    let agent = Agent::listen(&c.work().join("agent.sock"));
    let mut p = notify_profile(agent.path());
    p["flags"] = json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
    let thread = agent.spawn_serving(|_| Answer::Return(77));
    let got = run_calls(&mut c, &p, &[&format!("syscall 110 1 {NOTIFY_MARK:#x}")]);
    thread.join().unwrap().expect("the agent's run");
    assert_eq!(got, [Got::Ret(77)]);
}

#[test]
fn notify_with_no_agent_listening_fails_create() {
    let mut c = Ctr::new();
    let p = notify_profile(&c.work().join("nobody-listens.sock"));
    c.bundle.set("/linux/seccomp", p);
    let out = c.create(&[]);
    one_clear_error(&c, out, &["agent", "listener", "connect"]);
}

#[test]
fn notify_with_the_agent_gone_gives_enosys() {
    let mut c = Ctr::new();
    let agent = Agent::listen(&c.work().join("agent.sock"));
    let p = notify_profile(agent.path());
    // The agent takes the fd and closes it at once.
    let thread = std::thread::spawn(move || {
        let h = agent
            .accept(std::time::Duration::from_secs(20))
            .expect("the runtime connects");
        h.state
    });
    let got = run_calls(&mut c, &p, &[&format!("syscall 110 1 {NOTIFY_MARK:#x}")]);
    let state = thread.join().expect("agent thread");
    assert_eq!(state["metadata"], "quai-test metadata", "{state}");
    assert_eq!(got, [Got::Errno(ENOSYS)]);
}
