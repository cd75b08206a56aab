//! `features`: the document has the runtime-spec's shape (features.md,
//! features-linux.md), and every claim in it holds when a container asks for it: each
//! mount option, namespace and capability is accepted by `create` and does its work,
//! and each feature claimed missing is refused.

use integration_tests::{assets, host, Ctr};
use serde_json::{json, Value};

/// `quai features`, parsed; skips (None) against runc, whose claims are its own.
fn features() -> Option<Value> {
    if assets::is_runc() {
        eprintln!("features: the claims checked here are quai's; not run against runc");
        return None;
    }
    Some(Ctr::new().cmd(&["features"]).ok().json())
}

fn strings(v: &Value, what: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("{what} holds a non-string: {s}"))
                .to_string()
        })
        .collect()
}

/// A `{"enabled": bool}` object's value.
fn enabled(v: &Value, what: &str) -> bool {
    v["enabled"]
        .as_bool()
        .unwrap_or_else(|| panic!("{what}.enabled is not a boolean: {v}"))
}

#[test]
fn the_document_has_the_runtime_specs_shape() {
    let Some(f) = features() else { return };
    assert_eq!(f["ociVersionMin"], "1.0.0", "{f}");
    assert_eq!(f["ociVersionMax"], "1.3.0", "{f}");
    let hooks = strings(&f["hooks"], "hooks");
    let spec_hooks = [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ];
    assert_eq!(hooks, spec_hooks, "every runtime-spec 1.3 hook is run");
    assert!(!strings(&f["mountOptions"], "mountOptions").is_empty());
    let linux = &f["linux"];
    strings(&linux["namespaces"], "linux.namespaces");
    for c in strings(&linux["capabilities"], "linux.capabilities") {
        assert!(c.starts_with("CAP_"), "capability {c:?}");
    }
    for key in ["v1", "v2", "systemd", "systemdUser", "rdma"] {
        assert!(linux["cgroup"][key].is_boolean(), "linux.cgroup.{key}: {f}");
    }
    for key in ["seccomp", "apparmor", "selinux", "intelRdt", "netDevices"] {
        enabled(&linux[key], key);
    }
    enabled(&linux["mountExtensions"]["idmap"], "idmap");
    strings(&linux["memoryPolicy"]["modes"], "memoryPolicy.modes");
    strings(&linux["memoryPolicy"]["flags"], "memoryPolicy.flags");
    strings(
        &f["potentiallyUnsafeConfigAnnotations"],
        "potentiallyUnsafeConfigAnnotations",
    );
    for (k, v) in f["annotations"].as_object().expect("annotations object") {
        assert!(v.is_string(), "annotation {k}: {v}");
    }
    // runc's key for CRIU: quai's checkpoint says "not implemented".
    assert_eq!(
        f["annotations"]["org.opencontainers.runc.checkpoint.enabled"],
        "false"
    );
    let out = Ctr::new().cmd(&["checkpoint", "x"]).fails();
    assert!(out.stderr.contains("not implemented"), "{out}");
}

/// The options that need a bind mount, or a user namespace, rather than a tmpfs.
/// `remount` means something only for a mount that exists: a bind's remount with flags.
const BIND: &[&str] = &["bind", "rbind", "remount"];
const IDMAP: &[&str] = &["idmap", "ridmap"];

/// Adds, for each option, a mount of its own under `/opt-<n>` that uses it.
fn add_option_mounts(c: &mut Ctr, opts: &[String]) {
    let src = c.work().join("bind-src");
    std::fs::create_dir_all(&src).expect("mkdir bind source");
    let src = src.to_string_lossy().into_owned();
    for (n, o) in opts.iter().enumerate() {
        let dest = format!("/opt-{n}");
        if BIND.contains(&o.as_str()) {
            c.bundle.add_mount(&dest, "bind", &src, &["bind", o]);
        } else {
            c.bundle.add_mount(&dest, "tmpfs", "tmpfs", &[o, "size=1m"]);
        }
    }
}

/// Runs `opts` in one container; if that fails, one container per option, and returns
/// each option `create` refused with its error.
fn refused_options(opts: &[String]) -> Vec<String> {
    let mut c = Ctr::new();
    add_option_mounts(&mut c, opts);
    c.bundle.probe(&["exit", "0"]);
    if c.run(&[]).code == 0 {
        return Vec::new();
    }
    let mut refused = Vec::new();
    for o in opts {
        let mut c = Ctr::new();
        add_option_mounts(&mut c, std::slice::from_ref(o));
        c.bundle.probe(&["exit", "0"]);
        let out = c.run(&[]);
        if out.code != 0 {
            refused.push(format!("{o}: {}", out.stderr.trim()));
        }
    }
    refused
}

