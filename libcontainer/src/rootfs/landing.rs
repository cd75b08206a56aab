//! What may land where: runc's rule for `/proc` (the CVE-2019-19921 class), applied to
//! the path a mount or device node really lands on inside the rootfs (resolved through
//! the image's symlinks), never to the path written in config.json.
//!
//! On `/proc` itself only a procfs (new, or bound from a procfs source); below `/proc`
//! only the files lxcfs emulates, or the masking the runtime itself would do over a
//! `linux.maskedPaths` entry (a tmpfs on a directory, `/dev/null` on a file). Anything
//! else there would hide or replace what the kernel shows, or the masks and read-only
//! binds the runtime puts on it later. Nothing may land on the container's `/`.

use std::path::{Path, PathBuf};

/// What is put at a landing path, as far as the rule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A new procfs.
    Procfs,
    /// A new tmpfs.
    Tmpfs,
    /// A bind mount; `procfs`: its source is on a procfs; `null`: its source is the
    /// character device 1:3.
    Bind {
        /// The source is on procfs.
        procfs: bool,
        /// The source is `/dev/null` (1:3).
        null: bool,
    },
    /// Any other new filesystem (sysfs, cgroup, devpts, mqueue, ...).
    Other,
    /// A device node (mknod, or a bind of the host's node).
    Device,
}

/// Files below /proc that may be mounted over (lxcfs does): runc 1.3's list. runc
/// dropped `/proc/net/dev`: `/proc/net` is a link to `self/net`, so it never landed there.
const PROC_ALLOWED: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled",
];

/// A path written in config.json as an absolute path without `.` components.
pub(super) fn clean(path: &Path) -> PathBuf {
    Path::new("/").join(crate::rootdir::relative(path))
}

/// Decides whether `kind` may land at `landing` (absolute, inside the rootfs; `is_dir`
/// says what is there). `masked` are the spec's `linux.maskedPaths`, cleaned. The error
/// is runc's sentence for the case.
pub(super) fn check(
    landing: &Path,
    kind: Kind,
    is_dir: bool,
    masked: &[PathBuf],
) -> Result<(), String> {
    let verb = if kind == Kind::Device {
        "created"
    } else {
        "mounted"
    };
    if landing == Path::new("/") {
        return Err(format!(
            "\"/\" cannot be {verb} because it is the root of the container"
        ));
    }
    let Ok(below) = landing.strip_prefix("/proc") else {
        return Ok(());
    };
    let shown = landing.display();
    if below.as_os_str().is_empty() {
        return match kind {
            Kind::Procfs | Kind::Bind { procfs: true, .. } => Ok(()),
            _ => Err(format!(
                "\"{shown}\" cannot be {verb} because it is not of type proc"
            )),
        };
    }
    let allowed = kind != Kind::Device && PROC_ALLOWED.iter().any(|p| Path::new(p) == landing);
    let masking = masked.iter().any(|p| p == landing)
        && match kind {
            Kind::Tmpfs => is_dir,
            Kind::Bind { null: true, .. } => !is_dir,
            _ => false,
        };
    if allowed || masking {
        return Ok(());
    }
    Err(format!(
        "\"{shown}\" cannot be {verb} because it is inside /proc"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIND: Kind = Kind::Bind {
        procfs: false,
        null: false,
    };
    const PROC_BIND: Kind = Kind::Bind {
        procfs: true,
        null: false,
    };
    const NULL_BIND: Kind = Kind::Bind {
        procfs: false,
        null: true,
    };

    fn ok(landing: &str, kind: Kind, dir: bool) -> bool {
        let masked = [PathBuf::from("/proc/kcore"), PathBuf::from("/proc/acpi")];
        check(Path::new(landing), kind, dir, &masked).is_ok()
    }

    #[test]
    fn outside_proc_anything_goes() {
        for kind in [Kind::Procfs, Kind::Tmpfs, BIND, Kind::Other, Kind::Device] {
            assert!(ok("/data", kind, true));
            assert!(ok("/processes", kind, true), "a name that starts with proc");
            assert!(ok("/data/proc", kind, true));
        }
    }

    #[test]
    fn on_proc_only_procfs() {
        assert!(ok("/proc", Kind::Procfs, true));
        assert!(ok("/proc", PROC_BIND, true));
        for kind in [Kind::Tmpfs, BIND, NULL_BIND, Kind::Other, Kind::Device] {
            let e = check(Path::new("/proc"), kind, true, &[]).unwrap_err();
            assert!(e.contains("not of type proc"), "{e}");
        }
    }

    #[test]
    fn below_proc_only_lxcfs_files_and_masks() {
        assert!(ok("/proc/cpuinfo", BIND, false));
        assert!(ok("/proc/sys/kernel/ns_last_pid", BIND, false));
        assert!(!ok("/proc/net/dev", BIND, false));
        assert!(!ok("/proc/cpuinfo", Kind::Device, false));
        for bad in ["/proc/sys", "/proc/self", "/proc/1", "/proc/sysrq-trigger"] {
            for kind in [
                Kind::Procfs,
                Kind::Tmpfs,
                BIND,
                PROC_BIND,
                NULL_BIND,
                Kind::Other,
            ] {
                let e = check(Path::new(bad), kind, true, &[]).unwrap_err();
                assert!(e.contains("inside /proc") && e.contains(bad), "{e}");
            }
        }
        // Masking as the runtime does it: tmpfs on a directory, /dev/null on a file.
        assert!(ok("/proc/acpi", Kind::Tmpfs, true));
        assert!(ok("/proc/kcore", NULL_BIND, false));
        assert!(!ok("/proc/kcore", BIND, false));
        assert!(!ok("/proc/kcore", Kind::Tmpfs, false));
        assert!(!ok("/proc/acpi", NULL_BIND, true));
        assert!(!ok("/proc/keys", NULL_BIND, false), "not in maskedPaths");
    }

    #[test]
    fn nothing_on_the_root() {
        for kind in [Kind::Procfs, Kind::Tmpfs, BIND, Kind::Device] {
            assert!(!ok("/", kind, true));
        }
    }

    #[test]
    fn clean_paths() {
        assert_eq!(
            clean(Path::new("proc/./kcore")),
            PathBuf::from("/proc/kcore")
        );
        assert_eq!(clean(Path::new("/proc/")), PathBuf::from("/proc"));
    }
}
