//! Reading the probe's report.

use serde_json::Value;

/// The last (topmost) mount at `point` in a report, if any.
pub fn mount_at<'a>(report: &'a Value, point: &str) -> Option<&'a Value> {
    report["mounts"]
        .as_array()?
        .iter()
        .rev()
        .find(|m| m["mount_point"] == point)
}

/// The mount at `point`, failing the test with the mount list when absent.
#[track_caller]
pub fn mount<'a>(report: &'a Value, point: &str) -> &'a Value {
    mount_at(report, point).unwrap_or_else(|| {
        let points: Vec<&str> = report["mounts"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["mount_point"].as_str()).collect())
            .unwrap_or_default();
        panic!("no mount at {point}; mounts: {points:?}")
    })
}

/// Whether a mount's per-mount options (or, with `sup`, super options) include `opt`.
pub fn has_opt(mount: &Value, opt: &str) -> bool {
    mount["options"]
        .as_array()
        .is_some_and(|a| a.iter().any(|o| o == opt))
}

/// Whether a mount's super options include `opt`.
pub fn has_super_opt(mount: &Value, opt: &str) -> bool {
    mount["super_options"]
        .as_array()
        .is_some_and(|a| a.iter().any(|o| o == opt))
}

/// Whether the report's env contains `entry` (`KEY=value`).
pub fn has_env(report: &Value, entry: &str) -> bool {
    report["env"]
        .as_array()
        .is_some_and(|a| a.iter().any(|e| e == entry))
}
