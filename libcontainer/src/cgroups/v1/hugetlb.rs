//! v1 hugetlb: `hugetlb.<size>.limit_in_bytes` (and the reservation limit where the
//! kernel has it, as runc writes both).

use std::path::Path;

use oci_spec::runtime::LinuxHugepageLimit;

use super::super::path::is_plain_name;
use super::super::{files, CgroupError};

/// Checks a page size from the spec (`2MB`) names a size this cgroup has.
pub(crate) fn check_size(d: &Path, size: &str, file: &str) -> Result<(), CgroupError> {
    let ok = is_plain_name(size)
        && size.len() > 2
        && size[..size.len() - 2].bytes().all(|b| b.is_ascii_digit())
        && ["KB", "MB", "GB"].iter().any(|u| size.ends_with(u));
    if !ok {
        return Err(CgroupError::Invalid(format!(
            "hugepageLimits: invalid page size {size:?}"
        )));
    }
    if !files::exists(d, file) {
        return Err(CgroupError::Unsupported(format!(
            "linux.resources.hugepageLimits: the hugetlb cgroup has no {file}: page size {size} is not supported by this host"
        )));
    }
    Ok(())
}

/// Writes each limit.
pub fn apply(d: &Path, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    write_limits(d, limits, "limit_in_bytes")
}

/// Writes each limit to `hugetlb.<size>.<suffix>` (and the reservation file where the
/// kernel has one); v1 and v2 differ only in the suffix.
pub(crate) fn write_limits(
    d: &Path,
    limits: &[LinuxHugepageLimit],
    suffix: &str,
) -> Result<(), CgroupError> {
    for l in limits {
        let size = l.page_size();
        let file = format!("hugetlb.{size}.{suffix}");
        check_size(d, size, &file)?;
        files::write(d, &file, l.limit())?;
        let rsvd = format!("hugetlb.{size}.rsvd.{suffix}");
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
        let d = FakeDir::new(&[
            ("hugetlb.2MB.limit_in_bytes", ""),
            ("hugetlb.2MB.rsvd.limit_in_bytes", ""),
        ]);
        let l: Vec<LinuxHugepageLimit> =
            serde_json::from_str(r#"[{"pageSize":"2MB","limit":4194304}]"#).unwrap();
        apply(d.path(), &l).unwrap();
        assert_eq!(d.get("hugetlb.2MB.limit_in_bytes"), "4194304");
        assert_eq!(d.get("hugetlb.2MB.rsvd.limit_in_bytes"), "4194304");
        let bad: Vec<LinuxHugepageLimit> =
            serde_json::from_str(r#"[{"pageSize":"../2MB","limit":1}]"#).unwrap();
        assert!(apply(d.path(), &bad).is_err());
        let missing: Vec<LinuxHugepageLimit> =
            serde_json::from_str(r#"[{"pageSize":"1GB","limit":1}]"#).unwrap();
        assert!(apply(d.path(), &missing)
            .unwrap_err()
            .to_string()
            .contains("1GB"));
    }
}
