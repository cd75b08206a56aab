//! v2 memory: `memory.max`, `memory.swap.max` (swap alone: the spec's memory+swap minus
//! the limit), `memory.low`. v1-only fields are errors, not silently dropped.

use std::path::Path;

use oci_spec::runtime::LinuxMemory;

use super::super::convert::{memory_value, swap_to_v2};
use super::super::{files, CgroupError};

/// True when `m` sets anything.
pub fn has_fields(m: &LinuxMemory) -> bool {
    #[allow(deprecated)]
    let kernel = m.kernel();
    m.limit().is_some()
        || m.swap().is_some()
        || m.reservation().is_some()
        || kernel.is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer() == Some(true)
        || m.use_hierarchy() == Some(false)
}

fn no_v2(field: &str, why: &str) -> CgroupError {
    CgroupError::Unsupported(format!(
        "linux.resources.memory.{field}: {why} on cgroup v2"
    ))
}

/// Writes the memory fields.
pub fn apply(d: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    #[allow(deprecated)]
    let kernel = m.kernel();
    if kernel.is_some_and(|v| v != 0) {
        return Err(no_v2("kernel", "kernel memory has no separate limit"));
    }
    if m.kernel_tcp().is_some_and(|v| v != 0) {
        return Err(no_v2(
            "kernelTCP",
            "TCP buffer memory has no separate limit",
        ));
    }
    if m.swappiness().is_some() {
        return Err(no_v2("swappiness", "there is no per-cgroup swappiness"));
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(no_v2(
            "disableOOMKiller",
            "the OOM killer cannot be disabled",
        ));
    }
    if m.use_hierarchy() == Some(false) {
        return Err(no_v2("useHierarchy", "accounting is always hierarchical"));
    }
    let limit = m.limit().unwrap_or(0);
    let swap_spec = m.swap().unwrap_or(0);
    if m.check_before_update() == Some(true) && limit > 0 {
        let usage = files::read_u64(d, "memory.current")?;
        if (limit as u64) < usage {
            return Err(CgroupError::Invalid(format!(
                "memory.limit: {limit} is below the current usage {usage} (checkBeforeUpdate)"
            )));
        }
    }
    let swap = swap_to_v2(swap_spec, limit)?;
    // memory == swap in the spec: no swap at all ("0"), as runc.
    let swap_str = memory_value(swap).or_else(|| (swap_spec > 0).then(|| "0".to_string()));
    if let Some(s) = swap_str {
        if files::exists(d, "memory.swap.max") {
            files::write(d, "memory.swap.max", &s)?;
        } else if s != "max" && s != "0" {
            // Without swap accounting only "no limit" and "no swap" hold anyway.
            return Err(CgroupError::Unsupported(
                "linux.resources.memory.swap: swap accounting is not enabled on this host (no memory.swap.max)".into(),
            ));
        }
    }
    if let Some(v) = memory_value(limit) {
        files::write(d, "memory.max", v)?;
    }
    if let Some(v) = m.reservation().and_then(memory_value) {
        files::write(d, "memory.low", v)?;
    }
    Ok(())
}

/// `oom_kill` of `memory.events`.
pub fn oom_kill_count(d: &Path) -> Result<u64, CgroupError> {
    Ok(files::flat_keyed(&files::read(d, "memory.events")?)
        .get("oom_kill")
        .copied()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use oci_spec::runtime::LinuxMemoryBuilder;

    fn fake() -> FakeDir {
        FakeDir::new(&[
            ("memory.max", "max"),
            ("memory.swap.max", "max"),
            ("memory.low", "0"),
            ("memory.current", "8192"),
            ("memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n"),
        ])
    }

    #[test]
    fn limit_swap_reservation() {
        let d = fake();
        let m = LinuxMemoryBuilder::default()
            .limit(1 << 20)
            .swap(3 << 20)
            .reservation(1 << 19)
            .build()
            .unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(d.get("memory.max"), (1 << 20).to_string());
        assert_eq!(d.get("memory.swap.max"), (2 << 20).to_string());
        assert_eq!(d.get("memory.low"), (1 << 19).to_string());
        assert_eq!(oom_kill_count(d.path()).unwrap(), 1);
    }

    #[test]
    fn swap_equal_to_limit_disables_swap() {
        let d = fake();
        let m = LinuxMemoryBuilder::default()
            .limit(100)
            .swap(100)
            .build()
            .unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(d.get("memory.swap.max"), "0");
        let m = LinuxMemoryBuilder::default().limit(-1).build().unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(d.get("memory.max"), "max");
        assert_eq!(d.get("memory.swap.max"), "max");
    }

    #[test]
    fn v1_only_fields_refused() {
        let d = fake();
        for json in [
            r#"{"swappiness":10}"#,
            r#"{"kernelTCP":100}"#,
            r#"{"disableOOMKiller":true}"#,
            r#"{"useHierarchy":false}"#,
        ] {
            let m: LinuxMemory = serde_json::from_str(json).unwrap();
            assert!(has_fields(&m));
            assert!(apply(d.path(), &m).is_err(), "{json}");
        }
        let m = LinuxMemoryBuilder::default()
            .limit(4096)
            .check_before_update(true)
            .build()
            .unwrap();
        assert!(apply(d.path(), &m).is_err());
    }
}
