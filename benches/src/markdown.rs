//! results.md: the run's facts, one table of every measure (median and p90 per
//! runtime, ratio to the baseline), the scaling of `list`/`state`, the memory-limit
//! search, and issue 18's targets with PASS/FAIL.

use crate::measures as m;
use crate::report::{fmt_value, Report};
use crate::stats::ratio;

/// The whole results.md.
pub fn write(r: &Report) -> String {
    let mut out = String::new();
    let names: Vec<&str> = r.results.iter().map(|x| x.name.as_str()).collect();
    out.push_str(&format!("# Benchmark: {}\n\n", names.join(", ")));
    out.push_str(&format!(
        "Started {}. {} measured cycles per runtime after {} warm-up (discarded), interleaved \
         round-robin; ratios are medians over {}'s median. Kernel {}, {} CPUs, hugetlb {}, \
         load average at the end {}.\n",
        r.started,
        r.runs,
        r.warmup,
        r.baseline,
        r.host.kernel,
        r.host.cpus,
        r.host.hugetlb,
        r.host.loadavg
    ));
    if r.interrupted {
        out.push_str("\n**Interrupted** by a signal: the figures are partial.\n");
    }
    if r.smoke {
        out.push_str("\n**Smoke run**: small sizes and few samples; the figures mean little.\n");
    }
    out.push_str("\n| runtime | version | binary | status |\n|---|---|---|---|\n");
    for res in &r.results {
        let status = match &res.not_runnable {
            Some(e) => format!("not runnable here: {}", cell(e)),
            None if res.failures.is_empty() => "ok".to_string(),
            None => format!(
                "{} failures; first: {}",
                res.failures.len(),
                cell(&res.failures[0])
            ),
        };
        out.push_str(&format!(
            "| {} | {} | `{}` | {status} |\n",
            res.name,
            cell(&res.version),
            res.path
        ));
    }

    out.push_str("\n## Measures\n\n| measure |");
    let mut rule = String::from("|---|");
    for res in &r.results {
        out.push_str(&format!(" {0} median | {0} p90 |", res.name));
        rule.push_str("---:|---:|");
        if res.name != r.baseline {
            out.push_str(&format!(" {} / {} |", res.name, r.baseline));
            rule.push_str("---:|");
        }
    }
    out.push_str(&format!("\n{rule}\n"));
    for measure in r.measured() {
        let base = r.base_median(measure.key);
        out.push_str(&format!("| {} ({}) |", cell(&measure.label), measure.unit));
        for res in &r.results {
            let s = res.summary(measure.key);
            match s {
                Some(s) => out.push_str(&format!(
                    " {} | {} |",
                    fmt_value(s.median, measure.unit),
                    fmt_value(s.p90, measure.unit)
                )),
                None => out.push_str(" - | - |"),
            }
            if res.name != r.baseline {
                let x = s.and_then(|s| ratio(s.median, base));
                out.push_str(&format!(
                    " {} |",
                    x.map_or("-".into(), |x| format!("{x:.2}x"))
                ));
            }
        }
        out.push('\n');
    }

    scaling(r, &mut out);
    memory(r, &mut out);

    out.push_str(&format!(
        "\n## Issue 18 targets (quai against {}'s median; reported, not enforced)\n\n\
         | target | threshold | quai | {} | ratio | verdict |\n|---|---|---:|---:|---:|---|\n",
        r.baseline, r.baseline
    ));
    for v in &r.verdicts {
        let unit = r
            .catalog
            .iter()
            .find(|m| m.key == v.target.key)
            .map_or("", |m| m.unit);
        let show =
            |x: Option<f64>| x.map_or("-".into(), |x| format!("{} {unit}", fmt_value(x, unit)));
        let verdict = if v.note.is_empty() {
            format!("**{}**", v.word())
        } else {
            format!("**{}** ({})", v.word(), cell(&v.note))
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {verdict} |\n",
            cell(&v.target.label),
            v.threshold,
            show(v.value),
            show(v.base),
            v.ratio.map_or("-".into(), |x| format!("{x:.2}x")),
        ));
    }

    if !r.cgroup_problems.is_empty() {
        out.push_str("\n## Left behind by a runtime (removed or ended by the harness)\n\n");
        for p in &r.cgroup_problems {
            out.push_str(&format!("- {}\n", cell(p)));
        }
    }
    out
}

