//! Medians, p90s and ratios of samples.

/// Median, 90th percentile, extremes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
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
        count: n,
        median,
        p90: v[rank.clamp(1, n) - 1],
        min: v[0],
        max: v[n - 1],
    })
}

/// `value / base`, when the base is a positive number.
pub fn ratio(value: f64, base: Option<f64>) -> Option<f64> {
    base.filter(|b| *b > 0.0).map(|b| value / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p90() {
        let s = summarize(&[5.0, 1.0, 3.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert_eq!(s.median, 5.5);
        assert_eq!(s.p90, 9.0);
        assert_eq!((s.min, s.max, s.count), (1.0, 10.0, 10));
        assert_eq!(summarize(&[2.0]).unwrap().p90, 2.0);
        assert_eq!(summarize(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert!(summarize(&[]).is_none());
    }

    #[test]
    fn ratio_needs_a_positive_base() {
        assert_eq!(ratio(1.0, Some(4.0)), Some(0.25));
        assert_eq!(ratio(1.0, Some(0.0)), None);
        assert_eq!(ratio(1.0, None), None);
    }
}
