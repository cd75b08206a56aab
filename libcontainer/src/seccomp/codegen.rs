//! The plan compiled to BPF. Shape of the program:
//!
//! ```text
//! load arch; for each audit arch the filter accepts: if equal, jump to its section
//! return <bad-arch action>
//! section: load nr; a binary search over the number ranges of that arch (runs of numbers
//!          with the same answer merged into one range), each leaf either a return or
//!          the rules of one call, tried in order of precedence, then the default
//! ```
//!
//! x86_64 and x32 share one audit arch: numbers below bit 30 are x86_64's, the rest
//! x32's (or the bad-arch action when the profile does not list x32). Every block's
//! jumps are forward and relative, so blocks are built bottom-up and concatenated; a
//! search node whose left half is longer than a jump reaches goes through a `ja`.
//! Where rules of one call overlap: an unconditional rule decides alone (libseccomp
//! drops conditional rules beside it); conditional ones are tried in the order of
//! libseccomp's decision tree (higher argument first, equality before ranges), the
//! first that matches answering.

use super::action::Action;
use super::arch::{Abi, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use super::bpf::{self, data, Cmp, Insn};
use super::profile::{AbiPlan, Cond, Op, Plan, Rule};
use super::SeccompError;

/// What the search answers for a range of numbers.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Ret(u32),
    /// The rules of one call, and whether its arguments are 64-bit (x86_64) or compared
    /// on their low 32 bits (i386 and x32, as libseccomp does).
    Rules(Vec<Rule>, bool),
}

/// The program for `plan`.
pub fn compile(plan: &Plan) -> Result<Vec<Insn>, SeccompError> {
    let mut sections: Vec<(u32, Vec<Insn>)> = Vec::new();
    // x86_64 is always in the plan; x32 shares its audit arch.
    let mut native = Vec::new();
    ranges(
        plan,
        plan.abi(Abi::X86_64),
        0,
        u64::from(X32_SYSCALL_BIT),
        &mut native,
    );
    ranges(
        plan,
        plan.abi(Abi::X32),
        u64::from(X32_SYSCALL_BIT),
        1 << 32,
        &mut native,
    );
    sections.push((AUDIT_ARCH_X86_64, section(&native, plan)?));
    if let Some(p) = plan.abi(Abi::I386) {
        let mut compat = Vec::new();
        ranges(plan, Some(p), 0, 1 << 32, &mut compat);
        sections.push((AUDIT_ARCH_I386, section(&compat, plan)?));
    }
    let n = sections.len();
    let mut prog = vec![bpf::load(data::ARCH)];
    let mut before = 0u32;
    for (i, (arch, code)) in sections.iter().enumerate() {
        let rest = 2 * (n - 1 - i) as u32 + 1;
        prog.push(bpf::jump(Cmp::Eq, *arch, 0, 1));
        prog.push(bpf::ja(rest + before));
        before += code.len() as u32;
    }
    prog.push(bpf::ret(plan.bad_arch.ret()));
    for (_, code) in sections {
        prog.extend(code);
    }
    if prog.len() > bpf::MAX_INSNS {
        return Err(SeccompError::Invalid(format!(
            "the profile compiles to {} BPF instructions, more than the kernel's {}",
            prog.len(),
            bpf::MAX_INSNS
        )));
    }
    Ok(prog)
}

/// Appends the ranges of [lo, hi) to `out` (each as its first number and its outcome),
/// merging neighbours that return the same.
fn ranges(plan: &Plan, abi: Option<&AbiPlan>, lo: u64, hi: u64, out: &mut Vec<(u32, Outcome)>) {
    let mut push = |start: u64, o: Outcome| {
        if let (Some((_, Outcome::Ret(prev))), Outcome::Ret(now)) = (out.last(), &o) {
            if prev == now {
                return;
            }
        }
        out.push((start as u32, o));
    };
    let Some(abi) = abi else {
        push(lo, Outcome::Ret(plan.bad_arch.ret()));
        if hi == 1 << 32 {
            // Without x32, libseccomp still lets number -1 (a skipped call) reach the
            // rules, which name no such call: the default.
            push(hi - 1, Outcome::Ret(plan.default.ret()));
        }
        return;
    };
    let default = Outcome::Ret(plan.default.ret());
    let mut next = lo;
    let first = abi.calls.partition_point(|(n, _)| u64::from(*n) < lo);
    let mut rest = &abi.calls[first..];
    while let Some(&(nr, _)) = rest.first() {
        if u64::from(nr) >= hi {
            break;
        }
        let n = rest.partition_point(|(x, _)| *x == nr);
        if u64::from(nr) > next {
            push(next, default.clone());
        }
        push(u64::from(nr), outcome(&rest[..n], abi.abi.wide_args()));
        next = u64::from(nr) + 1;
        rest = &rest[n..];
    }
    let above = match abi.highest {
        Some(h) if plan.enosys_above_highest && u64::from(h) + 1 < hi => {
            if u64::from(h) + 1 > next {
                push(next, default.clone());
            }
            next = next.max(u64::from(h) + 1);
            Outcome::Ret(Action::Errno(libc::ENOSYS as u16).ret())
        }
        _ => default,
    };
    if next < hi {
        push(next, above);
    }
}

