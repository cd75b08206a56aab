//! The init's uid and gid maps, written by the runtime once the init exists.
//!
//! Root of the host writes any mapping itself. A rootless caller may write only a
//! mapping of its own id (and, for gids, only after denying `setgroups` in the new
//! namespace, as the kernel requires); a wider mapping goes through the setuid helpers
//! `newuidmap`/`newgidmap`, which allow the ranges `/etc/subuid` and `/etc/subgid` give
//! the caller. Direct writes go through the trusted procfs handle.

use std::process::Command;

use super::NamespaceError;
use crate::caller;
use crate::procfs::ProcHandle;
use crate::spec::{Bundle, LinuxIdMapping};

/// Renders id mappings as the kernel wants them in `uid_map`/`gid_map`.
pub fn id_map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Which ids a map is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    User,
    Group,
}

impl Ids {
    fn file(self) -> &'static str {
        match self {
            Ids::User => "uid_map",
            Ids::Group => "gid_map",
        }
    }

    fn helper(self) -> &'static str {
        match self {
            Ids::User => "newuidmap",
            Ids::Group => "newgidmap",
        }
    }

    fn field(self) -> &'static str {
        match self {
            Ids::User => "linux.uidMappings",
            Ids::Group => "linux.gidMappings",
        }
    }
}

/// How a map gets written.
#[derive(Debug, PartialEq, Eq)]
enum Writer {
    /// By us: we hold `CAP_SETUID`/`CAP_SETGID` over our user namespace.
    Direct,
    /// By us, mapping only our own id (gids: with `setgroups` denied first).
    OwnIdOnly,
    /// By `newuidmap`/`newgidmap`.
    Helper,
}

fn writer(maps: &[LinuxIdMapping], privileged: bool, own: u32) -> Writer {
    match maps {
        _ if privileged => Writer::Direct,
        [m] if m.size() == 1 && m.host_id() == own => Writer::OwnIdOnly,
        _ => Writer::Helper,
    }
}

/// In the runtime process: writes the init's uid and gid maps (uid first).
pub fn write_id_maps(proc: &ProcHandle, pid: i32, bundle: &Bundle) -> Result<(), NamespaceError> {
    let Some(linux) = bundle.spec.linux() else {
        return Ok(());
    };
    for (ids, maps) in [
        (Ids::User, linux.uid_mappings()),
        (Ids::Group, linux.gid_mappings()),
    ] {
        let maps = maps.as_deref().unwrap_or(&[]);
        if maps.is_empty() {
            continue;
        }
        let (cap, own) = match ids {
            Ids::User => (caller::CAP_SETUID, caller::euid()),
            Ids::Group => (caller::CAP_SETGID, caller::egid()),
        };
        match writer(maps, caller::has_effective_cap(cap), own) {
            Writer::Direct => write_map(proc, pid, ids, maps)?,
            Writer::OwnIdOnly => {
                if ids == Ids::Group {
                    proc.write(&format!("{pid}/setgroups"), "deny")
                        .map_err(|source| NamespaceError::Sys {
                            what: format!("write /proc/{pid}/setgroups"),
                            source,
                        })?;
                }
                write_map(proc, pid, ids, maps)?;
            }
            Writer::Helper => run_helper(pid, ids, maps, own)?,
        }
    }
    Ok(())
}

fn write_map(
    proc: &ProcHandle,
    pid: i32,
    ids: Ids,
    maps: &[LinuxIdMapping],
) -> Result<(), NamespaceError> {
    let file = ids.file();
    proc.write(&format!("{pid}/{file}"), &id_map_text(maps))
        .map_err(|source| NamespaceError::Sys {
            what: format!("write /proc/{pid}/{file}"),
            source,
        })
}

/// The helper's arguments after the PID: `container host size` for each range.
fn helper_args(maps: &[LinuxIdMapping]) -> Vec<String> {
    maps.iter()
        .flat_map(|m| [m.container_id(), m.host_id(), m.size()])
        .map(|n| n.to_string())
        .collect()
}

fn run_helper(pid: i32, ids: Ids, maps: &[LinuxIdMapping], own: u32) -> Result<(), NamespaceError> {
    let helper = ids.helper();
    let refused = |why: String| {
        NamespaceError::IdMap(format!(
        "{} maps more than the caller's own id {own} ({}): a rootless runtime needs {helper} for that (package uidmap) and ranges for the caller in /etc/subuid and /etc/subgid; {why}",
        ids.field(),
        id_map_text(maps).trim_end().replace('\n', ", "),
    ))
    };
    let out = Command::new(helper)
        .arg(pid.to_string())
        .args(helper_args(maps))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| refused(format!("running {helper}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    Err(refused(format!(
        "{helper} failed ({}): {}",
        out.status,
        err.trim()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(json: &str) -> Vec<LinuxIdMapping> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn id_maps_render() {
        let m = maps(
            r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]"#,
        );
        assert_eq!(id_map_text(&m), "0 1000 1\n1 100000 65536\n");
        assert_eq!(helper_args(&m), ["0", "1000", "1", "1", "100000", "65536"]);
    }

    #[test]
    fn who_writes_the_map() {
        let own = maps(r#"[{"containerID":0,"hostID":1000,"size":1}]"#);
        let other = maps(r#"[{"containerID":0,"hostID":1001,"size":1}]"#);
        let wide = maps(r#"[{"containerID":0,"hostID":1000,"size":2}]"#);
        let two = maps(
            r#"[{"containerID":0,"hostID":1000,"size":1},{"containerID":1,"hostID":100000,"size":65536}]"#,
        );
        assert_eq!(writer(&two, true, 0), Writer::Direct);
        assert_eq!(writer(&own, false, 1000), Writer::OwnIdOnly);
        assert_eq!(writer(&own, false, 1000), Writer::OwnIdOnly);
        assert_eq!(writer(&other, false, 1000), Writer::Helper);
        assert_eq!(writer(&wide, false, 1000), Writer::Helper);
        assert_eq!(writer(&two, false, 1000), Writer::Helper);
    }
}
