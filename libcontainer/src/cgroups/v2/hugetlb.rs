//! v2 hugetlb: `hugetlb.<size>.max` (and `.rsvd.max` where the kernel has it).

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use super::super::v1::hugetlb::check_size;
use super::super::{files, CgroupError};

/// Writes each limit.
pub fn apply(d: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for l in limits {
        let size = l.page_size();
        let file = format!("hugetlb.{size}.max");
        check_size(d, size, &file)?;
        files::write(d, &file, l.limit())?;
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if files::exists(d, &rsvd) {
            files::write(d, &rsvd, l.limit())?;
        }
    }
    Ok(())
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
