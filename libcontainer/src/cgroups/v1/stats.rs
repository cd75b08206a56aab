//! v1 statistics: cpuacct, cpu throttling, memory, pids, blkio and hugetlb files,
//! parsed into runc's `events --stats` shape.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::files::{self, flat_keyed, read_u64_or_zero};
use super::super::stats::{self as st, BlkioEntry};
use super::super::CgroupError;

/// `USER_HZ`: the unit of `cpuacct.stat`.
const CLOCK_TICKS: u64 = 100;
const NANOS: u64 = 1_000_000_000;

fn numbers(text: &str) -> Vec<u64> {
    text.split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// cpuacct: total and per-CPU time, user and kernel time.
pub fn cpuacct(d: &Path, cpu: &mut st::Cpu) -> Result<(), CgroupError> {
    cpu.usage.total = files::read_u64(d, "cpuacct.usage")?;
    cpu.usage.percpu = numbers(&files::read(d, "cpuacct.usage_percpu")?);
    let stat = flat_keyed(&files::read(d, "cpuacct.stat")?);
    let ticks = |k: &str| stat.get(k).copied().unwrap_or(0) * (NANOS / CLOCK_TICKS);
    cpu.usage.user = ticks("user");
    cpu.usage.kernel = ticks("system");
    if let Ok(all) = files::read(d, "cpuacct.usage_all") {
        // "cpu user system" per line, after a header.
        for line in all.lines().skip(1) {
            let n = numbers(line);
            if n.len() == 3 {
                cpu.usage.percpu_user.push(n[1]);
                cpu.usage.percpu_kernel.push(n[2]);
            }
        }
    }
    Ok(())
}

/// cpu.stat: CFS throttling (`throttled_time` is in nanoseconds on v1).
pub fn throttling(d: &Path, t: &mut st::Throttling) -> Result<(), CgroupError> {
    let s = flat_keyed(&files::read(d, "cpu.stat")?);
    let g = |k: &str| s.get(k).copied().unwrap_or(0);
    t.periods = g("nr_periods");
    t.throttled_periods = g("nr_throttled");
    t.throttled_time = g("throttled_time");
    Ok(())
}

fn memory_entry(d: &Path, prefix: &str) -> st::MemoryEntry {
    let f = |name: &str| read_u64_or_zero(d, &format!("{prefix}{name}"));
    st::MemoryEntry {
        limit: f("limit_in_bytes"),
        usage: f("usage_in_bytes"),
        max: f("max_usage_in_bytes"),
        failcnt: f("failcnt"),
    }
}

/// memory: usage, memory+swap, kernel and TCP, and `memory.stat`.
pub fn memory(d: &Path, m: &mut st::Memory) -> Result<(), CgroupError> {
    m.raw = flat_keyed(&files::read(d, "memory.stat")?);
    // runc reports the hierarchical cache when the cgroup has children.
    m.cache = m.raw.get("cache").copied().unwrap_or(0);
    m.usage = memory_entry(d, "memory.");
    m.usage.limit = files::read_u64(d, "memory.limit_in_bytes")?;
    m.swap = memory_entry(d, "memory.memsw.");
    m.kernel = memory_entry(d, "memory.kmem.");
    m.kernel_tcp = memory_entry(d, "memory.kmem.tcp.");
    Ok(())
}

/// pids: current and limit (0 for `max`).
pub fn pids(d: &Path, p: &mut st::Pids) -> Result<(), CgroupError> {
    p.current = files::read_u64(d, "pids.current")?;
    let max = files::read_u64(d, "pids.max")?;
    p.limit = if max == u64::MAX { 0 } else { max };
    Ok(())
}

/// Parses a v1 blkio statistics file: `MAJ:MIN Op value` lines, or `MAJ:MIN value`
/// for files without operations; the trailing `Total N` line is skipped.
pub fn parse_blkio(text: &str) -> Vec<BlkioEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let Some((maj, min)) = f.first().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) else {
            continue;
        };
        let (op, value) = match f.len() {
            2 => (String::new(), f[1]),
            3 => (f[1].to_string(), f[2]),
            _ => continue,
        };
        let Ok(value) = value.parse() else { continue };
        out.push(BlkioEntry {
            major,
            minor,
            op,
            value,
        });
    }
    out
}