/// Per-container slope and growth of `list` and `state` from the small population
/// to the large one: linear cost shows as a steady slope and a ratio near the counts'.
fn scaling(r: &Report, out: &mut String) {
    let (small, large) = (r.sizes.small, r.sizes.large);
    if large <= small {
        return;
    }
    let rows: Vec<String> = [
        ("list", m::LIST_SMALL, m::LIST_LARGE),
        ("state", m::STATE_SMALL, m::STATE_LARGE),
    ]
    .iter()
    .flat_map(|(what, k_small, k_large)| {
        r.results.iter().filter_map(move |res| {
            let a = res.median(k_small)?;
            let b = res.median(k_large)?;
            let slope_us = (b - a) * 1000.0 / (large - small) as f64;
            Some(format!(
                "| {what} | {} | {a:.2} | {b:.2} | {slope_us:.1} | {:.2}x |\n",
                res.name,
                b / a
            ))
        })
    })
    .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(&format!(
        "\n## Scaling of list and state\n\nMedians with {small} and {large} created containers \
         present; the slope is the added cost per container. Cost linear in the count \
         keeps the slope steady; {large}/{small} containers is {:.0}x.\n\n\
         | command | runtime | {small} (ms) | {large} (ms) | slope (us/container) | {large}/{small} |\n\
         |---|---|---:|---:|---:|---:|\n",
        large as f64 / small.max(1) as f64
    ));
    for row in rows {
        out.push_str(&row);
    }
}

/// The memory-limit search per runtime: what was found and what was tried.
fn memory(r: &Report, out: &mut String) {
    let searched: Vec<_> = r
        .results
        .iter()
        .filter_map(|res| Some((res, res.memory_search.as_ref()?)))
        .collect();
    if searched.is_empty() {
        return;
    }
    out.push_str(
        "\n## Smallest memory limit\n\n`run /bin/true` under `linux.resources.memory.limit` \
         (swap equal to it where the host accounts swap), binary search then confirmations.\n\n\
         | runtime | smallest limit (KiB) | tries (KiB: ok/fail) |\n|---|---:|---|\n",
    );
    for (res, s) in searched {
        let tries: Vec<String> = s
            .tries
            .iter()
            .map(|(kib, ok)| format!("{kib}:{}", if *ok { "ok" } else { "fail" }))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            res.name,
            match (s.found_kib, s.confirmed) {
                (None, _) => "none (failed at the start value)".to_string(),
                (Some(k), true) => k.to_string(),
                (Some(k), false) =>
                    format!("{k} (unconfirmed: passed and failed at random above the edge)"),
            },
            tries.join(" ")
        ));
    }
}

/// Text made safe for a table cell: no pipes, no line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    #[test]
    fn table_rows_have_one_cell_per_column() {
        let text = write(&sample_report());
        let measures: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("## Measures"))
            .skip(2)
            .take_while(|l| l.starts_with('|'))
            .collect();
        // header, rule, then run, create, init VmRSS, failures.
        assert_eq!(measures.len(), 6);
        let columns = measures[0].matches('|').count();
        assert!(measures.iter().all(|l| l.matches('|').count() == columns));
        assert!(measures[0].contains("quai / crun"));
        assert!(!measures[0].contains("crun / crun"));
        assert!(text.contains("| run /bin/true (create+start+wait+delete) (ms) | 6.00 |"));
    }

    #[test]
    fn lists_every_target_with_its_verdict() {
        let r = sample_report();
        let text = write(&r);
        let section: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("## Issue 18 targets"))
            .filter(|l| l.starts_with("| "))
            .collect();
        assert_eq!(section.len(), 1 + r.verdicts.len());
        assert!(text.contains(
            "| run /bin/true | <= 0.7x crun's median | 6.00 ms | 12.00 ms | 0.50x | **PASS** |"
        ));
        assert!(text.contains("**n/a** (not measured for quai)"));
        assert!(text.contains("not runnable here: cgroups in <hybrid> mode & not supported"));
    }

    #[test]
    fn cells_lose_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
