//! `--systemd-cgroup`: cgroups made by systemd over D-Bus, with `slice:prefix:name`
//! paths. Only the path and the check that systemd runs exist yet; where systemd is
//! not running (as on hosts without it), the error says so. A real driver would be one
//! more [`super::Driver`] beside the others.

use std::path::Path;

use super::CgroupError;

/// A parsed `slice:prefix:name` cgroups path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemdPath {
    /// The parent slice (`system.slice` when empty).
    pub slice: String,
    /// The unit name prefix.
    pub prefix: String,
    /// The unit name.
    pub name: String,
}

/// Parses `cgroupsPath` for the systemd driver; absent means `system.slice:quai:<id>`.
pub fn systemd_path(spec_path: Option<&str>, id: &str) -> Result<SystemdPath, CgroupError> {
    let Some(p) = spec_path.filter(|p| !p.is_empty()) else {
        return Ok(SystemdPath {
            slice: "system.slice".into(),
            prefix: "quai".into(),
            name: id.into(),
        });
    };
    let parts: Vec<&str> = p.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(CgroupError::InvalidPath(
            p.into(),
            "with --systemd-cgroup it must be slice:prefix:name",
        ));
    };
    if slice.contains('/') || prefix.contains('/') || name.contains('/') || name.is_empty() {
        return Err(CgroupError::InvalidPath(
            p.into(),
            "slice, prefix and name must be plain names, and name not empty",
        ));
    }
    if !slice.is_empty() && !slice.ends_with(".slice") {
        return Err(CgroupError::InvalidPath(
            p.into(),
            "the slice must end in .slice",
        ));
    }
    Ok(SystemdPath {
        slice: if slice.is_empty() {
            "system.slice".into()
        } else {
            slice.into()
        },
        prefix: prefix.into(),
        name: name.into(),
    })
}

/// Whether this build has a systemd cgroup driver (for `features`): not yet, so
/// [`create`] fails clearly, for the system instance and for user instances alike.
pub const DRIVER_BUILT_IN: bool = false;

/// True when systemd is the running init (`sd_booted`'s test).
pub fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// What `create --systemd-cgroup` does: checks the path, then fails clearly, since
/// there is no D-Bus driver yet and, on hosts like this one, no systemd to talk to.
pub fn create(spec_path: Option<&str>, id: &str) -> Result<super::Cgroup, CgroupError> {
    let p = systemd_path(spec_path, id)?;
    if !systemd_running() {
        return Err(CgroupError::Unsupported(format!(
            "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), so it cannot create {}:{}:{}; run without --systemd-cgroup",
            p.slice, p.prefix, p.name
        )));
    }
    Err(CgroupError::Unsupported(
        "--systemd-cgroup: the systemd cgroup driver is not supported by quai yet; run without --systemd-cgroup".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = systemd_path(Some("system.slice:docker:abc"), "x").unwrap();
        assert_eq!(p.slice, "system.slice");
        assert_eq!(p.prefix, "docker");
        assert_eq!(p.name, "abc");
        assert_eq!(systemd_path(None, "x").unwrap().name, "x");
        assert_eq!(
            systemd_path(Some(":p:n"), "x").unwrap().slice,
            "system.slice"
        );
        assert!(systemd_path(Some("/a/b"), "x").is_err());
        assert!(systemd_path(Some("a:b"), "x").is_err());
        assert!(systemd_path(Some("user:p:n"), "x").is_err());
    }

    #[test]
    fn fails_clearly_without_systemd() {
        if systemd_running() {
            return;
        }
        let e = create(None, "x").unwrap_err().to_string();
        assert!(e.contains("systemd is not running"), "{e}");
    }
}
