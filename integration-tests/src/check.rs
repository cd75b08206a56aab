//! Assertions shared by the test files.

use crate::{Ctr, Out};

/// Assert the failure shape every error shares (status 1, exactly one non-empty stderr
/// line containing one of `phrases`, case-insensitively), then that nothing is left.
#[track_caller]
pub fn one_clear_error(c: &Ctr, out: Out, phrases: &[&str]) {
    assert_eq!(out.code, 1, "{out}");
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "expected one message: {out}");
    let lower = out.stderr.to_lowercase();
    assert!(
        phrases.iter().any(|p| lower.contains(&p.to_lowercase())),
        "stderr has none of {phrases:?}: {out}"
    );
    c.assert_gone(None);
}

/// Like [`one_clear_error`], but the message must contain every one of `phrases`.
#[track_caller]
pub fn one_clear_error_all(c: &Ctr, out: Out, phrases: &[&str]) {
    let lower = out.stderr.to_lowercase();
    for p in phrases {
        assert!(
            lower.contains(&p.to_lowercase()),
            "stderr lacks {p:?}: {out}"
        );
    }
    one_clear_error(c, out, phrases);
}
