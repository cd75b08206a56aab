//! The process fields of runtime-spec 1.3 as the process sees them: scheduling policy,
//! nice and real-time priority, I/O priority, CPU affinity, personality, `uname -m`,
//! memory policy, and the monotonic clock (time namespace offsets).

use crate::json::Json;
use std::ffi::CStr;

/// `"fields": {...}` of the report.
pub fn report() -> Json {
    // SAFETY: these calls take integers only; errors come back as -1.
    let (policy, nice, ioprio, persona) = unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
        (
            libc::sched_getscheduler(0),
            nice,
            libc::syscall(libc::SYS_ioprio_get, 1, 0),
            libc::personality(0xffff_ffff),
        )
    };
    // SAFETY: sched_param is plain data that sched_getparam fills.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: param is valid for writing.
    let rt_priority = match unsafe { libc::sched_getparam(0, &mut param) } {
        0 => Json::Int(param.sched_priority.into()),
        _ => Json::Null,
    };
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let cpus = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| Json::s(v.trim()))
        .unwrap_or(Json::Null);
    Json::obj(vec![
        ("sched_policy", Json::Int(policy.into())),
        ("nice", Json::Int(nice.into())),
        ("rt_priority", rt_priority),
        ("ioprio_class", Json::Int((ioprio >> 13).into())),
        ("ioprio_level", Json::Int((ioprio & 0x1fff).into())),
        ("cpus_allowed_list", cpus),
        ("personality", Json::Int(persona.into())),
        ("machine", Json::s(machine())),
        ("mempolicy", mempolicy()),
        ("monotonic_secs", Json::Int(monotonic_secs().into())),
    ])
}

fn machine() -> String {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is a valid utsname; uname NUL-terminates every field.
    unsafe {
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        CStr::from_ptr(u.machine.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}

/// `{"mode": n, "flags": bits, "nodes": first mask word}` from get_mempolicy(2).
fn mempolicy() -> Json {
    let mut mode: libc::c_int = -1;
    let mut mask = [0u64; 16];
    // SAFETY: mode and mask are valid for writing; maxnode is mask's size in bits.
    let r = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode as *mut libc::c_int,
            mask.as_mut_ptr(),
            mask.len() * 64,
            0usize,
            0usize,
        )
    };
    if r != 0 {
        return Json::Null;
    }
    Json::obj(vec![
        ("mode", Json::Int((mode & 0xff).into())),
        ("flags", Json::Int((mode & !0xff).into())),
        ("nodes", Json::Int(mask[0].into())),
    ])
}

fn monotonic_secs() -> i64 {
    // SAFETY: ts is plain data that clock_gettime fills.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: ts is valid for writing.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec
}
