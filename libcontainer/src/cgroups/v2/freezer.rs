//! v2 freezer: `cgroup.freeze`, then waiting for `frozen 1` in `cgroup.events`,
//! which the kernel announces with a file-modified event (no timed polling).

use std::path::Path;
use std::time::Duration;

use super::super::watch::FileWatch;
use super::super::{files, CgroupError};

const TIMEOUT: Duration = Duration::from_secs(5);

fn frozen_now(d: &Path) -> Result<Option<bool>, CgroupError> {
    Ok(files::flat_keyed(&files::read(d, "cgroup.events")?)
        .get("frozen")
        .map(|v| *v == 1))
}

fn set(d: &Path, want: bool) -> Result<(), CgroupError> {
    if !files::exists(d, "cgroup.freeze") {
        return Err(CgroupError::Unsupported(format!(
            "pause: {} has no cgroup.freeze (the v2 freezer needs kernel 5.2)",
            d.display()
        )));
    }
    let watch = FileWatch::new(&d.join("cgroup.events"))?;
    files::write(d, "cgroup.freeze", u8::from(want))?;
    let reached = watch.wait_until(TIMEOUT, || {
        // A kernel without the `frozen` key has no way to tell: trust the write.
        Ok(frozen_now(d)?.is_none_or(|f| f == want))
    })?;
    if reached {
        return Ok(());
    }
    if want {
        let _ = files::write(d, "cgroup.freeze", 0);
    }
    Err(CgroupError::FreezeTimeout {
        path: d.to_path_buf(),
        state: if want { "frozen" } else { "thawed" },
        secs: TIMEOUT.as_secs(),
    })
}

/// Freezes, returning once every process is frozen.
pub fn freeze(d: &Path) -> Result<(), CgroupError> {
    set(d, true)
}

/// Thaws, returning once the cgroup reports itself thawed.
pub fn thaw(d: &Path) -> Result<(), CgroupError> {
    set(d, false)
}

/// True when the cgroup is asked to be frozen.
pub fn is_frozen(d: &Path) -> Result<bool, CgroupError> {
    match files::read(d, "cgroup.freeze") {
        Ok(s) => Ok(s.trim() == "1"),
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn waits_for_the_event() {
        let d = FakeDir::new(&[
            ("cgroup.freeze", "0"),
            ("cgroup.events", "populated 1\nfrozen 0\n"),
        ]);
        let events = d.path().join("cgroup.events");
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            std::fs::write(events, "populated 1\nfrozen 1\n").unwrap();
        });
        freeze(d.path()).unwrap();
        t.join().unwrap();
        assert_eq!(d.get("cgroup.freeze"), "1");
        assert!(is_frozen(d.path()).unwrap());
        d.put("cgroup.events", "populated 1\nfrozen 0\n");
        thaw(d.path()).unwrap();
        assert!(!is_frozen(d.path()).unwrap());
    }
}
