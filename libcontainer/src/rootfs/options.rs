//! The OCI mount `options` strings: mount(2) flags, flags that clear others,
//! propagation, recursive attributes (`mount_setattr`), runtime extensions
//! (`tmpcopyup`, `idmap`) and the rest, which is passed to the filesystem as data.

use libc::c_ulong;

/// What one option word does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// Adds a mount(2) flag.
    Set(c_ulong),
    /// Removes a mount(2) flag set earlier (or by default).
    Clear(c_ulong),
    /// A propagation change applied after the mount.
    Propagation(c_ulong),
    /// A recursive attribute: `(set, clear)` for `mount_setattr(AT_RECURSIVE)`.
    Recursive(u64, u64),
    /// Copy the destination's old contents into the new tmpfs.
    TmpCopyUp,
    /// An id-mapped bind mount; `true` for `ridmap` (recursive).
    Idmap(bool),
}

const ATIME: u64 = libc::MOUNT_ATTR__ATIME;

/// Every option word that is not filesystem data, and what it does: the parser's table,
/// which `features` lists as is.
const TABLE: &[(&str, Opt)] = {
    use Opt::*;
    &[
        ("defaults", Set(0)),
        ("ro", Set(libc::MS_RDONLY)),
        ("rw", Clear(libc::MS_RDONLY)),
        ("nosuid", Set(libc::MS_NOSUID)),
        ("suid", Clear(libc::MS_NOSUID)),
        ("nodev", Set(libc::MS_NODEV)),
        ("dev", Clear(libc::MS_NODEV)),
        ("noexec", Set(libc::MS_NOEXEC)),
        ("exec", Clear(libc::MS_NOEXEC)),
        ("sync", Set(libc::MS_SYNCHRONOUS)),
        ("async", Clear(libc::MS_SYNCHRONOUS)),
        ("dirsync", Set(libc::MS_DIRSYNC)),
        ("remount", Set(libc::MS_REMOUNT)),
        ("mand", Set(libc::MS_MANDLOCK)),
        ("nomand", Clear(libc::MS_MANDLOCK)),
        ("atime", Clear(libc::MS_NOATIME)),
        ("noatime", Set(libc::MS_NOATIME)),
        ("diratime", Clear(libc::MS_NODIRATIME)),
        ("nodiratime", Set(libc::MS_NODIRATIME)),
        ("relatime", Set(libc::MS_RELATIME)),
        ("norelatime", Clear(libc::MS_RELATIME)),
        ("strictatime", Set(libc::MS_STRICTATIME)),
        ("nostrictatime", Clear(libc::MS_STRICTATIME)),
        ("lazytime", Set(libc::MS_LAZYTIME)),
        ("nolazytime", Clear(libc::MS_LAZYTIME)),
        ("iversion", Set(libc::MS_I_VERSION)),
        ("noiversion", Clear(libc::MS_I_VERSION)),
        ("silent", Set(libc::MS_SILENT)),
        ("loud", Clear(libc::MS_SILENT)),
        ("nosymfollow", Set(libc::MS_NOSYMFOLLOW)),
        ("symfollow", Clear(libc::MS_NOSYMFOLLOW)),
        ("bind", Set(libc::MS_BIND)),
        ("rbind", Set(libc::MS_BIND | libc::MS_REC)),
        ("private", Propagation(libc::MS_PRIVATE)),
        ("rprivate", Propagation(libc::MS_PRIVATE | libc::MS_REC)),
        ("shared", Propagation(libc::MS_SHARED)),
        ("rshared", Propagation(libc::MS_SHARED | libc::MS_REC)),
        ("slave", Propagation(libc::MS_SLAVE)),
        ("rslave", Propagation(libc::MS_SLAVE | libc::MS_REC)),
        ("unbindable", Propagation(libc::MS_UNBINDABLE)),
        (
            "runbindable",
            Propagation(libc::MS_UNBINDABLE | libc::MS_REC),
        ),
        ("rro", Recursive(libc::MOUNT_ATTR_RDONLY, 0)),
        ("rrw", Recursive(0, libc::MOUNT_ATTR_RDONLY)),
        ("rnosuid", Recursive(libc::MOUNT_ATTR_NOSUID, 0)),
        ("rsuid", Recursive(0, libc::MOUNT_ATTR_NOSUID)),
        ("rnodev", Recursive(libc::MOUNT_ATTR_NODEV, 0)),
        ("rdev", Recursive(0, libc::MOUNT_ATTR_NODEV)),
        ("rnoexec", Recursive(libc::MOUNT_ATTR_NOEXEC, 0)),
        ("rexec", Recursive(0, libc::MOUNT_ATTR_NOEXEC)),
        ("rnodiratime", Recursive(libc::MOUNT_ATTR_NODIRATIME, 0)),
        ("rdiratime", Recursive(0, libc::MOUNT_ATTR_NODIRATIME)),
        ("rnosymfollow", Recursive(libc::MOUNT_ATTR_NOSYMFOLLOW, 0)),
        ("rsymfollow", Recursive(0, libc::MOUNT_ATTR_NOSYMFOLLOW)),
        // The atime modes are one field: the kernel wants all of it cleared when any
        // mode is set (RELATIME is 0, the default).
        ("rnoatime", Recursive(libc::MOUNT_ATTR_NOATIME, ATIME)),
        ("ratime", Recursive(libc::MOUNT_ATTR_RELATIME, ATIME)),
        ("rrelatime", Recursive(libc::MOUNT_ATTR_RELATIME, ATIME)),
        (
            "rnostrictatime",
            Recursive(libc::MOUNT_ATTR_RELATIME, ATIME),
        ),
        (
            "rstrictatime",
            Recursive(libc::MOUNT_ATTR_STRICTATIME, ATIME),
        ),
        // runc 1.1.5 clears MOUNT_ATTR_RELATIME, which is 0: nothing changes, as
        // `norelatime` (clearing MS_RELATIME) changes nothing; never strictatime.
        ("rnorelatime", Recursive(0, 0)),
        ("tmpcopyup", TmpCopyUp),
        ("idmap", Idmap(false)),
        ("ridmap", Idmap(true)),
    ]
};

