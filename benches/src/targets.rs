//! Issue 18's targets: each a measure of quai held against crun's median. They are
//! reported (PASS/FAIL), never enforced by the exit status.

use crate::measures::{self as m, Sizes};
use crate::results::RuntimeResult;
use crate::stats::ratio;

/// How quai's median must compare with the baseline's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// At most this multiple of the baseline's median.
    AtMost(f64),
    /// Strictly below the baseline's median.
    Below,
}

/// One target of the issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is judged, in words.
    pub label: String,
    /// The measure judged.
    pub key: &'static str,
    /// The threshold.
    pub rule: Rule,
    /// A count measure whose samples must all be zero as well (failures).
    pub zero: Option<&'static str>,
}

/// A target judged on one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The target.
    pub target: Target,
    /// The threshold in words, naming the baseline.
    pub threshold: String,
    /// The subject's median.
    pub value: Option<f64>,
    /// The baseline's median.
    pub base: Option<f64>,
    /// value / base.
    pub ratio: Option<f64>,
    /// `Some(true)` PASS, `Some(false)` FAIL, `None` when it could not be judged.
    pub pass: Option<bool>,
    /// Why it failed or could not be judged; empty on a plain pass or fail.
    pub note: String,
}

impl Verdict {
    /// PASS, FAIL or n/a.
    pub fn word(&self) -> &'static str {
        match self.pass {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "n/a",
        }
    }
}

/// The targets of issue 18, with this run's sizes in their words.
pub fn issue_18(s: &Sizes) -> Vec<Target> {
    let t = |label: String, key, rule| Target {
        label,
        key,
        rule,
        zero: None,
    };
    vec![
        t("run /bin/true".into(), m::RUN, Rule::AtMost(0.7)),
        t(
            "create/start/delete cycle".into(),
            m::CYCLE,
            Rule::AtMost(0.7),
        ),
        t("create".into(), m::CREATE, Rule::AtMost(1.0)),
        t("start".into(), m::START, Rule::AtMost(1.0)),
        t("state".into(), m::STATE, Rule::AtMost(1.0)),
        t("kill".into(), m::KILL, Rule::AtMost(1.0)),
        t("delete".into(), m::DELETE, Rule::AtMost(1.0)),
        t("exec".into(), m::EXEC, Rule::AtMost(0.7)),
        t(
            "peak RSS of create".into(),
            m::CREATE_RSS,
            Rule::AtMost(0.7),
        ),
        t("peak RSS of exec".into(), m::EXEC_RSS, Rule::AtMost(0.7)),
        t("waiting init's VmRSS".into(), m::INIT_RSS, Rule::Below),
        Target {
            label: format!("{} parallel creates, no failure", s.parallel),
            key: m::PARALLEL_CREATE,
            rule: Rule::AtMost(0.7),
            zero: Some(m::PARALLEL_FAILURES),
        },
        t(
            format!("list with {} containers", s.large),
            m::LIST_LARGE,
            Rule::AtMost(0.7),
        ),
        t(
            format!("state with {} containers", s.large),
            m::STATE_LARGE,
            Rule::AtMost(0.7),
        ),
        t(
            "smallest memory limit".into(),
            m::MEMORY_LIMIT,
            Rule::AtMost(1.0),
        ),
    ]
}

/// Judges every target on `subject` against `base` (named `base_name`).
pub fn evaluate(
    targets: &[Target],
    subject: Option<&RuntimeResult>,
    base: Option<&RuntimeResult>,
    base_name: &str,
) -> Vec<Verdict> {
    targets
        .iter()
        .map(|t| judge(t, subject, base, base_name))
        .collect()
}

