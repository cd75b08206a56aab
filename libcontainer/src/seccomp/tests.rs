//! The compiler checked without loading anything: profiles compiled and run through the
//! BPF interpreter for (arch, call, arguments) -> the action libseccomp's filter gives.

use super::arch::{Abi, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use super::*;
use serde_json::json;

fn filter(profile: serde_json::Value) -> Filter {
    let p: LinuxSeccomp = serde_json::from_value(profile).expect("a profile");
    Filter::compile(&p).expect("compiles")
}

fn refusal(profile: serde_json::Value) -> String {
    let p: LinuxSeccomp = serde_json::from_value(profile).expect("a profile");
    Filter::compile(&p).expect_err("refused").to_string()
}

fn on(f: &Filter, arch: u32, nr: u32, args: [u64; 6]) -> Action {
    let d = SeccompData {
        nr,
        arch,
        ip: 0,
        args,
    };
    let ret = f.evaluate(&d).expect("the program runs");
    Action::from_ret(ret).expect("a known action")
}

fn x86_64(f: &Filter, name: &str, args: [u64; 6]) -> Action {
    on(
        f,
        AUDIT_ARCH_X86_64,
        tables::number(Abi::X86_64, name).unwrap(),
        args,
    )
}

const NONE: [u64; 6] = [0; 6];
const EPERM: Action = Action::Errno(libc::EPERM as u16);
const ENOSYS: Action = Action::Errno(libc::ENOSYS as u16);

fn one_rule(action: &str, args: serde_json::Value) -> Filter {
    filter(json!({
        "defaultAction": action_default(action),
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["getppid"], "action": action, "args": args}]
    }))
}

fn action_default(action: &str) -> &'static str {
    if action == "SCMP_ACT_ALLOW" {
        "SCMP_ACT_ERRNO"
    } else {
        "SCMP_ACT_ALLOW"
    }
}

#[test]
fn tables_know_the_three_abis() {
    assert!(tables::known(Abi::X86_64) > 350 && tables::known(Abi::I386) > 420);
    assert_eq!(tables::number(Abi::X86_64, "getpid"), Some(39));
    assert_eq!(tables::number(Abi::I386, "getpid"), Some(20));
    assert_eq!(
        tables::number(Abi::X32, "getpid"),
        Some(X32_SYSCALL_BIT | 39)
    );
    assert_eq!(tables::number(Abi::X86_64, "socketcall"), None);
    assert_eq!(tables::number(Abi::X86_64, "fchmodat2"), Some(452));
}

#[test]
fn every_action_as_rule_and_default() {
    let cases = [
        ("SCMP_ACT_KILL", Action::KillThread),
        ("SCMP_ACT_KILL_THREAD", Action::KillThread),
        ("SCMP_ACT_KILL_PROCESS", Action::KillProcess),
        ("SCMP_ACT_TRAP", Action::Trap),
        ("SCMP_ACT_ERRNO", EPERM),
        ("SCMP_ACT_NOTIFY", Action::Notify),
        ("SCMP_ACT_TRACE", Action::Trace(libc::EPERM as u16)),
        ("SCMP_ACT_LOG", Action::Log),
        ("SCMP_ACT_ALLOW", Action::Allow),
    ];
    for (name, want) in cases {
        let mut p = json!({"defaultAction": action_default(name),
                           "syscalls": [{"names": ["getppid"], "action": name}]});
        if name == "SCMP_ACT_NOTIFY" {
            p["listenerPath"] = json!("/run/agent.sock");
        }
        let f = filter(p);
        assert_eq!(x86_64(&f, "getppid", NONE), want, "{name} as a rule");
        if name != "SCMP_ACT_NOTIFY" {
            let f = filter(json!({"defaultAction": name}));
            assert_eq!(x86_64(&f, "getppid", NONE), want, "{name} as the default");
        }
    }
}

#[test]
fn errno_values() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22},
            {"names": ["getuid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "errnoRet": 9}
        ]
    }));
    assert_eq!(x86_64(&f, "getppid", NONE), Action::Errno(22));
    assert_eq!(x86_64(&f, "getuid", NONE), Action::Trace(7));
    assert_eq!(x86_64(&f, "getpid", NONE), Action::Allow);
    assert_eq!(x86_64(&f, "getgid", NONE), Action::Errno(13));
}

