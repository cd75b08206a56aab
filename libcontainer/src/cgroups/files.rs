//! Reading and writing cgroup interface files. Writes never create a file: a file that
//! is missing means the controller or feature is missing, which must be an error.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;

use super::CgroupError;

/// Writes `val` to `dir/file`, which must already exist.
pub(crate) fn write(dir: &Path, file: &str, val: impl Display) -> Result<(), CgroupError> {
    write_each(dir, file, &[val.to_string()])
}

/// Writes each of `lines` to `dir/file` with a write(2) of its own, through one open:
/// for files the kernel reads one entry per write (v1 `devices.allow`, `devices.deny`).
pub(crate) fn write_each(dir: &Path, file: &str, lines: &[String]) -> Result<(), CgroupError> {
    let p = dir.join(file);
    let mut f = super::fsat::open(&p, libc::O_WRONLY | libc::O_TRUNC).map_err(|source| {
        CgroupError::Io {
            what: "open",
            path: p.clone(),
            source,
        }
    })?;
    for line in lines {
        f.write_all(line.as_bytes())
            .map_err(|source| CgroupError::Io {
                what: "write",
                path: p.clone(),
                source,
            })?;
    }
    Ok(())
}

/// Reads `dir/file`.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String, CgroupError> {
    let p = dir.join(file);
    super::fsat::read_to_string(&p).map_err(|source| CgroupError::Io {
        what: "read",
        path: p,
        source,
    })
}

/// True when `dir/file` exists.
pub(crate) fn exists(dir: &Path, file: &str) -> bool {
    super::fsat::exists(&dir.join(file))
}

/// Parses one number; `max` (unlimited) is `u64::MAX`.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s == "max" {
        return Some(u64::MAX);
    }
    s.parse().ok()
}

/// Reads a file holding one number (`max` is `u64::MAX`).
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let text = read(dir, file)?;
    parse_u64(&text).ok_or_else(|| CgroupError::Parse {
        path: dir.join(file),
        text: text.trim().to_string(),
    })
}

/// Reads a number, or 0 when the file does not exist (optional statistics).
pub(crate) fn read_u64_or_zero(dir: &Path, file: &str) -> u64 {
    read(dir, file)
        .ok()
        .and_then(|t| parse_u64(&t))
        .unwrap_or(0)
}

/// Parses a flat keyed file (`key value` per line: `memory.stat`, `cpu.stat`, ...).
pub(crate) fn flat_keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), parse_u64(v)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_truncates_and_never_creates() {
        let d = crate::cgroups::testutil::FakeDir::new(&[("a", "1000")]);
        write(d.path(), "a", 5).unwrap();
        assert_eq!(d.get("a"), "5");
        assert!(write(d.path(), "missing", 1).is_err());
        assert!(!d.path().join("missing").exists());
    }

    #[test]
    fn numbers_and_keyed() {
        assert_eq!(parse_u64("max\n"), Some(u64::MAX));
        assert_eq!(parse_u64(" 42\n"), Some(42));
        let m = flat_keyed("usage_usec 10\nnr_periods 3\nbad\n");
        assert_eq!(m["usage_usec"], 10);
        assert_eq!(m["nr_periods"], 3);
        assert_eq!(m.len(), 2);
    }
}
