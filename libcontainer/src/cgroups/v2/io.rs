//! v2 io: weights (`io.bfq.weight` where BFQ has it, else `io.weight` converted from
//! the v1 range) and `io.max` throttles. Leaf weights do not exist on v2.

use std::path::Path;

use oci_spec::runtime::LinuxBlockIo;

use super::super::convert::blkio_weight_to_io_weight;
use super::super::{files, CgroupError};

/// True when `b` sets anything.
pub fn has_fields(b: &LinuxBlockIo) -> bool {
    let some = |v: &Option<Vec<_>>| v.as_ref().is_some_and(|v: &Vec<_>| !v.is_empty());
    b.weight().is_some()
        || b.leaf_weight().is_some()
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || some(b.throttle_read_bps_device())
        || some(b.throttle_write_bps_device())
        || some(b.throttle_read_iops_device())
        || some(b.throttle_write_iops_device())
}

fn refuse(field: &str, why: &str) -> CgroupError {
    CgroupError::Unsupported(format!("linux.resources.blockIO.{field}: {why}"))
}

/// Writes the blockIO fields.
pub fn apply(d: &Path, b: &LinuxBlockIo) -> Result<(), CgroupError> {
    let bfq = files::exists(d, "io.bfq.weight");
    if b.leaf_weight().is_some_and(|w| w != 0) {
        return Err(refuse(
            "leafWeight",
            "leaf weights do not exist on cgroup v2",
        ));
    }
    if let Some(w) = b.weight().filter(|w| *w != 0) {
        if bfq {
            files::write(d, "io.bfq.weight", w)?;
        } else {
            if !files::exists(d, "io.weight") {
                return Err(refuse(
                    "weight",
                    "neither io.bfq.weight nor io.weight exists (no weight-based I/O control on this host)",
                ));
            }
            files::write(d, "io.weight", blkio_weight_to_io_weight(u64::from(w)))?;
        }
    }
    for wd in b.weight_device().iter().flatten() {
        if wd.leaf_weight().is_some_and(|w| w != 0) {
            return Err(refuse(
                "weightDevice.leafWeight",
                "leaf weights do not exist on cgroup v2",
            ));
        }
        if let Some(w) = wd.weight().filter(|w| *w != 0) {
            if !bfq {
                return Err(refuse(
                    "weightDevice",
                    "per-device weights need the BFQ scheduler (io.bfq.weight)",
                ));
            }
            files::write(
                d,
                "io.bfq.weight",
                format!("{}:{} {w}", wd.major(), wd.minor()),
            )?;
        }
    }
    let throttles = [
        (b.throttle_read_bps_device(), "rbps"),
        (b.throttle_write_bps_device(), "wbps"),
        (b.throttle_read_iops_device(), "riops"),
        (b.throttle_write_iops_device(), "wiops"),
    ];
    for (list, key) in throttles {
        for t in list.iter().flatten() {
            // 0 in the spec means "no limit", as on v1.
            let rate = if t.rate() == 0 {
                "max".to_string()
            } else {
                t.rate().to_string()
            };
            files::write(
                d,
                "io.max",
                format!("{}:{} {key}={rate}", t.major(), t.minor()),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    fn b(json: &str) -> LinuxBlockIo {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn weight_converted_and_throttles() {
        let d = FakeDir::new(&[("io.weight", "default 100"), ("io.max", "")]);
        apply(d.path(), &b(r#"{"weight":500}"#)).unwrap();
        assert_eq!(d.get("io.weight"), "4950");
        apply(
            d.path(),
            &b(r#"{"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":10}]}"#),
        )
        .unwrap();
        assert_eq!(d.get("io.max"), "8:0 wiops=10");
        assert!(apply(d.path(), &b(r#"{"leafWeight":10}"#)).is_err());
        let e = apply(
            d.path(),
            &b(r#"{"weightDevice":[{"major":8,"minor":0,"weight":10}]}"#),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("BFQ"), "{e}");
    }

    #[test]
    fn bfq_weights() {
        let d = FakeDir::new(&[("io.bfq.weight", "default 100")]);
        apply(d.path(), &b(r#"{"weight":300}"#)).unwrap();
        assert_eq!(d.get("io.bfq.weight"), "300");
        apply(
            d.path(),
            &b(r#"{"weightDevice":[{"major":8,"minor":0,"weight":200}]}"#),
        )
        .unwrap();
        assert_eq!(d.get("io.bfq.weight"), "8:0 200");
    }
}