fn lookup(word: &str) -> Option<Opt> {
    TABLE.iter().find(|(w, _)| *w == word).map(|(_, o)| *o)
}

/// The mount options this runtime understands beyond filesystem data, for the
/// `features` document.
pub fn known_mount_options() -> Vec<&'static str> {
    TABLE.iter().map(|(w, _)| *w).collect()
}

/// A parsed `options` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// mount(2) flags.
    pub flags: c_ulong,
    /// Propagation changes, in order, applied after the mount.
    pub propagation: Vec<c_ulong>,
    /// `mount_setattr` attributes to set recursively.
    pub attr_set: u64,
    /// `mount_setattr` attributes to clear recursively.
    pub attr_clr: u64,
    /// Everything else, comma-joined, for the filesystem (`mode=755,size=65536k`).
    pub data: String,
    /// `tmpcopyup` was given.
    pub tmpcopyup: bool,
    /// `idmap` (`Some(false)`) or `ridmap` (`Some(true)`) was given.
    pub idmap: Option<bool>,
}

impl MountOptions {
    /// True for `bind` / `rbind`.
    pub fn is_bind(&self) -> bool {
        self.flags & libc::MS_BIND != 0
    }

    /// True for `rbind`.
    pub fn is_recursive(&self) -> bool {
        self.flags & libc::MS_REC != 0
    }

    /// True when recursive attributes must be applied with `mount_setattr`.
    pub fn has_recursive_attrs(&self) -> bool {
        self.attr_set != 0 || self.attr_clr != 0
    }

