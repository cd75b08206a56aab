//! Medians, p90s and ratios against quai, as a table and as JSON.

use crate::cycle::{Sample, MEASURES};
use serde_json::{json, Map, Value};

/// Everything measured for one runtime.
pub struct RuntimeResult {
    /// Short name.
    pub name: String,
    /// Binary path.
    pub path: String,
    /// First line of `--version`.
    pub version: String,
    /// Why it could not run here at all (its own error), if it could not.
    pub not_runnable: Option<String>,
    /// Measured cycles.
    pub samples: Vec<Sample>,
    /// Errors of the cycles that failed (warm-up ones included) in a runtime that ran.
    pub failures: Vec<String>,
    /// State-root entries left after every container was deleted.
    pub leftover_state: Vec<String>,
}

/// Median, 90th percentile, extremes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Middle value (mean of the two middle ones for an even count).
    pub median: f64,
    /// Nearest-rank 90th percentile.
    pub p90: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Summarises samples; `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return None;
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let rank = (0.9 * n as f64).ceil() as usize;
    Some(Summary {
        median,
        p90: v[rank.clamp(1, n) - 1],
        min: v[0],
        max: v[n - 1],
    })
}

fn column(result: &RuntimeResult, m: usize) -> Vec<f64> {
    result.samples.iter().map(|s| s[m]).collect()
}

fn quai_median(results: &[RuntimeResult], m: usize) -> Option<f64> {
    let quai = results.iter().find(|r| r.name == "quai")?;
    summarize(&column(quai, m)).map(|s| s.median)
}

fn ratio(value: f64, base: Option<f64>) -> Option<f64> {
    base.filter(|b| *b > 0.0).map(|b| value / b)
}

/// The human-readable table.
pub fn table(results: &[RuntimeResult], runs: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "runtimes ({runs} measured cycles each, interleaved):\n"
    ));
    for r in results {
        match &r.not_runnable {
            Some(e) => out.push_str(&format!("  {:<5} not runnable on this host: {e}\n", r.name)),
            None => out.push_str(&format!("  {:<5} {} ({})\n", r.name, r.path, r.version)),
        }
        if let Some(first) = r.failures.first() {
            out.push_str(&format!(
                "        {} cycles failed ({} succeeded); first failure: {first}\n",
                r.failures.len(),
                r.samples.len()
            ));
        }
    }
    out.push_str(&format!(
        "\n{:<40} {:<6} {:>10} {:>10}  {}\n",
        "measure", "rt", "median", "p90", "median / quai's"
    ));
    for (m, measure) in MEASURES.iter().enumerate() {
        let base = quai_median(results, m);
        let label = format!("{} ({})", measure.label, measure.unit);
        for (i, r) in results.iter().enumerate() {
            let head = if i == 0 { label.as_str() } else { "" };
            let row = match (&r.not_runnable, summarize(&column(r, m))) {
                (Some(_), _) => "not runnable on this host".to_string(),
                (None, None) => "no successful cycle".to_string(),
                (None, Some(s)) => format!(
                    "{:>10.2} {:>10.2}  {}",
                    s.median,
                    s.p90,
                    ratio(s.median, base).map_or("-".into(), |x| format!("{x:.2}x"))
                ),
            };
            out.push_str(&format!("{head:<40} {:<6} {row}\n", r.name));
        }
    }
    out
}

/// The JSON document written by `--json`.
pub fn json(
    results: &[RuntimeResult],
    runs: usize,
    warmup: usize,
    cgroup_problems: &[String],
) -> Value {
    let runtimes: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut measures = Map::new();
            for (m, measure) in MEASURES.iter().enumerate() {
                let values = column(r, m);
                let Some(s) = summarize(&values) else {
                    continue;
                };
                measures.insert(
                    measure.key.to_string(),
                    json!({
                        "unit": measure.unit,
                        "median": s.median,
                        "p90": s.p90,
                        "min": s.min,
                        "max": s.max,
                        "ratio_vs_quai": ratio(s.median, quai_median(results, m)),
                        "samples": values,
                    }),
                );
            }
            json!({
                "name": r.name,
                "path": r.path,
                "version": r.version,
                "runnable": r.not_runnable.is_none(),
                "not_runnable_error": r.not_runnable,
                "failed_cycles": r.failures.len(),
                "failures": r.failures,
                "leftover_state": r.leftover_state,
                "measures": measures,
            })
        })
        .collect();
    json!({
        "runs": runs,
        "warmup": warmup,
        "host": host(),
        "runtimes": runtimes,
        "cgroups_left_behind": cgroup_problems,
    })
}

fn host() -> Value {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    json!({
        "kernel": read("/proc/sys/kernel/osrelease"),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg": read("/proc/loadavg"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        let s = summarize(&[5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert_eq!(s.median, 5.5);
        assert_eq!(s.p90, 9.0);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert_eq!(summarize(&[2.0]).unwrap().p90, 2.0);
        assert!(summarize(&[]).is_none());
    }
}
