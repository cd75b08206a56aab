//! `quai update [--resources FILE|-] [--memory ...] <id>`: change the container's limits
//! live. The JSON (LinuxResources) is read first; runc's per-resource flags then
//! override the fields they name.

use std::io::Read;
use std::path::Path;

use libcontainer::container::Container;
use libcontainer::spec::LinuxResources;
use serde_json::{json, Value};

use crate::cli::UpdateArgs;
use crate::exit::CliError;

/// Updates container `a.id`.
pub fn run(root: &Path, a: &UpdateArgs) -> Result<i32, CliError> {
    let c = Container::load(root, &a.id)?;
    let mut v = match a.resources.as_deref() {
        None => json!({}),
        Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(CliError::io("read", Path::new("stdin")))?;
            parse_json(&s)?
        }
        Some(f) => {
            parse_json(&std::fs::read_to_string(f).map_err(CliError::io("read", Path::new(f)))?)?
        }
    };
    overlay_flags(&mut v, a)?;
    let res: LinuxResources = serde_json::from_value(v)
        .map_err(|e| CliError::Usage(format!("invalid resources: {e}")))?;
    c.update(&res)?;
    Ok(0)
}

fn parse_json(s: &str) -> Result<Value, CliError> {
    serde_json::from_str(s).map_err(|e| CliError::Usage(format!("invalid resources JSON: {e}")))
}

/// Sets `v[section][key]`, making the section if needed.
fn set(v: &mut Value, section: &str, key: &str, val: Value) {
    if !v[section].is_object() {
        v[section] = json!({});
    }
    v[section][key] = val;
}

/// Applies runc's update flags over the JSON.
fn overlay_flags(v: &mut Value, a: &UpdateArgs) -> Result<(), CliError> {
    if let Some(w) = a.blkio_weight {
        set(v, "blockIO", "weight", json!(w));
    }
    let num = |name: &str, s: &Option<String>| -> Result<Option<i64>, CliError> {
        s.as_deref()
            .map(|t| {
                t.parse::<i64>()
                    .map_err(|_| CliError::Usage(format!("invalid value {t:?} for --{name}")))
            })
            .transpose()
    };
    let bytes = |name: &str, s: &Option<String>| -> Result<Option<i64>, CliError> {
        s.as_deref()
            .map(|t| {
                parse_bytes(t)
                    .ok_or_else(|| CliError::Usage(format!("invalid value {t:?} for --{name}")))
            })
            .transpose()
    };
    for (name, key, val) in [
        ("cpu-period", "period", num("cpu-period", &a.cpu_period)?),
        ("cpu-quota", "quota", num("cpu-quota", &a.cpu_quota)?),
        ("cpu-share", "shares", num("cpu-share", &a.cpu_share)?),
        (
            "cpu-rt-period",
            "realtimePeriod",
            num("cpu-rt-period", &a.cpu_rt_period)?,
        ),
        (
            "cpu-rt-runtime",
            "realtimeRuntime",
            num("cpu-rt-runtime", &a.cpu_rt_runtime)?,
        ),
    ] {
        let _ = name;
        if let Some(n) = val {
            set(v, "cpu", key, json!(n));
        }
    }
    if let Some(s) = &a.cpuset_cpus {
        set(v, "cpu", "cpus", json!(s));
    }
    if let Some(s) = &a.cpuset_mems {
        set(v, "cpu", "mems", json!(s));
    }
    for (key, val) in [
        ("limit", bytes("memory", &a.memory)?),
        (
            "reservation",
            bytes("memory-reservation", &a.memory_reservation)?,
        ),
        ("swap", bytes("memory-swap", &a.memory_swap)?),
        ("kernel", bytes("kernel-memory", &a.kernel_memory)?),
        (
            "kernelTCP",
            bytes("kernel-memory-tcp", &a.kernel_memory_tcp)?,
        ),
    ] {
        if let Some(n) = val {
            set(v, "memory", key, json!(n));
        }
    }
    if let Some(n) = a.pids_limit {
        set(v, "pids", "limit", json!(n));
    }
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        return Err(CliError::Usage(
            "Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported by quai".into(),
        ));
    }
    Ok(())
}

/// A size as docker's `RAMInBytes` reads it: `-1`, `1024`, `512k`, `100M`, `2g`, `1GiB`.
fn parse_bytes(s: &str) -> Option<i64> {
    if s == "-1" {
        return Some(-1);
    }
    let t = s.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().ok()?;
    let mult: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        "p" => 1024.0f64.powi(5),
        _ => return None,
    };
    Some((n * mult) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("512k"), Some(512 * 1024));
        assert_eq!(parse_bytes("100M"), Some(100 * 1024 * 1024));
        assert_eq!(parse_bytes("2g"), Some(2 << 30));
        assert_eq!(parse_bytes("1GiB"), Some(1 << 30));
        assert_eq!(parse_bytes("-1"), Some(-1));
        assert_eq!(parse_bytes("ten"), None);
        assert_eq!(parse_bytes("5x"), None);
    }
}
