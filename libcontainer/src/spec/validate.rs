//! The checks a spec must pass before anything is created for it.

use std::collections::HashSet;
use std::path::Path;

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};

use super::SpecError;

fn invalid(msg: impl Into<String>) -> SpecError {
    SpecError::Invalid(msg.into())
}

/// Runs every check on `spec`.
pub(super) fn check(spec: &Spec) -> Result<(), SpecError> {
    check_version(spec.version())?;
    check_no_nul(spec)?;
    check_process(spec)?;
    check_mounts(spec)?;
    check_namespaces(spec)?;
    check_hooks(spec)?;
    check_sysctls(spec)?;
    check_device_numbers(spec)?;
    check_net_devices(spec)?;
    check_unsupported(spec)?;
    Ok(())
}

/// Any 1.x version is accepted (1.0.0 through 1.3.x are what clients write); another
/// major version is not ours to guess at.
pub(crate) fn check_version(v: &str) -> Result<(), SpecError> {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || p.parse::<u64>().is_err())
    {
        return Err(invalid(format!(
            "ociVersion {v:?} is not a semantic version"
        )));
    }
    if parts[0] != "1" {
        return Err(invalid(format!(
            "unsupported ociVersion {v:?}: only 1.x is supported"
        )));
    }
    Ok(())
}

/// Every string of the spec goes to the kernel as a C string (args, env, paths, hook
/// programs, mount options, sysctls, ids...), where a NUL byte would cut it short or
/// fail the call with a bare EINVAL once the container starts; refuse it here, naming
/// the field. Annotations are only ever passed on as JSON, so they may hold anything.
fn check_no_nul(spec: &Spec) -> Result<(), SpecError> {
    let doc = serde_json::to_value(spec).map_err(|e| invalid(e.to_string()))?;
    let Some(top) = doc.as_object() else {
        return Ok(());
    };
    for (key, value) in top.iter().filter(|(k, _)| *k != "annotations") {
        if let Some(rest) = nul_in(value) {
            return Err(invalid(format!("{key}{rest} contains a NUL byte")));
        }
    }
    Ok(())
}

/// Where a NUL byte is in `v`, as a path suffix (`.env[2]`), if anywhere.
fn nul_in(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_in(x).map(|rest| format!("[{i}]{rest}"))),
        Value::Object(o) => o.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                return Some(format!(" key {k:?}"));
            }
            nul_in(x).map(|rest| format!(".{k}{rest}"))
        }),
        _ => None,
    }
}

fn check_process(spec: &Spec) -> Result<(), SpecError> {
    let p = spec
        .process()
        .as_ref()
        .ok_or_else(|| invalid("process must be set"))?;
    check_process_fields(p)
}

/// Checks a process given to `exec` (from `--process` or built from the container's
/// config and flags) as `create` checks the container's, fields not supported yet
/// included.
pub fn check_exec_process(p: &Process) -> Result<(), SpecError> {
    check_process_fields(p)
}

fn check_process_fields(p: &Process) -> Result<(), SpecError> {
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(invalid("args must not be empty"));
    }
    if !p.cwd().is_absolute() {
        return Err(invalid(format!(
            "cwd {:?} is not an absolute path",
            p.cwd()
        )));
    }
    // (uid_t)-1 is the kernel's "leave it unchanged": setresuid(-1, -1, -1) succeeds and
    // the process would stay root. No id may be that value.
    let u = p.user();
    let ids = [("uid", u.uid()), ("gid", u.gid())].into_iter().chain(
        u.additional_gids()
            .iter()
            .flatten()
            .map(|g| ("additionalGids entry", *g)),
    );
    if let Some((what, id)) = ids.into_iter().find(|(_, id)| *id == u32::MAX) {
        return Err(invalid(format!(
            "user {what} {id} is not a valid id (the kernel reads it as \"unchanged\")"
        )));
    }
    if let Some(env) = p.env() {
        if let Some(bad) = env.iter().find(|e| !e.contains('=') || e.starts_with('=')) {
            return Err(invalid(format!(
                "env entry {bad:?} is not of the form KEY=value"
            )));
        }
    }
    if p.apparmor_profile()
        .as_deref()
        .is_some_and(|s| !s.is_empty())
        && !crate::apparmor::enabled()
    {
        return Err(invalid(
            "apparmor profile is set but AppArmor is not enabled on this host",
        ));
    }
    // runc's words where the host has no SELinux; where it has, setting the label is
    // not built yet, and a label must never be accepted and silently not applied.
    if p.selinux_label().as_deref().is_some_and(|s| !s.is_empty()) {
        if !Path::new("/sys/fs/selinux/enforce").exists() {
            return Err(invalid(
                "selinux label is specified in config, but selinux is disabled or not supported",
            ));
        }
        return Err(SpecError::Unsupported("process.selinuxLabel"));
    }
    Ok(())
}