#[test]
fn every_claimed_mount_option_is_accepted_by_create() {
    let Some(f) = features() else { return };
    let claimed = strings(&f["mountOptions"], "mountOptions");
    let plain: Vec<String> = claimed
        .iter()
        .filter(|o| !IDMAP.contains(&o.as_str()))
        .cloned()
        .collect();
    let refused = refused_options(&plain);
    assert!(
        refused.is_empty(),
        "claimed mount options refused by create:\n{}",
        refused.join("\n")
    );
    // A few options whose effect is visible from inside: the claim means what it says.
    let mut c = Ctr::new();
    c.bundle
        .add_mount("/t-ro", "tmpfs", "tmpfs", &["ro"])
        .add_mount("/t-noexec", "tmpfs", "tmpfs", &["noexec", "nosuid"]);
    let r = c.report(&[]);
    let mounts = r["mounts"].to_string();
    for (dest, opt) in [("/t-ro", "ro"), ("/t-noexec", "noexec")] {
        assert!(
            r["mounts"].as_array().is_some_and(|ms| ms
                .iter()
                .any(|m| m.to_string().contains(dest) && m.to_string().contains(opt))),
            "{dest} is not {opt}: {mounts}"
        );
    }
}

/// A container with a user namespace (root is host 100000) and the cgroup mount left
/// out, which a user namespace without its own cgroup namespace cannot make.
fn userns_ctr() -> Ctr {
    let mut c = Ctr::new();
    c.bundle.userns(100000, 65536);
    c.bundle.remove_mount("/sys/fs/cgroup");
    c
}

