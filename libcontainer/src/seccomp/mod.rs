//! seccomp in pure Rust: a profile (`linux.seccomp`) compiled to classic BPF by our own
//! compiler, loaded with seccomp(2), and, for `SCMP_ACT_NOTIFY`, the listener fd handed
//! to the agent. No libseccomp: every action, operator, arch and flag of the runtime-spec
//! is implemented here (see `DESIGN.md` for why not `seccompiler`).
//!
//! - [`profile`]: the profile read into per-ABI rules, with runc's readings of the spec;
//! - [`codegen`]: the rules compiled to one BPF program (an arch dispatch, then a binary
//!   search over the call numbers of each arch);
//! - [`bpf`]: the instructions and an interpreter to check programs without loading them;
//! - [`load`] and [`notify`]: the kernel side and the agent side.
//!
//! Compiling happens in the runtime before anything is made; the init and every `exec`'d
//! process only load the result.

pub mod action;
pub mod arch;
pub mod bpf;
mod codegen;
mod load;
mod notify;
pub mod profile;
mod tables;

pub use action::Action;
pub use bpf::SeccompData;
pub use notify::send_listener;

use oci_spec::runtime::LinuxSeccomp;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

/// Why a profile was refused or could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile cannot be compiled.
    #[error("seccomp: {0}")]
    Invalid(String),
    /// The kernel refused.
    #[error("{0}: {1}")]
    Kernel(&'static str, #[source] std::io::Error),
    /// The agent could not be given the listener fd.
    #[error("{0}")]
    Agent(String),
}

/// Where the listener fd goes.
#[derive(Clone, Debug)]
pub struct Listener {
    /// The agent's Unix socket (`listenerPath`).
    pub path: PathBuf,
    /// Passed to the agent as is (`listenerMetadata`).
    pub metadata: String,
}

/// A compiled profile, ready to load.
#[derive(Clone, Debug)]
pub struct Filter {
    insns: Vec<bpf::Insn>,
    flags: u32,
    listener: Option<Listener>,
    rets: Vec<u32>,
}

impl Filter {
    /// Compiles `profile`; every error is the profile's.
    pub fn compile(profile: &LinuxSeccomp) -> Result<Filter, SeccompError> {
        let plan = profile::plan(profile)?;
        let notifies = plan.notifies();
        if notifies {
            refuse_notify_on_our_calls(&plan)?;
        }
        let insns = codegen::compile(&plan)?;
        let mut rets: Vec<u32> = insns
            .iter()
            .filter(|i| i.code == (libc::BPF_RET | libc::BPF_K) as u16)
            .map(|i| i.k & 0xffff_0000)
            .collect();
        rets.sort_unstable();
        rets.dedup();
        let listener = notifies.then(|| Listener {
            path: profile.listener_path().clone().unwrap_or_default(),
            metadata: profile.listener_metadata().clone().unwrap_or_default(),
        });
        Ok(Filter {
            insns,
            flags: plan.flags,
            listener,
            rets,
        })
    }

    /// The BPF program.
    pub fn instructions(&self) -> &[bpf::Insn] {
        &self.insns
    }

    /// The `SECCOMP_FILTER_FLAG_*` it loads with.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Where the listener fd goes, when a rule notifies.
    pub fn listener(&self) -> Option<&Listener> {
        self.listener.as_ref()
    }

    /// What the filter returns for one call, computed without loading it.
    pub fn evaluate(&self, d: &SeccompData) -> Result<u32, String> {
        bpf::run(&self.insns, d)
    }

    /// Asks the kernel whether it takes this filter's flags and actions.
    pub fn check_kernel(&self) -> Result<(), SeccompError> {
        load::check(self.flags, &self.rets)
    }

    /// Loads the filter on the calling thread: the listener fd when a rule notifies.
    /// Needs `no_new_privs` or CAP_SYS_ADMIN.
    pub fn load(&self) -> Result<Option<OwnedFd>, SeccompError> {
        load::load(&self.insns, self.flags, self.listener.is_some())
    }
}

/// Calls that must not be notified: the init hands its listener fd to the runtime with
/// sendmsg right after loading the filter, and a notified sendmsg would wait on an agent
/// that never gets the fd; runc refuses `write` (its own hand-off), and so do we, with
/// its words, so that a profile behaves the same under both.
fn refuse_notify_on_our_calls(plan: &profile::Plan) -> Result<(), SeccompError> {
    for name in ["write", "sendmsg"] {
        let Some(nr) = tables::number(arch::Abi::X86_64, name) else {
            continue;
        };
        let notified = plan
            .rules(arch::Abi::X86_64, nr)
            .any(|r| r.action == Action::Notify);
        if notified {
            return Err(SeccompError::Invalid(format!(
                "SCMP_ACT_NOTIFY cannot be used for the {name} syscall"
            )));
        }
    }
    Ok(())
}

/// The names `features` lists.
pub mod names {
    pub use super::action::ACTION_NAMES as ACTIONS;
    /// Every operator.
    pub const OPERATORS: &[&str] = &[
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
        "SCMP_CMP_LE",
        "SCMP_CMP_LT",
        "SCMP_CMP_MASKED_EQ",
        "SCMP_CMP_NE",
    ];
    /// The architectures a filter here can tell apart (others are accepted and add
    /// nothing, since this kernel never reports them).
    pub const ARCHES: &[&str] = &["SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_X86_64"];
    /// Every flag.
    pub const FLAGS: &[&str] = &[
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ];

    /// The flags of [`FLAGS`] this kernel takes (asked with a NULL filter, as
    /// libseccomp asks). WAIT_KILLABLE_RECV is asked with NEW_LISTENER, which it needs.
    pub fn supported_flags() -> Vec<&'static str> {
        use super::profile::flag;
        let bits = [
            flag::LOG,
            flag::SPEC_ALLOW,
            flag::TSYNC,
            flag::WAIT_KILLABLE_RECV | flag::NEW_LISTENER,
        ];
        FLAGS
            .iter()
            .zip(bits)
            .filter(|(_, b)| super::load::check(*b, &[]).is_ok())
            .map(|(n, _)| *n)
            .collect()
    }
}

#[cfg(test)]
mod tests;
