//! The runtime-spec's list format for CPUs and NUMA nodes: comma-separated numbers and
//! ranges, `0-3,7`. Shared by `execCPUAffinity` and `memoryPolicy.nodes`, which the
//! kernel both takes as bit masks.

/// Why a list was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    /// An entry is not a number or a range `a-b` with `a <= b`.
    #[error("{list:?}: {entry:?} is not a number or a range a-b with a <= b")]
    Entry {
        /// The whole list.
        list: String,
        /// The entry refused.
        entry: String,
    },
    /// A number is beyond what the mask may hold.
    #[error("{list:?}: {n} is beyond the largest possible {max}")]
    TooLarge {
        /// The whole list.
        list: String,
        /// The number refused.
        n: usize,
        /// The largest number allowed.
        max: usize,
    },
}

/// Parses `list` into a bit mask of 64-bit words (bit `n` set for each `n` listed),
/// refusing numbers above `max`. An empty list gives an empty mask.
pub fn parse_mask(list: &str, max: usize) -> Result<Vec<u64>, RangeError> {
    let mut mask: Vec<u64> = Vec::new();
    for entry in list.split(',').filter(|e| !e.trim().is_empty()) {
        let bad = || RangeError::Entry {
            list: list.into(),
            entry: entry.into(),
        };
        let num = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
        let (lo, hi) = match entry.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(entry)?, num(entry)?),
        };
        if lo > hi {
            return Err(bad());
        }
        if hi > max {
            return Err(RangeError::TooLarge {
                list: list.into(),
                n: hi,
                max,
            });
        }
        if mask.len() <= hi / 64 {
            mask.resize(hi / 64 + 1, 0);
        }
        for n in lo..=hi {
            mask[n / 64] |= 1 << (n % 64);
        }
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_mask("0-3,7", 1023), Ok(vec![0b1000_1111]));
        assert_eq!(parse_mask("1", 1023), Ok(vec![2]));
        assert_eq!(parse_mask("", 1023), Ok(vec![]));
        assert_eq!(parse_mask("64", 1023), Ok(vec![0, 1]));
        assert_eq!(parse_mask(" 0 , 2-2", 1023), Ok(vec![0b101]));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["a", "3-1", "1-", "-1", "1--2", "0x1"] {
            let e = parse_mask(bad, 1023).unwrap_err();
            assert!(matches!(e, RangeError::Entry { .. }), "{bad}: {e}");
        }
        assert_eq!(
            parse_mask("0,5000", 1023),
            Err(RangeError::TooLarge {
                list: "0,5000".into(),
                n: 5000,
                max: 1023
            })
        );
    }
}
