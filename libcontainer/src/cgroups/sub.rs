//! `exec --cgroup`: a process joins a sub-cgroup of its container's, named as runc
//! names it: one plain path for every hierarchy, or `controller[,controller]:path` for
//! the v1 hierarchies of those controllers. The sub-cgroup must exist already.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::{Cgroup, CgroupError, SelfJoin};

impl Cgroup {
    /// The cgroup `specs` (runc's `--cgroup` values) name below this one; no spec is
    /// this cgroup itself.
    pub fn sub(&self, specs: &[String]) -> Result<Cgroup, CgroupError> {
        let paths = parse(specs)?;
        if paths.is_empty() {
            return Ok(self.clone());
        }
        for ctrl in paths.keys().filter(|c| !c.is_empty()) {
            if !self.v1.contains_key(ctrl) {
                return Err(CgroupError::Join(format!("unknown controller {ctrl:?}")));
            }
        }
        let mut out = Cgroup {
            created: Vec::new(),
            v1: BTreeMap::new(),
            unified: self.unified.clone(),
            dirs: Vec::new(),
            ..self.clone()
        };
        for dir in &self.dirs {
            let ctrls: Vec<&String> = self
                .v1
                .iter()
                .filter(|(_, d)| *d == dir)
                .map(|(c, _)| c)
                .collect();
            let sub = paths
                .get("")
                .or_else(|| ctrls.iter().find_map(|c| paths.get(c.as_str())));
            let new = match sub {
                Some(s) => dir.join(s),
                None => dir.clone(),
            };
            for c in ctrls {
                out.v1.insert(c.clone(), new.clone());
            }
            if let Some(u) = out.unified.as_mut().filter(|u| u.dir == *dir) {
                u.dir = new.clone();
            }
            out.dirs.push(new);
        }
        Ok(out)
    }

    /// Opens the ways into this cgroup for a new process ([`SelfJoin`]), saying
    /// which one failed in runc's words.
    pub fn open_join(&self) -> Result<SelfJoin, CgroupError> {
        SelfJoin::open(self).map_err(|e| match e {
            CgroupError::Io { path, source, .. } => {
                // A cgroup that does not exist is named by its cgroup.procs, in runc's
                // words (engines and runc's own tests match them).
                let dir = match path.file_name() {
                    Some(f) if f == "tasks" => path.parent().unwrap_or(&path),
                    _ => path.as_path(),
                };
                let shown = if dir.exists() {
                    path.clone()
                } else {
                    dir.join("cgroup.procs")
                };
                CgroupError::Join(format!(
                    "adding pid to cgroups: {}: {}",
                    shown.display(),
                    errno_text(&source)
                ))
            }
            other => other,
        })
    }
}

/// An OS error worded as Go words it ("no such file or directory").
fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => &s[..i],
        None => &s,
    };
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

/// controller -> relative path ("" for every hierarchy), checked to stay below.
fn parse(specs: &[String]) -> Result<BTreeMap<String, PathBuf>, CgroupError> {
    let mut out = BTreeMap::new();
    for s in specs {
        let parts: Vec<&str> = s.splitn(3, ':').collect();
        match parts[..] {
            [path] => {
                if specs.len() != 1 {
                    return Err(CgroupError::Join(format!(
                        "invalid --cgroup argument: {s} (missing <controller>: prefix)"
                    )));
                }
                out.insert(String::new(), below(path)?);
            }
            [ctrls, path] => {
                let p = below(path)?;
                for c in ctrls.split(',') {
                    out.insert(c.to_string(), p.clone());
                }
            }
            _ => return Err(CgroupError::Join(format!("invalid --cgroup argument: {s}"))),
        }
    }
    Ok(out)
}

/// `path` as a relative path that cannot leave the cgroup (`/` is the cgroup itself).
fn below(path: &str) -> Result<PathBuf, CgroupError> {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(CgroupError::Join(format!(
                    "--cgroup: {path} is not a sub cgroup path"
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cg() -> Cgroup {
        let mut v1 = BTreeMap::new();
        v1.insert("cpu".to_string(), PathBuf::from("/c/cpu,cpuacct/x"));
        v1.insert("cpuacct".to_string(), PathBuf::from("/c/cpu,cpuacct/x"));
        v1.insert("memory".to_string(), PathBuf::from("/c/memory/x"));
        Cgroup {
            dirs: vec!["/c/cpu,cpuacct/x".into(), "/c/memory/x".into()],
            v1,
            ..Cgroup::default()
        }
    }

    #[test]
    fn plain_and_per_controller_paths() {
        let s = cg().sub(&["a/b".into()]).unwrap();
        assert_eq!(
            s.dirs,
            vec![
                PathBuf::from("/c/cpu,cpuacct/x/a/b"),
                "/c/memory/x/a/b".into()
            ]
        );
        let s = cg().sub(&["memory:m".into()]).unwrap();
        assert_eq!(
            s.dirs,
            vec![PathBuf::from("/c/cpu,cpuacct/x"), "/c/memory/x/m".into()]
        );
        assert_eq!(s.v1["memory"], PathBuf::from("/c/memory/x/m"));
        let s = cg().sub(&["/".into()]).unwrap();
        assert_eq!(s.dirs, cg().dirs);
    }

    #[test]
    fn refusals() {
        let e = cg().sub(&["..".into()]).unwrap_err().to_string();
        assert!(e.contains(" .. is not a sub cgroup path"), "{e}");
        let e = cg().sub(&["whaaat:/".into()]).unwrap_err().to_string();
        assert!(e.contains("unknown controller "), "{e}");
        let e = cg().sub(&["a".into(), "b".into()]).unwrap_err().to_string();
        assert!(e.contains("missing <controller>: prefix"), "{e}");
        assert!(cg().sub(&["a:b:c".into()]).is_err());
    }
}