/// The outcome of one call's rules. As libseccomp: the first unconditional rule decides
/// alone, whatever else names the call; otherwise the conditional rules are tried in
/// libseccomp's order, then the default.
fn outcome(rules: &[(u32, Rule)], wide: bool) -> Outcome {
    if let Some((_, r)) = rules.iter().find(|(_, r)| r.conds.is_empty()) {
        return Outcome::Ret(r.action.ret());
    }
    let mut sorted: Vec<(Vec<CondKey>, &Rule)> = rules.iter().map(|(_, r)| (keys(r), r)).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    Outcome::Rules(sorted.into_iter().map(|(_, r)| r.clone()).collect(), wide)
}

/// Where a condition sorts in libseccomp's decision tree, smaller first: the higher
/// argument, then equality tests before LT/LE before GT/GE, then the larger value (the
/// smaller for LT/LE).
type CondKey = (std::cmp::Reverse<u8>, std::cmp::Reverse<u8>, i128);

fn keys(r: &Rule) -> Vec<CondKey> {
    let mut conds = r.conds.clone();
    conds.sort_by_key(|c| c.index);
    conds
        .iter()
        .map(|c| {
            let (class, v) = match c.op {
                Op::Eq | Op::Ne => (3, c.value),
                Op::MaskedEq => (3, c.datum),
                Op::Lt | Op::Le => (2, c.value),
                Op::Gt | Op::Ge => (1, c.value),
            };
            let order = if class == 2 {
                i128::from(v)
            } else {
                -i128::from(v)
            };
            (std::cmp::Reverse(c.index), std::cmp::Reverse(class), order)
        })
        .collect()
}

/// One audit arch's section: the number loaded, then the search.
fn section(ranges: &[(u32, Outcome)], plan: &Plan) -> Result<Vec<Insn>, SeccompError> {
    let mut code = vec![bpf::load(data::NR)];
    code.extend(search(ranges, plan)?);
    Ok(code)
}

fn search(ranges: &[(u32, Outcome)], plan: &Plan) -> Result<Vec<Insn>, SeccompError> {
    if let [(_, o)] = ranges {
        return match o {
            Outcome::Ret(v) => Ok(vec![bpf::ret(*v)]),
            Outcome::Rules(rules, wide) => rules_code(rules, plan.default, *wide),
        };
    }
    let mid = ranges.len() / 2;
    let left = search(&ranges[..mid], plan)?;
    let right = search(&ranges[mid..], plan)?;
    let split = ranges[mid].0;
    let mut code = Vec::with_capacity(left.len() + right.len() + 2);
    match u8::try_from(left.len()) {
        Ok(n) => code.push(bpf::jump(Cmp::Ge, split, n, 0)),
        Err(_) => {
            code.push(bpf::jump(Cmp::Ge, split, 0, 1));
            code.push(bpf::ja(left.len() as u32));
        }
    }
    code.extend(left);
    code.extend(right);
    Ok(code)
}

/// Each rule's conditions (a failed one jumps to the next rule) and its return; after
/// the last conditional rule, the default.
fn rules_code(rules: &[Rule], default: Action, wide: bool) -> Result<Vec<Insn>, SeccompError> {
    let mut code = Vec::new();
    for r in rules {
        let blocks: Vec<Vec<Step>> = r.conds.iter().map(|c| cond_steps(c, wide)).collect();
        let lens: Vec<usize> = blocks.iter().map(Vec::len).collect();
        for (k, steps) in blocks.iter().enumerate() {
            // From the end of this block to the next rule: the later blocks and the return.
            let to_fail = lens[k + 1..].iter().sum::<usize>() + 1;
            for (p, s) in steps.iter().enumerate() {
                code.push(s.resolve(steps.len() - p - 1, to_fail)?);
            }
        }
        code.push(bpf::ret(r.action.ret()));
    }
    if rules.last().is_some_and(|r| !r.conds.is_empty()) {
        code.push(bpf::ret(default.ret()));
    }
    Ok(code)
}

