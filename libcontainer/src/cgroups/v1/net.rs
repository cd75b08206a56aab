//! v1 net_cls and net_prio: the class id and per-interface priorities (cgroup v2 has
//! neither; there, network resources are an error).

use std::path::Path;

use oci_spec::runtime::LinuxInterfacePriority;

use super::super::{files, CgroupError};

/// Writes `net_cls.classid`.
pub fn apply_class_id(d: &Path, id: u32) -> Result<(), CgroupError> {
    files::write(d, "net_cls.classid", id)
}

/// Writes one `net_prio.ifpriomap` line per interface.
pub fn apply_priorities(d: &Path, p: &[LinuxInterfacePriority]) -> Result<(), CgroupError> {
    for prio in p {
        if prio.name().is_empty() || prio.name().contains(char::is_whitespace) {
            return Err(CgroupError::Invalid(format!(
                "network.priorities: invalid interface name {:?}",
                prio.name()
            )));
        }
        files::write(
            d,
            "net_prio.ifpriomap",
            format!("{} {}", prio.name(), prio.priority()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn class_and_priorities() {
        let d = FakeDir::new(&[("net_cls.classid", "0"), ("net_prio.ifpriomap", "")]);
        apply_class_id(d.path(), 0x100001).unwrap();
        assert_eq!(d.get("net_cls.classid"), "1048577");
        let p: Vec<LinuxInterfacePriority> =
            serde_json::from_str(r#"[{"name":"eth0","priority":5}]"#).unwrap();
        apply_priorities(d.path(), &p).unwrap();
        assert_eq!(d.get("net_prio.ifpriomap"), "eth0 5");
    }
}