#[test]
fn every_operator_on_both_sides_of_its_boundary() {
    let hi5 = 0x1_0000_0005u64;
    // (op, value, valueTwo, arg, matches)
    let cases: &[(&str, u64, u64, u64, bool)] = &[
        ("SCMP_CMP_EQ", 5, 0, 5, true),
        ("SCMP_CMP_EQ", 5, 0, hi5, false),
        ("SCMP_CMP_EQ", hi5, 0, hi5, true),
        ("SCMP_CMP_EQ", hi5, 0, 5, false),
        ("SCMP_CMP_NE", 5, 0, 5, false),
        ("SCMP_CMP_NE", 5, 0, hi5, true),
        ("SCMP_CMP_NE", 5, 0, 6, true),
        ("SCMP_CMP_LT", 5, 0, 4, true),
        ("SCMP_CMP_LT", 5, 0, 5, false),
        ("SCMP_CMP_LT", 5, 0, hi5, false),
        ("SCMP_CMP_LT", hi5, 0, 0xffff_ffff, true),
        ("SCMP_CMP_LE", 5, 0, 5, true),
        ("SCMP_CMP_LE", 5, 0, 6, false),
        ("SCMP_CMP_LE", hi5, 0, hi5, true),
        ("SCMP_CMP_LE", hi5, 0, hi5 + 1, false),
        ("SCMP_CMP_GE", 5, 0, 5, true),
        ("SCMP_CMP_GE", 5, 0, 4, false),
        ("SCMP_CMP_GE", hi5, 0, 6, false),
        ("SCMP_CMP_GE", 6, 0, hi5, true),
        ("SCMP_CMP_GT", 5, 0, 6, true),
        ("SCMP_CMP_GT", 5, 0, 5, false),
        ("SCMP_CMP_GT", hi5, 0, hi5 + 1, true),
        ("SCMP_CMP_GT", 0xffff_ffff, 0, hi5, true),
        ("SCMP_CMP_MASKED_EQ", 0xf0, 0x30, 0x3f, true),
        ("SCMP_CMP_MASKED_EQ", 0xf0, 0x30, 0x4f, false),
        (
            "SCMP_CMP_MASKED_EQ",
            0xff_0000_0000,
            0x12_0000_0000,
            0x12_0000_00ff,
            true,
        ),
        (
            "SCMP_CMP_MASKED_EQ",
            0xff_0000_0000,
            0x12_0000_0000,
            0x13_0000_0000,
            false,
        ),
        // libseccomp masks the value too.
        ("SCMP_CMP_MASKED_EQ", 0x0f, 0x35, 0x05, true),
    ];
    for &(op, value, two, arg, hit) in cases {
        let f = one_rule(
            "SCMP_ACT_ERRNO",
            json!([{"index": 2, "value": value, "valueTwo": two, "op": op}]),
        );
        let got = x86_64(&f, "getppid", [0, 0, arg, 0, 0, 0]);
        assert_eq!(
            got == EPERM,
            hit,
            "{op} {value:#x} ({two:#x}) against {arg:#x}: {got:?}"
        );
    }
}

