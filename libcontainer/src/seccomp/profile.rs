//! A profile (`linux.seccomp`) turned into a plan: per ABI, the rules of every call it
//! names, with runc's and libseccomp's readings of the spec — unknown call names skipped,
//! rules whose action is the default dropped, an entry with several conditions on one
//! argument split into one rule per condition (any of them matches), ERRNO and TRACE
//! without `errnoRet` giving EPERM, and on i386 the socket and SysV IPC calls also
//! matched through the `socketcall` and `ipc` multiplexers.

use super::action::Action;
use super::arch::{abi_of, Abi};
use super::{tables, SeccompError};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompFilterFlag, LinuxSeccompOperator};

/// `SECCOMP_FILTER_FLAG_*`.
pub mod flag {
    /// Synchronize every thread to the filter.
    pub const TSYNC: u32 = 1;
    /// Log every action but ALLOW.
    pub const LOG: u32 = 2;
    /// Leave speculative store bypass unmitigated.
    pub const SPEC_ALLOW: u32 = 4;
    /// Return a notification listener fd.
    pub const NEW_LISTENER: u32 = 8;
    /// With TSYNC and NEW_LISTENER: report a failed sync as ESRCH.
    pub const TSYNC_ESRCH: u32 = 16;
    /// Waits for the agent's answer are killable only.
    pub const WAIT_KILLABLE_RECV: u32 = 32;
}

/// The comparison of one condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `SCMP_CMP_NE`
    Ne,
    /// `SCMP_CMP_LT`
    Lt,
    /// `SCMP_CMP_LE`
    Le,
    /// `SCMP_CMP_EQ`
    Eq,
    /// `SCMP_CMP_GE`
    Ge,
    /// `SCMP_CMP_GT`
    Gt,
    /// `SCMP_CMP_MASKED_EQ`: `(arg & value) == datum`.
    MaskedEq,
}

/// One argument condition. For MASKED_EQ `value` is the mask and `datum` the value
/// compared (the spec's `value` and `valueTwo`); other operators compare `value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cond {
    /// The argument (0-5).
    pub index: u8,
    /// The comparison.
    pub op: Op,
    /// The value (the mask for MASKED_EQ).
    pub value: u64,
    /// MASKED_EQ's value.
    pub datum: u64,
}

/// An action taken when every condition holds (always, with none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// What the filter returns.
    pub action: Action,
    /// All must hold.
    pub conds: Vec<Cond>,
}

/// The rules of one ABI.
#[derive(Debug)]
pub struct AbiPlan {
    /// The ABI.
    pub abi: Abi,
    /// (call number, rule), sorted by number, each call's rules in profile order (one
    /// vector for every call: compiling allocates little).
    pub calls: Vec<(u32, Rule)>,
    /// The highest number the profile names on this ABI (whatever its action).
    pub highest: Option<u32>,
}

/// Everything the compiler needs.
#[derive(Debug)]
pub struct Plan {
    /// For calls no rule matches.
    pub default: Action,
    /// For calls of an architecture the profile does not list: kill, as libseccomp
    /// (and so runc and crun) does; the default action would let a denylist profile be
    /// bypassed through the i386 gate.
    pub bad_arch: Action,
    /// The ABIs the filter accepts, x86_64 always first.
    pub abis: Vec<AbiPlan>,
    /// Calls numbered above the profile's highest get ENOSYS (runc's stub), so that a
    /// program tries the older call a newer one replaces.
    pub enosys_above_highest: bool,
    /// `SECCOMP_FILTER_FLAG_*` to load with.
    pub flags: u32,
}

impl Plan {
    /// Whether some rule notifies (a listener fd will be made).
    pub fn notifies(&self) -> bool {
        self.abis
            .iter()
            .flat_map(|a| &a.calls)
            .any(|(_, r)| r.action == Action::Notify)
    }

    /// The rules of call `nr` on `abi`.
    pub fn rules(&self, abi: Abi, nr: u32) -> impl Iterator<Item = &Rule> {
        self.abi(abi)
            .map(|a| group(&a.calls, nr))
            .unwrap_or_default()
            .iter()
            .map(|(_, r)| r)
    }

    /// The plan of one ABI, if the filter accepts it.
    pub fn abi(&self, abi: Abi) -> Option<&AbiPlan> {
        self.abis.iter().find(|a| a.abi == abi)
    }
}

