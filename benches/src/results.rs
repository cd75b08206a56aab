//! What was measured for one runtime: samples per measure key, failures, and what it
//! left behind.

use crate::memlimit::Search;
use crate::stats::{summarize, Summary};
use std::collections::BTreeMap;

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
    /// Samples per measure key (see `measures`).
    pub samples: BTreeMap<&'static str, Vec<f64>>,
    /// Measured cycles that succeeded.
    pub cycles: usize,
    /// Errors of the cycles and scale rounds that failed (warm-up ones included).
    pub failures: Vec<String>,
    /// The memory-limit search, step by step.
    pub memory_search: Option<Search>,
    /// State-root entries left after every container was deleted.
    pub leftover_state: Vec<String>,
}

impl RuntimeResult {
    /// An empty result for `name`.
    pub fn new(name: &str) -> RuntimeResult {
        RuntimeResult {
            name: name.to_string(),
            path: String::new(),
            version: String::new(),
            not_runnable: None,
            samples: BTreeMap::new(),
            cycles: 0,
            failures: Vec::new(),
            memory_search: None,
            leftover_state: Vec::new(),
        }
    }

    /// Adds one value of each measure in `sample`.
    pub fn push_all(&mut self, sample: &[(&'static str, f64)]) {
        for (key, value) in sample {
            self.samples.entry(key).or_default().push(*value);
        }
    }

    /// The samples of `key` (none if it was not measured).
    pub fn values(&self, key: &str) -> &[f64] {
        self.samples.get(key).map_or(&[], Vec::as_slice)
    }

    /// Median, p90 and extremes of `key`.
    pub fn summary(&self, key: &str) -> Option<Summary> {
        summarize(self.values(key))
    }

    /// The median of `key`.
    pub fn median(&self, key: &str) -> Option<f64> {
        self.summary(key).map(|s| s.median)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_samples_per_key() {
        let mut r = RuntimeResult::new("quai");
        r.push_all(&[("a", 1.0), ("b", 10.0)]);
        r.push_all(&[("a", 3.0)]);
        assert_eq!(r.values("a"), &[1.0, 3.0]);
        assert_eq!(r.median("a"), Some(2.0));
        assert_eq!(r.median("b"), Some(10.0));
        assert!(r.values("c").is_empty());
        assert!(r.summary("c").is_none());
    }
}
