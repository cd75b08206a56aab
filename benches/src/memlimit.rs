//! The smallest memory limit a container starts under: a binary search on
//! `linux.resources.memory.limit` for `run /bin/true` succeeding, then a few
//! confirmations at the value found (moving up while one fails).

use crate::bundle::Bundle;
use crate::cgroups::CgroupScope;
use crate::runtime::Runtime;
use crate::sys;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// How long one `run` under a tight limit may take (an OOM-killed runtime can stall).
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times the confirmation may move the value up (by an eighth each time,
/// 2.6x in all) before giving up and reporting the start value.
const MAX_RAISES: usize = 8;

/// Where the search starts and how fine it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// A limit expected to succeed; the search looks below it.
    pub start_kib: u64,
    /// Resolution of the search.
    pub step_kib: u64,
    /// Runs at the found value that must all succeed.
    pub confirmations: usize,
}

/// The outcome, with every limit tried in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The smallest confirmed limit, if even the start succeeded.
    pub found_kib: Option<u64>,
    /// Whether every confirmation passed at `found_kib` (false: the runtime passed and
    /// failed at random over the whole raised range, and the start value is reported).
    pub confirmed: bool,
    /// Every `(limit, succeeded)` tried, in order.
    pub tries: Vec<(u64, bool)>,
}

impl Search {
    /// For results.json.
    pub fn to_json(&self) -> Value {
        json!({
            "found_kib": self.found_kib,
            "confirmed": self.confirmed,
            "tries": self.tries.iter().map(|(kib, ok)| json!({"limit_kib": kib, "ok": ok})).collect::<Vec<_>>(),
        })
    }
}

/// Searches `(0, plan.start_kib]` in steps of `plan.step_kib` for the smallest limit at
/// which `ok` holds, assuming it holds at every larger one; then confirms it.
pub fn search(plan: &Plan, mut ok: impl FnMut(u64) -> bool) -> Search {
    let step = plan.step_kib.max(1);
    let mut tries = Vec::new();
    let mut attempt = |kib: u64, tries: &mut Vec<(u64, bool)>| {
        let r = ok(kib);
        tries.push((kib, r));
        r
    };
    let top = plan.start_kib.div_ceil(step).max(1);
    if !attempt(top * step, &mut tries) {
        return Search {
            found_kib: None,
            confirmed: false,
            tries,
        };
    }
    // Invariant: `lo` steps fails (0 always does), `hi` steps succeeds.
    let (mut lo, mut hi) = (0u64, top);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if attempt(mid * step, &mut tries) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // Noise near the edge: every confirmation must pass, or move up and confirm again.
    for _ in 0..=MAX_RAISES {
        if hi >= top || (0..plan.confirmations).all(|_| attempt(hi * step, &mut tries)) {
            return Search {
                found_kib: Some(hi.min(top) * step),
                confirmed: true,
                tries,
            };
        }
        hi += hi.div_ceil(8);
    }
    Search {
        found_kib: Some(top * step),
        confirmed: false,
        tries,
    }
}

/// Runs the search for `rt`: each try is `run /bin/true` of a fresh container with the
/// limit (and swap equal to it when the host accounts swap, so none is used), deleted
/// whatever happened.
pub fn smallest_limit(
    rt: &Runtime,
    bundle: &Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
    plan: &Plan,
) -> Search {
    let dir = scratch.join("bundles").join(format!("{}-mem", rt.name));
    let with_swap = accounts_swap();
    let mut n = 0;
    let found = search(plan, |kib| {
        if sys::stop_requested() {
            return false;
        }
        n += 1;
        let id = format!("{}-mem-{n}", rt.name);
        let bytes = kib * 1024;
        let written = bundle.write_variant(&dir, &cgroups.cgroups_path(&id), |c| {
            c["linux"]["resources"]["memory"] = if with_swap {
                json!({"limit": bytes, "swap": bytes})
            } else {
                json!({"limit": bytes})
            };
        });
        let ok = match written {
            Ok(dir) => rt
                .timed_within(&["run", "--bundle", &dir, &id], RUN_TIMEOUT)
                .is_ok(),
            Err(_) => false,
        };
        if !ok {
            rt.force_delete(&id);
        }
        sys::reap_exited();
        ok
    });
    let _ = std::fs::remove_dir_all(&dir);
    found
}

/// Whether `linux.resources.memory.swap` can be set: cgroup v1 with swap accounting
/// (memory.memsw.*), or cgroup v2 (memory.swap.max).
fn accounts_swap() -> bool {
    Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists()
        || std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|w| w == "memory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(confirmations: usize) -> Plan {
        Plan {
            start_kib: 65536,
            step_kib: 16,
            confirmations,
        }
    }

    #[test]
    fn finds_the_threshold_at_the_step() {
        let s = search(&plan(3), |kib| kib >= 500);
        assert_eq!(s.found_kib, Some(512));
        // log2(65536 / 16) = 12 halvings, one start, three confirmations.
        assert_eq!(s.tries.len(), 1 + 12 + 3);
        assert_eq!(s.tries[0], (65536, true));
        assert!(s.tries.iter().all(|(kib, ok)| *ok == (*kib >= 500)));
    }

    #[test]
    fn a_failed_start_finds_nothing() {
        let s = search(&plan(3), |_| false);
        assert_eq!(s.found_kib, None);
        assert_eq!(s.tries, vec![(65536, false)]);
    }

    #[test]
    fn a_failed_confirmation_moves_up() {
        let mut calls_at_512 = 0;
        let s = search(&plan(2), |kib| {
            if kib == 512 {
                calls_at_512 += 1;
                // Passes in the bisection, then fails its first confirmation.
                return calls_at_512 != 2;
            }
            kib >= 500
        });
        // 512 KiB plus an eighth.
        assert_eq!(s.found_kib, Some(576));
        assert!(s.confirmed);
        assert_eq!(&s.tries[s.tries.len() - 2..], &[(576, true), (576, true)]);
    }

    #[test]
    fn endless_noise_reports_the_start_unconfirmed() {
        let mut n = 0;
        let s = search(&plan(2), |kib| {
            n += 1;
            kib == 65536 || (kib >= 500 && n % 2 == 0)
        });
        assert_eq!(s.found_kib, Some(65536));
        assert!(!s.confirmed);
    }

    #[test]
    fn everything_passing_ends_at_one_step() {
        let s = search(&plan(1), |_| true);
        assert_eq!(s.found_kib, Some(16));
    }

    #[test]
    fn an_odd_start_is_rounded_up_to_the_step() {
        let p = Plan {
            start_kib: 1000,
            step_kib: 300,
            confirmations: 0,
        };
        let s = search(&p, |kib| kib >= 400);
        assert_eq!(s.tries[0], (1200, true));
        assert_eq!(s.found_kib, Some(600));
    }
}
