//! System call numbers by name for the three x86 ABIs, generated from the kernel's uapi
//! headers (see `scripts/gen-seccomp-tables.py`). A name an ABI lacks resolves to nothing
//! there, and the profile's rule is skipped for that ABI, as libseccomp does.

mod i386;
mod x32;
mod x86_64;

use super::arch::Abi;

fn table(abi: Abi) -> &'static [(&'static str, u32)] {
    match abi {
        Abi::X86_64 => x86_64::X86_64,
        Abi::I386 => i386::I386,
        Abi::X32 => x32::X32,
    }
}

/// The number of `name` on `abi`, if that ABI has it.
pub fn number(abi: Abi, name: &str) -> Option<u32> {
    let t = table(abi);
    t.binary_search_by_key(&name, |(n, _)| n)
        .ok()
        .map(|i| t[i].1)
}

/// How many calls this build knows for `abi`.
#[cfg(test)]
pub fn known(abi: Abi) -> usize {
    table(abi).len()
}

/// Every (name, number) of `abi`.
#[cfg(test)]
pub fn all(abi: Abi) -> &'static [(&'static str, u32)] {
    table(abi)
}