/// Where a conditional jump goes.
#[derive(Clone, Copy)]
enum To {
    Next,
    Pass,
    Fail,
}

enum Step {
    Plain(Insn),
    Jump(Cmp, u32, To, To),
}

impl Step {
    /// The instruction, with `left` instructions after it in its block and the failure
    /// target `to_fail` instructions past the block's end.
    fn resolve(&self, left: usize, to_fail: usize) -> Result<Insn, SeccompError> {
        let off = |t: To| -> Result<u8, SeccompError> {
            let n = match t {
                To::Next => 0,
                To::Pass => left,
                To::Fail => left + to_fail,
            };
            u8::try_from(n).map_err(|_| {
                SeccompError::Invalid("a rule has too many conditions to compile".into())
            })
        };
        Ok(match self {
            Step::Plain(i) => *i,
            Step::Jump(cmp, k, t, f) => bpf::jump(*cmp, *k, off(*t)?, off(*f)?),
        })
    }
}

/// The steps of one condition: falling off the end means it holds.
fn cond_steps(c: &Cond, wide: bool) -> Vec<Step> {
    use Step::{Jump, Plain};
    use To::{Fail, Next, Pass};
    let (vhi, vlo) = ((c.value >> 32) as u32, c.value as u32);
    let (dhi, dlo) = ((c.datum >> 32) as u32, c.datum as u32);
    let hi = Plain(bpf::load(data::arg_hi(c.index)));
    let lo = Plain(bpf::load(data::arg_lo(c.index)));
    if !wide {
        // 32-bit arguments: the low word only.
        return match c.op {
            Op::Eq => vec![lo, Jump(Cmp::Eq, vlo, Pass, Fail)],
            Op::Ne => vec![lo, Jump(Cmp::Eq, vlo, Fail, Pass)],
            Op::Gt => vec![lo, Jump(Cmp::Gt, vlo, Pass, Fail)],
            Op::Ge => vec![lo, Jump(Cmp::Ge, vlo, Pass, Fail)],
            Op::Lt => vec![lo, Jump(Cmp::Ge, vlo, Fail, Pass)],
            Op::Le => vec![lo, Jump(Cmp::Gt, vlo, Fail, Pass)],
            Op::MaskedEq => vec![lo, Plain(bpf::and(vlo)), Jump(Cmp::Eq, dlo, Pass, Fail)],
        };
    }
    match c.op {
        Op::Eq => vec![
            hi,
            Jump(Cmp::Eq, vhi, Next, Fail),
            lo,
            Jump(Cmp::Eq, vlo, Pass, Fail),
        ],
        Op::Ne => vec![
            hi,
            Jump(Cmp::Eq, vhi, Next, Pass),
            lo,
            Jump(Cmp::Eq, vlo, Fail, Pass),
        ],
        Op::Gt => vec![
            hi,
            Jump(Cmp::Gt, vhi, Pass, Next),
            Jump(Cmp::Eq, vhi, Next, Fail),
            lo,
            Jump(Cmp::Gt, vlo, Pass, Fail),
        ],
        Op::Ge => vec![
            hi,
            Jump(Cmp::Gt, vhi, Pass, Next),
            Jump(Cmp::Eq, vhi, Next, Fail),
            lo,
            Jump(Cmp::Ge, vlo, Pass, Fail),
        ],
        Op::Lt => vec![
            hi,
            Jump(Cmp::Gt, vhi, Fail, Next),
            Jump(Cmp::Eq, vhi, Next, Pass),
            lo,
            Jump(Cmp::Ge, vlo, Fail, Pass),
        ],
        Op::Le => vec![
            hi,
            Jump(Cmp::Gt, vhi, Fail, Next),
            Jump(Cmp::Eq, vhi, Next, Pass),
            lo,
            Jump(Cmp::Gt, vlo, Fail, Pass),
        ],
        Op::MaskedEq => vec![
            hi,
            Plain(bpf::and(vhi)),
            Jump(Cmp::Eq, dhi, Next, Fail),
            lo,
            Plain(bpf::and(vlo)),
            Jump(Cmp::Eq, dlo, Pass, Fail),
        ],
    }
}
