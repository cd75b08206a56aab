//! The process section: args, env, cwd, user, umask, capabilities, no_new_privs,
//! rlimits, oom_score_adj; plus hostname and domainname.

use integration_tests::report::has_env;
use integration_tests::{json, Ctr};

#[test]
fn args_env_cwd() {
    let mut c = Ctr::new();
    c.bundle.push("/process/env", json!("QUAI_TEST=some value"));
    c.bundle.set("/process/cwd", json!("/tmp"));
    let r = c.report(&[]);
    assert!(has_env(&r, "QUAI_TEST=some value"), "{}", r["env"]);
    assert!(has_env(&r, "TERM=xterm"), "{}", r["env"]);
    assert_eq!(r["cwd"], "/tmp");

    c.bundle.probe(&["echo", "a b", "c"]);
    assert_eq!(c.run(&[]).ok().stdout, "a b c\n");
}

#[test]
fn cwd_is_created_when_missing() {
    let mut c = Ctr::new();
    c.bundle.set("/process/cwd", json!("/new/work/dir"));
    assert_eq!(c.report(&[])["cwd"], "/new/work/dir");
}

#[test]
fn user_uid_gid_additional_gids_umask() {
    let mut c = Ctr::new();
    c.bundle.set(
        "/process/user",
        json!({ "uid": 1000, "gid": 1001, "additionalGids": [5, 6, 1002], "umask": 0o027 }),
    );
    let r = c.report(&[]);
    assert_eq!(
        (r["uid"].as_i64(), r["euid"].as_i64()),
        (Some(1000), Some(1000)),
        "{r}"
    );
    assert_eq!(
        (r["gid"].as_i64(), r["egid"].as_i64()),
        (Some(1001), Some(1001)),
        "{r}"
    );
    let mut groups: Vec<i64> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g.as_i64())
        .collect();
    groups.sort();
    assert_eq!(groups, [5, 6, 1002], "{r}");
    assert_eq!(r["umask"], "0027");
}

#[test]
fn default_capabilities_for_root() {
    let mut c = Ctr::new();
    let r = c.report(&[]);
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29); no inheritable set,
    // so the kernel drops the ambient set.
    let caps = &r["caps"];
    assert_eq!(caps["bnd"], "0000000020000420", "{caps}");
    assert_eq!(caps["prm"], "0000000020000420", "{caps}");
    assert_eq!(caps["eff"], "0000000020000420", "{caps}");
    assert_eq!(caps["inh"], "0000000000000000", "{caps}");
    assert_eq!(caps["amb"], "0000000000000000", "{caps}");
}

#[test]
fn all_five_capability_sets_for_non_root() {
    let mut c = Ctr::new();
    c.bundle
        .set("/process/user", json!({ "uid": 1000, "gid": 1000 }));
    c.bundle.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
            "inheritable": ["CAP_KILL", "CAP_NET_RAW"],
            "effective": ["CAP_KILL", "CAP_NET_RAW"],
            "ambient": ["CAP_NET_RAW"]
        }),
    );
    let r = c.report(&[]);
    let caps = &r["caps"];
    // After execve by a non-root user without file caps, permitted = effective = ambient.
    assert_eq!(caps["bnd"], "0000000000202021", "{caps}");
    assert_eq!(caps["inh"], "0000000000002020", "{caps}");
    assert_eq!(caps["prm"], "0000000000002000", "{caps}");
    assert_eq!(caps["eff"], "0000000000002000", "{caps}");
    assert_eq!(caps["amb"], "0000000000002000", "{caps}");
}

#[test]
fn no_new_privileges() {
    let mut c = Ctr::new();
    assert_eq!(c.report(&[])["no_new_privs"], "1");
    c.bundle.set("/process/noNewPrivileges", json!(false));
    assert_eq!(c.report(&[])["no_new_privs"], "0");
}

#[test]
fn rlimits() {
    let mut c = Ctr::new();
    c.bundle.set(
        "/process/rlimits",
        json!([
            { "type": "RLIMIT_NOFILE", "soft": 100, "hard": 200 },
            { "type": "RLIMIT_CORE", "soft": 0, "hard": 4096 },
            { "type": "RLIMIT_NPROC", "soft": 300, "hard": 400 }
        ]),
    );
    let r = c.report(&[]);
    let l = &r["rlimits"];
    assert_eq!(
        (
            l["RLIMIT_NOFILE"]["soft"].as_u64(),
            l["RLIMIT_NOFILE"]["hard"].as_u64()
        ),
        (Some(100), Some(200)),
        "{l}"
    );
    assert_eq!(
        (
            l["RLIMIT_CORE"]["soft"].as_u64(),
            l["RLIMIT_CORE"]["hard"].as_u64()
        ),
        (Some(0), Some(4096)),
        "{l}"
    );
    assert_eq!(
        (
            l["RLIMIT_NPROC"]["soft"].as_u64(),
            l["RLIMIT_NPROC"]["hard"].as_u64()
        ),
        (Some(300), Some(400)),
        "{l}"
    );
}

