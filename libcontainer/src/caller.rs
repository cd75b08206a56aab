//! Who is running the runtime: root of the host, or a user without the host's root
//! (rootless: an unprivileged user, or root only of a user namespace, as under rootless
//! podman). That decides the default state root, whether cgroups that cannot be made
//! may be skipped, and how a container's id maps are written.

use std::path::PathBuf;

/// `CAP_SETGID`: writing a gid map beyond the caller's own gid.
pub const CAP_SETGID: u32 = 6;
/// `CAP_SETUID`: writing a uid map beyond the caller's own uid.
pub const CAP_SETUID: u32 = 7;

/// The state root for root of the host.
pub const HOST_ROOT: &str = "/run/quai";

/// The caller's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The caller's effective gid.
pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// Whether the caller holds the capability `cap` (a `CAP_*` number) in its effective
/// set, over its own user namespace.
pub fn has_effective_cap(cap: u32) -> bool {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut h = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: a version-3 header and the two data structs it asks for.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) };
    r == 0 && cap < 64 && d[(cap / 32) as usize].effective & (1 << (cap % 32)) != 0
}

/// Whether this process is in the initial user namespace (its uid map is the identity
/// over every id).
pub fn in_initial_userns() -> bool {
    crate::rootdir::read_text(std::path::Path::new("/proc/self/uid_map"))
        .is_ok_and(|m| is_identity_map(&m))
}

fn is_identity_map(text: &str) -> bool {
    text.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]
}

/// runc's `--rootless auto`: the caller is not root of the host (not root, or root only
/// of a user namespace).
pub fn is_rootless() -> bool {
    euid() != 0 || !in_initial_userns()
}

/// The default state root, chosen as runc chooses its own: `$XDG_RUNTIME_DIR/quai` for
/// a caller that is not root, or is root only of a user namespace (unless `USER` says
/// root); `/run/quai` for root of the host, whatever `XDG_RUNTIME_DIR` says.
pub fn default_root() -> PathBuf {
    choose_root(
        std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()),
        euid(),
        in_initial_userns,
        std::env::var_os("USER"),
    )
}

fn choose_root(
    xdg: Option<std::ffi::OsString>,
    euid: u32,
    initial_userns: impl FnOnce() -> bool,
    user: Option<std::ffi::OsString>,
) -> PathBuf {
    let Some(xdg) = xdg else {
        return PathBuf::from(HOST_ROOT);
    };
    let honour = euid != 0 || (!initial_userns() && user.as_deref() != Some("root".as_ref()));
    if honour {
        PathBuf::from(xdg).join("quai")
    } else {
        PathBuf::from(HOST_ROOT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_follows_runc() {
        let xdg = || Some("/run/user/1000".into());
        let at_xdg = PathBuf::from("/run/user/1000/quai");
        // An unprivileged user: $XDG_RUNTIME_DIR/quai, or /run/quai without it.
        assert_eq!(choose_root(xdg(), 1000, || true, None), at_xdg);
        assert_eq!(
            choose_root(None, 1000, || true, None),
            PathBuf::from(HOST_ROOT)
        );
        // Root of the host ignores XDG_RUNTIME_DIR (/run/user/0 under a login).
        assert_eq!(
            choose_root(xdg(), 0, || true, None),
            PathBuf::from(HOST_ROOT)
        );
        // Root of a user namespace (rootless podman) uses it, unless USER is root.
        assert_eq!(choose_root(xdg(), 0, || false, Some("me".into())), at_xdg);
        assert_eq!(choose_root(xdg(), 0, || false, None), at_xdg);
        assert_eq!(
            choose_root(xdg(), 0, || false, Some("root".into())),
            PathBuf::from(HOST_ROOT)
        );
    }

    #[test]
    fn capabilities_of_the_caller() {
        // The tests run as root in CI; as another user, the answer must be no.
        let root = euid() == 0;
        assert_eq!(has_effective_cap(CAP_SETUID), root);
        assert!(!has_effective_cap(200));
    }

    #[test]
    fn identity_map() {
        assert!(is_identity_map("         0          0 4294967295\n"));
        assert!(!is_identity_map("0 1000 1\n"));
        assert!(!is_identity_map("0 0 4294967295\n1 1 1\n"));
    }
}
