//! One run's findings, and the plain-text table and the JSON made from them.

use crate::measures::{Measure, Sizes};
use crate::results::RuntimeResult;
use crate::stats::ratio;
use crate::targets::Verdict;
use serde_json::{json, Map, Value};

/// Facts about the host the run measured on.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// `uname -r`.
    pub kernel: String,
    /// Online CPUs.
    pub cpus: usize,
    /// `/proc/loadavg` at the end of the run.
    pub loadavg: String,
    /// Where the hugetlb controller was bound (crun 1.8.1 needs it on cgroup v1).
    pub hugetlb: String,
}

impl Host {
    /// Reads the facts of this host.
    pub fn probe() -> Host {
        let read = |p: &str| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .trim()
                .to_string()
        };
        let hierarchy = read("/proc/cgroups")
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&"hugetlb")).then(|| f.get(1).map(|s| s.to_string()))
            })
            .flatten();
        let hugetlb = match hierarchy.as_deref() {
            None => "no hugetlb controller".to_string(),
            Some("0") => "on the cgroup2 tree (unified)".to_string(),
            Some(n) => format!("on cgroup v1 hierarchy {n}"),
        };
        Host {
            kernel: read("/proc/sys/kernel/osrelease"),
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            loadavg: read("/proc/loadavg"),
            hugetlb,
        }
    }
}

/// Everything a run found, from which every output is written.
pub struct Report {
    /// When the run started, `2026-12-07T02:15:00Z`.
    pub started: String,
    /// Measured cycles per runtime.
    pub runs: usize,
    /// Warm-up cycles per runtime (discarded).
    pub warmup: usize,
    /// A CI smoke run: small sizes, the figures mean little.
    pub smoke: bool,
    /// Scale sizes.
    pub sizes: Sizes,
    /// The runtime ratios are taken to.
    pub baseline: String,
    /// Every measure, in report order.
    pub catalog: Vec<Measure>,
    /// One per runtime, in the order asked.
    pub results: Vec<RuntimeResult>,
    /// Issue 18's targets, judged.
    pub verdicts: Vec<Verdict>,
    /// The host.
    pub host: Host,
    /// Stopped by SIGINT/SIGTERM before the end: the figures are partial.
    pub interrupted: bool,
    /// Options as given, for results.json.
    pub options: Value,
    /// Cgroups a runtime left behind, or that could not be removed.
    pub cgroup_problems: Vec<String>,
}

impl Report {
    /// The baseline runtime's median of `key`.
    pub fn base_median(&self, key: &str) -> Option<f64> {
        self.results
            .iter()
            .find(|r| r.name == self.baseline)
            .and_then(|r| r.median(key))
    }

    /// The measures with at least one sample in some runtime.
    pub fn measured(&self) -> impl Iterator<Item = &Measure> {
        self.catalog
            .iter()
            .filter(|m| self.results.iter().any(|r| !r.values(m.key).is_empty()))
    }
}

/// A value in its unit's precision.
pub fn fmt_value(value: f64, unit: &str) -> String {
    match unit {
        "ms" => format!("{value:.2}"),
        _ => format!("{value:.0}"),
    }
}

