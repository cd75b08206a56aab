use oci_spec::runtime::PosixRlimitBuilder;

use super::*;
use crate::test_support::in_child;

fn rlimit(typ: PosixRlimitType, soft: u64, hard: u64) -> Result<PosixRlimit, String> {
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(soft)
        .hard(hard)
        .build()
        .map_err(|e| e.to_string())
}

fn current(res: libc::__rlimit_resource_t) -> Result<(u64, u64), String> {
    get_rlimit(res)
        .map(|r| (r.rlim_cur, r.rlim_max))
        .ok_or_else(|| "getrlimit failed".to_string())
}

#[test]
fn sets_each_rlimit() {
    in_child(|| {
        set_rlimits(&[
            rlimit(PosixRlimitType::RlimitNofile, 100, 200)?,
            rlimit(PosixRlimitType::RlimitCore, 0, 0)?,
        ])
        .map_err(|e| e.to_string())?;
        let nofile = current(libc::RLIMIT_NOFILE)?;
        let core = current(libc::RLIMIT_CORE)?;
        if nofile != (100, 200) || core != (0, 0) {
            return Err(format!("got nofile {nofile:?}, core {core:?}"));
        }
        Ok(())
    });
}

#[test]
fn raising_the_hard_limit_without_cap_sys_resource_names_the_limit() {
    in_child(|| {
        set_rlimits(&[rlimit(PosixRlimitType::RlimitNofile, 1000, 1000)?])
            .map_err(|e| e.to_string())?;
        // The machine lacks CAP_SYS_RESOURCE anyway; drop it so the test holds elsewhere.
        caps::drop(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_RESOURCE,
        )
        .map_err(|e| e.to_string())?;
        let err = match set_rlimits(&[rlimit(PosixRlimitType::RlimitNofile, 1000, 5000)?]) {
            Ok(()) => return Err("raising the hard limit succeeded".into()),
            Err(e) => e.to_string(),
        };
        for part in ["RLIMIT_NOFILE", "5000", "current 1000", "CAP_SYS_RESOURCE"] {
            if !err.contains(part) {
                return Err(format!("error {err:?} does not mention {part:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn soft_above_hard_is_refused() {
    let err = set_rlimits(&[rlimit(PosixRlimitType::RlimitNofile, 10, 5).expect("rlimit")])
        .expect_err("soft above hard must fail");
    assert!(err.to_string().contains("RLIMIT_NOFILE"), "{err}");
}

#[test]
fn writes_oom_score_adj() {
    in_child(|| {
        let proc = ProcHandle::open().map_err(|e| e.to_string())?;
        set_oom_score_adj(&proc, 500).map_err(|e| e.to_string())?;
        let got = std::fs::read_to_string("/proc/self/oom_score_adj").map_err(|e| e.to_string())?;
        if got.trim() != "500" {
            return Err(format!("oom_score_adj is {got:?}"));
        }
        match set_oom_score_adj(&proc, 1001) {
            Err(e) if e.to_string().contains("1001") => Ok(()),
            other => Err(format!("expected an out-of-range error, got {other:?}")),
        }
    });
}

#[test]
fn sets_no_new_privs() {
    in_child(|| {
        set_no_new_privs().map_err(|e| e.to_string())?;
        let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
        let line = status
            .lines()
            .find(|l| l.starts_with("NoNewPrivs:"))
            .ok_or("no NoNewPrivs line")?;
        if line.split_whitespace().nth(1) != Some("1") {
            return Err(format!("{line:?}"));
        }
        Ok(())
    });
}
