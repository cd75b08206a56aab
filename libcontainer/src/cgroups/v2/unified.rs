//! `linux.resources.unified`: raw v2 key/values, each key one file of the container's
//! own directory (never a path that leaves it), its controller enabled first.

use std::collections::HashMap;

use super::super::path::is_plain_name;
use super::super::{files, CgroupError};
use super::V2;

/// Writes each key's value, in key order.
pub fn apply(v: &V2, u: &HashMap<String, String>) -> Result<(), CgroupError> {
    let mut keys: Vec<_> = u.iter().collect();
    keys.sort_by(|a, b| a.0.cmp(b.0));
    for (k, val) in keys {
        if !is_plain_name(k) {
            return Err(CgroupError::Invalid(format!(
                "unified: key {k:?} must be a file name of the cgroup directory"
            )));
        }
        let Some((controller, _)) = k.split_once('.') else {
            return Err(CgroupError::Invalid(format!(
                "unified: key {k:?} must be CONTROLLER.PARAMETER"
            )));
        };
        if controller != "cgroup" {
            v.need(controller, &format!("unified.{k}"))?;
        }
        if !files::exists(v.dir(), k) {
            return Err(CgroupError::Unsupported(format!(
                "linux.resources.unified.{k}: no such file in the {controller} controller"
            )));
        }
        files::write(v.dir(), k, val)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn keys_stay_inside() {
        let d = FakeDir::new(&[
            ("cgroup.controllers", "memory"),
            ("c/cgroup.controllers", "memory"),
            ("c/memory.high", "max"),
            ("c/cgroup.max.depth", "max"),
        ]);
        let v = V2::new(d.path().to_path_buf(), d.path().join("c"));
        let m = |k: &str, val: &str| HashMap::from([(k.to_string(), val.to_string())]);
        apply(&v, &m("memory.high", "1048576")).unwrap();
        assert_eq!(d.get("c/memory.high"), "1048576");
        apply(&v, &m("cgroup.max.depth", "3")).unwrap();
        assert!(apply(&v, &m("../memory.high", "1")).is_err());
        assert!(apply(&v, &m("..", "1")).is_err());
        assert!(apply(&v, &m("nodot", "1")).is_err());
        let e = apply(&v, &m("io.max", "1")).unwrap_err().to_string();
        assert!(e.contains("io cgroup v2 controller"), "{e}");
        assert!(apply(&v, &m("memory.nosuch", "1")).is_err());
    }
}
