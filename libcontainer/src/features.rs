//! The runtime-spec features document (`features.md`, `features-linux.md`): what this
//! build accepts, for engines deciding what they may ask for.
//!
//! Nothing here is a list of its own. Each claim is read from the table that decides
//! the behaviour: mount options from the options parser, capabilities from the
//! capability table, namespaces from the namespace code, hooks from the hook runner,
//! cgroup drivers from [`crate::cgroups::SUPPORT`], and every field the validator
//! refuses ([`crate::spec::UNSUPPORTED`]) is claimed as not supported.

use std::collections::BTreeMap;

use oci_spec::runtime::{MemoryPolicyFlagType, MemoryPolicyModeType};
use serde::Serialize;

use crate::spec::is_supported;
use crate::{capabilities, cgroups, hooks, namespaces, rootfs};

/// The oldest `ociVersion` accepted (every 1.x is; see `spec::validate`).
pub const OCI_VERSION_MIN: &str = "1.0.0";
/// The newest runtime-spec version this build follows.
pub const OCI_VERSION_MAX: &str = "1.3.0";

/// runc's annotation: CRIU checkpointing is built in. `checkpoint` and `restore` are
/// not implemented here, so it is `false`.
pub const ANNOTATION_CHECKPOINT_ENABLED: &str = "org.opencontainers.runc.checkpoint.enabled";

/// The features document, with the runtime-spec's JSON keys; absent fields are left
/// out (the spec reads an absent field as "unknown").
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    /// Oldest recognised spec version.
    pub oci_version_min: String,
    /// Newest recognised spec version.
    pub oci_version_max: String,
    /// Hook lists run.
    pub hooks: Vec<String>,
    /// Mount options understood beyond filesystem data.
    pub mount_options: Vec<String>,
    /// Linux specifics.
    pub linux: Linux,
    /// Implementation-specific facts (runc's keys where they apply).
    pub annotations: BTreeMap<String, String>,
    /// Annotations of `config.json` that change what the runtime does: none here, as
    /// quai reads no annotation (it only passes them on in the state).
    pub potentially_unsafe_config_annotations: Vec<String>,
}

/// `linux` of the features document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    /// Namespace types, by their spec names (`mount`, `network`, ...).
    pub namespaces: Vec<String>,
    /// Capability names (`CAP_SYS_ADMIN`).
    pub capabilities: Vec<String>,
    /// cgroup support compiled in.
    pub cgroup: Cgroup,
    /// seccomp support: exactly what the compiler implements.
    pub seccomp: Seccomp,
    /// AppArmor support.
    pub apparmor: Enabled,
    /// SELinux support.
    pub selinux: Enabled,
    /// Intel RDT support.
    pub intel_rdt: Enabled,
    /// Memory policy modes and flags (empty lists: none accepted).
    pub memory_policy: MemoryPolicy,
    /// Mount extensions.
    pub mount_extensions: MountExtensions,
    /// Moving host network devices into the container.
    pub net_devices: Enabled,
}

/// `linux.seccomp`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seccomp {
    /// Whether a profile is accepted.
    pub enabled: bool,
    /// `SCMP_ACT_*` names.
    pub actions: Vec<String>,
    /// `SCMP_CMP_*` names.
    pub operators: Vec<String>,
    /// `SCMP_ARCH_*` names a filter here tells apart.
    pub archs: Vec<String>,
    /// `SECCOMP_FILTER_FLAG_*` names this build knows.
    pub known_flags: Vec<String>,
    /// The known flags this kernel also supports.
    pub supported_flags: Vec<String>,
}

/// `linux.cgroup`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cgroup {
    /// cgroup v1 driver.
    pub v1: bool,
    /// cgroup v2 driver.
    pub v2: bool,
    /// systemd driver.
    pub systemd: bool,
    /// systemd user-instance driver.
    pub systemd_user: bool,
    /// rdma controller.
    pub rdma: bool,
}

/// An `{"enabled": bool}` object.
#[derive(Debug, Clone, Serialize)]
pub struct Enabled {
    /// Whether support is built in.
    pub enabled: bool,
}

/// `linux.memoryPolicy`.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryPolicy {
    /// Accepted modes (`MPOL_BIND`).
    pub modes: Vec<String>,
    /// Accepted mode flags (`MPOL_F_STATIC_NODES`).
    pub flags: Vec<String>,
}