#[test]
fn i386_and_x32_compare_the_low_word_only() {
    let f = one_rule(
        "SCMP_ACT_ERRNO",
        json!([{"index": 0, "value": 0x1_0000_0005u64, "op": "SCMP_CMP_EQ"}]),
    );
    assert_eq!(on(&f, AUDIT_ARCH_I386, 64, [5, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        on(
            &f,
            AUDIT_ARCH_X86_64,
            X32_SYSCALL_BIT | 110,
            [5, 0, 0, 0, 0, 0]
        ),
        EPERM
    );
    assert_eq!(x86_64(&f, "getppid", [5, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(x86_64(&f, "getppid", [0x1_0000_0005, 0, 0, 0, 0, 0]), EPERM);
}

#[test]
fn conditions_of_a_rule_all_hold_and_repeated_arguments_make_rules_of_their_own() {
    let f = one_rule(
        "SCMP_ACT_ERRNO",
        json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]),
    );
    assert_eq!(x86_64(&f, "getppid", [1, 2, 0, 0, 0, 0]), EPERM);
    assert_eq!(x86_64(&f, "getppid", [1, 3, 0, 0, 0, 0]), Action::Allow);
    // runc: with an argument named twice, every condition is a rule of its own.
    let f = one_rule(
        "SCMP_ACT_ERRNO",
        json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
               {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]),
    );
    for (args, hit) in [
        ([1, 0], true),
        ([2, 0], true),
        ([3, 9], true),
        ([3, 8], false),
    ] {
        let got = x86_64(&f, "getppid", [args[0], args[1], 0, 0, 0, 0]);
        assert_eq!(got == EPERM, hit, "{args:?}");
    }
}

#[test]
fn overlapping_rules_follow_libseccomp() {
    // An unconditional rule decides alone, before or after a conditional one.
    for order in [0, 1] {
        let mut calls = vec![
            json!({"names": ["getppid"], "action": "SCMP_ACT_ALLOW"}),
            json!({"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                   "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}),
        ];
        if order == 1 {
            calls.reverse();
        }
        let f = filter(json!({"defaultAction": "SCMP_ACT_KILL", "syscalls": calls}));
        assert_eq!(x86_64(&f, "getppid", [1, 0, 0, 0, 0, 0]), Action::Allow);
    }
    // Conditional rules that both match: libseccomp's tree order answers (the higher
    // argument first, then equality before ranges), not the profile's order.
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}]},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
         "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS", "args": [{"index": 0, "value": 9, "op": "SCMP_CMP_EQ"}]}
    ]}));
    assert_eq!(x86_64(&f, "getppid", [2, 1, 0, 0, 0, 0]), Action::Errno(5));
    assert_eq!(x86_64(&f, "getppid", [9, 1, 0, 0, 0, 0]), Action::Errno(5));
    assert_eq!(
        x86_64(&f, "getppid", [9, 0, 0, 0, 0, 0]),
        Action::KillProcess
    );
    assert_eq!(x86_64(&f, "getppid", [2, 0, 0, 0, 0, 0]), Action::Log);
    assert_eq!(x86_64(&f, "getppid", [0, 0, 0, 0, 0, 0]), Action::Allow);
    // The same conditions with two actions are refused, as libseccomp refuses them.
    let e = refusal(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getppid"], "action": "SCMP_ACT_LOG", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
    ]}));
    assert!(
        e.contains("getppid") && e.contains("same conditions"),
        "{e}"
    );
    // A rule with the default's action is dropped (runc), so it cannot shadow others.
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}
    ]}));
    assert_eq!(x86_64(&f, "getppid", [1, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(x86_64(&f, "getppid", NONE), EPERM);
}

#[test]
fn arches_unlisted_are_killed_and_x32_needs_listing() {
    let only64 = filter(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ALLOW"}]}),
    );
    assert_eq!(x86_64(&only64, "getppid", NONE), Action::Allow);
    assert_eq!(on(&only64, AUDIT_ARCH_I386, 64, NONE), Action::KillThread);
    assert_eq!(
        on(&only64, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 110, NONE),
        Action::KillThread
    );
    assert_eq!(
        on(&only64, 0xc000_00b7, 173, NONE),
        Action::KillThread,
        "aarch64"
    );
    assert_eq!(
        on(&only64, AUDIT_ARCH_X86_64, u32::MAX, NONE),
        EPERM,
        "-1 reaches the rules"
    );
    let all = filter(json!({"defaultAction": "SCMP_ACT_ERRNO",
                            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
                            "syscalls": [{"names": ["getppid", "getpid"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(on(&all, AUDIT_ARCH_I386, 64, NONE), Action::Allow);
    assert_eq!(on(&all, AUDIT_ARCH_I386, 20, NONE), Action::Allow);
    assert_eq!(on(&all, AUDIT_ARCH_I386, 24, NONE), EPERM, "i386 getuid");
    assert_eq!(
        on(&all, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 110, NONE),
        Action::Allow
    );
    assert_eq!(
        on(&all, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 102, NONE),
        EPERM,
        "x32 getuid"
    );
}

#[test]
fn numbers_above_the_profiles_highest_get_enosys() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO",
                          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                          "syscalls": [{"names": ["getppid", "getpid"], "action": "SCMP_ACT_ALLOW"},
                                       {"names": ["not_a_call_anywhere"], "action": "SCMP_ACT_ALLOW"}]}));
    // x86_64: highest named is getppid (110).
    assert_eq!(on(&f, AUDIT_ARCH_X86_64, 100, NONE), EPERM);
    assert_eq!(on(&f, AUDIT_ARCH_X86_64, 111, NONE), ENOSYS);
    assert_eq!(on(&f, AUDIT_ARCH_X86_64, 0x3fff_ffff, NONE), ENOSYS);
    assert_eq!(
        on(&f, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 111, NONE),
        ENOSYS
    );
    assert_eq!(
        on(&f, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 100, NONE),
        EPERM
    );
    assert_eq!(on(&f, AUDIT_ARCH_I386, 65, NONE), ENOSYS);
    assert_eq!(on(&f, AUDIT_ARCH_I386, 63, NONE), EPERM);
    // Not with a permissive default.
    let f = filter(json!({"defaultAction": "SCMP_ACT_LOG",
                          "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}]}));
    assert_eq!(on(&f, AUDIT_ARCH_X86_64, 400, NONE), Action::Log);
}

#[test]
fn i386_socket_calls_are_also_matched_through_socketcall() {
    let f = filter(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
                          "syscalls": [{"names": ["socket", "semop"], "action": "SCMP_ACT_ERRNO"}]}),
    );
    assert_eq!(on(&f, AUDIT_ARCH_I386, 359, NONE), EPERM, "socket");
    assert_eq!(
        on(&f, AUDIT_ARCH_I386, 102, [1, 0, 0, 0, 0, 0]),
        EPERM,
        "socketcall(SYS_SOCKET)"
    );
    assert_eq!(
        on(&f, AUDIT_ARCH_I386, 102, [3, 0, 0, 0, 0, 0]),
        Action::Allow,
        "socketcall(SYS_CONNECT)"
    );
    assert_eq!(
        on(&f, AUDIT_ARCH_I386, 117, [1, 0, 0, 0, 0, 0]),
        EPERM,
        "ipc(SEMOP)"
    );
    assert_eq!(x86_64(&f, "socket", NONE), EPERM);
}

#[test]
fn flags_and_the_listener() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
                          "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}));
    assert_eq!(f.flags(), 1 | 2 | 4);
    assert!(f.listener().is_none());
    let f = filter(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a.sock", "listenerMetadata": "m",
                          "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                          "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    assert_eq!(f.flags(), 1 | 8 | 16 | 32);
    let l = f.listener().unwrap();
    assert_eq!(
        (l.path.to_str(), l.metadata.as_str()),
        (Some("/a.sock"), "m")
    );
}

#[test]
fn refusals_are_clear() {
    let cases = [
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/a"}),
            "cannot be the default action",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]}),
            "needs linux.seccomp.listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a",
                "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
            "sendmsg",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/a",
                "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}),
            "cannot be used for the write syscall",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [""], "action": "SCMP_ACT_ERRNO"}]}),
            "not a syscall name",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "index 6 is out of range",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
            "out of range",
        ),
    ];
    for (p, want) in cases {
        let e = refusal(p.clone());
        assert!(e.contains(want) && e.starts_with("seccomp: "), "{p}: {e}");
    }
}

