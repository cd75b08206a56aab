//! v2 hugetlb: `hugetlb.<size>.max` (and `.rsvd.max` where the kernel has it).

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use super::super::v1::hugetlb::write_limits;
use super::super::CgroupError;

/// Writes each limit.
pub fn apply(d: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    write_limits(d, limits, "max")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn limits() {
        let d = FakeDir::new(&[("hugetlb.2MB.max", "max"), ("hugetlb.2MB.rsvd.max", "max")]);
        let l: Vec<LinuxHugepageLimit> =
            serde_json::from_str(r#"[{"pageSize":"2MB","limit":2097152}]"#).unwrap();
        apply(d.path(), &l).unwrap();
        assert_eq!(d.get("hugetlb.2MB.max"), "2097152");
        assert_eq!(d.get("hugetlb.2MB.rsvd.max"), "2097152");
    }
}
