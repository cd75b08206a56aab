use super::*;
use crate::test_support::in_child;

#[test]
fn interface_names() {
    for ok in ["eth0", "dummy-1", "a", "fifteen_chars_x"] {
        assert!(valid_name(ok), "{ok}");
    }
    for bad in ["", ".", "..", "a/b", "a:b", "a b", "sixteen_chars_xx"] {
        assert!(!valid_name(bad), "{bad}");
    }
    assert_eq!(container_name("eth9", Some("ctr0")), "ctr0");
    assert_eq!(container_name("eth9", Some("")), "eth9");
    assert_eq!(container_name("eth9", None), "eth9");
}

#[test]
fn messages_are_laid_out_as_rtnetlink_wants() {
    let m = link_message(
        RTM_NEWLINK,
        NLM_F_ACK,
        7,
        (0, 0),
        &[
            name_attr("ab"),
            (IFLA_NET_NS_FD, 5u32.to_ne_bytes().to_vec()),
        ],
    );
    // header 16 + ifinfomsg 16 + "ab\0" attr padded to 8 + fd attr 8.
    assert_eq!(m.len(), 48);
    assert_eq!(u32::from_ne_bytes(m[0..4].try_into().unwrap()), 48);
    assert_eq!(u16::from_ne_bytes([m[6], m[7]]), NLM_F_ACK | NLM_F_REQUEST);
    assert_eq!(i32::from_ne_bytes(m[20..24].try_into().unwrap()), 7);
    assert_eq!(&m[32..40], &[7, 0, 3, 0, b'a', b'b', 0, 0]);
    assert_eq!(&m[40..44], &[8, 0, 28, 0]);
}

#[test]
fn finds_loopback_and_names_a_missing_interface() {
    in_child(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| e.to_string())?;
        let sock = socket().map_err(|e| e.to_string())?;
        let (lo, _) = link_of(&sock, "lo").map_err(|e| e.to_string())?;
        if lo != 1 {
            return Err(format!("lo has index {lo}"));
        }
        let here = std::fs::File::open("/proc/self/ns/net").map_err(|e| e.to_string())?;
        use std::os::fd::AsFd;
        let e = move_in("quai-none0", "eth0", here.as_fd())
            .unwrap_err()
            .to_string();
        if !e.contains("\"quai-none0\"") || !e.contains("No such device") {
            return Err(e);
        }
        Ok(())
    });
}

#[test]
fn planned_from_the_spec() {
    let spec: crate::spec::Spec = serde_json::from_value(serde_json::json!({
        "ociVersion": "1.3.0",
        "linux": {"netDevices": {"eth9": {"name": "ctr0"}, "dummy0": {}, "eth8": {"name": ""}}}
    }))
    .unwrap();
    assert_eq!(
        planned(&spec),
        [("dummy0", "dummy0"), ("eth8", "eth8"), ("eth9", "ctr0")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}
