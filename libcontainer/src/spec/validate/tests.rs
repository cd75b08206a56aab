//! Tests of the spec checks.

use super::*;
use crate::spec::parse;

const BASE: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
    "process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},
    "linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}}"#;

fn with(patch: &str) -> Result<(), SpecError> {
    let mut v: serde_json::Value = serde_json::from_str(BASE).unwrap();
    let p: serde_json::Value = serde_json::from_str(patch).unwrap();
    merge(&mut v, p);
    check(&parse(&v.to_string())?)
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

#[test]
fn base_is_valid() {
    with("{}").unwrap();
}

#[test]
fn versions() {
    for ok in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0"] {
        check_version(ok).unwrap();
    }
    for bad in ["2.0.0", "0.9.0", "1.0", "abc", ""] {
        assert!(check_version(bad).is_err(), "{bad}");
    }
}

#[test]
fn rejects_bad_fields() {
    assert!(with(r#"{"process":{"args":[]}}"#).is_err());
    assert!(with(r#"{"process":{"cwd":"rel"}}"#).is_err());
    assert!(with(r#"{"process":{"env":["NOEQUALS"]}}"#).is_err());
    assert!(with(r#"{"mounts":[{"destination":"rel","type":"tmpfs","source":"tmpfs"}]}"#).is_err());
    assert!(with(r#"{"linux":{"namespaces":[{"type":"mount"},{"type":"mount"}]}}"#).is_err());
    // Without a mount namespace: shared, but nothing that needs one of its own.
    with(r#"{"linux":{"namespaces":[{"type":"pid"}]}}"#).unwrap();
    assert!(with(r#"{"linux":{"namespaces":[{"type":"pid"}],"maskedPaths":["/x"]}}"#).is_err());
    assert!(with(r#"{"linux":{"namespaces":[],"rootfsPropagation":"shared"}}"#).is_err());
    assert!(with(r#"{"linux":{"namespaces":[{"type":"mount"},{"type":"user"}]}}"#).is_err());
    assert!(with(r#"{"linux":{"uidMappings":[{"hostID":1,"containerID":0,"size":1}]}}"#).is_err());
    assert!(with(r#"{"hostname":"x"}"#).is_err());
    assert!(with(r#"{"linux":{"sysctl":{"net.ipv4.ip_forward":"1"}}}"#).is_err());
    assert!(with(r#"{"linux":{"sysctl":{"vm.swappiness":"1"}}}"#).is_err());
    with(r#"{"linux":{"namespaces":[{"type":"mount"},{"type":"network"}],"sysctl":{"net.ipv4.ip_forward":"1"}}}"#)
        .unwrap();
    assert!(with(r#"{"hooks":{"prestart":[{"path":"rel"}]}}"#).is_err());
    // seccomp profiles are compiled (and refused) by the seccomp module, not here.
    with(r#"{"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}}}"#).unwrap();
}

#[test]
fn device_numbers() {
    let node = |maj: i64, min: i64| {
        with(&format!(
            r#"{{"linux":{{"devices":[{{"path":"/dev/x","type":"c","major":{maj},"minor":{min}}}]}}}}"#
        ))
    };
    node(1, 7).unwrap();
    for (maj, min) in [(-1, 7), (1, -1), (-2, 0), (4294967296, 0)] {
        let e = node(maj, min).unwrap_err().to_string();
        assert!(e.contains("linux.devices[0] (/dev/x)"), "{e}");
    }
    let rule = |field: &str, n: i64| {
        with(&format!(
            r#"{{"linux":{{"resources":{{"devices":[{{"allow":false,"type":"c","{field}":{n},"access":"rwm"}}]}}}}}}"#
        ))
    };
    for field in ["major", "minor"] {
        rule(field, -1).unwrap();
        rule(field, 7).unwrap();
        for n in [-2, -100, 4294967295, 4294967296] {
            let e = rule(field, n).unwrap_err().to_string();
            assert!(
                e.contains(&format!("linux.resources.devices[0]: {field} {n}")),
                "{e}"
            );
        }
    }
}

#[test]
fn nul_bytes_are_refused_naming_the_field() {
    let cases = [
        (
            r#"{"process":{"env":["A=1","B=x\u0000y"]}}"#,
            "process.env[1]",
        ),
        (
            r#"{"process":{"args":["sh","-c\u0000"]}}"#,
            "process.args[1]",
        ),
        (r#"{"process":{"cwd":"/a\u0000"}}"#, "process.cwd"),
        (
            r#"{"hooks":{"prestart":[{"path":"/bin/tr\u0000ue"}]}}"#,
            "hooks.prestart[0].path",
        ),
        (
            r#"{"hooks":{"startContainer":[{"path":"/bin/true","args":["t\u0000"]}]}}"#,
            "hooks.startContainer[0].args[0]",
        ),
        (
            r#"{"hooks":{"poststop":[{"path":"/bin/true","env":["X=\u0000"]}]}}"#,
            "hooks.poststop[0].env[0]",
        ),
        (r#"{"hostname":"a\u0000b"}"#, "hostname"),
    ];
    for (patch, field) in cases {
        let e = with(patch).unwrap_err().to_string();
        assert!(
            e.contains(&format!("{field} contains a NUL byte")),
            "{patch}: {e}"
        );
    }
    with(r#"{"annotations":{"k":"v\u0000"}}"#).unwrap();
}

#[test]
fn wrong_type_is_parse_error() {
    let e = parse(r#"{"ociVersion":"1.0.0","process":{"args":"sh"}}"#).unwrap_err();
    assert!(matches!(e, SpecError::Parse(_)), "{e}");
    assert!(e.to_string().contains("process.args"), "{e}");
}

#[test]
fn intel_rdt_is_refused_in_runcs_words_without_resctrl() {
    let e = super::intel_rdt_refusal().to_string();
    assert!(
        e.contains("intelRdt is specified in config, but Intel RDT is not supported or enabled"),
        "{e}"
    );
}