/// `linux.mountExtensions`.
#[derive(Debug, Clone, Serialize)]
pub struct MountExtensions {
    /// Id-mapped mounts (`idmap`/`ridmap` and the mount's `uidMappings`).
    pub idmap: Enabled,
}

/// The features of this build.
pub fn features() -> Features {
    let annotations = BTreeMap::from([(
        ANNOTATION_CHECKPOINT_ENABLED.to_string(),
        "false".to_string(),
    )]);
    // Sorted, as runc prints them.
    let mut mount_options: Vec<String> = rootfs::known_mount_options()
        .into_iter()
        .map(String::from)
        .collect();
    mount_options.sort();
    Features {
        oci_version_min: OCI_VERSION_MIN.into(),
        oci_version_max: OCI_VERSION_MAX.into(),
        hooks: hooks::KNOWN.iter().map(|h| h.to_string()).collect(),
        mount_options,
        linux: linux(),
        annotations,
        potentially_unsafe_config_annotations: Vec::new(),
    }
}

fn linux() -> Linux {
    let cg = cgroups::SUPPORT;
    // Only the host's root can id-map the host's filesystems: a rootless caller is told
    // the truth for itself.
    let idmap = rootfs::known_mount_options().contains(&"idmap") && !crate::caller::is_rootless();
    Linux {
        namespaces: namespaces::KINDS
            .iter()
            .map(|t| namespace_name(*t).to_string())
            .collect(),
        capabilities: capabilities::known_names(),
        cgroup: Cgroup {
            v1: cg.v1,
            v2: cg.v2,
            systemd: cg.systemd,
            systemd_user: cg.systemd_user,
            rdma: cg.rdma,
        },
        seccomp: seccomp(),
        // A profile is applied where the host has AppArmor; no SELinux label is (the
        // validator refuses one where the host lacks SELinux, as runc does).
        apparmor: Enabled {
            enabled: crate::apparmor::enabled(),
        },
        selinux: Enabled { enabled: false },
        // Usable where the host has a resctrl filesystem, as runc decides it.
        intel_rdt: Enabled {
            enabled: crate::rdt::resctrl_mount().is_some(),
        },
        memory_policy: memory_policy(),
        mount_extensions: MountExtensions {
            idmap: Enabled { enabled: idmap },
        },
        net_devices: Enabled {
            enabled: is_supported("linux.netDevices"),
        },
    }
}

/// The runtime-spec's name of a namespace type (`config-linux.md`).
fn namespace_name(t: oci_spec::runtime::LinuxNamespaceType) -> &'static str {
    use oci_spec::runtime::LinuxNamespaceType::*;
    match t {
        Mount => "mount",
        Cgroup => "cgroup",
        Uts => "uts",
        Ipc => "ipc",
        User => "user",
        Pid => "pid",
        Network => "network",
        Time => "time",
    }
}

/// Every mode and flag the spec's types parse, once the validator accepts the field;
/// none before.
fn memory_policy() -> MemoryPolicy {
    if !is_supported("linux.memoryPolicy") {
        return MemoryPolicy {
            modes: Vec::new(),
            flags: Vec::new(),
        };
    }
    use MemoryPolicyFlagType as F;
    use MemoryPolicyModeType as M;
    let modes = [
        M::MpolDefault,
        M::MpolBind,
        M::MpolInterleave,
        M::MpolWeightedInterleave,
        M::MpolPreferred,
        M::MpolPreferredMany,
        M::MpolLocal,
    ];
    let flags = [
        F::MpolFNumaBalancing,
        F::MpolFRelativeNodes,
        F::MpolFStaticNodes,
    ];
    MemoryPolicy {
        modes: modes.iter().map(ToString::to_string).collect(),
        flags: flags.iter().map(ToString::to_string).collect(),
    }
}

/// The seccomp part, from the compiler's own tables.
fn seccomp() -> Seccomp {
    use crate::seccomp::names;
    let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    Seccomp {
        enabled: is_supported("linux.seccomp"),
        actions: list(names::ACTIONS),
        operators: list(names::OPERATORS),
        archs: list(names::ARCHES),
        known_flags: list(names::FLAGS),
        supported_flags: list(&names::supported_flags()),
    }
}

#[cfg(test)]
mod tests;
