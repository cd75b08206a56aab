//! The filter against the plain reading of a rule list (last matching rule wins, per
//! access bit), on every list of a small generated family.

use super::*;
use crate::cgroups::device_rules::{ACC_MKNOD, ACC_READ, ACC_WRITE};

pub(crate) fn rule(
    allow: bool,
    typ: DevType,
    major: Option<u32>,
    minor: Option<u32>,
    access: u32,
) -> Rule {
    Rule {
        allow,
        typ,
        major,
        minor,
        access,
        origin: "test".into(),
    }
}

/// The rule list read literally: for one access bit, the last rule that names the
/// device and the bit decides; none denies.
pub(crate) fn last_match(rules: &[Rule], typ: DevType, major: u32, minor: u32, bit: u32) -> bool {
    let mut allowed = false;
    for r in rules {
        let names = r.typ == DevType::All
            || (r.typ == typ
                && r.major.is_none_or(|m| m == major)
                && r.minor.is_none_or(|m| m == minor)
                && r.access & bit != 0);
        if names {
            allowed = r.allow;
        }
    }
    allowed
}

/// Every device the generated rules can tell apart.
pub(crate) fn devices() -> Vec<(DevType, u32, u32)> {
    let mut v = Vec::new();
    for typ in [DevType::Char, DevType::Block] {
        for major in [1, 2, 5] {
            for minor in [3, 7, 9] {
                v.push((typ, major, minor));
            }
        }
    }
    v
}

/// A deterministic family of rule lists (a small LCG, no crate).
pub(crate) fn generated_lists(n: usize) -> Vec<Vec<Rule>> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let pick = |v: u64, opts: &[Option<u32>]| opts[v as usize];
    (0..n)
        .map(|_| {
            let len = 1 + next(6) as usize;
            (0..len)
                .map(|_| {
                    let typ = match next(8) {
                        0 => DevType::All,
                        1..=4 => DevType::Char,
                        _ => DevType::Block,
                    };
                    rule(
                        next(2) == 0,
                        typ,
                        pick(next(3), &[None, Some(1), Some(2)]),
                        pick(next(3), &[None, Some(3), Some(7)]),
                        1 + next(7) as u32,
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn every_representable_list_means_last_match_wins() {
    let (mut held, mut refused) = (0, 0);
    for rules in generated_lists(4000) {
        let Ok(f) = Filter::from_rules(&rules) else {
            refused += 1;
            continue;
        };
        held += 1;
        for (typ, major, minor) in devices() {
            for bit in [ACC_READ, ACC_WRITE, ACC_MKNOD] {
                assert_eq!(
                    f.allows(typ, major, minor, bit),
                    last_match(&rules, typ, major, minor, bit),
                    "{rules:?} on {typ:?} {major}:{minor} bit {bit}: {}",
                    f.describe()
                );
            }
            // Several bits at once are never allowed more than each bit alone.
            let all = f.allows(typ, major, minor, ACC_ALL);
            let each = [ACC_READ, ACC_WRITE, ACC_MKNOD]
                .iter()
                .all(|b| last_match(&rules, typ, major, minor, *b));
            assert!(!all || each, "{rules:?}");
        }
    }
    assert!(
        held > 1000 && refused > 100,
        "held {held}, refused {refused}"
    );
}

#[test]
fn ordering_of_one_node() {
    let deny = |acc| rule(false, DevType::Char, Some(1), Some(7), acc);
    let allow = |acc| rule(true, DevType::Char, Some(1), Some(7), acc);
    let all = |allow| rule(allow, DevType::All, None, None, ACC_ALL);
    let f = Filter::from_rules(&[all(false), deny(ACC_ALL), allow(ACC_ALL)]).unwrap();
    assert!(f.allows(DevType::Char, 1, 7, ACC_READ | ACC_WRITE));
    let f = Filter::from_rules(&[all(false), allow(ACC_ALL), deny(ACC_ALL)]).unwrap();
    assert!(!f.allows(DevType::Char, 1, 7, ACC_READ));
    assert!(f.exceptions.is_empty());
    let f = Filter::from_rules(&[all(true), allow(ACC_ALL), deny(ACC_WRITE)]).unwrap();
    assert!(f.allows(DevType::Char, 1, 7, ACC_READ));
    assert!(!f.allows(DevType::Char, 1, 7, ACC_READ | ACC_WRITE));
}

#[test]
fn a_hole_in_a_wider_rule_is_refused() {
    let rules = [
        rule(true, DevType::Char, Some(1), None, ACC_ALL),
        rule(false, DevType::Char, Some(1), Some(7), ACC_READ),
    ];
    let e = Filter::from_rules(&rules).unwrap_err().to_string();
    assert!(e.contains("c 1:7 r") && e.contains("c 1:* rwm"), "{e}");
    // The wider deny after the narrower allow removes it.
    let rules = [
        rule(true, DevType::Char, Some(1), Some(7), ACC_ALL),
        rule(false, DevType::Char, Some(1), None, ACC_ALL),
    ];
    assert!(Filter::from_rules(&rules).unwrap().exceptions.is_empty());
}

#[test]
fn v1_writes_and_list_round_trip() {
    let rules = [
        rule(false, DevType::All, None, None, ACC_ALL),
        rule(true, DevType::Char, Some(1), Some(3), ACC_ALL),
        rule(true, DevType::Block, None, None, ACC_MKNOD),
        rule(true, DevType::Char, Some(136), None, ACC_READ | ACC_WRITE),
    ];
    let f = Filter::from_rules(&rules).unwrap();
    let w = f.v1_writes();
    assert_eq!(w[0], ("devices.deny", "a".to_string()));
    assert!(w[1..].iter().all(|(file, _)| *file == "devices.allow"));
    let list: String = w[1..].iter().map(|(_, l)| format!("{l}\n")).collect();
    assert_eq!(Filter::from_v1_list(&list).unwrap().unwrap(), f);
    assert!(Filter::from_v1_list("a *:* rwm\n").is_none());
    assert!(Filter::from_v1_list("x 1:2 r\n").unwrap().is_err());
    let open = Filter::from_rules(&[rule(true, DevType::All, None, None, ACC_ALL)]).unwrap();
    assert_eq!(open.v1_writes(), vec![("devices.allow", "a".to_string())]);
}
