//! rdma (the same file on v1 and v2): `rdma.max`, one line per device.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::LinuxRdma;

use super::super::{files, CgroupError};

/// The `rdma.max` line for one device (runc's format; an unset count stays as it is).
pub(crate) fn line(device: &str, r: &LinuxRdma) -> String {
    let mut s = device.to_string();
    if let Some(h) = r.hca_handles() {
        s.push_str(&format!(" hca_handle={h}"));
    }
    if let Some(o) = r.hca_objects() {
        s.push_str(&format!(" hca_object={o}"));
    }
    s
}

/// Writes each device's limits.
pub fn apply(d: &Path, limits: &HashMap<String, LinuxRdma>) -> Result<(), CgroupError> {
    let mut devs: Vec<_> = limits.iter().collect();
    devs.sort_by(|a, b| a.0.cmp(b.0));
    for (dev, r) in devs {
        if dev.is_empty() || dev.contains(char::is_whitespace) {
            return Err(CgroupError::Invalid(format!(
                "rdma: invalid device {dev:?}"
            )));
        }
        files::write(d, "rdma.max", line(dev, r))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn lines() {
        let d = FakeDir::new(&[("rdma.max", "")]);
        let m: HashMap<String, LinuxRdma> =
            serde_json::from_str(r#"{"mlx4_0":{"hcaHandles":2,"hcaObjects":2000}}"#).unwrap();
        apply(d.path(), &m).unwrap();
        assert_eq!(d.get("rdma.max"), "mlx4_0 hca_handle=2 hca_object=2000");
    }
}
