//! Writing `linux.resources` into v1 controller files. Every field that is set is
//! either written or refused with the controller's name; none is skipped silently.

use std::path::{Path, PathBuf};

use super::CgroupError;
use crate::spec::{LinuxDevice, LinuxDeviceType, LinuxResources};

fn write(dir: &Path, file: &str, val: impl ToString) -> Result<(), CgroupError> {
    let p = dir.join(file);
    std::fs::write(&p, val.to_string()).map_err(|source| CgroupError::Io {
        what: "write",
        path: p,
        source,
    })
}

fn need(
    dir_for: &dyn Fn(&str) -> Option<PathBuf>,
    controller: &str,
) -> Result<PathBuf, CgroupError> {
    dir_for(controller).ok_or_else(|| {
        CgroupError::Unsupported(format!("the {controller} cgroup controller is not mounted"))
    })
}

fn unsupported(what: &str) -> CgroupError {
    CgroupError::Unsupported(format!(
        "linux.resources.{what} is not supported by quai yet"
    ))
}

/// A new cpuset cgroup starts with no cpus and mems; copy the parent's so a process
/// can join it.
pub(super) fn inherit_cpuset(dir: &Path, mount: &Path) -> Result<(), CgroupError> {
    let mut chain = Vec::new();
    let mut d = dir.to_path_buf();
    while d.starts_with(mount) && d != mount {
        chain.push(d.clone());
        if !d.pop() {
            break;
        }
    }
    for d in chain.into_iter().rev() {
        let parent = d.parent().unwrap_or(mount);
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let cur = std::fs::read_to_string(d.join(f)).unwrap_or_default();
            if cur.trim().is_empty() {
                let p =
                    std::fs::read_to_string(parent.join(f)).map_err(|source| CgroupError::Io {
                        what: "read",
                        path: parent.join(f),
                        source,
                    })?;
                write(&d, f, p.trim())?;
            }
        }
    }
    Ok(())
}

/// Device rules every container gets (runc's `AllowedDevices`): mknod of any node,
/// and the standard character devices.
const DEFAULT_ALLOWED: &[(&str, Option<i64>, Option<i64>, &str)] = &[
    ("c", None, None, "m"),
    ("b", None, None, "m"),
    ("c", Some(1), Some(3), "rwm"),
    ("c", Some(1), Some(8), "rwm"),
    ("c", Some(1), Some(7), "rwm"),
    ("c", Some(5), Some(0), "rwm"),
    ("c", Some(1), Some(5), "rwm"),
    ("c", Some(1), Some(9), "rwm"),
    ("c", Some(136), None, "rwm"),
    ("c", Some(5), Some(2), "rwm"),
];

/// One line of `devices.allow`/`devices.deny`.
fn device_rule(typ: &str, major: Option<i64>, minor: Option<i64>, access: &str) -> String {
    if typ == "a" {
        return "a".to_string();
    }
    let num = |n: Option<i64>| n.map(|v| v.to_string()).unwrap_or_else(|| "*".into());
    format!("{typ} {}:{} {access}", num(major), num(minor))
}

