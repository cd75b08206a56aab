//! chart.svg, written by hand: for every timing measure, one lane per runtime with
//! each sample as a dot and the median as a bar, on a log scale normalised to the
//! baseline's median (1x), so that measures of different sizes share one axis.

use crate::report::Report;
use std::fmt::Write;

const WIDTH: f64 = 1040.0;
/// Left edge of the plot; measure and runtime labels sit left of it.
const X0: f64 = 330.0;
/// Right edge of the plot; the medians in ms are written right of it.
const X1: f64 = 900.0;
const TOP: f64 = 80.0;
const LANE: f64 = 14.0;
const HEADER: f64 = 18.0;
const GAP: f64 = 10.0;
const COLORS: [&str; 5] = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

/// One measure's lanes: runtime name, colour index, samples and median normalised.
struct Group {
    label: String,
    lanes: Vec<(String, usize, Vec<f64>, f64, f64)>,
}

/// The whole chart.svg.
pub fn chart(r: &Report) -> String {
    let groups = groups(r);
    let all = groups
        .iter()
        .flat_map(|g| g.lanes.iter().flat_map(|l| l.2.iter().copied()));
    let (lo, hi) = domain(all);
    let height = TOP
        + groups
            .iter()
            .map(|g| HEADER + g.lanes.len() as f64 * LANE + GAP)
            .sum::<f64>()
        + 30.0;
    let x = |v: f64| X0 + (v.log2().clamp(lo, hi) - lo) / (hi - lo) * (X1 - X0);

    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{}</text>",
        esc(&format!(
            "Timings per runtime, each sample over {}'s median (log scale); bar = median",
            r.baseline
        ))
    );
    let _ = writeln!(
        s,
        "<text x=\"10\" y=\"40\" fill=\"#555\">{}</text>",
        esc(&format!(
            "{}, {} cycles after {} warm-up, kernel {}, {} CPUs{}",
            r.started,
            r.runs,
            r.warmup,
            r.host.kernel,
            r.host.cpus,
            if r.smoke { ", smoke run" } else { "" }
        ))
    );
    let mut legend_x = 10.0;
    for (i, res) in r.results.iter().enumerate() {
        let _ = writeln!(
            s,
            "<circle cx=\"{}\" cy=\"56\" r=\"5\" fill=\"{}\"/><text x=\"{}\" y=\"60\">{}</text>",
            legend_x + 5.0,
            COLORS[i % COLORS.len()],
            legend_x + 14.0,
            esc(&res.name)
        );
        legend_x += 24.0 + 8.0 * res.name.len() as f64;
    }

    // Grid: one line per power of two, 1x stronger.
    let bottom = height - 30.0;
    let _ = writeln!(s, "<g class=\"axis\">");
    for p in (lo as i32)..=(hi as i32) {
        let gx = x(2f64.powi(p));
        let (stroke, width) = if p == 0 { ("#333", 1.5) } else { ("#ccc", 1.0) };
        let text = if p >= 0 {
            format!("{}x", 1u64 << p)
        } else {
            format!("1/{}x", 1u64 << -p)
        };
        let _ = writeln!(
            s,
            "<line x1=\"{gx:.1}\" y1=\"{}\" x2=\"{gx:.1}\" y2=\"{bottom}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>\
             <text x=\"{gx:.1}\" y=\"{}\" text-anchor=\"middle\">{text}</text>\
             <text x=\"{gx:.1}\" y=\"{}\" text-anchor=\"middle\">{text}</text>",
            TOP - 8.0,
            TOP - 12.0,
            bottom + 16.0
        );
    }
    let _ = writeln!(s, "</g>");

    let mut y = TOP;
    for (gi, g) in groups.iter().enumerate() {
        let _ = writeln!(s, "<g class=\"measure\" id=\"measure-{gi}\">");
        let _ = writeln!(
            s,
            "<text x=\"10\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
            y + 13.0,
            esc(&g.label)
        );
        y += HEADER;
        for (li, (name, color, values, median, median_ms)) in g.lanes.iter().enumerate() {
            let cy = y + LANE / 2.0;
            let fill = COLORS[color % COLORS.len()];
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{fill}\">{}</text>",
                X0 - 8.0,
                cy + 4.0,
                esc(name)
            );
            for (i, v) in values.iter().enumerate() {
                // A fixed jitter spreads equal values without randomness.
                let jitter = ((i * 7 + li * 3) % 9) as f64 - 4.0;
                let _ = writeln!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{fill}\" fill-opacity=\"0.45\"/>",
                    x(*v),
                    cy + jitter
                );
            }
            let mx = x(*median);
            let _ = writeln!(
                s,
                "<line x1=\"{mx:.1}\" y1=\"{:.1}\" x2=\"{mx:.1}\" y2=\"{:.1}\" stroke=\"black\" stroke-width=\"2.5\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" fill=\"#333\">{} ms ({median:.2}x)</text>",
                cy - 6.0,
                cy + 6.0,
                X1 + 8.0,
                cy + 4.0,
                fmt_ms(*median_ms)
            );
            y += LANE;
        }
        y += GAP;
        let _ = writeln!(s, "</g>");
    }
    s.push_str("</svg>\n");
    s
}

