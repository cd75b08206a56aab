//! v1 device rules: the rule list's meaning ([`Filter`]) written as the kernel holds it
//! (allow or deny all, then the exceptions), then read back from `devices.list` to check
//! the kernel holds exactly that.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use super::super::device_filter::Filter;
use super::super::device_rules::rule_list;
use super::super::{files, CgroupError};
use crate::spec::LinuxDevice;

/// Writes the device rules of `linux.resources.devices` (plus runc's defaults, minus
/// those `linux.devices` replaces) to the cgroup `d`, whatever list it inherited.
pub fn apply(
    d: &Path,
    spec_rules: &[LinuxDeviceCgroup],
    spec_devices: &[LinuxDevice],
) -> Result<(), CgroupError> {
    let want = Filter::from_rules(&rule_list(spec_rules, spec_devices)?)?;
    // The reset, then the exceptions: each file opened once, one rule per write.
    for run in want.v1_writes().chunk_by(|a, b| a.0 == b.0) {
        let lines: Vec<String> = run.iter().map(|(_, l)| l.clone()).collect();
        files::write_each(d, run[0].0, &lines)?;
    }
    check(d, &want)
}

/// `devices.list` must show `want`: the same exceptions on a deny-by-default cgroup;
/// on an allow-by-default one the kernel shows only `a *:* rwm`.
fn check(d: &Path, want: &Filter) -> Result<(), CgroupError> {
    let text = files::read(d, "devices.list")?;
    let ok = match Filter::from_v1_list(&text) {
        None => want.default_allow,
        Some(Ok(have)) => !want.default_allow && have == *want,
        Some(Err(_)) => false,
    };
    if ok {
        return Ok(());
    }
    Err(CgroupError::Unsupported(format!(
        "linux.resources.devices: the devices cgroup {} holds {:?}, not {}",
        d.display(),
        text.trim(),
        want.describe()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_reset_then_exceptions() {
        // A fake devices.list cannot follow the writes: give it what the kernel would show.
        let d = crate::cgroups::testutil::FakeDir::new(&[
            ("devices.allow", ""),
            ("devices.deny", ""),
            ("devices.list", "a *:* rwm\n"),
        ]);
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(
            r#"[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":11,"access":"rwm"}]"#,
        )
        .unwrap();
        apply(d.path(), &spec, &[]).unwrap();
        assert_eq!(d.get("devices.allow"), "a");
        // runc's default "c *:* m" comes later and gives mknod back.
        assert_eq!(d.get("devices.deny"), "c 1:11 rw");
        // Deny-by-default: the fake list still says allow-all, so the check refuses.
        let e = apply(d.path(), &[], &[]).unwrap_err().to_string();
        assert!(e.contains("not deny all, allow b *:* m"), "{e}");
    }
}
