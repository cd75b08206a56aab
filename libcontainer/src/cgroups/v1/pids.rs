//! v1 pids (the same file as v2): `pids.max`.

use std::path::Path;

use super::super::{files, CgroupError};
use oci_spec::runtime::LinuxPids;

/// Writes the limit; 0 or less means no limit (`max`), as runc.
pub fn apply(d: &Path, p: &LinuxPids) -> Result<(), CgroupError> {
    if p.limit() > 0 {
        files::write(d, "pids.max", p.limit())
    } else {
        files::write(d, "pids.max", "max")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use oci_spec::runtime::LinuxPidsBuilder;

    #[test]
    fn limit_and_max() {
        let d = FakeDir::new(&[("pids.max", "max")]);
        apply(
            d.path(),
            &LinuxPidsBuilder::default().limit(10).build().unwrap(),
        )
        .unwrap();
        assert_eq!(d.get("pids.max"), "10");
        apply(
            d.path(),
            &LinuxPidsBuilder::default().limit(-1).build().unwrap(),
        )
        .unwrap();
        assert_eq!(d.get("pids.max"), "max");
    }
}