fn judge(
    t: &Target,
    subject: Option<&RuntimeResult>,
    base: Option<&RuntimeResult>,
    base_name: &str,
) -> Verdict {
    let threshold = match t.rule {
        Rule::AtMost(x) => format!("<= {x:.1}x {base_name}'s median"),
        Rule::Below => format!("< {base_name}'s median"),
    };
    let threshold = match t.zero {
        Some(_) => format!("{threshold}, 0 failures"),
        None => threshold,
    };
    let value = subject.and_then(|r| r.median(t.key));
    let base_value = base.and_then(|r| r.median(t.key));
    let r = value.and_then(|v| ratio(v, base_value));
    let failures: f64 = match (t.zero, subject) {
        (Some(key), Some(s)) => s.values(key).iter().sum(),
        _ => 0.0,
    };
    let (pass, note) = match (value, base_value) {
        (None, _) => (None, "not measured for quai".to_string()),
        (_, None) => (None, format!("not measured for {base_name}")),
        (Some(v), Some(b)) => {
            let within = match t.rule {
                Rule::AtMost(x) => r.is_some_and(|r| r <= x) || (b == 0.0 && v == 0.0),
                Rule::Below => v < b,
            };
            if failures > 0.0 {
                (Some(false), format!("{failures} failures"))
            } else {
                (Some(within), String::new())
            }
        }
    };
    Verdict {
        target: t.clone(),
        threshold,
        value,
        base: base_value,
        ratio: r,
        pass,
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, samples: &[(&'static str, f64)]) -> RuntimeResult {
        let mut r = RuntimeResult::new(name);
        r.push_all(samples);
        r
    }

    fn target(key: &'static str, rule: Rule) -> Target {
        Target {
            label: key.into(),
            key,
            rule,
            zero: None,
        }
    }

    #[test]
    fn ratio_thresholds() {
        let quai = result("quai", &[(m::RUN, 7.0), (m::CREATE, 10.5)]);
        let crun = result("crun", &[(m::RUN, 10.0), (m::CREATE, 10.0)]);
        let v = evaluate(
            &[
                target(m::RUN, Rule::AtMost(0.7)),
                target(m::CREATE, Rule::AtMost(1.0)),
            ],
            Some(&quai),
            Some(&crun),
            "crun",
        );
        assert_eq!(v[0].pass, Some(true));
        assert_eq!(v[0].ratio, Some(0.7));
        assert_eq!(v[0].word(), "PASS");
        assert_eq!(v[1].pass, Some(false));
        assert_eq!(v[1].threshold, "<= 1.0x crun's median");
    }

    #[test]
    fn below_is_strict() {
        let quai = result("quai", &[(m::INIT_RSS, 100.0)]);
        let crun = result("crun", &[(m::INIT_RSS, 100.0)]);
        let v = evaluate(
            &[target(m::INIT_RSS, Rule::Below)],
            Some(&quai),
            Some(&crun),
            "crun",
        );
        assert_eq!(v[0].pass, Some(false));
        assert_eq!(v[0].threshold, "< crun's median");
    }

    #[test]
    fn failures_fail_a_fast_target() {
        let quai = result(
            "quai",
            &[(m::PARALLEL_CREATE, 1.0), (m::PARALLEL_FAILURES, 1.0)],
        );
        let crun = result(
            "crun",
            &[(m::PARALLEL_CREATE, 10.0), (m::PARALLEL_FAILURES, 0.0)],
        );
        let s = Sizes {
            parallel: 100,
            small: 100,
            large: 1000,
        };
        let t: Vec<Target> = issue_18(&s)
            .into_iter()
            .filter(|t| t.key == m::PARALLEL_CREATE)
            .collect();
        assert_eq!(t[0].label, "100 parallel creates, no failure");
        let v = evaluate(&t, Some(&quai), Some(&crun), "crun");
        assert_eq!(v[0].pass, Some(false));
        assert_eq!(v[0].note, "1 failures");
    }

    #[test]
    fn a_missing_baseline_is_not_judged() {
        let quai = result("quai", &[(m::RUN, 1.0)]);
        let v = evaluate(
            &[target(m::RUN, Rule::AtMost(0.7))],
            Some(&quai),
            None,
            "crun",
        );
        assert_eq!(v[0].pass, None);
        assert_eq!(v[0].word(), "n/a");
        assert_eq!(v[0].note, "not measured for crun");
    }

    #[test]
    fn every_issue_target_names_a_measure() {
        let s = Sizes {
            parallel: 10,
            small: 2,
            large: 20,
        };
        let keys: Vec<&str> = m::catalog(&s).iter().map(|m| m.key).collect();
        let targets = issue_18(&s);
        assert_eq!(targets.len(), 15);
        assert!(targets.iter().all(|t| keys.contains(&t.key)));
    }
}
