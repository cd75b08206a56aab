//! v1 blkio: weights (BFQ's files where the kernel has them, as runc prefers) and the
//! per-device throttles.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};

use super::super::{files, CgroupError};

/// Writes every blockIO field that is set.
pub fn apply(d: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    // BFQ replaced CFQ; its files carry the same values.
    let (weight, weight_device) = if files::exists(d, "blkio.bfq.weight") {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        need(d, weight, "blockIO.weight")?;
        files::write(d, weight, w)?;
    }
    if let Some(w) = b.leaf_weight().filter(|w| *w != 0) {
        need(d, "blkio.leaf_weight", "blockIO.leafWeight")?;
        files::write(d, "blkio.leaf_weight", w)?;
    }
    for wd in b.weight_device().iter().flatten() {
        if let Some(w) = wd.weight().filter(|w| *w != 0) {
            need(d, weight_device, "blockIO.weightDevice")?;
            files::write(
                d,
                weight_device,
                format!("{}:{} {w}", wd.major(), wd.minor()),
            )?;
        }
        if let Some(w) = wd.leaf_weight().filter(|w| *w != 0) {
            need(
                d,
                "blkio.leaf_weight_device",
                "blockIO.weightDevice.leafWeight",
            )?;
            files::write(
                d,
                "blkio.leaf_weight_device",
                format!("{}:{} {w}", wd.major(), wd.minor()),
            )?;
        }
    }
    let throttles: [(&Option<Vec<LinuxThrottleDevice>>, &str, &str); 4] = [
        (
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "blockIO.throttleReadBpsDevice",
        ),
        (
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "blockIO.throttleWriteBpsDevice",
        ),
        (
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "blockIO.throttleReadIOPSDevice",
        ),
        (
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "blockIO.throttleWriteIOPSDevice",
        ),
    ];
    for (list, file, field) in throttles {
        for t in list.iter().flatten() {
            need(d, file, field)?;
            files::write(d, file, format!("{}:{} {}", t.major(), t.minor(), t.rate()))?;
        }
    }
    Ok(())
}

fn need(d: &Path, file: &str, field: &str) -> Result<(), CgroupError> {
    if files::exists(d, file) {
        return Ok(());
    }
    Err(CgroupError::Unsupported(format!(
        "linux.resources.{field}: the blkio cgroup has no {file} on this host (is an I/O scheduler with cgroup support in use?)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    fn block_io(json: &str) -> LinuxBlockIo {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn weights_and_throttles() {
        let d = FakeDir::new(&[
            ("blkio.weight", ""),
            ("blkio.weight_device", ""),
            ("blkio.leaf_weight", ""),
            ("blkio.leaf_weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ]);
        let b = block_io(
            r#"{"weight":300,"leafWeight":200,
                "weightDevice":[{"major":8,"minor":0,"weight":500,"leafWeight":400}],
                "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],
                "throttleWriteIOPSDevice":[{"major":8,"minor":16,"rate":100}]}"#,
        );
        apply(d.path(), &b).unwrap();
        assert_eq!(d.get("blkio.weight"), "300");
        assert_eq!(d.get("blkio.leaf_weight"), "200");
        assert_eq!(d.get("blkio.weight_device"), "8:0 500");
        assert_eq!(d.get("blkio.leaf_weight_device"), "8:0 400");
        assert_eq!(d.get("blkio.throttle.read_bps_device"), "8:0 1048576");
        assert_eq!(d.get("blkio.throttle.write_iops_device"), "8:16 100");
    }

    #[test]
    fn bfq_preferred_and_missing_files_refused() {
        let d = FakeDir::new(&[("blkio.bfq.weight", ""), ("blkio.weight", "")]);
        apply(d.path(), &block_io(r#"{"weight":100}"#)).unwrap();
        assert_eq!(d.get("blkio.bfq.weight"), "100");
        let e = apply(d.path(), &block_io(r#"{"leafWeight":100}"#))
            .unwrap_err()
            .to_string();
        assert!(e.contains("blockIO.leafWeight"), "{e}");
    }
}
