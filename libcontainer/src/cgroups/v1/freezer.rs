//! v1 freezer: `freezer.state`. The v1 freezer raises no event when it reaches
//! FROZEN, so the state is re-read with a short backoff, and FROZEN re-written as
//! runc does, since a task forking while the cgroup freezes can leave it FREEZING.

use std::path::Path;
use std::time::{Duration, Instant};

use super::super::{files, CgroupError};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Freezes, returning once the state reads FROZEN.
pub fn freeze(d: &Path) -> Result<(), CgroupError> {
    let deadline = Instant::now() + TIMEOUT;
    let mut backoff = Duration::from_micros(50);
    let mut tries = 0u32;
    loop {
        if tries.is_multiple_of(8) {
            files::write(d, "freezer.state", "FROZEN")?;
        }
        tries += 1;
        // Reading makes the kernel re-check whether every task is frozen.
        if files::read(d, "freezer.state")?.trim() == "FROZEN" {
            return Ok(());
        }
        if Instant::now() >= deadline {
            // Leave nothing half-frozen behind.
            let _ = thaw(d);
            return Err(CgroupError::FreezeTimeout {
                path: d.to_path_buf(),
                state: "FROZEN",
                secs: TIMEOUT.as_secs(),
            });
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(10));
    }
}

/// Thaws.
pub fn thaw(d: &Path) -> Result<(), CgroupError> {
    files::write(d, "freezer.state", "THAWED")
}

/// True when FROZEN (`freeze` thaws again rather than leave it FREEZING).
pub fn is_frozen(d: &Path) -> Result<bool, CgroupError> {
    Ok(files::read(d, "freezer.state")?.trim() == "FROZEN")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn states() {
        let d = FakeDir::new(&[("freezer.state", "THAWED\n")]);
        assert!(!is_frozen(d.path()).unwrap());
        freeze(d.path()).unwrap();
        assert!(is_frozen(d.path()).unwrap());
        thaw(d.path()).unwrap();
        assert_eq!(d.get("freezer.state"), "THAWED");
    }
}