#[test]
fn idmap_claims_match_idmapped_mounts_that_work() {
    let Some(f) = features() else { return };
    let claimed = strings(&f["mountOptions"], "mountOptions");
    let ext = enabled(&f["linux"]["mountExtensions"]["idmap"], "idmap");
    let opts: Vec<&str> = IDMAP
        .iter()
        .copied()
        .filter(|o| claimed.iter().any(|c| c == o))
        .collect();
    assert_eq!(
        ext,
        !opts.is_empty(),
        "mountExtensions.idmap and the idmap options disagree: {f}"
    );
    let mut c = userns_ctr();
    let shared = c.work().join("shared");
    std::fs::create_dir(&shared).expect("mkdir shared");
    std::fs::write(shared.join("f"), "host\n").expect("write shared file");
    let src = shared.to_string_lossy().into_owned();
    let mut args = Vec::new();
    for o in &opts {
        let point = format!("m-{o}");
        std::fs::create_dir(c.bundle.rootfs().join(&point)).expect("mkdir mount point");
        c.bundle
            .add_mount(&format!("/{point}"), "bind", &src, &["rbind", o]);
        args.extend(["--stat".to_string(), format!("/{point}/f")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = c.report(&args);
    for o in &opts {
        let st = &r["stat"][format!("/m-{o}/f")];
        assert_eq!(
            st["uid"], 0,
            "through {o}, host root's file is root's: {st}"
        );
    }
}

#[test]
fn every_claimed_namespace_is_made() {
    let Some(f) = features() else { return };
    let claimed = strings(&f["linux"]["namespaces"], "linux.namespaces");
    // The spec's names, and the kernel's for /proc/self/ns.
    fn link(kind: &str) -> &str {
        match kind {
            "mount" => "mnt",
            "network" => "net",
            other => other,
        }
    }
    let mut c = userns_ctr();
    c.bundle
        .namespaces(&claimed.iter().map(String::as_str).collect::<Vec<_>>());
    let r = c.report(&[]);
    for kind in &claimed {
        let l = link(kind);
        assert!(
            r["namespaces"][l].is_string(),
            "the container has no {l} namespace: {r}"
        );
        assert_ne!(
            r["namespaces"][l],
            host::ns_link(l),
            "claimed namespace {kind} is not new"
        );
    }
}

#[test]
fn every_claimed_capability_is_accepted_in_the_bounding_set() {
    let Some(f) = features() else { return };
    let claimed = strings(&f["linux"]["capabilities"], "linux.capabilities");
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("cap_last_cap")
        .trim()
        .parse()
        .expect("cap_last_cap is a number");
    // The container can have no capability the runtime lacks (this host's sessions
    // may run without some, CAP_SYS_RESOURCE for one).
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let ours = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .expect("CapBnd in /proc/self/status");
    let mut c = Ctr::new();
    c.bundle
        .set("/process/capabilities/bounding", json!(claimed))
        .set("/process/noNewPrivileges", json!(false));
    let r = c.report(&[]);
    let bnd = r["caps"]["bnd"].as_str().expect("caps.bnd");
    let bnd = u64::from_str_radix(bnd.trim(), 16).expect("caps.bnd is hex");
    // The claims are in the kernel's numbering (CAP_CHOWN is 0), as runc's are: with
    // all of them, the bounding set is every capability this kernel has.
    assert!(
        claimed.len() as u32 > last,
        "fewer claims than the kernel has: {claimed:?}"
    );
    let all = if last >= 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    };
    assert_eq!(
        bnd,
        all & ours,
        "bounding set {bnd:#x} with every claimed capability (the runtime has {ours:#x})"
    );
}

/// `create` with `pointer` set to `value`: accepted when `claimed`, else refused as
/// not supported (its name in the message).
fn check_field_claim(pointer: &str, value: Value, claimed: bool, name: &str) {
    let mut c = Ctr::new();
    c.bundle.set(pointer, value);
    let out = c.create(&[]);
    // "not supported by quai yet", or runc's words for Intel RDT on a host without it.
    let not_supported = out.code != 0
        && (out.stderr.contains("not supported by quai yet")
            || out.stderr.contains("is not supported or enabled"));
    if claimed {
        assert!(!not_supported, "{name} is claimed but refused: {out}");
    } else {
        assert!(not_supported, "{name} is not claimed but accepted: {out}");
        let short = name.rsplit('.').next().unwrap_or(name);
        assert!(out.stderr.contains(short), "{out}");
    }
}

#[test]
fn features_claimed_missing_are_refused_by_create() {
    let Some(f) = features() else { return };
    let linux = &f["linux"];
    check_field_claim(
        "/linux/seccomp",
        json!({ "defaultAction": "SCMP_ACT_ALLOW" }),
        enabled(&linux["seccomp"], "seccomp"),
        "linux.seccomp",
    );
    check_field_claim(
        "/linux/intelRdt",
        json!({ "closID": "quai" }),
        enabled(&linux["intelRdt"], "intelRdt"),
        "linux.intelRdt",
    );
    check_field_claim(
        "/linux/netDevices",
        json!({ "quai-no-such0": {} }),
        enabled(&linux["netDevices"], "netDevices"),
        "linux.netDevices",
    );
    let modes = strings(&linux["memoryPolicy"]["modes"], "modes");
    check_field_claim(
        "/linux/memoryPolicy",
        json!({ "mode": "MPOL_DEFAULT" }),
        modes.iter().any(|m| m == "MPOL_DEFAULT"),
        "linux.memoryPolicy",
    );
}

#[test]
fn cgroup_drivers_claimed_missing_are_refused() {
    let Some(f) = features() else { return };
    let cg = &f["linux"]["cgroup"];
    if cg["systemd"] == false {
        let c = Ctr::new();
        c.bundle.save();
        let b = c.bundle.dir().to_string_lossy().into_owned();
        let out = c.cmd(&["--systemd-cgroup", "create", "--bundle", &b, &c.id]);
        assert_ne!(
            out.code, 0,
            "systemd is not claimed but create works: {out}"
        );
        assert!(out.stderr.contains("systemd"), "{out}");
    }
    // v1 and v2 are claimed: the host's own layout (hybrid here) runs containers, which
    // every other test shows; tests/cgroup_v2.rs runs the v2 driver in a VM.
    assert_eq!(cg["v1"], true, "{f}");
    assert_eq!(cg["v2"], true, "{f}");
}

#[test]
fn every_claimed_hook_runs() {
    let Some(f) = features() else { return };
    let mut c = Ctr::new();
    let marks = c.work().join("marks");
    std::fs::create_dir(&marks).expect("mkdir marks");
    for h in strings(&f["hooks"], "hooks") {
        let mark = marks.join(&h);
        if h == "startContainer" {
            // Runs in the container: the mark goes in its root, which is ours too.
            let inside = format!("/{h}");
            c.bundle.add_hook(
                &h,
                "/bin/sh",
                &["sh", "-c", &format!("touch {inside}")],
                &[],
                None,
            );
        } else {
            let cmd = format!("touch {}", mark.display());
            c.bundle
                .add_hook(&h, "/bin/sh", &["sh", "-c", &cmd], &[], None);
        }
    }
    c.bundle.probe(&["exit", "0"]);
    c.run(&[]).ok();
    c.assert_gone(None);
    for h in strings(&f["hooks"], "hooks") {
        let mark = if h == "startContainer" {
            c.bundle.rootfs().join(&h)
        } else {
            marks.join(&h)
        };
        assert!(mark.exists(), "claimed hook {h} did not run");
    }
}
