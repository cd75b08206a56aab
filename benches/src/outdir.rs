//! The results directory: results.json, results.md and chart.svg of one run, by
//! default under `target/bench-results/<UTC timestamp>/`.

use crate::report::{self, Report};
use crate::{markdown, svg};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC time as `(iso, compact)`: `2026-12-07T02:15:00Z` and `20261207T021500Z`.
pub fn utc_stamps(time: SystemTime) -> (String, String) {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, min, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let (y, mo, d) = civil_from_days(days as i64);
    (
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{min:02}:{s:02}Z"),
        format!("{y:04}{mo:02}{d:02}T{h:02}{min:02}{s:02}Z"),
    )
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `target/bench-results/<compact stamp>` under the current directory.
pub fn default_dir(compact_stamp: &str) -> PathBuf {
    Path::new("target")
        .join("bench-results")
        .join(compact_stamp)
}

/// Writes the three files into `dir` (created if needed); returns their paths.
pub fn write_all(dir: &Path, r: &Report) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(&report::json(r)).map_err(|e| e.to_string())?;
    let files = [
        ("results.json", json + "\n"),
        ("results.md", markdown::write(r)),
        ("chart.svg", svg::chart(r)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> (String, String) {
        utc_stamps(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn utc_stamps_of_known_times() {
        assert_eq!(at(0).0, "1970-01-01T00:00:00Z");
        assert_eq!(at(1_700_000_000).0, "2023-11-14T22:13:20Z");
        assert_eq!(at(951_782_400).1, "20000229T000000Z");
        assert_eq!(at(1_796_609_700).0, "2026-12-07T02:15:00Z");
    }

    #[test]
    fn writes_the_three_files() {
        let dir = std::env::temp_dir().join(format!("quai-bench-outdir-{}", std::process::id()));
        let files = write_all(&dir.join("run"), &crate::report::tests::sample_report()).unwrap();
        assert_eq!(files.len(), 3);
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&files[0]).unwrap()).unwrap();
        assert_eq!(json["baseline"], "crun");
        assert!(fs::read_to_string(&files[2]).unwrap().starts_with("<svg"));
        let _ = fs::remove_dir_all(&dir);
    }
}
