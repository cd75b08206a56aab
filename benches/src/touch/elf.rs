//! The function symbols of an ELF64 little-endian executable (its `.symtab`), enough
//! to put a breakpoint on the first byte of every function and name it when it is hit.

use std::collections::BTreeMap;
use std::io;

/// One function: where it starts in memory and its linker name (mangled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// Virtual address of its first instruction.
    pub addr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Symbol name as the linker sees it (what `--symbol-ordering-file` takes).
    pub name: String,
}

/// `ET_EXEC`: a position-dependent executable, whose symbols are its addresses.
const ET_EXEC: u16 = 2;
const SHT_SYMTAB: u32 = 2;
const STT_FUNC: u8 = 2;

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a usable ELF64: {what}"),
    )
}

fn u16_at(b: &[u8], off: usize) -> io::Result<u16> {
    let s = b.get(off..off + 2).ok_or_else(|| bad("truncated"))?;
    Ok(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], off: usize) -> io::Result<u32> {
    let s = b.get(off..off + 4).ok_or_else(|| bad("truncated"))?;
    Ok(u32::from_le_bytes(s.try_into().expect("4 bytes")))
}

fn u64_at(b: &[u8], off: usize) -> io::Result<u64> {
    let s = b.get(off..off + 8).ok_or_else(|| bad("truncated"))?;
    Ok(u64::from_le_bytes(s.try_into().expect("8 bytes")))
}

/// Whether the image is position-dependent (`ET_EXEC`): only then are symbol values the
/// addresses the process runs at.
pub fn is_position_dependent(image: &[u8]) -> io::Result<bool> {
    if image.get(..4) != Some(b"\x7fELF") || image.get(4) != Some(&2) || image.get(5) != Some(&1) {
        return Err(bad("no ELF64 little-endian header"));
    }
    Ok(u16_at(image, 16)? == ET_EXEC)
}

/// The defined functions of `image`, one per address (aliases keep the first name the
/// symbol table gives), in address order.
pub fn functions(image: &[u8]) -> io::Result<Vec<Function>> {
    is_position_dependent(image)?;
    let shoff = u64_at(image, 0x28)? as usize;
    let shentsize = u16_at(image, 0x3a)? as usize;
    let shnum = u16_at(image, 0x3c)? as usize;
    let section = |i: usize| shoff + i * shentsize;
    let mut by_addr = BTreeMap::new();
    for i in 0..shnum {
        let sh = section(i);
        if u32_at(image, sh + 4)? != SHT_SYMTAB {
            continue;
        }
        let (off, size) = (u64_at(image, sh + 0x18)?, u64_at(image, sh + 0x20)?);
        let entsize = u64_at(image, sh + 0x38)?.max(24) as usize;
        let strtab = section(u32_at(image, sh + 0x28)? as usize);
        let str_off = u64_at(image, strtab + 0x18)? as usize;
        let str_size = u64_at(image, strtab + 0x20)? as usize;
        let strings = image
            .get(str_off..str_off + str_size)
            .ok_or_else(|| bad("string table outside the file"))?;
        let syms = image
            .get(off as usize..(off + size) as usize)
            .ok_or_else(|| bad("symbol table outside the file"))?;
        for sym in syms.chunks_exact(entsize) {
            let (name, info) = (u32_at(sym, 0)? as usize, sym[4]);
            let (shndx, addr, size) = (u16_at(sym, 6)?, u64_at(sym, 8)?, u64_at(sym, 16)?);
            if info & 0xf != STT_FUNC || shndx == 0 || addr == 0 || size == 0 {
                continue;
            }
            let tail = strings.get(name..).ok_or_else(|| bad("symbol name"))?;
            let end = tail.iter().position(|&c| c == 0).unwrap_or(tail.len());
            let name = String::from_utf8_lossy(&tail[..end]).into_owned();
            by_addr.entry(addr).or_insert(Function { addr, size, name });
        }
    }
    Ok(by_addr.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_elf64() {
        assert!(functions(b"#!/bin/sh\n").is_err());
        assert!(functions(b"\x7fELF\x01\x01").is_err());
        assert!(functions(&[]).is_err());
    }

    #[test]
    fn reads_the_functions_of_a_real_binary() {
        // The test binary itself: a PIE here, so its symbols are offsets, not
        // addresses; `functions` refuses it, and its table is still readable by hand.
        let image = std::fs::read("/proc/self/exe").expect("read own binary");
        assert!(!is_position_dependent(&image).expect("ELF64"));
        // A minimal ET_EXEC copy: patch e_type and read the same table.
        let mut exec = image.clone();
        exec[16..18].copy_from_slice(&ET_EXEC.to_le_bytes());
        let fns = functions(&exec).expect("symbols");
        assert!(fns.len() > 100, "{} functions", fns.len());
        assert!(fns.windows(2).all(|w| w[0].addr < w[1].addr));
        assert!(fns
            .iter()
            .any(|f| f.name.contains("reads_the_functions_of_a_real_binary")));
    }
}