/// blkio: CFQ's statistics where present, else BFQ's, else the throttle layer's
/// (runc's order).
pub fn blkio(d: &Path, b: &mut st::Blkio) -> Result<(), CgroupError> {
    let read = |f: &str| parse_blkio(&files::read(d, f).unwrap_or_default());
    let prefix = if files::exists(d, "blkio.io_service_bytes_recursive")
        && !read("blkio.io_service_bytes_recursive").is_empty()
    {
        "blkio."
    } else if files::exists(d, "blkio.bfq.io_service_bytes_recursive") {
        "blkio.bfq."
    } else {
        b.io_service_bytes_recursive = read("blkio.throttle.io_service_bytes_recursive");
        b.io_serviced_recursive = read("blkio.throttle.io_serviced_recursive");
        return Ok(());
    };
    let p = |f: &str| read(&format!("{prefix}{f}"));
    b.io_service_bytes_recursive = p("io_service_bytes_recursive");
    b.io_serviced_recursive = p("io_serviced_recursive");
    b.io_queued_recursive = p("io_queued_recursive");
    b.io_service_time_recursive = p("io_service_time_recursive");
    b.io_wait_time_recursive = p("io_wait_time_recursive");
    b.io_merged_recursive = p("io_merged_recursive");
    b.io_time_recursive = p("time_recursive");
    b.sectors_recursive = p("sectors_recursive");
    if b.io_service_bytes_recursive.is_empty() {
        // BFQ without debug statistics: the throttle layer still counts.
        b.io_service_bytes_recursive = read("blkio.throttle.io_service_bytes_recursive");
        b.io_serviced_recursive = read("blkio.throttle.io_serviced_recursive");
    }
    Ok(())
}

/// hugetlb: per page size usage, peak and failures.
pub fn hugetlb(d: &Path, h: &mut BTreeMap<String, st::Hugetlb>) -> Result<(), CgroupError> {
    for size in st::hugepage_sizes() {
        let f = |n: &str| read_u64_or_zero(d, &format!("hugetlb.{size}.{n}"));
        h.insert(
            size.clone(),
            st::Hugetlb {
                usage: f("usage_in_bytes"),
                max: f("max_usage_in_bytes"),
                failcnt: f("failcnt"),
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
    fn cpu_memory_pids() {
        let d = FakeDir::new(&[
            ("cpuacct.usage", "3000000000\n"),
            ("cpuacct.usage_percpu", "1000000000 2000000000 \n"),
            ("cpuacct.stat", "user 150\nsystem 50\n"),
            (
                "cpuacct.usage_all",
                "cpu user system\n0 700 300\n1 1200 800\n",
            ),
            (
                "cpu.stat",
                "nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n",
            ),
            ("memory.stat", "cache 4096\nrss 8192\ntotal_cache 4096\n"),
            ("memory.limit_in_bytes", "9223372036854771712\n"),
            ("memory.usage_in_bytes", "12288\n"),
            ("memory.max_usage_in_bytes", "20480\n"),
            ("memory.failcnt", "1\n"),
            ("memory.memsw.usage_in_bytes", "16384\n"),
            ("memory.memsw.limit_in_bytes", "9223372036854771712\n"),
            ("memory.kmem.tcp.usage_in_bytes", "0\n"),
            ("pids.current", "3\n"),
            ("pids.max", "max\n"),
        ]);
        let mut s = st::Stats::default();
        cpuacct(d.path(), &mut s.cpu).unwrap();
        throttling(d.path(), &mut s.cpu.throttling).unwrap();
        memory(d.path(), &mut s.memory).unwrap();
        pids(d.path(), &mut s.pids).unwrap();
        assert_eq!(s.cpu.usage.total, 3_000_000_000);
        assert_eq!(s.cpu.usage.percpu, vec![1_000_000_000, 2_000_000_000]);
        assert_eq!(s.cpu.usage.user, 1_500_000_000);
        assert_eq!(s.cpu.usage.kernel, 500_000_000);
        assert_eq!(s.cpu.usage.percpu_user, vec![700, 1200]);
        assert_eq!(s.cpu.throttling.throttled_time, 5000);
        assert_eq!(s.memory.cache, 4096);
        assert_eq!(s.memory.usage.usage, 12288);
        assert_eq!(s.memory.usage.max, 20480);
        assert_eq!(s.memory.usage.failcnt, 1);
        assert_eq!(s.memory.swap.usage, 16384);
        assert_eq!(s.memory.raw["rss"], 8192);
        assert_eq!(s.pids.current, 3);
        assert_eq!(s.pids.limit, 0);
    }

    #[test]
    fn blkio_lines() {
        let e = parse_blkio("8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n");
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].op, "Read");
        assert_eq!(e[0].value, 4096);
        let s = parse_blkio("8:16 77\n");
        assert_eq!((s[0].major, s[0].minor, s[0].value), (8, 16, 77));
        let d = FakeDir::new(&[
            (
                "blkio.throttle.io_service_bytes_recursive",
                "8:0 Read 512\nTotal 512\n",
            ),
            ("blkio.throttle.io_serviced_recursive", "8:0 Read 1\n"),
        ]);
        let mut b = st::Blkio::default();
        blkio(d.path(), &mut b).unwrap();
        assert_eq!(b.io_service_bytes_recursive[0].value, 512);
        assert_eq!(b.io_serviced_recursive[0].value, 1);
    }
}