/// The timing measures with samples, each runtime's values over the baseline's median
/// (or over the first runtime measured, when the baseline was not).
fn groups(r: &Report) -> Vec<Group> {
    r.measured()
        .filter(|m| m.is_timing())
        .filter_map(|m| {
            let (base_name, base) = match r.base_median(m.key) {
                Some(b) if b > 0.0 => (r.baseline.clone(), b),
                _ => r.results.iter().find_map(|res| {
                    let b = res.median(m.key).filter(|b| *b > 0.0)?;
                    Some((res.name.clone(), b))
                })?,
            };
            let lanes = r
                .results
                .iter()
                .enumerate()
                .filter_map(|(i, res)| {
                    let median = res.median(m.key)?;
                    let values = res.values(m.key).iter().map(|v| v / base).collect();
                    Some((res.name.clone(), i, values, median / base, median))
                })
                .collect();
            let label = if base_name == r.baseline {
                m.label.clone()
            } else {
                format!("{} (over {base_name}'s median)", m.label)
            };
            Some(Group { label, lanes })
        })
        .collect()
}

/// Whole powers of two around every value, at least 1/2x to 2x, at most 1/16x to 16x
/// (a value beyond sits on the edge).
fn domain(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (-1.0f64, 1.0f64);
    for v in values.filter(|v| *v > 0.0) {
        lo = lo.min(v.log2().floor());
        hi = hi.max(v.log2().ceil());
    }
    (lo.max(-4.0), hi.min(4.0))
}

fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Text made safe for XML.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_report;

    /// Checks that tags nest and close, attributes are quoted, and `&` starts an entity.
    fn well_formed(xml: &str) -> Result<(), String> {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open])?;
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            if let Some(name) = tag.strip_prefix('/') {
                let top = stack.pop().ok_or(format!("</{name}> closes nothing"))?;
                if top != name.trim() {
                    return Err(format!("</{name}> closes <{top}>"));
                }
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body.split_whitespace().next().ok_or("empty tag")?;
                if !body.matches('"').count().is_multiple_of(2) {
                    return Err(format!("unbalanced quotes in <{body}>"));
                }
                check_text(body)?;
                if !self_closing {
                    stack.push(name.to_string());
                }
            }
            rest = &rest[close + 1..];
        }
        check_text(rest)?;
        match stack.is_empty() {
            true => Ok(()),
            false => Err(format!("unclosed: {stack:?}")),
        }
    }

    fn check_text(text: &str) -> Result<(), String> {
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            if !["&amp;", "&lt;", "&gt;", "&quot;"]
                .iter()
                .any(|e| entity.starts_with(e))
            {
                return Err(format!("bare & in {text:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn the_checker_catches_errors() {
        assert!(well_formed("<a><b/></a>").is_ok());
        assert!(well_formed("<a><b></a>").is_err());
        assert!(well_formed("<a>x & y</a>").is_err());
        assert!(well_formed("<a x=\"1></a>").is_err());
    }

    #[test]
    fn chart_is_well_formed_with_one_group_per_timing_measure() {
        let mut r = sample_report();
        r.results[0].name = "q<&>".into();
        let svg = chart(&r);
        well_formed(&svg).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        // run and create are timings; init VmRSS and the failure count are not.
        assert_eq!(svg.matches("<g class=\"measure\"").count(), 2);
        // 3 runtimes x 5 samples x 2 measures, plus one legend dot per runtime.
        assert_eq!(svg.matches("<circle").count(), 30 + 4);
        assert!(svg.contains(">1x</text>"));
        assert!(svg.contains("q&lt;&amp;&gt;"));
    }

    #[test]
    fn domain_covers_the_values_in_powers_of_two() {
        assert_eq!(domain([0.3, 5.0].into_iter()), (-2.0, 3.0));
        assert_eq!(domain([1.0].into_iter()), (-1.0, 1.0));
        assert_eq!(domain([1e-9, 1e9].into_iter()), (-4.0, 4.0));
    }
}