    /// The flags a bind mount needs a second, remounting call for (a bind ignores them).
    pub fn remount_flags(&self) -> c_ulong {
        self.flags & !(libc::MS_BIND | libc::MS_REC | libc::MS_REMOUNT)
    }
}

/// Parses the options of one mount, in order (a later `rw` undoes an earlier `ro`).
pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
    let mut out = MountOptions::default();
    let mut data: Vec<&str> = Vec::new();
    for word in options.iter().map(AsRef::as_ref) {
        match lookup(word) {
            Some(Opt::Set(f)) => out.flags |= f,
            Some(Opt::Clear(f)) => out.flags &= !f,
            Some(Opt::Propagation(f)) => out.propagation.push(f),
            Some(Opt::Recursive(set, clr)) => {
                // A later word wins over an earlier one for the same attribute.
                out.attr_set = (out.attr_set & !clr & !set) | set;
                out.attr_clr = (out.attr_clr & !set) | clr;
            }
            Some(Opt::TmpCopyUp) => out.tmpcopyup = true,
            Some(Opt::Idmap(rec)) => out.idmap = Some(rec),
            None if word.is_empty() => {}
            None => data.push(word),
        }
    }
    out.data = data.join(",");
    out
}

/// The options of a spec mount, with what its other fields imply: a bind mount with
/// `uidMappings`/`gidMappings` and neither `idmap` nor `ridmap` is id-mapped all the
/// same (the mappings are never ignored), recursively when it is an `rbind`, as crun
/// does.
pub fn of_mount(m: &crate::spec::Mount) -> MountOptions {
    let mut out = parse(m.options().as_deref().unwrap_or(&[]));
    let has_mappings = m.uid_mappings().is_some() || m.gid_mappings().is_some();
    let is_bind = out.is_bind() || m.typ().as_deref() == Some("bind");
    if out.idmap.is_none() && has_mappings && is_bind {
        out.idmap = Some(out.is_recursive());
    }
    out
}

