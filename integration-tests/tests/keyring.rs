//! The session keyring: a container gets its own, named `_ses.<id>` (as runc names it),
//! unless `--no-new-keyring` asks it to keep the caller's.

use integration_tests::{Ctr, Value};

/// The probe's session keyring report for a foreground `run` with `extra` flags.
fn session_keyring(c: &mut Ctr, extra: &[&str]) -> Value {
    c.bundle.probe(&["report"]);
    let r = c.run(extra).ok().json();
    c.assert_gone(None);
    r["session_keyring"].clone()
}

#[test]
fn default_session_keyring_is_named_after_the_container() {
    let mut c = Ctr::new();
    let k = session_keyring(&mut c, &[]);
    let desc = k["description"].as_str().unwrap_or_default();
    // KEYCTL_DESCRIBE: "keyring;uid;gid;perm;description".
    assert!(desc.starts_with("keyring;"), "{k}");
    assert!(
        desc.ends_with(&format!(";_ses.{}", c.id)),
        "the session keyring is not the container's own: {k}"
    );
}

#[test]
fn no_new_keyring_keeps_the_callers_session_keyring() {
    let mut c = Ctr::new();
    let k = session_keyring(&mut c, &["--no-new-keyring"]);
    // Whatever keyring the caller had (or the user's default session keyring): not one
    // made for this container.
    let desc = k["description"].as_str().unwrap_or_default();
    assert!(!desc.contains(&c.id), "{k}");
    // The container's session keyring is the caller's (this test's) own.
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    // SAFETY: keyctl(GET_KEYRING_ID) takes integers only; create=0 makes nothing.
    let ours = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0 as libc::c_long,
        )
    };
    assert!(ours > 0, "this test has no session keyring to compare with");
    assert_eq!(k["serial"].as_i64(), Some(ours as i64), "{k}");
}
