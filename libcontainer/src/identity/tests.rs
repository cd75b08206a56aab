use oci_spec::runtime::UserBuilder;

use super::*;
use crate::test_support::in_child;

/// Asserts the value of a `/proc/self/status` line, whitespace-normalised.
fn expect_status(key: &str, want: &str) -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let got = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .ok_or(format!("no {key} in /proc/self/status"))?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if got != want {
        return Err(format!("{key} is {got:?}, expected {want:?}"));
    }
    Ok(())
}

fn proc() -> Result<ProcHandle, String> {
    ProcHandle::open().map_err(|e| format!("open /proc: {e}"))
}

#[test]
fn ngroups_max_is_the_hosts() {
    let host: usize = std::fs::read_to_string("/proc/sys/kernel/ngroups_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(ngroups_max(&ProcHandle::open().unwrap()).unwrap(), host);
}

#[test]
fn more_groups_than_the_kernel_allows_is_refused_first() {
    in_child(|| {
        let user = UserBuilder::default()
            .uid(0u32)
            .gid(0u32)
            .additional_gids(vec![1u32, 2, 3])
            .build()
            .map_err(|e| e.to_string())?;
        match switch_user(&user, &proc()?, 2) {
            Err(e) if e.to_string().contains("more than the kernel allows (2)") => Ok(()),
            other => Err(format!("expected the group count refused, got {other:?}")),
        }
    });
}

#[test]
fn switches_uid_gid_groups_and_umask() {
    in_child(|| {
        let user = UserBuilder::default()
            .uid(1000u32)
            .gid(1001u32)
            .additional_gids(vec![5u32, 6])
            .umask(0o027u32)
            .build()
            .map_err(|e| e.to_string())?;
        switch_user(&user, &proc()?, 65536).map_err(|e| e.to_string())?;
        expect_status("Uid", "1000 1000 1000 1000")?;
        expect_status("Gid", "1001 1001 1001 1001")?;
        expect_status("Groups", "5 6")?;
        expect_status("Umask", "0027")?;
        // KEEPCAPS kept permitted across the uid change and was cleared again.
        expect_status("CapEff", "0000000000000000")?;
        if expect_status("CapPrm", "0000000000000000").is_ok() {
            return Err("permitted capabilities were lost across the uid change".into());
        }
        // SAFETY: plain prctl query.
        match unsafe { libc::prctl(libc::PR_GET_KEEPCAPS, 0, 0, 0, 0) } {
            0 => Ok(()),
            v => Err(format!("PR_GET_KEEPCAPS is {v} after switch_user")),
        }
    });
}

#[test]
fn default_umask_is_0022_and_no_groups_clears_them() {
    in_child(|| {
        // SAFETY: umask cannot fail.
        unsafe { libc::umask(0o077) };
        let user = UserBuilder::default()
            .uid(0u32)
            .gid(0u32)
            .build()
            .map_err(|e| e.to_string())?;
        switch_user(&user, &proc()?, 65536).map_err(|e| e.to_string())?;
        expect_status("Umask", "0022")?;
        expect_status("Groups", "")?;
        expect_status("Uid", "0 0 0 0")
    });
}

#[test]
fn setgroups_denied_in_a_user_namespace_is_skipped() {
    in_child(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
            .map_err(|e| format!("unshare: {e}"))?;
        std::fs::write("/proc/self/setgroups", "deny")
            .map_err(|e| format!("setgroups deny: {e}"))?;
        std::fs::write("/proc/self/uid_map", "0 0 1").map_err(|e| format!("uid_map: {e}"))?;
        std::fs::write("/proc/self/gid_map", "0 0 1").map_err(|e| format!("gid_map: {e}"))?;
        let user = UserBuilder::default()
            .uid(0u32)
            .gid(0u32)
            .additional_gids(vec![0u32])
            .build()
            .map_err(|e| e.to_string())?;
        switch_user(&user, &proc()?, 65536)
            .map_err(|e| format!("switch_user in a setgroups-denied user namespace: {e}"))
    });
}

#[test]
fn unmapped_uid_names_the_uid() {
    in_child(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
            .map_err(|e| format!("unshare: {e}"))?;
        std::fs::write("/proc/self/setgroups", "deny")
            .map_err(|e| format!("setgroups deny: {e}"))?;
        std::fs::write("/proc/self/uid_map", "0 0 1").map_err(|e| format!("uid_map: {e}"))?;
        std::fs::write("/proc/self/gid_map", "0 0 1").map_err(|e| format!("gid_map: {e}"))?;
        let user = UserBuilder::default()
            .uid(4242u32)
            .gid(0u32)
            .build()
            .map_err(|e| e.to_string())?;
        match switch_user(&user, &proc()?, 65536) {
            Err(e)
                if e.to_string().contains("setresuid(4242)")
                    && e.to_string().contains("uid 4242 is not mapped") =>
            {
                Ok(())
            }
            other => Err(format!("expected a setresuid(4242) error, got {other:?}")),
        }
    });
}
