//! Which cgroup hierarchies this host has, read once from `/proc/self/mountinfo`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted.
    pub mount: PathBuf,
    /// The cgroup path that the mount point shows (usually `/`).
    pub root: PathBuf,
    /// v1 controllers (`memory`, `name=systemd`, ...); empty for the unified hierarchy.
    pub controllers: Vec<String>,
    /// True for cgroup2.
    pub unified: bool,
}

/// How the host mounts its cgroups, which decides the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only v1 hierarchies, one or more controllers each.
    #[default]
    V1,
    /// Only the unified (cgroup2) hierarchy.
    V2,
    /// v1 controllers plus a unified hierarchy (systemd's "hybrid" layout).
    Hybrid,
}

/// The hierarchies of the host, in mountinfo order, one per distinct hierarchy.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Every hierarchy found.
    pub hierarchies: Vec<Hierarchy>,
    /// Every mount of the namespace as read, cgroup or not (the init of a new
    /// container reuses them rather than read mountinfo again).
    pub mounts: Vec<crate::mountinfo::MountInfo>,
}

impl Layout {
    /// Reads the layout of the calling process's mount namespace.
    pub fn detect() -> std::io::Result<Self> {
        let layout = parse_mountinfo(&crate::rootdir::read_text(Path::new(
            "/proc/self/mountinfo",
        ))?);
        if let Some(base) = layout.base() {
            super::fsat::set_base(&base);
        }
        Ok(layout)
    }

    /// The deepest directory every hierarchy is mounted at or below (`/sys/fs/cgroup`).
    pub fn base(&self) -> Option<PathBuf> {
        let mut mounts = self.hierarchies.iter().map(|h| h.mount.as_path());
        let mut base = mounts.next()?.to_path_buf();
        for m in mounts {
            while !m.starts_with(&base) {
                if !base.pop() {
                    return None;
                }
            }
        }
        Some(base)
    }

    /// True when there are no v1 hierarchies (a pure cgroup v2 host).
    pub fn is_pure_v2(&self) -> bool {
        self.mode() == Mode::V2
    }

    /// Which driver this layout needs.
    pub fn mode(&self) -> Mode {
        let unified = self.hierarchies.iter().any(|h| h.unified);
        let v1 = self.hierarchies.iter().any(|h| !h.unified);
        match (v1, unified) {
            (false, true) => Mode::V2,
            (true, true) => Mode::Hybrid,
            _ => Mode::V1,
        }
    }

    /// The unified hierarchy, if mounted.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.unified)
    }

    /// The v1 hierarchy with `controller`, if mounted.
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }
}

/// Parses mountinfo text into the cgroup layout.
pub fn parse_mountinfo(text: &str) -> Layout {
    let mut out = Layout::default();
    let mounts = crate::mountinfo::parse(text);
    for m in mounts.iter().cloned() {
        let unified = match m.fstype.as_str() {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers: Vec<String> = if unified {
            Vec::new()
        } else {
            m.super_options
                .split(',')
                .filter(|o| !NOT_CONTROLLERS.contains(o) && !o.starts_with("release_agent"))
                .map(str::to_string)
                .collect()
        };
        let h = Hierarchy {
            mount: m.mount_point,
            root: PathBuf::from(m.root),
            controllers,
            unified,
        };
        if !out
            .hierarchies
            .iter()
            .any(|o| o.controllers == h.controllers && o.unified == h.unified)
        {
            out.hierarchies.push(h);
        }
    }
    out.mounts = mounts;
    out
}

/// Super-block options of a v1 cgroup mount that are not controller names.
const NOT_CONTROLLERS: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
];

/// The calling process's own cgroup in a hierarchy, from `/proc/self/cgroup` text.
pub fn own_cgroup(proc_self_cgroup: &str, h: &Hierarchy) -> PathBuf {
    for line in proc_self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let matches = if h.unified {
            ctrls.is_empty()
        } else {
            let set: Vec<&str> = ctrls.split(',').collect();
            !ctrls.is_empty() && h.controllers.iter().all(|c| set.contains(&c.as_str()))
        };
        if matches {
            return PathBuf::from(path);
        }
    }
    PathBuf::from("/")
}

/// The directory of cgroup `path` (absolute, as the kernel names cgroups) in `h`.
pub fn dir_of(h: &Hierarchy, path: &Path) -> PathBuf {
    let rel = path.strip_prefix(&h.root).unwrap_or(path);
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    h.mount.join(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
30 23 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
35 30 0:30 / /sys/fs/cgroup/cpu\\054cpuacct2 rw - cgroup cgroup rw,cpu,cpuacct
";

    #[test]
    fn parses_hybrid() {
        let l = parse_mountinfo(HYBRID);
        assert_eq!(l.hierarchies.len(), 4);
        assert!(!l.is_pure_v2());
        assert_eq!(l.mode(), Mode::Hybrid);
        assert_eq!(
            l.v1("memory").unwrap().mount,
            PathBuf::from("/sys/fs/cgroup/memory")
        );
        assert_eq!(l.v1("cpuacct").unwrap().controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(
            l.v1("name=systemd").unwrap().mount,
            PathBuf::from("/sys/fs/cgroup/systemd")
        );
        assert!(l.hierarchies[0].unified);
    }

    #[test]
    fn modes() {
        let v2 =
            parse_mountinfo("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
        assert_eq!(v2.mode(), Mode::V2);
        assert!(v2.is_pure_v2());
        let v1 =
            parse_mountinfo("33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
        assert_eq!(v1.mode(), Mode::V1);
        assert!(v1.unified().is_none());
    }

    #[test]
    fn own_cgroup_per_hierarchy() {
        let l = parse_mountinfo(HYBRID);
        let pc = "4:memory:/a/b\n3:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n";
        assert_eq!(
            own_cgroup(pc, l.v1("memory").unwrap()),
            PathBuf::from("/a/b")
        );
        assert_eq!(own_cgroup(pc, l.v1("cpu").unwrap()), PathBuf::from("/"));
        assert_eq!(
            own_cgroup(pc, l.v1("name=systemd").unwrap()),
            PathBuf::from("/s")
        );
        assert_eq!(own_cgroup(pc, &l.hierarchies[0]), PathBuf::from("/u"));
    }

    #[test]
    fn dirs_map_through_mount_root() {
        let h = Hierarchy {
            mount: "/m".into(),
            root: "/ns".into(),
            controllers: vec![],
            unified: true,
        };
        assert_eq!(dir_of(&h, Path::new("/ns/x")), PathBuf::from("/m/x"));
        assert_eq!(dir_of(&h, Path::new("/x")), PathBuf::from("/m/x"));
    }
}
