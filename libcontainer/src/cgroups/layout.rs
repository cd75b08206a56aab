//! Which cgroup hierarchies this host has, read once from `/proc/self/mountinfo`.

use std::path::{Path, PathBuf};

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

/// The hierarchies of the host, in mountinfo order, one per distinct hierarchy.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Every hierarchy found.
    pub hierarchies: Vec<Hierarchy>,
}

impl Layout {
    /// Reads the layout of the calling process's mount namespace.
    pub fn detect() -> std::io::Result<Self> {
        Ok(parse_mountinfo(&std::fs::read_to_string(
            "/proc/self/mountinfo",
        )?))
    }

    /// True when there are no v1 hierarchies (a pure cgroup v2 host).
    pub fn is_pure_v2(&self) -> bool {
        self.hierarchies.iter().all(|h| h.unified)
    }

    /// The v1 hierarchy with `controller`, if mounted.
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }
}

fn unescape(s: &str) -> String {
    // mountinfo escapes space, tab, newline and backslash as \ooo.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text into the cgroup layout.
pub fn parse_mountinfo(text: &str) -> Layout {
    let mut out = Layout::default();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let (root, mount, fstype, super_opts) = (pre[3], pre[4], post[0], post[2]);
        let h = match fstype {
            "cgroup2" => Hierarchy {
                mount: PathBuf::from(unescape(mount)),
                root: PathBuf::from(unescape(root)),
                controllers: Vec::new(),
                unified: true,
            },
            "cgroup" => {
                let controllers: Vec<String> = super_opts
                    .split(',')
                    .filter(|o| {
                        !matches!(*o, "rw" | "ro")
                            && !o.starts_with("release_agent")
                            && *o != "xattr"
                    })
                    .filter(|o| {
                        !matches!(
                            *o,
                            "noprefix" | "clone_children" | "cpuset_v2_mode" | "favordynmods"
                        )
                    })
                    .map(str::to_string)
                    .collect();
                Hierarchy {
                    mount: PathBuf::from(unescape(mount)),
                    root: PathBuf::from(unescape(root)),
                    controllers,
                    unified: false,
                }
            }
            _ => continue,
        };
        if !out
            .hierarchies
            .iter()
            .any(|o| o.controllers == h.controllers && o.unified == h.unified)
        {
            out.hierarchies.push(h);
        }
    }
    out
}

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

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("a\\040b"), "a b");
    }
}
