//! v1 memory: limit, memory+swap, reservation, kernel and TCP memory, swappiness,
//! OOM killer and hierarchy, in runc's order and with its checks.

use std::path::Path;

use super::super::{files, CgroupError};
use oci_spec::runtime::LinuxMemory;

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

/// Writes the memory fields that are set (0 means unset, -1 unlimited, as runc).
pub fn apply(d: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = m.limit().unwrap_or(0);
    if m.check_before_update() == Some(true) && limit > 0 {
        check_usage(d, limit)?;
    }
    set_limit_and_swap(d, limit, m.swap().unwrap_or(0))?;
    if let Some(v) = m.reservation().filter(|v| *v != 0) {
        files::write(d, "memory.soft_limit_in_bytes", v)?;
    }
    #[allow(deprecated)]
    let kernel = m.kernel();
    if let Some(v) = kernel.filter(|v| *v != 0) {
        need_file(d, "memory.kmem.limit_in_bytes", "memory.kernel")?;
        files::write(d, "memory.kmem.limit_in_bytes", v)?;
    }
    if let Some(v) = m.kernel_tcp().filter(|v| *v != 0) {
        need_file(d, "memory.kmem.tcp.limit_in_bytes", "memory.kernelTCP")?;
        files::write(d, "memory.kmem.tcp.limit_in_bytes", v)?;
    }
    if let Some(v) = m.swappiness() {
        if v > 100 {
            return Err(CgroupError::Invalid(format!(
                "memory.swappiness: {v} is not in 0..=100"
            )));
        }
        files::write(d, "memory.swappiness", v)?;
    }
    if let Some(v) = m.disable_oom_killer() {
        files::write(d, "memory.oom_control", u8::from(v))?;
    }
    if let Some(v) = m.use_hierarchy() {
        files::write(d, "memory.use_hierarchy", u8::from(v))?;
    }
    Ok(())
}

fn need_file(d: &Path, file: &str, field: &str) -> Result<(), CgroupError> {
    if files::exists(d, file) {
        Ok(())
    } else {
        Err(CgroupError::Unsupported(format!(
            "linux.resources.{field}: this kernel's memory cgroup has no {file}"
        )))
    }
}

/// `checkBeforeUpdate`: refuse a limit below what the cgroup already uses, rather than
/// let the kernel reclaim or OOM-kill to meet it.
fn check_usage(d: &Path, limit: i64) -> Result<(), CgroupError> {
    let usage = files::read_u64(d, "memory.usage_in_bytes")?;
    if (limit as u64) < usage {
        return Err(CgroupError::Invalid(format!(
            "memory.limit: {limit} is below the current usage {usage} (checkBeforeUpdate)"
        )));
    }
    Ok(())
}

/// The kernel wants memsw >= limit at every moment, so the order of the two writes
/// depends on whether the limit grows or shrinks (runc's `setMemoryAndSwap`).
fn set_limit_and_swap(d: &Path, limit: i64, mut swap: i64) -> Result<(), CgroupError> {
    let has_memsw = files::exists(d, MEMSW);
    // Unlimited memory with swap unset means unlimited swap too, where swap is accounted.
    if limit == -1 && swap == 0 && has_memsw {
        swap = -1;
    }
    if swap != 0 && !has_memsw {
        return Err(CgroupError::Unsupported(format!(
            "linux.resources.memory.swap: swap accounting is not enabled on this host (no {MEMSW})"
        )));
    }
    if limit != 0 && swap != 0 {
        let cur = files::read_u64(d, LIMIT)?;
        if swap == -1 || cur < swap as u64 {
            files::write(d, MEMSW, swap)?;
            return files::write(d, LIMIT, limit);
        }
    }
    if limit != 0 {
        files::write(d, LIMIT, limit)?;
    }
    if swap != 0 {
        files::write(d, MEMSW, swap)?;
    }
    Ok(())
}

/// The OOM kills counted in `memory.oom_control` (kernel 4.13+).
pub fn oom_kill_count(d: &Path) -> Result<u64, CgroupError> {
    super::keyed(d, "memory.oom_control", "oom_kill")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use oci_spec::runtime::LinuxMemoryBuilder;

    fn fake() -> FakeDir {
        FakeDir::new(&[
            (LIMIT, "9223372036854771712"),
            (MEMSW, "9223372036854771712"),
            ("memory.soft_limit_in_bytes", ""),
            ("memory.kmem.tcp.limit_in_bytes", ""),
            ("memory.swappiness", "60"),
            (
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
            ),
            ("memory.use_hierarchy", "1"),
            ("memory.usage_in_bytes", "1048576"),
        ])
    }

    #[test]
    fn writes_every_field() {
        let d = fake();
        let m = LinuxMemoryBuilder::default()
            .limit(1 << 24)
            .swap(1 << 25)
            .reservation(1 << 23)
            .kernel_tcp(1 << 20)
            .swappiness(10u64)
            .disable_oom_killer(true)
            .use_hierarchy(true)
            .build()
            .unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(d.get(LIMIT), (1 << 24).to_string());
        assert_eq!(d.get(MEMSW), (1 << 25).to_string());
        assert_eq!(d.get("memory.soft_limit_in_bytes"), (1 << 23).to_string());
        assert_eq!(
            d.get("memory.kmem.tcp.limit_in_bytes"),
            (1 << 20).to_string()
        );
        assert_eq!(d.get("memory.swappiness"), "10");
        assert_eq!(d.get("memory.oom_control"), "1");
        assert_eq!(d.get("memory.use_hierarchy"), "1");
    }

    #[test]
    fn unlimited_memory_means_unlimited_swap() {
        let d = fake();
        let m = LinuxMemoryBuilder::default().limit(-1).build().unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(d.get(LIMIT), "-1");
        assert_eq!(d.get(MEMSW), "-1");
    }

    #[test]
    fn refusals_name_the_field() {
        let d = fake();
        std::fs::remove_file(d.path().join(MEMSW)).unwrap();
        let m = LinuxMemoryBuilder::default()
            .limit(10)
            .swap(20)
            .build()
            .unwrap();
        assert!(apply(d.path(), &m)
            .unwrap_err()
            .to_string()
            .contains("memory.swap"));
        #[allow(deprecated)]
        let m = LinuxMemoryBuilder::default()
            .kernel(1 << 20)
            .build()
            .unwrap();
        let e = apply(d.path(), &m).unwrap_err().to_string();
        assert!(e.contains("memory.kernel"), "{e}");
        let m = LinuxMemoryBuilder::default()
            .swappiness(101u64)
            .build()
            .unwrap();
        assert!(apply(d.path(), &m).is_err());
    }

    #[test]
    fn check_before_update() {
        let d = fake();
        let m = LinuxMemoryBuilder::default()
            .limit(4096)
            .check_before_update(true)
            .build()
            .unwrap();
        let e = apply(d.path(), &m).unwrap_err().to_string();
        assert!(e.contains("below the current usage"), "{e}");
        assert_eq!(oom_kill_count(d.path()).unwrap(), 3);
    }
}
