//! Capabilities: the five sets of the container process, applied just before `execve`.
//!
//! Raw `prctl`/`capset` calls on kernel capability numbers, so a capability this kernel
//! does not know (newer than `cap_last_cap`) is skipped rather than failing the start,
//! as runc does.

use std::io;

use oci_spec::runtime::{Capabilities, Capability};

use crate::procfs::ProcHandle;
use crate::spec::LinuxCapabilities;

/// Why capabilities could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    /// A capability call failed.
    #[error("{0}")]
    Failed(String),
    /// A system call on the capability sets failed.
    #[error("{what}: {source}")]
    Sys {
        /// The step that failed, naming the capability where there is one.
        what: String,
        /// The cause.
        source: io::Error,
    },
}

/// The kernel's number for an OCI capability (`linux/capability.h`).
pub fn number(cap: Capability) -> u32 {
    use Capability::*;
    match cap {
        Chown => 0,
        DacOverride => 1,
        DacReadSearch => 2,
        Fowner => 3,
        Fsetid => 4,
        Kill => 5,
        Setgid => 6,
        Setuid => 7,
        Setpcap => 8,
        LinuxImmutable => 9,
        NetBindService => 10,
        NetBroadcast => 11,
        NetAdmin => 12,
        NetRaw => 13,
        IpcLock => 14,
        IpcOwner => 15,
        SysModule => 16,
        SysRawio => 17,
        SysChroot => 18,
        SysPtrace => 19,
        SysPacct => 20,
        SysAdmin => 21,
        SysBoot => 22,
        SysNice => 23,
        SysResource => 24,
        SysTime => 25,
        SysTtyConfig => 26,
        Mknod => 27,
        Lease => 28,
        AuditWrite => 29,
        AuditControl => 30,
        Setfcap => 31,
        MacOverride => 32,
        MacAdmin => 33,
        Syslog => 34,
        WakeAlarm => 35,
        BlockSuspend => 36,
        AuditRead => 37,
        Perfmon => 38,
        Bpf => 39,
        CheckpointRestore => 40,
    }
}

/// The `CAP_…` name of a capability, for messages.
pub fn name(cap: Capability) -> String {
    format!("CAP_{cap}")
}

/// Every capability this runtime knows, by its `CAP_…` name in kernel order (for
/// `features`): the names a spec may use in any of the five sets.
pub fn known_names() -> Vec<String> {
    NAMES.iter().map(|n| format!("CAP_{n}")).collect()
}

/// The highest capability number this kernel knows, read through the verified host
/// procfs. The runtime reads it before the container's rootfs exists: a path the
/// container can reach (its own /proc, or an image's `/proc` directory) could lie and
/// leave capabilities in the bounding set.
pub fn last_cap(proc: &ProcHandle) -> Result<u32, CapsError> {
    let text = proc
        .read("sys/kernel/cap_last_cap")
        .map_err(|source| CapsError::Sys {
            what: "reading the host's /proc/sys/kernel/cap_last_cap".into(),
            source,
        })?;
    parse_last_cap(&text)
}

fn parse_last_cap(text: &str) -> Result<u32, CapsError> {
    match text.trim().parse() {
        Ok(n) if n < 64 => Ok(n),
        _ => Err(CapsError::Failed(format!(
            "/proc/sys/kernel/cap_last_cap holds {:?}, not a capability number",
            text.trim()
        ))),
    }
}

/// A set as a 64-bit mask, keeping only capabilities the kernel knows.
fn mask(set: &Option<Capabilities>, last: u32) -> u64 {
    set.iter()
        .flatten()
        .map(|&c| number(c))
        .filter(|&n| n <= last)
        .fold(0, |m, n| m | (1u64 << n))
}

/// Applies the five sets: bounding drop first, then effective/permitted/inheritable,
/// then ambient. Absent sets are empty. `last` is the host's [`last_cap`], read before
/// the container's mounts.
pub fn apply(caps: &LinuxCapabilities, last: u32) -> Result<(), CapsError> {
    // After a uid change with KEEPCAPS the effective set is empty; dropping from the
    // bounding set needs CAP_SETPCAP effective, so raise effective to permitted first.
    let current = get()?;
    set(CapSets {
        effective: current.permitted,
        ..current
    })
    .map_err(|source| CapsError::Sys {
        what: "raising effective capabilities to permitted".into(),
        source,
    })?;

    let bounding = mask(caps.bounding(), last);
    for n in 0..=last {
        if bounding & (1u64 << n) == 0 {
            drop_bounding(n)?;
        }
    }

    let wanted = CapSets {
        effective: mask(caps.effective(), last),
        permitted: mask(caps.permitted(), last),
        inheritable: mask(caps.inheritable(), last),
    };
    set(wanted).map_err(|source| CapsError::Sys {
        what: explain_refusal(wanted, current),
        source,
    })?;

    set_ambient(caps.ambient(), last)
}