#[test]
fn unknown_names_are_skipped() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO",
                          "syscalls": [{"names": ["no_such_call", "getppid"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(x86_64(&f, "getppid", NONE), Action::Allow);
}

#[test]
fn a_big_profile_stays_small_and_every_number_is_answered() {
    // Every x86_64 call allowed but every fifth, which is conditional: far jumps needed.
    let names: Vec<&str> = super::tables::all(Abi::X86_64)
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let (plain, cond): (Vec<_>, Vec<_>) = names.iter().enumerate().partition(|(i, _)| i % 5 != 0);
    let plain: Vec<&str> = plain.into_iter().map(|(_, n)| *n).collect();
    let cond: Vec<&str> = cond.into_iter().map(|(_, n)| *n).collect();
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": plain, "action": "SCMP_ACT_ALLOW"},
                     {"names": cond, "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 7, "op": "SCMP_CMP_NE"}, {"index": 3, "value": 1, "op": "SCMP_CMP_GT"}]}]}));
    assert!(
        f.instructions().len() < bpf::MAX_INSNS,
        "{} instructions",
        f.instructions().len()
    );
    for n in &plain {
        assert_eq!(x86_64(&f, n, NONE), Action::Allow, "{n}");
    }
    for n in &cond {
        assert_eq!(x86_64(&f, n, [1, 0, 0, 2, 0, 0]), Action::Allow, "{n}");
        assert_eq!(x86_64(&f, n, [7, 0, 0, 2, 0, 0]), EPERM, "{n}");
    }
}
