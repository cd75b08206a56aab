//! Seccomp actions: what a profile names, the value a filter returns for it, and the
//! kernel's precedence between them.

use super::SeccompError;
use oci_spec::runtime::LinuxSeccompAction;

/// The errno of `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` without `errnoRet` (runc's).
pub const DEFAULT_ERRNO: u16 = libc::EPERM as u16;

/// One action with its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `SCMP_ACT_KILL_PROCESS`.
    KillProcess,
    /// `SCMP_ACT_KILL_THREAD` and `SCMP_ACT_KILL`.
    KillThread,
    /// `SCMP_ACT_TRAP`: SIGSYS.
    Trap,
    /// `SCMP_ACT_ERRNO`: fail with this errno.
    Errno(u16),
    /// `SCMP_ACT_NOTIFY`: ask the agent holding the listener fd.
    Notify,
    /// `SCMP_ACT_TRACE`: tell the tracer, with this value.
    Trace(u16),
    /// `SCMP_ACT_LOG`: allow and log.
    Log,
    /// `SCMP_ACT_ALLOW`.
    Allow,
}

impl Action {
    /// The action a profile names, with its `errnoRet` (which only ERRNO and TRACE use).
    pub fn from_spec(
        action: LinuxSeccompAction,
        errno_ret: Option<u32>,
    ) -> Result<Action, SeccompError> {
        let data = || match errno_ret {
            None => Ok(DEFAULT_ERRNO),
            Some(v) => u16::try_from(v).map_err(|_| {
                SeccompError::Invalid(format!(
                    "errnoRet {v} is out of range (at most {})",
                    u16::MAX
                ))
            }),
        };
        Ok(match action {
            LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
                Action::KillThread
            }
            LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
            LinuxSeccompAction::ScmpActTrap => Action::Trap,
            LinuxSeccompAction::ScmpActErrno => Action::Errno(data()?),
            LinuxSeccompAction::ScmpActNotify => Action::Notify,
            LinuxSeccompAction::ScmpActTrace => Action::Trace(data()?),
            LinuxSeccompAction::ScmpActLog => Action::Log,
            LinuxSeccompAction::ScmpActAllow => Action::Allow,
        })
    }

    /// The filter's return value (`SECCOMP_RET_*` with its data).
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0x0000_0000,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::Notify => 0x7fc0_0000,
            Action::Trace(v) => 0x7ff0_0000 | u32::from(v),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }

    /// The kernel's order when several filters answer (higher wins); the compiler uses
    /// it for rules of one call that overlap.
    pub fn precedence(self) -> u8 {
        match self {
            Action::KillProcess => 7,
            Action::KillThread => 6,
            Action::Trap => 5,
            Action::Errno(_) => 4,
            Action::Notify => 3,
            Action::Trace(_) => 2,
            Action::Log => 1,
            Action::Allow => 0,
        }
    }

    /// The action from a filter's return value (for tests and checks of compiled code).
    pub fn from_ret(ret: u32) -> Option<Action> {
        let data = (ret & 0xffff) as u16;
        Some(match ret & 0xffff_0000 {
            0x8000_0000 => Action::KillProcess,
            0x0000_0000 => Action::KillThread,
            0x0003_0000 => Action::Trap,
            0x0005_0000 => Action::Errno(data),
            0x7fc0_0000 => Action::Notify,
            0x7ff0_0000 => Action::Trace(data),
            0x7ffc_0000 => Action::Log,
            0x7fff_0000 => Action::Allow,
            _ => return None,
        })
    }

    /// True for the actions that let the call run (ALLOW, LOG).
    pub fn lets_through(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

/// Every action name this build implements, as `features` lists them.
pub const ACTION_NAMES: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];