/// Says which asked capabilities capset(2) could not grant, for the error message.
fn explain_refusal(wanted: CapSets, current: CapSets) -> String {
    let unavailable = (wanted.permitted | wanted.effective) & !current.permitted;
    let not_permitted = wanted.effective & !wanted.permitted;
    let mut what = String::from("setting capabilities");
    if unavailable != 0 {
        what += &format!(" ({} not available to the runtime)", names_of(unavailable));
    }
    if not_permitted != 0 {
        what += &format!(
            " (effective {} not in the permitted set)",
            names_of(not_permitted)
        );
    }
    what
}

/// `CAP_…` names of the bits of `mask`, comma-separated.
fn names_of(mask: u64) -> String {
    (0..64)
        .filter(|n| mask & (1u64 << n) != 0)
        .map(|n| {
            NAMES
                .get(n)
                .map_or_else(|| format!("capability {n}"), |s| format!("CAP_{s}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Kernel capability names by number, for messages.
const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Drops capability `n` from the bounding set.
fn drop_bounding(n: u32) -> Result<(), CapsError> {
    // SAFETY: plain prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, n as libc::c_ulong, 0, 0, 0) } != 0 {
        let source = io::Error::last_os_error();
        // EINVAL: the kernel does not know this capability; nothing to drop.
        if source.raw_os_error() != Some(libc::EINVAL) {
            return Err(CapsError::Sys {
                what: format!("dropping capability {n} from the bounding set"),
                source,
            });
        }
    }
    Ok(())
}

/// Clears the ambient set, then raises each asked capability the kernel knows and
/// allows (one that is not both permitted and inheritable is left out, as runc does).
fn set_ambient(ambient: &Option<Capabilities>, last: u32) -> Result<(), CapsError> {
    // SAFETY: plain prctl with integer arguments.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(CapsError::Sys {
            what: "clearing the ambient capabilities".into(),
            source: io::Error::last_os_error(),
        });
    }
    let mut wanted: Vec<Capability> = ambient
        .iter()
        .flatten()
        .copied()
        .filter(|&c| number(c) <= last)
        .collect();
    wanted.sort_by_key(|&c| number(c));
    for cap in wanted {
        // SAFETY: plain prctl with integer arguments.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                number(cap) as libc::c_ulong,
                0,
                0,
            )
        };
        if r != 0 {
            let source = io::Error::last_os_error();
            // runc's `spec` puts caps in ambient without inheritable, and runc ignores
            // the kernel's refusal; so do we, or every runc-made config would fail.
            if source.raw_os_error() == Some(libc::EPERM) {
                continue;
            }
            return Err(CapsError::Sys {
                what: format!("raising ambient capability {}", name(cap)),
                source,
            });
        }
    }
    Ok(())
}

/// The three capset(2) sets of the calling thread as 64-bit masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CapSets {
    effective: u64,
    permitted: u64,
    inheritable: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Reads the calling thread's sets with capget(2).
fn get() -> Result<CapSets, CapsError> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and a two-element data array, as version 3 requires.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if r != 0 {
        return Err(CapsError::Sys {
            what: "reading capabilities (capget)".into(),
            source: io::Error::last_os_error(),
        });
    }
    let join = |lo: u32, hi: u32| u64::from(lo) | (u64::from(hi) << 32);
    Ok(CapSets {
        effective: join(data[0].effective, data[1].effective),
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's sets with capset(2).
fn set(sets: CapSets) -> io::Result<()> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |m: u64| (m as u32, (m >> 32) as u32);
    let (e0, e1) = split(sets.effective);
    let (p0, p1) = split(sets.permitted);
    let (i0, i1) = split(sets.inheritable);
    let data = [
        CapData {
            effective: e0,
            permitted: p0,
            inheritable: i0,
        },
        CapData {
            effective: e1,
            permitted: p1,
            inheritable: i1,
        },
    ];
    // SAFETY: header and a two-element data array, as version 3 requires.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
