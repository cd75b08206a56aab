//! v2 cpu and cpuset: `cpu.weight` (from shares), `cpu.max`, `cpu.max.burst`,
//! `cpu.idle`, `cpuset.cpus`/`cpuset.mems`. Real-time limits have no v2 files.

use std::path::Path;

use oci_spec::runtime::LinuxCpu;

use super::super::convert::{cpu_max, shares_to_weight};
use super::super::{files, CgroupError};

pub use super::super::v1::cpu::has_cpu_fields;

fn need(d: &Path, file: &str, field: &str) -> Result<(), CgroupError> {
    if files::exists(d, file) {
        return Ok(());
    }
    Err(CgroupError::Unsupported(format!(
        "linux.resources.cpu.{field}: this kernel's cpu controller has no {file}"
    )))
}

/// Writes the cpu controller's fields.
pub fn apply(d: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        return Err(CgroupError::Unsupported(
            "linux.resources.cpu.realtimeRuntime/realtimePeriod: real-time group scheduling does not exist on cgroup v2".into(),
        ));
    }
    if let Some(v) = c.idle() {
        need(d, "cpu.idle", "idle")?;
        files::write(d, "cpu.idle", v)?;
    }
    // An idle group has no weight (the kernel refuses one): idle wins, as in runc.
    if let Some(w) = c.shares().map(shares_to_weight).filter(|w| *w != 0) {
        if c.idle() != Some(1) {
            files::write(d, "cpu.weight", w)?;
        }
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    let burst = c.burst();
    if burst.is_some() {
        need(d, "cpu.max.burst", "burst")?;
    }
    // The burst may not exceed the quota: write it before cpu.max when it shrinks,
    // after when it grows; try the other order if the kernel refuses (runc).
    let write_max = || -> Result<(), CgroupError> {
        if quota != 0 || period != 0 {
            files::write(d, "cpu.max", cpu_max(quota, period))?;
        }
        Ok(())
    };
    match burst {
        Some(b) => {
            if files::write(d, "cpu.max.burst", b).is_err() {
                write_max()?;
                files::write(d, "cpu.max.burst", b)?;
            } else {
                write_max()?;
            }
        }
        None => write_max()?,
    }
    Ok(())
}

/// Writes `cpuset.cpus` and `cpuset.mems` when set and not empty.
pub fn apply_cpuset(d: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    super::super::v1::cpuset::apply(d, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use oci_spec::runtime::LinuxCpuBuilder;

    #[test]
    fn weight_max_burst_idle() {
        let d = FakeDir::new(&[
            ("cpu.weight", "100"),
            ("cpu.max", "max 100000"),
            ("cpu.max.burst", "0"),
            ("cpu.idle", "0"),
            ("cpuset.cpus", ""),
            ("cpuset.mems", ""),
        ]);
        let c = LinuxCpuBuilder::default()
            .shares(1024u64)
            .quota(50000)
            .period(100000u64)
            .burst(10000u64)
            .idle(0)
            .cpus("0")
            .mems("0")
            .build()
            .unwrap();
        apply(d.path(), &c).unwrap();
        apply_cpuset(d.path(), &c).unwrap();
        assert_eq!(d.get("cpu.weight"), "39");
        assert_eq!(d.get("cpu.max"), "50000 100000");
        assert_eq!(d.get("cpu.max.burst"), "10000");
        assert_eq!(d.get("cpu.idle"), "0");
        assert_eq!(d.get("cpuset.cpus"), "0");
        let only_period = LinuxCpuBuilder::default().period(20000u64).build().unwrap();
        apply(d.path(), &only_period).unwrap();
        assert_eq!(d.get("cpu.max"), "max 20000");
        let rt = LinuxCpuBuilder::default()
            .realtime_runtime(10)
            .build()
            .unwrap();
        assert!(apply(d.path(), &rt)
            .unwrap_err()
            .to_string()
            .contains("realtime"));
    }
}
