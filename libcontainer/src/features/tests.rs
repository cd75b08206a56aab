use super::*;
use crate::spec::UNSUPPORTED;

#[test]
fn json_keys_are_the_runtime_specs() {
    let v = serde_json::to_value(features()).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["ociVersionMax"], "1.3.0");
    for key in [
        "namespaces",
        "capabilities",
        "cgroup",
        "seccomp",
        "apparmor",
        "selinux",
        "intelRdt",
        "memoryPolicy",
        "mountExtensions",
        "netDevices",
    ] {
        assert!(v["linux"].get(key).is_some(), "linux.{key} missing: {v}");
    }
    assert!(v["linux"]["cgroup"].get("systemdUser").is_some());
    assert!(v["linux"]["mountExtensions"]["idmap"]["enabled"].is_boolean());
    assert!(v["potentiallyUnsafeConfigAnnotations"].is_array());
}

#[test]
fn claims_follow_the_validators_refusals() {
    let f = features();
    for u in UNSUPPORTED {
        let claimed = match u.field {
            "linux.seccomp" => f.linux.seccomp.enabled,
            "linux.intelRdt" => f.linux.intel_rdt.enabled,
            "linux.netDevices" => f.linux.net_devices.enabled,
            "linux.memoryPolicy" => !f.linux.memory_policy.modes.is_empty(),
            // Fields with no entry in the features document.
            _ => false,
        };
        assert!(!claimed, "{} is refused but claimed", u.field);
    }
}

#[test]
fn namespace_names_parse_as_spec_namespace_types() {
    for n in features().linux.namespaces {
        let t: oci_spec::runtime::LinuxNamespaceType =
            serde_json::from_value(serde_json::Value::String(n.clone()))
                .unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(namespace_name(t), n);
    }
}

#[test]
fn seccomp_lists_what_the_compiler_implements() {
    let s = features().linux.seccomp;
    assert!(s.enabled);
    assert_eq!(s.actions.len(), 9, "{:?}", s.actions);
    assert_eq!(s.operators.len(), 7);
    assert!(s.archs.contains(&"SCMP_ARCH_X86_64".to_string()));
    assert!(s
        .known_flags
        .contains(&"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV".to_string()));
    // Every name listed parses as the spec's own enum: nothing claimed that a config
    // could not say.
    for a in &s.actions {
        assert!(
            a.parse::<oci_spec::runtime::LinuxSeccompAction>().is_ok(),
            "{a}"
        );
    }
    for o in &s.operators {
        assert!(
            o.parse::<oci_spec::runtime::LinuxSeccompOperator>().is_ok(),
            "{o}"
        );
    }
    for f in &s.known_flags {
        assert!(
            f.parse::<oci_spec::runtime::LinuxSeccompFilterFlag>()
                .is_ok(),
            "{f}"
        );
    }
}
