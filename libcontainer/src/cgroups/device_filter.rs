//! What a device rule list means, in the form the kernel's v1 device cgroup holds: a
//! default (allow or deny every device) and exceptions to it, one per
//! (type, major, minor) with their access bits. v1 writes exactly this; v2 compiles
//! it to BPF. Like runc's devices emulator, but the meaning is the list's, read with
//! last match wins:
//!
//! - an `a` rule resets everything to allow-all or deny-all;
//! - a rule against the default adds (merges into) an exception;
//! - a rule with the default's action takes its access bits off every exception it
//!   covers (the same node, or a node its wildcards include);
//! - a rule that covers only part of an earlier exception (deny `c 1:7` after allow
//!   `c 1:*`, or deny `c 1:*` after allow `c *:7`) cannot be held by the kernel's v1
//!   list, and is refused, as runc refuses the first ("cannot punch hole in existing
//!   wildcard rule"; it lets the second through, leaving 1:7 open).
//!
//! An access is allowed on a deny-by-default list when one exception matches the device
//! and holds every requested bit; on an allow-by-default list it is denied when an
//! exception matches the device and holds any requested bit (the kernel's
//! `match_exception` and `match_exception_partial`).

use std::collections::BTreeMap;

use super::device_rules::{v1_line, DevType, Rule, ACC_ALL, ACC_MKNOD, ACC_READ, ACC_WRITE};
use super::CgroupError;

/// The (type, major, minor) an exception is about; `None` is `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Node {
    pub typ: DevType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
}

impl Node {
    /// True when every device `other` names is one `self` names.
    fn covers(&self, other: &Node) -> bool {
        self.typ == other.typ
            && (self.major.is_none() || self.major == other.major)
            && (self.minor.is_none() || self.minor == other.minor)
    }

    /// True when some device is named by both.
    fn overlaps(&self, other: &Node) -> bool {
        let num = |a: Option<u32>, b: Option<u32>| a.is_none() || b.is_none() || a == b;
        self.typ == other.typ && num(self.major, other.major) && num(self.minor, other.minor)
    }

    /// Whether the device (typ, major, minor) is one this node names.
    #[cfg(test)]
    fn matches(&self, typ: DevType, major: u32, minor: u32) -> bool {
        self.typ == typ
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
    }
}

/// A default and its exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// True for allow-all-but-the-exceptions, false for deny-all-but.
    pub default_allow: bool,
    /// Each node's access bits, excepted from the default.
    pub exceptions: BTreeMap<Node, u32>,
}

impl Filter {
    /// The meaning of `rules`, starting from deny-all.
    pub(crate) fn from_rules(rules: &[Rule]) -> Result<Filter, CgroupError> {
        let mut f = Filter {
            default_allow: false,
            exceptions: BTreeMap::new(),
        };
        for r in rules {
            f.apply(r)?;
        }
        Ok(f)
    }

    fn apply(&mut self, r: &Rule) -> Result<(), CgroupError> {
        if r.typ == DevType::All {
            self.default_allow = r.allow;
            self.exceptions.clear();
            return Ok(());
        }
        let node = Node {
            typ: r.typ,
            major: r.major,
            minor: r.minor,
        };
        if r.allow != self.default_allow {
            *self.exceptions.entry(node).or_insert(0) |= r.access;
            return Ok(());
        }
        // The rule agrees with the default: it takes its bits off what it covers, and
        // cannot be expressed when it would split an exception that is wider.
        for (other, bits) in &self.exceptions {
            if other.overlaps(&node) && !node.covers(other) && bits & r.access != 0 {
                return Err(CgroupError::Unsupported(format!(
                    "{} ({} {}) cannot be applied: it covers only part of the earlier \
                     rule {} {}, and a device cgroup cannot hold the difference",
                    r.origin,
                    if r.allow { "allow" } else { "deny" },
                    r.v1_line(),
                    if r.allow { "deny" } else { "allow" },
                    v1_line(other.typ, other.major, other.minor, *bits),
                )));
            }
        }
        self.exceptions.retain(|other, bits| {
            if node.covers(other) {
                *bits &= !r.access;
            }
            *bits != 0
        });
        Ok(())
    }

    /// Whether an access (`ACC_*` bits) to the device is allowed (the kernel's reading
    /// of the v1 list; the tests hold the BPF program and the rule list to it).
    #[cfg(test)]
    pub(crate) fn allows(&self, typ: DevType, major: u32, minor: u32, access: u32) -> bool {
        let mut hits = self
            .exceptions
            .iter()
            .filter(|(n, _)| n.matches(typ, major, minor));
        if self.default_allow {
            !hits.any(|(_, bits)| bits & access != 0)
        } else {
            hits.any(|(_, bits)| bits & access == access)
        }
    }

    /// The v1 writes that give a fresh cgroup (whatever its list) this filter: the
    /// reset (`devices.allow` or `devices.deny` of `a`), then each exception.
    pub(crate) fn v1_writes(&self) -> Vec<(&'static str, String)> {
        let (reset, except) = if self.default_allow {
            ("devices.allow", "devices.deny")
        } else {
            ("devices.deny", "devices.allow")
        };
        let mut w = vec![(reset, "a".to_string())];
        for (n, bits) in &self.exceptions {
            w.push((except, v1_line(n.typ, n.major, n.minor, *bits)));
        }
        w
    }

    /// The filter a v1 `devices.list` shows. The kernel lists an allow-by-default
    /// cgroup as `a *:* rwm` alone, hiding its deny exceptions: `None` then.
    pub(crate) fn from_v1_list(text: &str) -> Option<Result<Filter, String>> {
        let mut f = Filter {
            default_allow: false,
            exceptions: BTreeMap::new(),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match parse_list_line(line) {
                Ok(None) => return None,
                Ok(Some((node, bits))) => *f.exceptions.entry(node).or_insert(0) |= bits,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(f))
    }

    /// The exceptions as v1 lines, for messages.
    pub(crate) fn describe(&self) -> String {
        let mut s = String::from(if self.default_allow {
            "allow all"
        } else {
            "deny all"
        });
        for (n, bits) in &self.exceptions {
            s.push_str(if self.default_allow {
                ", deny "
            } else {
                ", allow "
            });
            s.push_str(&v1_line(n.typ, n.major, n.minor, *bits));
        }
        s
    }
}

/// One `devices.list` line: `c 1:3 rwm`; `a *:* rwm` is `None`.
fn parse_list_line(line: &str) -> Result<Option<(Node, u32)>, String> {
    let bad = || format!("unexpected devices.list line {line:?}");
    let mut it = line.split_whitespace();
    let (t, nums, acc) = match (it.next(), it.next(), it.next(), it.next()) {
        (Some(t), Some(n), Some(a), None) => (t, n, a),
        _ => return Err(bad()),
    };
    let typ = match t {
        "a" => return Ok(None),
        "b" => DevType::Block,
        "c" => DevType::Char,
        _ => return Err(bad()),
    };
    let (ma, mi) = nums.split_once(':').ok_or_else(bad)?;
    let num = |s: &str| match s {
        "*" => Ok(None),
        _ => s.parse::<u32>().map(Some).map_err(|_| bad()),
    };
    let mut bits = 0;
    for c in acc.chars() {
        bits |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => return Err(bad()),
        };
    }
    let node = Node {
        typ,
        major: num(ma)?,
        minor: num(mi)?,
    };
    Ok(Some((node, bits & ACC_ALL)))
}

#[cfg(test)]
#[path = "device_filter_tests.rs"]
pub(crate) mod tests;