fn invalid(msg: String) -> SeccompError {
    SeccompError::Invalid(msg)
}

/// The plan for `profile`, or why it is refused.
pub fn plan(profile: &LinuxSeccomp) -> Result<Plan, SeccompError> {
    let default = Action::from_spec(profile.default_action(), profile.default_errno_ret())?;
    if default == Action::Notify {
        return Err(invalid(
            "SCMP_ACT_NOTIFY cannot be the default action".into(),
        ));
    }
    let mut abis = vec![Abi::X86_64];
    for arch in profile.architectures().iter().flatten() {
        if let Some(abi) = abi_of(*arch) {
            if !abis.contains(&abi) {
                abis.push(abi);
            }
        }
    }
    let mut plans: Vec<AbiPlan> = abis
        .iter()
        .map(|&abi| AbiPlan {
            abi,
            calls: Vec::new(),
            highest: None,
        })
        .collect();
    // (abi, number, entry, name) of every rule added, to name a clash.
    let mut names: Vec<(Abi, u32, usize, &str)> = Vec::new();
    for (i, call) in profile.syscalls().iter().flatten().enumerate() {
        let action = Action::from_spec(call.action(), call.errno_ret())
            .map_err(|e| invalid(format!("linux.seccomp.syscalls[{i}]: {e}")))?;
        let rules = rules_of(call.args().as_deref().unwrap_or(&[]), action)
            .map_err(|e| invalid(format!("linux.seccomp.syscalls[{i}]: {e}")))?;
        for name in call.names() {
            if name.is_empty() {
                return Err(invalid(format!(
                    "linux.seccomp.syscalls[{i}]: an empty string is not a syscall name"
                )));
            }
            // Unknown to this build: skipped, as libseccomp does.
            let Some(known) = tables::lookup(name) else {
                continue;
            };
            for p in &mut plans {
                let direct = known.number(p.abi);
                // Only real numbers count for the ENOSYS stub, not the multiplexed ones.
                p.highest = p.highest.max(direct);
                if action == default {
                    continue;
                }
                if let Some(nr) = direct {
                    p.calls.extend(rules.iter().map(|r| (nr, r.clone())));
                    names.push((p.abi, nr, i, name.as_str()));
                }
                let mux = known.i386_multiplexer().filter(|_| p.abi == Abi::I386);
                if let Some((mux_nr, call)) = mux {
                    let arg0 = Cond {
                        index: 0,
                        op: Op::Eq,
                        value: call,
                        datum: 0,
                    };
                    // libseccomp puts the call number in place of a condition on arg 0.
                    let via = rules.iter().map(|r| Rule {
                        action: r.action,
                        conds: std::iter::once(arg0)
                            .chain(r.conds.iter().copied().filter(|c| c.index != 0))
                            .collect(),
                    });
                    p.calls.extend(via.map(|r| (mux_nr, r)));
                    names.push((p.abi, mux_nr, i, name.as_str()));
                }
            }
        }
    }
    for p in &mut plans {
        // Stable: each call's rules stay in profile order.
        p.calls.sort_by_key(|(nr, _)| *nr);
        if let Err(nr) = check_and_dedup(&mut p.calls) {
            // Name the entry and call that made the clash, as runc does.
            let (_, _, i, name) = names
                .iter()
                .rev()
                .find(|(abi, n, _, _)| *abi == p.abi && *n == nr)
                .copied()
                .unwrap_or((p.abi, nr, 0, "?"));
            return Err(invalid(format!(
                "linux.seccomp.syscalls[{i}]: {name}: a rule with the same conditions as an \
                 earlier one and another action (libseccomp: file exists)"
            )));
        }
    }
    let notify = plans
        .iter()
        .flat_map(|a| &a.calls)
        .any(|(_, r)| r.action == Action::Notify);
    if notify
        && profile
            .listener_path()
            .as_ref()
            .is_none_or(|p| p.as_os_str().is_empty())
    {
        return Err(invalid(
            "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath, the agent's socket".into(),
        ));
    }
    Ok(Plan {
        default,
        bad_arch: Action::KillThread,
        abis: plans,
        // runc's stub is left out only for permissive defaults.
        enosys_above_highest: !matches!(default, Action::Allow | Action::Log | Action::Trace(_)),
        flags: flags(profile.flags().as_deref().unwrap_or(&[]), notify),
    })
}

