//! v1 cpu: shares, CFS quota/period/burst, idle, and real-time runtime/period.

use std::path::Path;

use super::super::{files, CgroupError};
use oci_spec::runtime::LinuxCpu;

/// True when `c` sets anything of the cpu controller (not cpuset).
pub fn has_cpu_fields(c: &LinuxCpu) -> bool {
    c.shares().is_some()
        || c.quota().is_some()
        || c.period().is_some()
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some()
        || c.realtime_period().is_some()
}

fn is_einval(e: &CgroupError) -> bool {
    matches!(e, CgroupError::Io { source, .. } if source.raw_os_error() == Some(libc::EINVAL))
}

/// Writes the cpu fields that are set, as runc orders them.
pub fn apply(d: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        files::write(d, "cpu.shares", shares)?;
        // The kernel clamps shares silently; say so instead, as runc does.
        let got = files::read_u64(d, "cpu.shares")?;
        if shares > got {
            return Err(CgroupError::Invalid(format!(
                "cpu.shares: the maximum allowed is {got}"
            )));
        } else if shares < got {
            return Err(CgroupError::Invalid(format!(
                "cpu.shares: the minimum allowed is {got}"
            )));
        }
    }
    let quota = c.quota().unwrap_or(0);
    // A shorter period can be refused until the quota is lowered: retry it after.
    let mut period_later = None;
    if let Some(p) = c.period().filter(|p| *p != 0) {
        match files::write(d, "cpu.cfs_period_us", p) {
            Err(e) if is_einval(&e) && quota != 0 => period_later = Some(p),
            r => r?,
        }
    }
    let mut burst_later = None;
    if let Some(b) = c.burst() {
        if !files::exists(d, "cpu.cfs_burst_us") {
            return Err(CgroupError::Unsupported(
                "linux.resources.cpu.burst: this kernel's cpu cgroup has no cpu.cfs_burst_us"
                    .into(),
            ));
        }
        match files::write(d, "cpu.cfs_burst_us", b) {
            Err(e) if is_einval(&e) && quota != 0 => burst_later = Some(b),
            r => r?,
        }
    }
    if quota != 0 {
        files::write(d, "cpu.cfs_quota_us", quota)?;
        if let Some(p) = period_later {
            files::write(d, "cpu.cfs_period_us", p)?;
        }
        if let Some(b) = burst_later {
            files::write(d, "cpu.cfs_burst_us", b)?;
        }
    }
    if let Some(v) = c.idle() {
        if !files::exists(d, "cpu.idle") {
            return Err(CgroupError::Unsupported(
                "linux.resources.cpu.idle: this kernel's cpu cgroup has no cpu.idle".into(),
            ));
        }
        files::write(d, "cpu.idle", v)?;
    }
    if let Some(v) = c.realtime_period().filter(|v| *v != 0) {
        need_rt(d, "cpu.rt_period_us")?;
        files::write(d, "cpu.rt_period_us", v)?;
    }
    if let Some(v) = c.realtime_runtime().filter(|v| *v != 0) {
        need_rt(d, "cpu.rt_runtime_us")?;
        files::write(d, "cpu.rt_runtime_us", v)?;
    }
    Ok(())
}

fn need_rt(d: &Path, file: &str) -> Result<(), CgroupError> {
    if files::exists(d, file) {
        return Ok(());
    }
    Err(CgroupError::Unsupported(format!(
        "linux.resources.cpu.realtime: this kernel has no {file} (CONFIG_RT_GROUP_SCHED is off)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use oci_spec::runtime::LinuxCpuBuilder;

    #[test]
    fn writes_cpu_files() {
        let d = FakeDir::new(&[
            ("cpu.shares", "1024"),
            ("cpu.cfs_period_us", "100000"),
            ("cpu.cfs_quota_us", "-1"),
            ("cpu.cfs_burst_us", "0"),
            ("cpu.idle", "0"),
            ("cpu.rt_period_us", "1000000"),
            ("cpu.rt_runtime_us", "0"),
        ]);
        let c = LinuxCpuBuilder::default()
            .period(50000u64)
            .quota(25000)
            .burst(1000u64)
            .idle(1)
            .realtime_period(900000u64)
            .realtime_runtime(1000)
            .build()
            .unwrap();
        apply(d.path(), &c).unwrap();
        assert_eq!(d.get("cpu.cfs_period_us"), "50000");
        assert_eq!(d.get("cpu.cfs_quota_us"), "25000");
        assert_eq!(d.get("cpu.cfs_burst_us"), "1000");
        assert_eq!(d.get("cpu.idle"), "1");
        assert_eq!(d.get("cpu.rt_period_us"), "900000");
        assert_eq!(d.get("cpu.rt_runtime_us"), "1000");
    }

    #[test]
    fn shares_are_read_back() {
        let d = FakeDir::new(&[("cpu.shares", "1024")]);
        let c = LinuxCpuBuilder::default().shares(512u64).build().unwrap();
        apply(d.path(), &c).unwrap();
        assert_eq!(d.get("cpu.shares"), "512");
        let no_rt = FakeDir::new(&[]);
        let c = LinuxCpuBuilder::default()
            .realtime_runtime(5)
            .build()
            .unwrap();
        let e = apply(no_rt.path(), &c).unwrap_err().to_string();
        assert!(e.contains("cpu.realtime"), "{e}");
    }
}
