//! The device rule list of a container, as runc 1.1.5 assembles it: the rules of
//! `linux.resources.devices` in their order, then runc's default allow list. The nodes
//! of `linux.devices` add no rule: a node whose path is one of the defaults' paths
//! (`/dev/null`, ...) drops that default, so its access follows
//! `linux.resources.devices` alone. [`super::device_filter`] turns the list into what
//! the kernel holds (v1) or the BPF program checks (v2).

use oci_spec::runtime::LinuxDeviceCgroup;

use super::CgroupError;
use crate::spec::{LinuxDevice, LinuxDeviceType};

/// Device type of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DevType {
    /// Every device (`a`): the rule resets the whole list to allow or deny all,
    /// whatever its major, minor and access say (as v1's `a` line does).
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
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
    /// Where the rule comes from, for error messages.
    pub origin: String,
}

/// `c 1:3 rwm`, `b *:* m`, `a`: the line v1's `devices.allow`/`devices.deny` take.
pub(crate) fn v1_line(typ: DevType, major: Option<u32>, minor: Option<u32>, access: u32) -> String {
    let t = match typ {
        DevType::All => return "a".into(),
        DevType::Block => 'b',
        DevType::Char => 'c',
    };
    let num = |n: Option<u32>| n.map_or_else(|| "*".into(), |v| v.to_string());
    format!("{t} {}:{} {}", num(major), num(minor), access_str(access))
}

