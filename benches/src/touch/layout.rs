//! The order in which the linker should lay out the functions that were touched, from
//! which commands touched each: a command's peak RSS counts every 64 KB fault-around
//! window of the binary it touches, so the functions of the commands that matter most
//! should sit in as few windows as possible.
//!
//! Functions are grouped by the set of commands that touched them, and groups are
//! ordered by that set read as a number whose most significant bit is the most
//! important command. Everything the first command touches is then one contiguous
//! run at the front (the part it shares with the second command first); the second
//! command's functions are two runs; and so on. Within a group, first-touch order.

use std::collections::HashMap;

/// A touch: `label` (the command, e.g. `create`) reached function `name`; `seq` orders
/// touches in time across the whole trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The command that touched it.
    pub label: String,
    /// The function's symbol name.
    pub name: String,
    /// Global order of the first touch.
    pub seq: u64,
}

/// Orders the touched functions. `priority` lists the labels from most to least
/// important; labels not in it count after all of them, in name order.
pub fn order(touches: &[Touch], priority: &[&str]) -> Vec<String> {
    let mut labels: Vec<&str> = priority.to_vec();
    let mut others: Vec<&str> = touches
        .iter()
        .map(|t| t.label.as_str())
        .filter(|l| !priority.contains(l))
        .collect();
    others.sort_unstable();
    others.dedup();
    labels.extend(others);
    assert!(labels.len() <= 128, "more than 128 labels");
    let bit = |label: &str| {
        let rank = labels.iter().position(|l| *l == label).expect("listed");
        1u128 << (127 - rank)
    };
    // name -> (set of labels, first touch)
    let mut seen: HashMap<&str, (u128, u64)> = HashMap::new();
    for t in touches {
        let e = seen.entry(t.name.as_str()).or_insert((0, t.seq));
        e.0 |= bit(&t.label);
        e.1 = e.1.min(t.seq);
    }
    let mut all: Vec<(&str, u128, u64)> = seen.into_iter().map(|(n, (m, s))| (n, m, s)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(b.0)));
    all.into_iter().map(|(n, _, _)| n.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(label: &str, name: &str, seq: u64) -> Touch {
        Touch {
            label: label.into(),
            name: name.into(),
            seq,
        }
    }

    #[test]
    fn the_first_command_is_one_run_shared_part_first() {
        let touches = [
            t("create", "main", 0),
            t("create", "parse_spec", 1),
            t("create", "clone_init", 2),
            t("exec", "main", 3),
            t("exec", "parse_spec", 4),
            t("exec", "setns", 5),
            t("state", "main", 6),
            t("state", "print_state", 7),
        ];
        let got = order(&touches, &["create", "exec"]);
        assert_eq!(
            got,
            [
                "main",        // create, exec, state
                "parse_spec",  // create, exec
                "clone_init",  // create
                "setns",       // exec
                "print_state", // state (unlisted label)
            ]
        );
    }

    #[test]
    fn first_touch_orders_within_a_group_and_each_name_once() {
        let touches = [
            t("a", "late", 9),
            t("a", "early", 1),
            t("a", "early", 2),
            t("b", "late", 3),
            t("b", "early", 4),
        ];
        assert_eq!(order(&touches, &["a", "b"]), ["early", "late"]);
        assert!(order(&[], &["a"]).is_empty());
    }
}