fn check_mounts(spec: &Spec) -> Result<(), SpecError> {
    for m in spec.mounts().as_deref().unwrap_or(&[]) {
        if !m.destination().is_absolute() {
            return Err(invalid(format!(
                "mount destination {:?} is not an absolute path",
                m.destination()
            )));
        }
        let has_mappings = m.uid_mappings().is_some() || m.gid_mappings().is_some();
        let words = m.options().as_deref().unwrap_or(&[]);
        let is_bind =
            m.typ().as_deref() == Some("bind") || words.iter().any(|w| w == "bind" || w == "rbind");
        if has_mappings && !is_bind {
            return Err(invalid(format!(
                "mount {}: uidMappings and gidMappings id-map bind mounts only",
                m.destination().display()
            )));
        }
    }
    Ok(())
}

fn check_namespaces(spec: &Spec) -> Result<(), SpecError> {
    let linux = spec.linux().as_ref();
    let nss = linux.and_then(|l| l.namespaces().as_deref()).unwrap_or(&[]);
    let mut seen = HashSet::new();
    for ns in nss {
        if !seen.insert(ns.typ()) {
            return Err(invalid(format!("namespace {:?} is listed twice", ns.typ())));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(invalid(format!("namespace path {p:?} is not absolute")));
            }
        }
    }
    let has = |t: LinuxNamespaceType| nss.iter().any(|n| n.typ() == t);
    let new_user = nss
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let uid_maps = linux
        .and_then(|l| l.uid_mappings().as_ref())
        .is_some_and(|m| !m.is_empty());
    let gid_maps = linux
        .and_then(|l| l.gid_mappings().as_ref())
        .is_some_and(|m| !m.is_empty());
    if new_user && (!uid_maps || !gid_maps) {
        return Err(invalid(
            "user namespace enabled, but no uid or gid mappings found",
        ));
    }
    if !has(LinuxNamespaceType::User) && (uid_maps || gid_maps) {
        return Err(invalid(
            "uid/gid mappings are set but no user namespace is configured",
        ));
    }
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(invalid(
            "unable to set hostname without a private UTS namespace",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts)
    {
        return Err(invalid(
            "unable to set domainname without a private UTS namespace",
        ));
    }
    if linux
        .and_then(|l| l.time_offsets().as_ref())
        .is_some_and(|t| !t.is_empty())
        && !nss
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Time && n.path().is_none())
    {
        return Err(invalid(
            "timeOffsets are set but no new time namespace is configured",
        ));
    }
    if !has(LinuxNamespaceType::Mount) {
        check_shared_mount_namespace(spec)?;
    }
    Ok(())
}

/// Without a mount namespace of its own the container's mounts are made in the
/// runtime's (under the rootfs only, and undone by `delete`); what would change mounts
/// outside the rootfs, or cannot be undone, is refused rather than ignored.
fn check_shared_mount_namespace(spec: &Spec) -> Result<(), SpecError> {
    let linux = spec.linux().as_ref();
    let listed = |v: Option<&Vec<String>>| v.is_some_and(|v| !v.is_empty());
    if listed(linux.and_then(|l| l.masked_paths().as_ref()))
        || listed(linux.and_then(|l| l.readonly_paths().as_ref()))
    {
        return Err(invalid(
            "unable to restrict sys entries without a private MNT namespace",
        ));
    }
    if linux
        .and_then(|l| l.rootfs_propagation().as_ref())
        .is_some()
    {
        return Err(invalid("rootfsPropagation needs a private mount namespace"));
    }
    if spec
        .root()
        .as_ref()
        .is_some_and(|r| r.readonly() == Some(true))
    {
        return Err(invalid("a read-only root needs a private mount namespace"));
    }
    Ok(())
}

/// A sysctl is allowed only when it belongs to a namespace the container has of its
/// own; anything else would change the host (runc's rules).
fn check_sysctls(spec: &Spec) -> Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let Some(sysctls) = linux.sysctl() else {
        return Ok(());
    };
    let nss = linux.namespaces().as_deref().unwrap_or(&[]);
    let has = |t: LinuxNamespaceType| nss.iter().any(|n| n.typ() == t);
    for key in sysctls.keys() {
        let k = key.replace('/', ".");
        let ipc = matches!(
            k.as_str(),
            "kernel.msgmax"
                | "kernel.msgmnb"
                | "kernel.msgmni"
                | "kernel.sem"
                | "kernel.shmall"
                | "kernel.shmmax"
                | "kernel.shmmni"
                | "kernel.shm_rmid_forced"
        ) || k.starts_with("fs.mqueue.");
        let (ok, ns) = if ipc {
            (has(LinuxNamespaceType::Ipc), "ipc")
        } else if k.starts_with("net.") {
            (has(LinuxNamespaceType::Network), "network")
        } else if k == "kernel.hostname" || k == "kernel.domainname" {
            (has(LinuxNamespaceType::Uts), "uts")
        } else {
            return Err(invalid(format!(
                "sysctl {key:?} is not in a separate kernel namespace"
            )));
        };
        if !ok {
            return Err(invalid(format!(
                "sysctl {key:?} is not allowed in the host's {ns} namespace"
            )));
        }
    }
    Ok(())
}