#[test]
fn rlimit_above_hard_limit_fails_cleanly() {
    // This machine lacks CAP_SYS_RESOURCE: no hard limit can be raised above 20000 files.
    let mut c = Ctr::new();
    c.bundle.set(
        "/process/rlimits",
        json!([{ "type": "RLIMIT_NOFILE", "soft": 1048576, "hard": 1048576 }]),
    );
    let out = c.create(&[]);
    assert_eq!(out.code, 1, "{out}");
    assert!(!out.stderr.trim().is_empty(), "{out}");
    assert!(
        out.stderr.to_lowercase().contains("rlimit")
            || out.stderr.contains("operation not permitted"),
        "{out}"
    );
    c.assert_gone(None);
}

#[test]
fn oom_score_adj() {
    let mut c = Ctr::new();
    c.bundle.set("/process/oomScoreAdj", json!(500));
    assert_eq!(c.report(&[])["oom_score_adj"], "500");
}

#[test]
fn hostname_and_domainname() {
    let mut c = Ctr::new();
    c.bundle.set("/hostname", json!("box-one"));
    c.bundle.set("/domainname", json!("quai.example"));
    let r = c.report(&[]);
    assert_eq!(r["hostname"], "box-one");
    if integration_tests::assets::is_runc() {
        eprintln!("domainname not checked on runc: runc 1.1.5 ignores `domainname` (added in runc 1.2); the issue asks quai for it");
        return;
    }
    assert_eq!(r["domainname"], "quai.example");
}

#[test]
fn preserve_fds_passes_extra_fds() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    c.bundle.save();
    let extra_path = c.work().join("extra-fd");
    let extra = std::fs::File::create(&extra_path).expect("create extra file");
    let raw = extra.as_raw_fd();
    let [flag, b] = c.bundle_args();
    let id = c.id.clone();
    let out = c.cmd_with(
        &["run", &flag, &b, "--preserve-fds", "1", &id],
        None,
        move |cmd| {
            // SAFETY: dup2 in the child before exec; fd 3 is left without CLOEXEC.
            unsafe {
                cmd.pre_exec(move || {
                    // dup2 onto itself keeps CLOEXEC, so clear it explicitly.
                    if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    let fds = out.ok().json();
    assert_eq!(fds["3"], extra_path.to_str().unwrap(), "{fds}");
    assert!(
        fds.get("4").is_none(),
        "only the preserved fd is passed: {fds}"
    );
}

#[test]
fn listen_fds_passed_through() {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let mut c = Ctr::new();
    c.bundle.probe(&["report"]);
    c.bundle.save();
    let extra_path = c.work().join("listen-fd");
    let extra = std::fs::File::create(&extra_path).expect("create extra file");
    let raw = extra.as_raw_fd();
    let [flag, b] = c.bundle_args();
    let id = c.id.clone();
    let root = c.root().to_string_lossy().into_owned();
    let bin = integration_tests::assets::runtime_bin()
        .to_string_lossy()
        .into_owned();
    // Socket activation: LISTEN_PID must name the runtime itself, so a shell sets it and execs.
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args([
        "-c",
        "export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$@\"",
        "sh",
        &bin,
        "--root",
        &root,
        "run",
        &flag,
        &b,
        &id,
    ]);
    // SAFETY: dup2 in the child before exec; fd 3 is left without CLOEXEC.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps CLOEXEC (the file may be fd 3 already), so clear it
            // explicitly: the runtime refuses a LISTEN_FDS fd it was not really passed.
            if libc::dup2(raw, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = integration_tests::out::run_captured(cmd, c.work(), "listen", None);
    let r = out.ok().json();
    assert!(has_env(&r, "LISTEN_FDS=1"), "{}", r["env"]);
}

#[test]
fn no_other_fds_leak_into_the_container() {
    let mut c = Ctr::new();
    c.bundle.probe(&["fds"]);
    let fds = c.run(&[]).ok().json();
    let open: Vec<&String> = fds.as_object().unwrap().keys().collect();
    assert_eq!(open, ["0", "1", "2"], "{fds}");
}
