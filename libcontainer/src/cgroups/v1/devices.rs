//! Device rules: the spec's `linux.resources.devices`, then runc's default devices and
//! the nodes of `linux.devices`, which stay usable whatever the spec denied. v1 writes
//! them to `devices.allow`/`devices.deny`; v2 compiles the same list to BPF.

use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use super::super::{files, CgroupError};
use crate::spec::{LinuxDevice, LinuxDeviceType};

/// Device type of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DevType {
    /// Every device (`a`): the rule also ignores major, minor and access.
    All,
    /// Block device.
    Block,
    /// Character device.
    Char,
}

/// Access bits, as the v2 BPF context encodes them.
pub(crate) const ACC_MKNOD: u32 = 1;
pub(crate) const ACC_READ: u32 = 2;
pub(crate) const ACC_WRITE: u32 = 4;
pub(crate) const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// One device rule; `None` for major or minor is `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub allow: bool,
    pub typ: DevType,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: u32,
}

impl Rule {
    /// The line v1's `devices.allow`/`devices.deny` take.
    pub(crate) fn v1_line(&self) -> String {
        let t = match self.typ {
            DevType::All => return "a".into(),
            DevType::Block => 'b',
            DevType::Char => 'c',
        };
        let num = |n: Option<i64>| n.map(|v| v.to_string()).unwrap_or_else(|| "*".into());
        let mut acc = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                acc.push(c);
            }
        }
        format!("{t} {}:{} {acc}", num(self.major), num(self.minor))
    }
}

fn rule(typ: DevType, major: Option<i64>, minor: Option<i64>, access: u32) -> Rule {
    Rule {
        allow: true,
        typ,
        major,
        minor,
        access,
    }
}

/// runc's `AllowedDevices`: mknod of any node, and the standard character devices.
pub(crate) fn default_allowed() -> Vec<Rule> {
    use DevType::{Block, Char};
    let rwm = ACC_ALL;
    vec![
        rule(Char, None, None, ACC_MKNOD),
        rule(Block, None, None, ACC_MKNOD),
        rule(Char, Some(1), Some(3), rwm), // null
        rule(Char, Some(1), Some(8), rwm), // random
        rule(Char, Some(1), Some(7), rwm), // full
        rule(Char, Some(5), Some(0), rwm), // tty
        rule(Char, Some(1), Some(5), rwm), // zero
        rule(Char, Some(1), Some(9), rwm), // urandom
        rule(Char, Some(136), None, rwm),  // pts
        rule(Char, Some(5), Some(2), rwm), // ptmx
    ]
}

fn parse_access(s: Option<&str>) -> Result<u32, CgroupError> {
    let s = s.unwrap_or("rwm");
    if s.is_empty() {
        return Ok(ACC_ALL);
    }
    let mut acc = 0;
    for c in s.chars() {
        acc |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(CgroupError::Invalid(format!(
                    "devices: invalid access {s:?}"
                )))
            }
        };
    }
    Ok(acc)
}

/// The whole rule list, in order, later rules winning: deny everything (runc starts
/// from an empty allow list on v1 and v2 alike), the spec's rules, the defaults, and
/// the nodes of `linux.devices`.
pub(crate) fn effective_rules(
    spec_rules: &[LinuxDeviceCgroup],
    spec_devices: &[LinuxDevice],
) -> Result<Vec<Rule>, CgroupError> {
    let mut out = vec![Rule {
        allow: false,
        typ: DevType::All,
        major: None,
        minor: None,
        access: ACC_ALL,
    }];
    for r in spec_rules {
        let typ = match r.typ() {
            None | Some(LinuxDeviceType::A) => DevType::All,
            Some(LinuxDeviceType::B) => DevType::Block,
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => DevType::Char,
            Some(LinuxDeviceType::P) => {
                return Err(CgroupError::Invalid(
                    "devices: a fifo (type p) cannot have a device rule".into(),
                ))
            }
        };
        out.push(Rule {
            allow: r.allow(),
            typ,
            major: r.major().filter(|m| *m >= 0),
            minor: r.minor().filter(|m| *m >= 0),
            access: parse_access(r.access().as_deref())?,
        });
    }
    out.extend(default_allowed());
    for dev in spec_devices {
        let typ = match dev.typ() {
            LinuxDeviceType::B => DevType::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => DevType::Char,
            _ => continue,
        };
        out.push(rule(typ, Some(dev.major()), Some(dev.minor()), ACC_ALL));
    }
    Ok(out)
}

/// v1: denies everything, then writes the spec's rules, the defaults and the spec's
/// nodes (a new cgroup inherits its parent's list, usually "allow all").
pub fn apply(
    d: &Path,
    spec_rules: &[LinuxDeviceCgroup],
    spec_devices: &[LinuxDevice],
) -> Result<(), CgroupError> {
    for r in effective_rules(spec_rules, spec_devices)? {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        files::write(d, file, r.v1_line())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let r = |typ, major, minor, access| Rule {
            allow: true,
            typ,
            major,
            minor,
            access,
        };
        assert_eq!(r(DevType::All, None, None, ACC_ALL).v1_line(), "a");
        assert_eq!(
            r(DevType::Char, Some(1), Some(3), ACC_ALL).v1_line(),
            "c 1:3 rwm"
        );
        assert_eq!(
            r(DevType::Block, None, None, ACC_MKNOD).v1_line(),
            "b *:* m"
        );
        assert_eq!(
            r(DevType::Char, Some(136), None, ACC_READ | ACC_WRITE).v1_line(),
            "c 136:* rw"
        );
    }

    #[test]
    fn effective_list_order() {
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":200,"access":"rw"}]"#,
        )
        .unwrap();
        let devs: Vec<LinuxDevice> =
            serde_json::from_str(r#"[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]"#)
                .unwrap();
        let rules = effective_rules(&spec, &devs).unwrap();
        assert_eq!(rules[0].v1_line(), "a");
        assert!(!rules[0].allow && !rules[1].allow);
        assert_eq!(rules[2].v1_line(), "c 10:200 rw");
        assert_eq!(rules.last().unwrap().v1_line(), "c 10:229 rwm");
        assert_eq!(rules.len(), 3 + default_allowed().len() + 1);
        let bad: Vec<LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow":true,"access":"rwx"}]"#).unwrap();
        assert!(effective_rules(&bad, &[]).is_err());
    }

    #[test]
    fn writes_allow_and_deny() {
        let d =
            crate::cgroups::testutil::FakeDir::new(&[("devices.allow", ""), ("devices.deny", "")]);
        let spec: Vec<LinuxDeviceCgroup> =
            serde_json::from_str(r#"[{"allow":false,"access":"rwm"}]"#).unwrap();
        apply(d.path(), &spec, &[]).unwrap();
        assert_eq!(d.get("devices.deny"), "a");
        // The last write wins in a fake file: the last default rule.
        assert_eq!(d.get("devices.allow"), "c 5:2 rwm");
    }
}
