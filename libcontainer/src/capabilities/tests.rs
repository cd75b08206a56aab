use std::collections::HashSet;

use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder, UserBuilder};

use super::*;
use crate::test_support::in_child;

/// The hex mask of a `/proc/self/status` line such as `CapEff`.
fn status_mask(key: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .ok_or(format!("no {key} in /proc/self/status"))?;
    u64::from_str_radix(line.trim(), 16).map_err(|e| format!("{key}: {e}"))
}

fn expect(key: &str, want: u64) -> Result<(), String> {
    let got = status_mask(key)?;
    if got != want {
        return Err(format!("{key} is {got:#x}, expected {want:#x}"));
    }
    Ok(())
}

fn proc() -> Result<ProcHandle, String> {
    ProcHandle::open().map_err(|e| format!("open /proc: {e}"))
}

fn host_last() -> Result<u32, String> {
    last_cap(&proc()?).map_err(|e| e.to_string())
}

#[test]
fn last_cap_is_read_from_the_given_procfs_and_checked() {
    let host: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(host_last().unwrap(), host);
    assert_eq!(parse_last_cap("40\n").unwrap(), 40);
    for bad in ["", "x", "64", "-1"] {
        assert!(parse_last_cap(bad).is_err(), "{bad:?}");
    }
}

fn set_of(caps: &[Capability]) -> HashSet<Capability> {
    caps.iter().copied().collect()
}

fn bit(c: Capability) -> u64 {
    1 << number(c)
}

#[test]
fn applies_all_five_sets_as_root() {
    in_child(|| {
        let caps = LinuxCapabilitiesBuilder::default()
            .bounding(set_of(&[
                Capability::Chown,
                Capability::Kill,
                Capability::NetBindService,
            ]))
            .effective(set_of(&[Capability::Chown]))
            .permitted(set_of(&[Capability::Chown, Capability::Kill]))
            .inheritable(set_of(&[Capability::Kill]))
            .ambient(set_of(&[Capability::Kill]))
            .build()
            .map_err(|e| e.to_string())?;
        apply(&caps, host_last()?).map_err(|e| e.to_string())?;
        expect(
            "CapBnd",
            bit(Capability::Chown) | bit(Capability::Kill) | bit(Capability::NetBindService),
        )?;
        expect("CapEff", bit(Capability::Chown))?;
        expect("CapPrm", bit(Capability::Chown) | bit(Capability::Kill))?;
        expect("CapInh", bit(Capability::Kill))?;
        expect("CapAmb", bit(Capability::Kill))
    });
}

#[test]
fn absent_sets_are_empty() {
    in_child(|| {
        // Built field by field: the builder's defaults would fill in runc's default list.
        let mut caps = LinuxCapabilitiesBuilder::default()
            .build()
            .map_err(|e| e.to_string())?;
        caps.set_bounding(None);
        caps.set_effective(None);
        caps.set_permitted(None);
        caps.set_inheritable(None);
        caps.set_ambient(None);
        apply(&caps, host_last()?).map_err(|e| e.to_string())?;
        for key in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
            expect(key, 0)?;
        }
        Ok(())
    });
}

#[test]
fn applies_after_switching_to_a_non_root_user() {
    in_child(|| {
        let user = UserBuilder::default()
            .uid(1000u32)
            .gid(1000u32)
            .build()
            .map_err(|e| e.to_string())?;
        crate::identity::switch_user(&user, &proc()?, 65536).map_err(|e| e.to_string())?;
        // KEEPCAPS kept permitted; effective was cleared by the uid change.
        expect("CapEff", 0)?;
        let all = set_of(&[Capability::NetBindService, Capability::Setpcap]);
        let caps = LinuxCapabilitiesBuilder::default()
            .bounding(all.clone())
            .effective(set_of(&[Capability::NetBindService]))
            .permitted(all.clone())
            .inheritable(set_of(&[Capability::NetBindService]))
            .ambient(set_of(&[Capability::NetBindService]))
            .build()
            .map_err(|e| e.to_string())?;
        apply(&caps, host_last()?).map_err(|e| e.to_string())?;
        let both = bit(Capability::NetBindService) | bit(Capability::Setpcap);
        expect("CapBnd", both)?;
        expect("CapPrm", both)?;
        expect("CapEff", bit(Capability::NetBindService))?;
        expect("CapAmb", bit(Capability::NetBindService))
    });
}

#[test]
fn ambient_outside_inheritable_is_left_out() {
    in_child(|| {
        let caps = LinuxCapabilitiesBuilder::default()
            .bounding(set_of(&[Capability::Kill]))
            .effective(set_of(&[Capability::Kill]))
            .permitted(set_of(&[Capability::Kill]))
            .inheritable(HashSet::new())
            .ambient(set_of(&[Capability::Kill]))
            .build()
            .map_err(|e| e.to_string())?;
        apply(&caps, host_last()?).map_err(|e| e.to_string())?;
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        match status.lines().find(|l| l.starts_with("CapAmb:")) {
            Some(l) if l.ends_with("0000000000000000") => Ok(()),
            other => Err(format!("expected an empty ambient set, got {other:?}")),
        }
    });
}

#[test]
fn a_capability_the_runtime_lacks_is_named() {
    in_child(|| {
        // The machine lacks CAP_SYS_RESOURCE; drop it here so the test holds elsewhere.
        drop_bounding(number(Capability::SysResource)).map_err(|e| e.to_string())?;
        let mut now = get().map_err(|e| e.to_string())?;
        now.permitted &= !bit(Capability::SysResource);
        now.effective &= !bit(Capability::SysResource);
        now.inheritable &= !bit(Capability::SysResource);
        set(now).map_err(|e| e.to_string())?;
        let wanted = set_of(&[Capability::SysResource, Capability::Chown]);
        let caps = LinuxCapabilitiesBuilder::default()
            .bounding(wanted.clone())
            .effective(wanted.clone())
            .permitted(wanted)
            .inheritable(HashSet::new())
            .ambient(HashSet::new())
            .build()
            .map_err(|e| e.to_string())?;
        match apply(&caps, host_last()?) {
            Err(e) if e.to_string().contains("CAP_SYS_RESOURCE not available") => Ok(()),
            other => Err(format!(
                "expected an error naming CAP_SYS_RESOURCE, got {other:?}"
            )),
        }
    });
}

#[test]
fn numbers_match_the_kernel_names() {
    for (n, name) in NAMES.iter().enumerate() {
        assert_eq!(names_of(1 << n), format!("CAP_{name}"));
        // oci-spec's parser and our number table agree on every capability.
        let cap: Capability =
            serde_json::from_str(&format!("\"CAP_{name}\"")).expect("known capability");
        assert_eq!(number(cap), n as u32, "{name}");
    }
    assert_eq!(number(Capability::Chown), 0);
    assert_eq!(number(Capability::SysAdmin), 21);
    assert_eq!(number(Capability::CheckpointRestore), 40);
    assert_eq!(name(Capability::NetBindService), "CAP_NET_BIND_SERVICE");
}

#[test]
fn every_known_name_parses_to_its_kernel_number() {
    for (i, name) in known_names().iter().enumerate() {
        let cap: Capability = serde_json::from_value(serde_json::Value::String(name.clone()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(number(cap) as usize, i, "{name}");
    }
}