/// `rwm` order, as the kernel prints it.
fn access_str(access: u32) -> String {
    [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')]
        .iter()
        .filter(|(bit, _)| access & bit != 0)
        .map(|(_, c)| *c)
        .collect()
}

impl Rule {
    /// The rule as v1 writes it.
    pub(crate) fn v1_line(&self) -> String {
        v1_line(self.typ, self.major, self.minor, self.access)
    }
}

/// runc 1.1.5's `AllowedDevices`: mknod of any node, the standard character devices,
/// the pty slaves, and tun/tap. The path is the node the default stands for.
fn default_allowed() -> Vec<(Option<&'static str>, Rule)> {
    use DevType::{Block, Char};
    let r = |typ, major, minor, access, what: &str| Rule {
        allow: true,
        typ,
        major,
        minor,
        access,
        origin: format!("runc's default device rule for {what}"),
    };
    vec![
        (None, r(Char, None, None, ACC_MKNOD, "mknod")),
        (None, r(Block, None, None, ACC_MKNOD, "mknod")),
        (
            Some("/dev/null"),
            r(Char, Some(1), Some(3), ACC_ALL, "/dev/null"),
        ),
        (
            Some("/dev/random"),
            r(Char, Some(1), Some(8), ACC_ALL, "/dev/random"),
        ),
        (
            Some("/dev/full"),
            r(Char, Some(1), Some(7), ACC_ALL, "/dev/full"),
        ),
        (
            Some("/dev/tty"),
            r(Char, Some(5), Some(0), ACC_ALL, "/dev/tty"),
        ),
        (
            Some("/dev/zero"),
            r(Char, Some(1), Some(5), ACC_ALL, "/dev/zero"),
        ),
        (
            Some("/dev/urandom"),
            r(Char, Some(1), Some(9), ACC_ALL, "/dev/urandom"),
        ),
        (None, r(Char, Some(136), None, ACC_ALL, "/dev/pts/*")),
        (None, r(Char, Some(5), Some(2), ACC_ALL, "/dev/ptmx")),
        (None, r(Char, Some(10), Some(200), ACC_ALL, "/dev/net/tun")),
    ]
}

fn parse_access(i: usize, s: Option<&str>) -> Result<u32, CgroupError> {
    // Absent is "rwm" (the runtime-spec's default); empty is refused, as runc does.
    let s = s.unwrap_or("rwm");
    // Letters other than r, w and m are ignored, as runc ignores them ("rwa" is in its
    // own tests); an access with none of the three is refused.
    let acc = s.chars().fold(0, |acc, c| {
        acc | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    });
    if acc == 0 {
        return Err(CgroupError::Invalid(format!(
            "devices[{i}]: invalid access {s:?} (it needs r, w or m)"
        )));
    }
    Ok(acc)
}

/// A major or minor of a cgroup rule: absent or -1 is the wildcard (runc); any other
/// negative number is refused, and so is one from 2^32-1 up (v1's kernel reads 2^32-1 as
/// its own wildcard, where the v2 program would match no device).
fn rule_number(i: usize, field: &str, n: Option<i64>) -> Result<Option<u32>, CgroupError> {
    match n {
        None | Some(-1) => Ok(None),
        Some(v) => u32::try_from(v)
            .ok()
            .filter(|v| *v != u32::MAX)
            .map(Some)
            .ok_or_else(|| {
                CgroupError::Invalid(format!(
                    "devices[{i}].{field}: {v} is not a device number (-1 or absent means any)"
                ))
            }),
    }
}

/// One rule of `linux.resources.devices`.
fn spec_rule(i: usize, r: &LinuxDeviceCgroup) -> Result<Rule, CgroupError> {
    let typ = match r.typ() {
        None | Some(LinuxDeviceType::A) => DevType::All,
        Some(LinuxDeviceType::B) => DevType::Block,
        Some(LinuxDeviceType::C) => DevType::Char,
        Some(t) => {
            return Err(CgroupError::Invalid(format!(
                "devices[{i}]: invalid device type {:?} (a, b or c)",
                t.as_str()
            )))
        }
    };
    Ok(Rule {
        allow: r.allow(),
        typ,
        major: rule_number(i, "major", r.major())?,
        minor: rule_number(i, "minor", r.minor())?,
        access: parse_access(i, r.access().as_deref())?,
        origin: format!("linux.resources.devices[{i}]"),
    })
}

/// The whole rule list, in order, later rules winning: the spec's rules, then runc's
/// defaults minus those whose node `linux.devices` replaces. No rule at all denies
/// every device (runc's emulator starts from deny-all).
pub(crate) fn rule_list(
    spec_rules: &[LinuxDeviceCgroup],
    spec_devices: &[LinuxDevice],
) -> Result<Vec<Rule>, CgroupError> {
    let mut out = spec_rules
        .iter()
        .enumerate()
        .map(|(i, r)| spec_rule(i, r))
        .collect::<Result<Vec<_>, _>>()?;
    let replaced = |p: &str| spec_devices.iter().any(|d| d.path().as_os_str() == p);
    out.extend(
        default_allowed()
            .into_iter()
            .filter(|(path, _)| !path.is_some_and(replaced))
            .map(|(_, r)| r),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rules: &str, devices: &str) -> Result<Vec<Rule>, CgroupError> {
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(rules).unwrap();
        let devs: Vec<LinuxDevice> = serde_json::from_str(devices).unwrap();
        rule_list(&spec, &devs)
    }

    #[test]
    fn lines() {
        assert_eq!(v1_line(DevType::All, None, None, ACC_ALL), "a");
        assert_eq!(
            v1_line(DevType::Char, Some(1), Some(3), ACC_ALL),
            "c 1:3 rwm"
        );
        assert_eq!(v1_line(DevType::Block, None, None, ACC_MKNOD), "b *:* m");
        assert_eq!(
            v1_line(DevType::Char, Some(136), None, ACC_READ | ACC_WRITE),
            "c 136:* rw"
        );
    }

    #[test]
    fn spec_rules_then_defaults_and_no_rule_for_linux_devices() {
        let rules = list(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"}]"#,
            r#"[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]"#,
        )
        .unwrap();
        assert_eq!((rules[0].v1_line(), rules[0].allow), ("a".into(), false));
        assert_eq!(rules[1].v1_line(), "c 10:229 rw");
        assert_eq!(rules[1].origin, "linux.resources.devices[1]");
        assert_eq!(rules.len(), 2 + default_allowed().len());
        assert_eq!(rules.last().unwrap().v1_line(), "c 10:200 rwm");
        assert!(rules[2..].iter().all(|r| r.allow));
    }

    #[test]
    fn a_linux_devices_node_replaces_the_default_of_its_path() {
        let rules = list(
            "[]",
            r#"[{"path":"/dev/null","type":"c","major":1,"minor":3}]"#,
        )
        .unwrap();
        assert_eq!(rules.len(), default_allowed().len() - 1);
        assert!(!rules.iter().any(|r| r.v1_line() == "c 1:3 rwm"));
    }

    #[test]
    fn numbers_and_access() {
        let r = list(
            r#"[{"allow":true,"type":"c","major":-1,"access":"r"}]"#,
            "[]",
        )
        .unwrap();
        assert_eq!(r[0].v1_line(), "c *:* r");
        // runc's update.bats writes "rwa": the unknown letter is ignored, as runc does.
        let r = list(
            r#"[{"allow":false,"type":"c","major":1,"minor":11,"access":"rwa"}]"#,
            "[]",
        )
        .unwrap();
        assert_eq!(r[0].v1_line(), "c 1:11 rw");
        for bad in [
            r#"[{"allow":true,"type":"c","major":-2,"access":"r"}]"#,
            r#"[{"allow":true,"type":"c","minor":4294967296,"access":"r"}]"#,
            r#"[{"allow":true,"type":"c","major":4294967295,"access":"r"}]"#,
            r#"[{"allow":true,"access":"xyz"}]"#,
            r#"[{"allow":true,"access":""}]"#,
            r#"[{"allow":true,"type":"p","access":"r"}]"#,
        ] {
            let e = list(bad, "[]").unwrap_err().to_string();
            assert!(e.starts_with("linux.resources.devices[0]"), "{bad}: {e}");
        }
    }
}
