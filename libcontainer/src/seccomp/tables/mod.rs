//! System call numbers by name for the three x86 ABIs, generated from the kernel's uapi
//! headers (see `scripts/gen-seccomp-tables.py`) into one table, so a profile's name is
//! looked up once for every ABI. A name an ABI lacks resolves to nothing there, and the
//! profile's rule is skipped for that ABI, as libseccomp does.

mod calls;

use super::arch::Abi;
use calls::{CALLS, NONE};

/// What one name is on each ABI.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    numbers: [u32; 3],
    mux: u8,
}

impl Call {
    /// Its number on `abi`, if that ABI has it.
    pub fn number(self, abi: Abi) -> Option<u32> {
        let n = self.numbers[abi as usize];
        (n != NONE).then_some(n)
    }

    /// On i386, the multiplexer that also reaches it (`socketcall` or `ipc`) and the
    /// call number it takes as its first argument.
    pub fn i386_multiplexer(self) -> Option<(u32, u64)> {
        match self.mux {
            0 => None,
            n @ 1..=99 => Some((SOCKETCALL_I386, u64::from(n))),
            n => Some((IPC_I386, u64::from(n - 100))),
        }
    }
}

/// `socketcall` and `ipc` on i386.
const SOCKETCALL_I386: u32 = 102;
const IPC_I386: u32 = 117;

/// The call named `name`, if this build knows it on any ABI.
pub fn lookup(name: &str) -> Option<Call> {
    CALLS
        .binary_search_by_key(&name, |(n, _, _)| n)
        .ok()
        .map(|i| Call {
            numbers: CALLS[i].1,
            mux: CALLS[i].2,
        })
}

/// The number of `name` on `abi`, if that ABI has it.
pub fn number(abi: Abi, name: &str) -> Option<u32> {
    lookup(name).and_then(|c| c.number(abi))
}

/// How many calls this build knows for `abi`.
#[cfg(test)]
pub fn known(abi: Abi) -> usize {
    all(abi).len()
}

/// Every (name, number) of `abi`.
#[cfg(test)]
pub fn all(abi: Abi) -> Vec<(&'static str, u32)> {
    CALLS
        .iter()
        .filter_map(|(n, nums, _)| (nums[abi as usize] != NONE).then_some((*n, nums[abi as usize])))
        .collect()
}