fn check_hooks(spec: &Spec) -> Result<(), SpecError> {
    let Some(h) = spec.hooks() else { return Ok(()) };
    let all = [
        h.prestart(),
        h.create_runtime(),
        h.create_container(),
        h.start_container(),
        h.poststart(),
        h.poststop(),
    ];
    for hook in all.into_iter().flatten().flatten() {
        if !hook.path().is_absolute() {
            return Err(invalid(format!(
                "hook path {:?} is not absolute",
                hook.path()
            )));
        }
        if hook.timeout().is_some_and(|t| t <= 0) {
            return Err(invalid(format!(
                "hook {:?} has a timeout that is not positive",
                hook.path()
            )));
        }
    }
    Ok(())
}

/// Device numbers: a node of `linux.devices` needs real ones (runc fails `-1` as a
/// wildcard it cannot mknod); a rule of `linux.resources.devices` takes absent or `-1`
/// for "any" (as runc reads them), else one below 2^32-1 (v1's kernel reads 2^32-1 as
/// its wildcard). A node's fit in 32 bits.
fn check_device_numbers(spec: &Spec) -> Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let bad = |n: i64, rule: bool| {
        let top = i64::from(u32::MAX) - i64::from(rule);
        !((0..=top).contains(&n) || rule && n == -1)
    };
    for (i, d) in linux.devices().iter().flatten().enumerate() {
        for (field, n) in [("major", d.major()), ("minor", d.minor())] {
            if bad(n, false) {
                return Err(invalid(format!(
                    "linux.devices[{i}] ({}): {field} {n} is not a device number",
                    d.path().display()
                )));
            }
        }
    }
    let rules = linux
        .resources()
        .as_ref()
        .and_then(|r| r.devices().as_ref());
    for (i, r) in rules.into_iter().flatten().enumerate() {
        for (field, n) in [("major", r.major()), ("minor", r.minor())] {
            if let Some(n) = n.filter(|n| bad(*n, true)) {
                return Err(invalid(format!(
                    "linux.resources.devices[{i}]: {field} {n} is not a device number \
                     (-1 or absent means any)"
                )));
            }
        }
    }
    Ok(())
}

/// A field of the runtime-spec this build refuses, and how to tell a spec sets it.
pub struct Unsupported {
    /// The field's path in `config.json` (`linux.seccomp`).
    pub field: &'static str,
    is_set: fn(&Spec) -> bool,
}

fn linux(spec: &Spec) -> Option<&oci_spec::runtime::Linux> {
    spec.linux().as_ref()
}

/// Every field `create` refuses as "not supported by quai yet". The one list: the
/// validator refuses from it and `features` claims nothing it names, so a field that
/// comes to work is taken off here and both follow.
pub const UNSUPPORTED: &[Unsupported] = &[];

/// True when this build accepts `field` (it is not in [`UNSUPPORTED`]).
pub fn is_supported(field: &str) -> bool {
    !UNSUPPORTED.iter().any(|u| u.field == field)
}

fn check_unsupported(spec: &Spec) -> Result<(), SpecError> {
    if let Some(u) = UNSUPPORTED.iter().find(|u| (u.is_set)(spec)) {
        return Err(SpecError::Unsupported(u.field));
    }
    // runc's words where the host has no resctrl at all.
    if linux(spec).is_some_and(|l| l.intel_rdt().is_some()) && !resctrl_mounted() {
        return Err(intel_rdt_refusal());
    }
    Ok(())
}

/// Interfaces can only be moved into a network namespace of the container's own.
fn check_net_devices(spec: &Spec) -> Result<(), SpecError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    if linux.net_devices().as_ref().is_none_or(|d| d.is_empty()) {
        return Ok(());
    }
    let nss = linux.namespaces().as_deref().unwrap_or(&[]);
    if !nss.iter().any(|n| n.typ() == LinuxNamespaceType::Network) {
        return Err(invalid(
            "unable to move network devices without a private NET namespace",
        ));
    }
    Ok(())
}

/// Whether a resctrl filesystem is mounted here (where Intel RDT is usable at all).
fn resctrl_mounted() -> bool {
    crate::rdt::resctrl_mount().is_some()
}

/// `linux.intelRdt` on a host without resctrl, refused in runc's words.
pub(crate) fn intel_rdt_refusal() -> SpecError {
    invalid(
        "intelRdt is specified in config, but Intel RDT is not supported or enabled \
         (no resctrl filesystem is mounted)",
    )
}

#[cfg(test)]
mod tests;
