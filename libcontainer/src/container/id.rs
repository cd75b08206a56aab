//! Container ids: `[A-Za-z0-9_+.-]+`, not `.` or `..`, as runc accepts.

use std::fmt;

/// A container id that is known to be valid, and so safe as a path component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerId(String);

impl ContainerId {
    /// Checks `s` and wraps it.
    pub fn new(s: &str) -> Result<Self, super::ContainerError> {
        let ok = !s.is_empty()
            && s != "."
            && s != ".."
            && s.len() <= 1024
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+.-".contains(&b));
        if ok {
            Ok(Self(s.to_string()))
        } else {
            Err(super::ContainerError::InvalidId(s.to_string()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_runc_ids() {
        for ok in ["a", "abc-DEF_1.2+3", "x..y", "123"] {
            ContainerId::new(ok).unwrap();
        }
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in ["", ".", "..", "a/b", "a b", "../x", "é", "a\n", "a:b"] {
            assert!(ContainerId::new(bad).is_err(), "{bad:?}");
        }
    }
}