fn flags(named: &[LinuxSeccompFilterFlag], notify: bool) -> u32 {
    let mut f = 0;
    for n in named {
        f |= match n {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => flag::TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => flag::LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => flag::SPEC_ALLOW,
            // Meaningful only with a listener; the kernel refuses it without one.
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv if notify => {
                flag::WAIT_KILLABLE_RECV
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    if notify {
        f |= flag::NEW_LISTENER;
        if f & flag::TSYNC != 0 {
            f |= flag::TSYNC_ESRCH;
        }
    }
    f
}

/// The rules one `syscalls` entry makes: one rule with all its conditions, or, when an
/// argument is named more than once, one rule per condition (runc's `matchCall`).
fn rules_of(
    args: &[oci_spec::runtime::LinuxSeccompArg],
    action: Action,
) -> Result<Vec<Rule>, String> {
    let mut conds = Vec::with_capacity(args.len());
    for a in args {
        let index = u8::try_from(a.index())
            .ok()
            .filter(|i| *i < 6)
            .ok_or_else(|| {
                format!(
                    "argument index {} is out of range (a syscall has 6 arguments, 0-5)",
                    a.index()
                )
            })?;
        let op = match a.op() {
            LinuxSeccompOperator::ScmpCmpNe => Op::Ne,
            LinuxSeccompOperator::ScmpCmpLt => Op::Lt,
            LinuxSeccompOperator::ScmpCmpLe => Op::Le,
            LinuxSeccompOperator::ScmpCmpEq => Op::Eq,
            LinuxSeccompOperator::ScmpCmpGe => Op::Ge,
            LinuxSeccompOperator::ScmpCmpGt => Op::Gt,
            LinuxSeccompOperator::ScmpCmpMaskedEq => Op::MaskedEq,
        };
        // libseccomp compares (arg & mask) with (value & mask).
        let datum = a.value_two().unwrap_or(0) & if op == Op::MaskedEq { a.value() } else { 0 };
        conds.push(Cond {
            index,
            op,
            value: a.value(),
            datum,
        });
    }
    let repeated = conds
        .iter()
        .enumerate()
        .any(|(i, c)| conds[..i].iter().any(|d| d.index == c.index));
    if repeated {
        return Ok(conds
            .into_iter()
            .map(|c| Rule {
                action,
                conds: vec![c],
            })
            .collect());
    }
    Ok(vec![Rule { action, conds }])
}

/// The rules of call `nr` in `calls` (sorted by number).
pub fn group(calls: &[(u32, Rule)], nr: u32) -> &[(u32, Rule)] {
    let start = calls.partition_point(|(n, _)| *n < nr);
    let end = calls.partition_point(|(n, _)| *n <= nr);
    &calls[start..end]
}

/// Within each call (`calls` sorted by number): a rule already there is dropped; the
/// same conditions with another action are refused (the call's number), as libseccomp
/// refuses them (runc: "file exists").
fn check_and_dedup(calls: &mut Vec<(u32, Rule)>) -> Result<(), u32> {
    let key = |r: &Rule| {
        let mut c = r.conds.clone();
        c.sort_by_key(|c| (c.index, c.value, c.datum));
        c
    };
    let mut clash = None;
    let mut start = 0;
    let mut keep = vec![true; calls.len()];
    while start < calls.len() {
        let nr = calls[start].0;
        let end = start + calls[start..].partition_point(|(n, _)| *n == nr);
        if end - start > 1 {
            for j in start + 1..end {
                let r = &calls[j].1;
                let kj = key(r);
                for k in start..j {
                    if !keep[k]
                        || key(&calls[k].1) != kj
                        || (r.conds.is_empty() && r.action != calls[k].1.action)
                    {
                        continue;
                    }
                    if r.action == calls[k].1.action {
                        keep[j] = false;
                    } else if clash.is_none() {
                        clash = Some(nr);
                    }
                    break;
                }
            }
        }
        start = end;
    }
    if let Some(nr) = clash {
        return Err(nr);
    }
    let mut i = 0;
    calls.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    Ok(())
}
