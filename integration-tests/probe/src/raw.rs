//! Raw system calls for the seccomp tests: the native `syscall` instruction (an x32 call
//! is a native one with bit 30 set in the number) and the i386 ABI through `int 0x80`,
//! which the kernel reports to seccomp as AUDIT_ARCH_I386.

use crate::json::Json;

/// `syscall NR [ARG...]` or `syscall32 NR [ARG...]`: prints `{"ret":r,"errno":e}` where
/// `ret` is the raw return and `errno` its error (0 on success). Numbers are decimal,
/// negative decimal or 0x-hex; missing arguments are 0.
pub fn run(i386: bool, words: &[String]) -> Result<Json, String> {
    let mut nums = Vec::new();
    for w in words {
        nums.push(parse(w).ok_or_else(|| format!("not a number: {w}"))?);
    }
    let Some((&nr, args)) = nums.split_first() else {
        return Err("no syscall number".into());
    };
    if args.len() > 6 || (i386 && args.len() > 5) {
        return Err("too many arguments".into());
    }
    let mut a = [0u64; 6];
    a[..args.len()].copy_from_slice(args);
    let ret = if i386 {
        int80(nr, &a) as i32 as i64
    } else {
        native(nr, &a)
    };
    let errno = if (-4095..0).contains(&ret) { -ret } else { 0 };
    Ok(Json::obj(vec![
        ("ret", Json::Int(ret.into())),
        ("errno", Json::Int(errno.into())),
    ]))
}

fn parse(w: &str) -> Option<u64> {
    if let Some(hex) = w.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok();
    }
    w.parse::<u64>()
        .ok()
        .or_else(|| w.parse::<i64>().ok().map(|v| v as u64))
}

fn native(nr: u64, a: &[u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: a raw system call with plain integer arguments chosen by the test; the
    // kernel clobbers rcx and r11 only.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr as i64 => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

fn int80(nr: u64, a: &[u64; 6]) -> u32 {
    let ret: u32;
    // SAFETY: the i386 system call gate with integer arguments; rbx (which LLVM reserves)
    // is swapped in and out around it.
    unsafe {
        std::arch::asm!(
            "xchg {b}, rbx",
            "int 0x80",
            "xchg {b}, rbx",
            b = inout(reg) a[0] => _,
            inlateout("eax") nr as u32 => ret,
            in("ecx") a[1] as u32, in("edx") a[2] as u32,
            in("esi") a[3] as u32, in("edi") a[4] as u32,
        );
    }
    ret
}