/// The human-readable table printed to stdout.
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "runtimes ({} measured cycles each, interleaved{}):\n",
        r.runs,
        if r.smoke { "; smoke run" } else { "" }
    ));
    for res in &r.results {
        match &res.not_runnable {
            Some(e) => out.push_str(&format!(
                "  {:<5} not runnable on this host: {e}\n",
                res.name
            )),
            None => out.push_str(&format!(
                "  {:<5} {} ({})\n",
                res.name, res.path, res.version
            )),
        }
        if let Some(first) = res.failures.first() {
            out.push_str(&format!(
                "        {} failures ({} cycles succeeded); first: {first}\n",
                res.failures.len(),
                res.cycles
            ));
        }
    }
    out.push_str(&format!(
        "\n{:<44} {:<6} {:>10} {:>10}  median / {}'s\n",
        "measure", "rt", "median", "p90", r.baseline
    ));
    for measure in r.measured() {
        let base = r.base_median(measure.key);
        let label = format!("{} ({})", measure.label, measure.unit);
        for (i, res) in r.results.iter().enumerate() {
            let head = if i == 0 { label.as_str() } else { "" };
            let row = match (&res.not_runnable, res.summary(measure.key)) {
                (Some(_), _) => "not runnable on this host".to_string(),
                (None, None) => "not measured".to_string(),
                (None, Some(s)) => format!(
                    "{:>10} {:>10}  {}",
                    fmt_value(s.median, measure.unit),
                    fmt_value(s.p90, measure.unit),
                    ratio(s.median, base).map_or("-".into(), |x| format!("{x:.2}x"))
                ),
            };
            out.push_str(&format!("{head:<44} {:<6} {row}\n", res.name));
        }
    }
    out.push_str(if r.smoke {
        "\nissue 18 targets, judged on a smoke run (CI sizes, usually a debug build: not \
         figures to quote; reported, not enforced):\n"
    } else {
        "\nissue 18 targets (quai against the baseline; reported, not enforced):\n"
    });
    for v in &r.verdicts {
        let line = format!(
            "  {:<4} {:<36} {:<34} {}",
            v.word(),
            v.target.label,
            v.threshold,
            v.ratio
                .map_or(v.note.clone(), |x| format!("{x:.2}x {}", v.note))
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// results.json: options, host, every sample and summary, the targets.
pub fn json(r: &Report) -> Value {
    let runtimes: Vec<Value> = r
        .results
        .iter()
        .map(|res| {
            let mut measures = Map::new();
            for measure in &r.catalog {
                let Some(s) = res.summary(measure.key) else {
                    continue;
                };
                measures.insert(
                    measure.key.to_string(),
                    json!({
                        "label": measure.label,
                        "unit": measure.unit,
                        "count": s.count,
                        "median": s.median,
                        "p90": s.p90,
                        "min": s.min,
                        "max": s.max,
                        "ratio_to_baseline": ratio(s.median, r.base_median(measure.key)),
                        "samples": res.values(measure.key),
                    }),
                );
            }
            json!({
                "name": res.name,
                "path": res.path,
                "version": res.version,
                "runnable": res.not_runnable.is_none(),
                "not_runnable_error": res.not_runnable,
                "cycles": res.cycles,
                "failures": res.failures,
                "leftover_state": res.leftover_state,
                "memory_search": res.memory_search.as_ref().map(|s| s.to_json()),
                "measures": measures,
            })
        })
        .collect();
    let targets: Vec<Value> = r
        .verdicts
        .iter()
        .map(|v| {
            json!({
                "target": v.target.label,
                "measure": v.target.key,
                "threshold": v.threshold,
                "quai": v.value,
                "baseline": v.base,
                "ratio": v.ratio,
                "verdict": v.word(),
                "note": v.note,
            })
        })
        .collect();
    json!({
        "started": r.started,
        "runs": r.runs,
        "warmup": r.warmup,
        "smoke": r.smoke,
        "interrupted": r.interrupted,
        "sizes": {
            "parallel": r.sizes.parallel,
            "list_state_small": r.sizes.small,
            "list_state_large": r.sizes.large,
        },
        "baseline": r.baseline,
        "options": r.options,
        "host": {
            "kernel": r.host.kernel,
            "cpus": r.host.cpus,
            "loadavg": r.host.loadavg,
            "hugetlb": r.host.hugetlb,
            "runtimes": r.results.iter().map(|x| json!({"name": x.name, "version": x.version})).collect::<Vec<_>>(),
        },
        "runtimes": runtimes,
        "targets": targets,
        "cgroups_left_behind": r.cgroup_problems,
    })
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::measures::{self as m, catalog};
    use crate::targets::{evaluate, issue_18};

    /// A small report with quai, runc and crun, for the writers' tests.
    pub fn sample_report() -> Report {
        let sizes = Sizes {
            parallel: 10,
            small: 2,
            large: 20,
        };
        let mut results = Vec::new();
        for (name, scale) in [("quai", 0.5), ("runc", 3.0), ("crun", 1.0)] {
            let mut res = RuntimeResult::new(name);
            res.version = format!("{name} 1.0");
            for i in 0..5 {
                let x = 1.0 + i as f64 * 0.1;
                res.push_all(&[
                    (m::RUN, 10.0 * scale * x),
                    (m::CREATE, 5.0 * scale * x),
                    (m::INIT_RSS, 1000.0 * scale),
                    (m::PARALLEL_FAILURES, 0.0),
                ]);
            }
            res.cycles = 5;
            results.push(res);
        }
        let mut broken = RuntimeResult::new("other");
        broken.not_runnable = Some("cgroups in <hybrid> mode & not supported".into());
        results.push(broken);
        let verdicts = evaluate(&issue_18(&sizes), results.first(), results.get(2), "crun");
        Report {
            started: "2026-12-07T02:15:00Z".into(),
            runs: 5,
            warmup: 1,
            smoke: true,
            sizes,
            baseline: "crun".into(),
            catalog: catalog(&sizes),
            results,
            verdicts,
            host: Host::default(),
            interrupted: false,
            options: json!({}),
            cgroup_problems: Vec::new(),
        }
    }

    #[test]
    fn table_has_ratios_to_the_baseline_and_targets() {
        let text = table(&sample_report());
        assert!(text.contains("median / crun's"));
        assert!(text.contains("0.50x"));
        assert!(text.contains("3.00x"));
        assert!(text.contains("PASS run /bin/true"));
        assert!(text.contains("not runnable on this host: cgroups in <hybrid>"));
    }

    #[test]
    fn json_holds_samples_summaries_and_targets() {
        let doc = json(&sample_report());
        let quai = &doc["runtimes"][0];
        assert_eq!(
            quai["measures"][m::RUN]["samples"].as_array().map(Vec::len),
            Some(5)
        );
        assert_eq!(quai["measures"][m::RUN]["ratio_to_baseline"], json!(0.5));
        assert_eq!(doc["targets"][0]["verdict"], "PASS");
        assert_eq!(doc["runtimes"][3]["runnable"], false);
    }
}