/// Parses `linux.rootfsPropagation` into mount(2) propagation flags.
pub fn parse_propagation(word: &str) -> Option<c_ulong> {
    match lookup(word) {
        Some(Opt::Propagation(f)) => Some(f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_clear_flags() {
        let o = parse(&["nosuid", "noexec", "nodev", "ro"]);
        assert_eq!(
            o.flags,
            libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV | libc::MS_RDONLY
        );
        let o = parse(&["ro", "rw", "nosuid", "suid", "exec"]);
        assert_eq!(o.flags, 0);
        let o = parse(&["nosymfollow", "strictatime", "relatime", "norelatime"]);
        assert_eq!(o.flags, libc::MS_NOSYMFOLLOW | libc::MS_STRICTATIME);
        assert!(o.data.is_empty());
    }

    #[test]
    fn bind_and_rbind() {
        let o = parse(&["rbind", "ro"]);
        assert!(o.is_bind() && o.is_recursive());
        assert_eq!(o.remount_flags(), libc::MS_RDONLY);
        let o = parse(&["bind"]);
        assert!(o.is_bind() && !o.is_recursive());
        assert_eq!(o.remount_flags(), 0);
    }

    #[test]
    fn propagation_in_order() {
        let o = parse(&["rbind", "rprivate", "slave", "runbindable"]);
        assert_eq!(
            o.propagation,
            vec![
                libc::MS_PRIVATE | libc::MS_REC,
                libc::MS_SLAVE,
                libc::MS_UNBINDABLE | libc::MS_REC
            ]
        );
        assert_eq!(
            parse_propagation("rshared"),
            Some(libc::MS_SHARED | libc::MS_REC)
        );
        assert_eq!(parse_propagation("private"), Some(libc::MS_PRIVATE));
        assert_eq!(parse_propagation("ro"), None);
        assert_eq!(parse_propagation("bogus"), None);
    }

    #[test]
    fn recursive_attrs() {
        let o = parse(&["rro", "rnosuid", "rnodev", "rnoexec"]);
        let all = libc::MOUNT_ATTR_RDONLY
            | libc::MOUNT_ATTR_NOSUID
            | libc::MOUNT_ATTR_NODEV
            | libc::MOUNT_ATTR_NOEXEC;
        assert_eq!((o.attr_set, o.attr_clr), (all, 0));
        assert_eq!(o.flags, 0);
        let o = parse(&["rro", "rrw"]);
        assert_eq!((o.attr_set, o.attr_clr), (0, libc::MOUNT_ATTR_RDONLY));
        let o = parse(&["rnoatime"]);
        assert_eq!(
            (o.attr_set, o.attr_clr),
            (libc::MOUNT_ATTR_NOATIME, libc::MOUNT_ATTR__ATIME)
        );
        let o = parse(&["rnoatime", "rstrictatime"]);
        assert_eq!(
            (o.attr_set, o.attr_clr),
            (libc::MOUNT_ATTR_STRICTATIME, libc::MOUNT_ATTR__ATIME)
        );
        let o = parse(&["rnorelatime"]);
        assert_eq!((o.attr_set, o.attr_clr), (0, 0));
        assert!(
            !o.has_recursive_attrs(),
            "rnorelatime changes nothing (runc)"
        );
        let o = parse(&["rnoatime", "rnorelatime"]);
        assert_eq!(
            (o.attr_set, o.attr_clr),
            (libc::MOUNT_ATTR_NOATIME, libc::MOUNT_ATTR__ATIME)
        );
        let o = parse(&["rnosymfollow", "rsymfollow"]);
        assert_eq!((o.attr_set, o.attr_clr), (0, libc::MOUNT_ATTR_NOSYMFOLLOW));
        assert!(o.has_recursive_attrs());
        assert!(!parse(&["ro"]).has_recursive_attrs());
    }

    #[test]
    fn known_options_are_all_recognised() {
        let known = known_mount_options();
        assert!(known.iter().all(|w| lookup(w).is_some()), "{known:?}");
        assert!(known.contains(&"rro") && known.contains(&"tmpcopyup") && known.contains(&"idmap"));
        let unique: std::collections::HashSet<_> = known.iter().collect();
        assert_eq!(unique.len(), known.len(), "a word is in the table twice");
    }

    #[test]
    fn data_and_extensions() {
        let o = parse(&[
            "nosuid",
            "mode=755",
            "size=65536k",
            "tmpcopyup",
            "",
            "newinstance",
        ]);
        assert_eq!(o.data, "mode=755,size=65536k,newinstance");
        assert!(o.tmpcopyup);
        assert_eq!(o.flags, libc::MS_NOSUID);
        assert_eq!(parse(&["bind", "idmap"]).idmap, Some(false));
        assert_eq!(parse(&["rbind", "ridmap"]).idmap, Some(true));
        assert_eq!(parse::<&str>(&[]), MountOptions::default());
    }

    fn spec_mount(v: serde_json::Value) -> crate::spec::Mount {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn mappings_without_idmap_are_applied() {
        let maps = serde_json::json!([{ "containerID": 0, "hostID": 1000, "size": 1 }]);
        let m = |opts: serde_json::Value| {
            of_mount(&spec_mount(serde_json::json!({
                "destination": "/d", "type": "bind", "source": "/s", "options": opts,
                "uidMappings": maps, "gidMappings": maps
            })))
        };
        assert_eq!(m(serde_json::json!(["bind"])).idmap, Some(false));
        assert_eq!(m(serde_json::json!(["rbind"])).idmap, Some(true));
        // An explicit option wins: idmap on an rbind maps the top mount only.
        assert_eq!(m(serde_json::json!(["rbind", "idmap"])).idmap, Some(false));
        let plain = of_mount(&spec_mount(serde_json::json!({
            "destination": "/d", "type": "bind", "source": "/s", "options": ["rbind"]
        })));
        assert_eq!(plain.idmap, None);
    }
}
