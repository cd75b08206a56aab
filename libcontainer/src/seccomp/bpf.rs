//! Classic BPF for seccomp: the few instructions the compiler emits, code blocks whose
//! jumps are relative and forward only (so blocks concatenate without fix-ups), and an
//! interpreter that runs a program against a `seccomp_data` the way the kernel does,
//! so tests and checks can ask what a filter returns without loading it.

/// One instruction (`struct sock_filter`).
pub type Insn = libc::sock_filter;

/// The most instructions the kernel accepts in one filter (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets in `struct seccomp_data`.
pub mod data {
    /// The call number.
    pub const NR: u32 = 0;
    /// The audit arch.
    pub const ARCH: u32 = 4;
    /// The low 32 bits of argument `i`.
    pub fn arg_lo(i: u8) -> u32 {
        16 + 8 * u32::from(i)
    }
    /// The high 32 bits of argument `i`.
    pub fn arg_hi(i: u8) -> u32 {
        arg_lo(i) + 4
    }
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// Load the 32-bit word at `offset` of the seccomp data.
pub fn load(offset: u32) -> Insn {
    insn(LD_W_ABS, 0, 0, offset)
}

/// Return `value`.
pub fn ret(value: u32) -> Insn {
    insn(RET, 0, 0, value)
}

/// A &= k.
pub fn and(k: u32) -> Insn {
    insn(AND, 0, 0, k)
}

/// Skip `n` instructions.
pub fn ja(n: u32) -> Insn {
    insn(JA, 0, 0, n)
}

/// The comparisons a jump can make against a constant.
#[derive(Clone, Copy, Debug)]
pub enum Cmp {
    /// A == k
    Eq,
    /// A > k (unsigned)
    Gt,
    /// A >= k (unsigned)
    Ge,
}

/// If `A cmp k`, skip `jt` instructions, else `jf`.
pub fn jump(cmp: Cmp, k: u32, jt: u8, jf: u8) -> Insn {
    let code = match cmp {
        Cmp::Eq => JEQ,
        Cmp::Gt => JGT,
        Cmp::Ge => JGE,
    };
    insn(code, jt, jf, k)
}

/// `struct seccomp_data`, as the kernel fills it for one call.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeccompData {
    /// The call number.
    pub nr: u32,
    /// The audit arch.
    pub arch: u32,
    /// The instruction pointer.
    pub ip: u64,
    /// The six arguments.
    pub args: [u64; 6],
}

impl SeccompData {
    fn word(&self, offset: u32) -> Option<u32> {
        let mut bytes = [0u8; 64];
        bytes[0..4].copy_from_slice(&self.nr.to_ne_bytes());
        bytes[4..8].copy_from_slice(&self.arch.to_ne_bytes());
        bytes[8..16].copy_from_slice(&self.ip.to_ne_bytes());
        for (i, a) in self.args.iter().enumerate() {
            bytes[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let o = offset as usize;
        (o.is_multiple_of(4) && o + 4 <= 64)
            .then(|| u32::from_ne_bytes(bytes[o..o + 4].try_into().unwrap()))
    }
}

/// Runs `prog` on `d` as the kernel would: the value returned, or why the program is
/// broken (a jump out of it, a load outside the data, an instruction we never emit).
pub fn run(prog: &[Insn], d: &SeccompData) -> Result<u32, String> {
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let i = prog
            .get(pc)
            .ok_or_else(|| format!("fell off the program at {pc}"))?;
        pc += 1;
        let skip = |n: usize| pc + n;
        match i.code {
            LD_W_ABS => {
                a = d
                    .word(i.k)
                    .ok_or_else(|| format!("load of offset {}", i.k))?
            }
            AND => a &= i.k,
            RET => return Ok(i.k),
            JA => pc = skip(i.k as usize),
            JEQ | JGT | JGE => {
                let taken = match i.code {
                    JEQ => a == i.k,
                    JGT => a > i.k,
                    _ => a >= i.k,
                };
                pc = skip(usize::from(if taken { i.jt } else { i.jf }));
            }
            c => return Err(format!("instruction {c:#x} at {}", pc - 1)),
        }
    }
}
