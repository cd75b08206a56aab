//! v2 statistics: `cpu.stat`, `memory.*`, `pids.*`, `io.stat`, `hugetlb.*`, in the
//! shape runc reports them (swap as memory+swap, like v1).

use std::collections::BTreeMap;
use std::path::Path;

use super::super::files::{self, flat_keyed, read_u64_or_zero};
use super::super::stats::{self as st, BlkioEntry};
use super::super::CgroupError;

/// cpu.stat: microseconds to nanoseconds.
pub fn cpu(d: &Path, c: &mut st::Cpu) -> Result<(), CgroupError> {
    let s = flat_keyed(&files::read(d, "cpu.stat")?);
    let g = |k: &str| s.get(k).copied().unwrap_or(0);
    c.usage.total = g("usage_usec") * 1000;
    c.usage.user = g("user_usec") * 1000;
    c.usage.kernel = g("system_usec") * 1000;
    c.throttling.periods = g("nr_periods");
    c.throttling.throttled_periods = g("nr_throttled");
    c.throttling.throttled_time = g("throttled_usec") * 1000;
    Ok(())
}

fn entry(d: &Path, prefix: &str) -> st::MemoryEntry {
    st::MemoryEntry {
        limit: read_u64_or_zero(d, &format!("{prefix}.max")),
        usage: read_u64_or_zero(d, &format!("{prefix}.current")),
        max: read_u64_or_zero(d, &format!("{prefix}.peak")),
        failcnt: 0,
    }
}

/// memory: usage, swap reported as memory+swap, and `memory.stat`.
pub fn memory(d: &Path, m: &mut st::Memory) -> Result<(), CgroupError> {
    m.raw = flat_keyed(&files::read(d, "memory.stat")?);
    m.cache = m.raw.get("file").copied().unwrap_or(0);
    m.usage = entry(d, "memory");
    m.usage.usage = files::read_u64(d, "memory.current")?;
    m.usage.failcnt = files::flat_keyed(&files::read(d, "memory.events")?)
        .get("max")
        .copied()
        .unwrap_or(0);
    // v1 reports swap as memory+swap; runc keeps that meaning on v2.
    let mut swap = entry(d, "memory.swap");
    swap.usage += m.usage.usage;
    if swap.limit != u64::MAX && m.usage.limit != u64::MAX {
        swap.limit += m.usage.limit;
    } else {
        swap.limit = u64::MAX;
    }
    m.swap = swap;
    Ok(())
}

/// pids: current and limit (0 for `max`).
pub fn pids(d: &Path, p: &mut st::Pids) -> Result<(), CgroupError> {
    super::super::v1::stats::pids(d, p)
}

/// Parses `io.stat`: `MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=..`.
pub fn parse_io_stat(text: &str, b: &mut st::Blkio) {
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(value) = v.parse() else { continue };
            let (list, op) = match k {
                "rbytes" => (&mut b.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut b.io_service_bytes_recursive, "Write"),
                "dbytes" => (&mut b.io_service_bytes_recursive, "Discard"),
                "rios" => (&mut b.io_serviced_recursive, "Read"),
                "wios" => (&mut b.io_serviced_recursive, "Write"),
                "dios" => (&mut b.io_serviced_recursive, "Discard"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
}

/// io.stat.
pub fn io(d: &Path, b: &mut st::Blkio) -> Result<(), CgroupError> {
    parse_io_stat(&files::read(d, "io.stat")?, b);
    Ok(())
}

/// hugetlb: per page size usage and failures (`max` events).
pub fn hugetlb(d: &Path, h: &mut BTreeMap<String, st::Hugetlb>) -> Result<(), CgroupError> {
    for size in st::hugepage_sizes() {
        let events = files::read(d, &format!("hugetlb.{size}.events")).unwrap_or_default();
        h.insert(
            size.clone(),
            st::Hugetlb {
                usage: read_u64_or_zero(d, &format!("hugetlb.{size}.current")),
                max: 0,
                failcnt: flat_keyed(&events).get("max").copied().unwrap_or(0),
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn cpu_and_memory() {
        let d = FakeDir::new(&[
            (
                "cpu.stat",
                "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 30\n",
            ),
            ("memory.stat", "anon 4096\nfile 8192\n"),
            ("memory.current", "12288\n"),
            ("memory.max", "1048576\n"),
            ("memory.peak", "16384\n"),
            ("memory.events", "low 0\nhigh 0\nmax 3\noom 0\noom_kill 0\n"),
            ("memory.swap.current", "100\n"),
            ("memory.swap.max", "max\n"),
            ("pids.current", "2\n"),
            ("pids.max", "50\n"),
        ]);
        let mut s = st::Stats::default();
        cpu(d.path(), &mut s.cpu).unwrap();
        memory(d.path(), &mut s.memory).unwrap();
        pids(d.path(), &mut s.pids).unwrap();
        assert_eq!(s.cpu.usage.total, 2_000_000);
        assert_eq!(s.cpu.usage.kernel, 500_000);
        assert_eq!(s.cpu.throttling.throttled_time, 30_000);
        assert_eq!(s.memory.cache, 8192);
        assert_eq!(s.memory.usage.usage, 12288);
        assert_eq!(s.memory.usage.limit, 1048576);
        assert_eq!(s.memory.usage.max, 16384);
        assert_eq!(s.memory.usage.failcnt, 3);
        assert_eq!(s.memory.swap.usage, 12388);
        assert_eq!(s.memory.swap.limit, u64::MAX);
        assert_eq!(s.pids.limit, 50);
    }

    #[test]
    fn io_stat() {
        let mut b = st::Blkio::default();
        parse_io_stat(
            "8:0 rbytes=4096 wbytes=512 rios=2 wios=1 dbytes=0 dios=0\n253:1 rbytes=1\n",
            &mut b,
        );
        assert_eq!(b.io_service_bytes_recursive.len(), 4);
        assert_eq!(b.io_service_bytes_recursive[0].op, "Read");
        assert_eq!(b.io_service_bytes_recursive[0].value, 4096);
        assert_eq!(b.io_serviced_recursive[1].op, "Write");
        assert_eq!(b.io_service_bytes_recursive[3].major, 253);
    }
}
