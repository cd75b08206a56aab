//! The architectures a profile can name, and the three this host's kernel can report:
//! x86_64, i386 (the `int 0x80` gate) and x32 (native calls with bit 30 set in the
//! number, reported as x86_64).

use oci_spec::runtime::Arch;

/// `AUDIT_ARCH_X86_64`: what seccomp reports for x86_64 and x32 calls.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386`: what seccomp reports for calls through the i386 gate.
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// The bit that makes a native call an x32 one.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// A system call ABI of an x86_64 kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Abi {
    /// The native 64-bit ABI.
    X86_64 = 0,
    /// The 32-bit ABI (`int 0x80`, `sysenter`).
    I386 = 1,
    /// The x32 ABI (64-bit registers, 32-bit pointers).
    X32 = 2,
}

impl Abi {
    /// The audit arch the kernel reports for this ABI's calls.
    pub fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::I386 => AUDIT_ARCH_I386,
        }
    }

    /// Whether arguments are compared on 64 bits (in two halves); i386 and x32 compare
    /// the low 32 bits only, as libseccomp does (x32 is a 32-bit arch there).
    pub fn wide_args(self) -> bool {
        matches!(self, Abi::X86_64)
    }

    /// The libseccomp name, as a profile writes it.
    pub fn name(self) -> &'static str {
        match self {
            Abi::X86_64 => "SCMP_ARCH_X86_64",
            Abi::I386 => "SCMP_ARCH_X86",
            Abi::X32 => "SCMP_ARCH_X32",
        }
    }
}

/// The ABI an `architectures` entry names on this host; `None` for an architecture this
/// kernel can never report (an arm or mips entry in a multi-arch profile), which, as
/// with libseccomp on x86_64, adds nothing a process here could reach.
pub fn abi_of(arch: Arch) -> Option<Abi> {
    match arch {
        Arch::ScmpArchNative | Arch::ScmpArchX86_64 => Some(Abi::X86_64),
        Arch::ScmpArchX86 => Some(Abi::I386),
        Arch::ScmpArchX32 => Some(Abi::X32),
        _ => None,
    }
}
