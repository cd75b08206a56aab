//! The v1 -> v2 value conversions, the ones runc makes, so a spec written for either
//! version means the same on both.

use super::CgroupError;

/// `cpu.shares` (2..262144) to `cpu.weight` (1..10000); 0 stays "unset".
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

/// `blkio.weight` (10..1000) to `io.weight` (1..10000); 0 stays "unset".
pub fn blkio_weight_to_io_weight(weight: u64) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (weight.saturating_sub(10) * 9999) / 990
}

/// The v1 memory value (`-1` unlimited, `0` unset) as a v2 file value: `max`, or
/// `None` when unset.
pub fn memory_value(v: i64) -> Option<String> {
    match v {
        0 => None,
        -1 => Some("max".into()),
        n => Some(n.to_string()),
    }
}

/// v1's `memory.memsw` limit is memory plus swap; v2's `memory.swap.max` is swap alone.
/// Returns the value for `memory.swap.max` (`-1` max, `0` unset), as runc computes it.
pub fn swap_to_v2(swap: i64, memory: i64) -> Result<i64, CgroupError> {
    // Unlimited memory with swap unset means both unlimited, as on v1.
    if memory == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if memory == 0 || memory == -1 {
        return Err(CgroupError::Invalid(
            "memory.swap: a swap limit needs a memory limit".into(),
        ));
    }
    if memory < 0 {
        return Err(CgroupError::Invalid(format!(
            "memory.limit: invalid value {memory}"
        )));
    }
    if swap < memory {
        return Err(CgroupError::Invalid(
            "memory.swap: memory+swap limit must be >= the memory limit".into(),
        ));
    }
    Ok(swap - memory)
}

/// `cpu.max` for quota and period (`max` when the quota is not positive), as runc.
pub fn cpu_max(quota: i64, period: u64) -> String {
    let mut s = if quota > 0 {
        quota.to_string()
    } else {
        "max".to_string()
    };
    if period != 0 {
        s.push(' ');
        s.push_str(&period.to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262144), 10000);
    }

    #[test]
    fn blkio_weights() {
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10000);
    }

    #[test]
    fn swap() {
        assert_eq!(swap_to_v2(0, -1).unwrap(), -1);
        assert_eq!(swap_to_v2(-1, 100).unwrap(), -1);
        assert_eq!(swap_to_v2(0, 100).unwrap(), 0);
        assert_eq!(swap_to_v2(300, 100).unwrap(), 200);
        assert_eq!(swap_to_v2(100, 100).unwrap(), 0);
        assert!(swap_to_v2(50, 100).is_err());
        assert!(swap_to_v2(50, 0).is_err());
        assert!(swap_to_v2(50, -1).is_err());
    }

    #[test]
    fn cpu_max_strings() {
        assert_eq!(cpu_max(50000, 100000), "50000 100000");
        assert_eq!(cpu_max(-1, 100000), "max 100000");
        assert_eq!(cpu_max(20000, 0), "20000");
        assert_eq!(memory_value(-1).as_deref(), Some("max"));
        assert_eq!(memory_value(0), None);
    }
}