/// Applies resources on v1 hierarchies; `spec_devices` are the nodes `linux.devices`
/// creates, which the device rules must allow.
pub(super) fn apply_v1(
    dir_for: &dyn Fn(&str) -> Option<PathBuf>,
    r: &LinuxResources,
    spec_devices: &[LinuxDevice],
) -> Result<(), CgroupError> {
    if let Some(m) = r.memory() {
        let d = need(dir_for, "memory")?;
        if let Some(v) = m.limit() {
            write(&d, "memory.limit_in_bytes", v)?;
        }
        if let Some(v) = m.reservation() {
            write(&d, "memory.soft_limit_in_bytes", v)?;
        }
        if let Some(v) = m.swap() {
            if !d.join("memory.memsw.limit_in_bytes").exists() {
                return Err(CgroupError::Unsupported(
                    "memory.swap: swap accounting is not enabled on this host".into(),
                ));
            }
            write(&d, "memory.memsw.limit_in_bytes", v)?;
        }
        if let Some(v) = m.swappiness() {
            write(&d, "memory.swappiness", v)?;
        }
        if m.disable_oom_killer() == Some(true) {
            write(&d, "memory.oom_control", 1)?;
        }
        if m.kernel().is_some() || m.kernel_tcp().is_some() {
            return Err(unsupported("memory.kernel"));
        }
    }
    if let Some(c) = r.cpu() {
        let d = need(dir_for, "cpu")?;
        if let Some(v) = c.shares() {
            write(&d, "cpu.shares", v)?;
        }
        if let Some(v) = c.period() {
            write(&d, "cpu.cfs_period_us", v)?;
        }
        if let Some(v) = c.quota() {
            write(&d, "cpu.cfs_quota_us", v)?;
        }
        if let Some(v) = c.realtime_period() {
            write(&d, "cpu.rt_period_us", v)?;
        }
        if let Some(v) = c.realtime_runtime() {
            write(&d, "cpu.rt_runtime_us", v)?;
        }
        if c.burst().is_some() || c.idle().is_some() {
            return Err(unsupported("cpu.burst/idle"));
        }
        if c.cpus().is_some() || c.mems().is_some() {
            let d = need(dir_for, "cpuset")?;
            if let Some(v) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
                write(&d, "cpuset.cpus", v)?;
            }
            if let Some(v) = c.mems().as_deref().filter(|s| !s.is_empty()) {
                write(&d, "cpuset.mems", v)?;
            }
        }
    }
    if let Some(p) = r.pids() {
        let d = need(dir_for, "pids")?;
        let limit = p.limit();
        if limit > 0 {
            write(&d, "pids.max", limit)?;
        } else {
            write(&d, "pids.max", "max")?;
        }
    }
    if let Some(devs) = r.devices() {
        let d = need(dir_for, "devices")?;
        for rule in devs {
            let typ = rule
                .typ()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| "a".into());
            let access = rule.access().clone().unwrap_or_else(|| "rwm".into());
            let line = device_rule(&typ, rule.major(), rule.minor(), &access);
            write(
                &d,
                if rule.allow() {
                    "devices.allow"
                } else {
                    "devices.deny"
                },
                line,
            )?;
        }
        // As runc: the devices every container gets, and those the spec creates, stay
        // usable whatever the rules above denied.
        for (typ, major, minor, access) in DEFAULT_ALLOWED {
            write(
                &d,
                "devices.allow",
                device_rule(typ, *major, *minor, access),
            )?;
        }
        for dev in spec_devices {
            let typ = match dev.typ() {
                LinuxDeviceType::B => "b",
                LinuxDeviceType::C | LinuxDeviceType::U => "c",
                _ => continue,
            };
            write(
                &d,
                "devices.allow",
                device_rule(typ, Some(dev.major()), Some(dev.minor()), "rwm"),
            )?;
        }
    }
    if r.block_io()
        .as_ref()
        .is_some_and(|b| serde_json::to_value(b).is_ok_and(|v| v != serde_json::json!({})))
    {
        return Err(unsupported("blockIO"));
    }
    if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        return Err(unsupported("hugepageLimits"));
    }
    if r.network().is_some() {
        return Err(unsupported("network"));
    }
    if r.rdma().as_ref().is_some_and(|h| !h.is_empty()) {
        return Err(unsupported("rdma"));
    }
    if r.unified().as_ref().is_some_and(|h| !h.is_empty()) {
        return Err(CgroupError::Unsupported(
            "linux.resources.unified needs a cgroup v2 host".into(),
        ));
    }
    Ok(())
}

/// On a pure v2 host this driver places processes but does not yet write resources.
pub(super) fn refuse_v2(r: &LinuxResources) -> Result<(), CgroupError> {
    let v = serde_json::to_value(r).unwrap_or_default();
    let empty = v.as_object().is_none_or(|o| {
        o.values()
            .all(|x| x.is_null() || x == &serde_json::json!([]))
    });
    if empty {
        Ok(())
    } else {
        Err(CgroupError::Unsupported(
            "linux.resources on a cgroup v2 host are not supported by quai yet".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(device_rule("a", None, None, "rwm"), "a");
        assert_eq!(device_rule("c", Some(1), Some(3), "rwm"), "c 1:3 rwm");
        assert_eq!(device_rule("b", None, None, "m"), "b *:* m");
        assert_eq!(device_rule("c", Some(136), None, "rw"), "c 136:* rw");
    }
}
