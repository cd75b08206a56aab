//! Where mounts land: the /proc rule is applied to the path a destination resolves to
//! through the image's symlinks (`/data -> /proc`), not to the path config.json writes.

use super::more::{config, prepare_in_child};
use super::*;
use crate::rootfs::RootfsError;

const PROC: &str = r#"{"destination":"/proc","type":"proc","source":"proc"}"#;

/// prepare must refuse with `Refused`, naming `dest`, where it landed, and `phrase`.
fn refused(tag: &str, mounts: &str, plant: &[(&str, &str)], landing: &str, phrase: &str) {
    if !am_root() {
        return;
    }
    let tb = make_bundle(tag, &config(mounts, ""));
    for (link, target) in plant {
        let at = tb.bundle.rootfs.join(link);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        symlink(target, at).unwrap();
    }
    let (landing, phrase) = (landing.to_string(), phrase.to_string());
    let status = prepare_in_child(&tb, |r| match r {
        Err(e @ RootfsError::Refused { .. }) => {
            let msg = e.to_string();
            let RootfsError::Refused { landing: at, .. } = &e else {
                unreachable!()
            };
            ensure(
                at == Path::new(&landing) && msg.contains(&phrase),
                format!("landing {} / message {msg}", at.display()),
            )
        }
        other => Err(format!("expected a refusal, got {other:?}")),
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}

#[test]
fn bind_through_a_link_to_proc_is_refused() {
    let m = format!(
        r#"{PROC},{{"destination":"/vol","type":"bind","source":"src-dir","options":["rbind"]}}"#
    );
    refused(
        "l-abs",
        &m,
        &[("vol", "/proc")],
        "/proc",
        "not of type proc",
    );
    refused(
        "l-rel",
        &m,
        &[("vol", "../proc")],
        "/proc",
        "not of type proc",
    );
}

#[test]
fn tmpfs_through_nested_links_is_refused() {
    let m = format!(r#"{PROC},{{"destination":"/a/b","type":"tmpfs","source":"tmpfs"}}"#);
    refused(
        "l-nest",
        &m,
        &[("a/b", "/proc/sys")],
        "/proc/sys",
        "inside /proc",
    );
    let m = format!(r#"{PROC},{{"destination":"/vol/sys","type":"tmpfs","source":"tmpfs"}}"#);
    refused(
        "l-sub",
        &m,
        &[("vol", "../proc")],
        "/proc/sys",
        "inside /proc",
    );
}

#[test]
fn binds_written_inside_proc_are_refused() {
    for (i, dest) in ["/proc/sys", "/proc/sysrq-trigger", "/proc/self"]
        .iter()
        .enumerate()
    {
        let m = format!(
            r#"{PROC},{{"destination":"{dest}","type":"bind","source":"hostname","options":["bind"]}}"#
        );
        // /proc/self resolves to the init's own pid directory.
        let phrase = "inside /proc";
        if *dest == "/proc/self" {
            if !am_root() {
                return;
            }
            let tb = make_bundle("l-self", &config(&m, ""));
            let status = prepare_in_child(&tb, |r| match r {
                Err(e @ RootfsError::Refused { .. }) => {
                    ensure(e.to_string().contains(phrase), e.to_string())
                }
                other => Err(format!("expected a refusal, got {other:?}")),
            });
            assert_eq!(status, 0);
        } else {
            refused(&format!("l-in{i}"), &m, &[], dest, phrase);
        }
    }
}

#[test]
fn lxcfs_files_and_procfs_are_allowed() {
    if !am_root() {
        return;
    }
    let m = format!(
        r#"{PROC},{{"destination":"/proc/cpuinfo","type":"bind","source":"hostname","options":["bind"]}},
        {{"destination":"/proc/acpi","type":"tmpfs","source":"tmpfs","options":["ro"]}}"#
    );
    let tb = make_bundle("l-ok", &config(&m, r#","maskedPaths":["/proc/acpi"]"#));
    let status = prepare_in_child(&tb, |r| {
        r.map_err(|e| format!("prepare: {e}"))?;
        let cpuinfo = tb.bundle.rootfs.join("proc/cpuinfo");
        ensure(
            read(&cpuinfo.to_string_lossy())? == "from-bundle\n",
            "/proc/cpuinfo is not the bound file",
        )
    });
    assert_eq!(status, 0, "the child's checks failed (see its stderr)");
}

#[test]
fn procfs_on_a_planted_file_is_refused() {
    if !am_root() {
        return;
    }
    let tb = make_bundle("l-file", &config(PROC, ""));
    std::fs::write(tb.bundle.rootfs.join("proc"), "").unwrap_or_else(|_| {
        std::fs::remove_dir(tb.bundle.rootfs.join("proc")).ok();
        std::fs::write(tb.bundle.rootfs.join("proc"), "").unwrap()
    });
    let status = prepare_in_child(&tb, |r| match r {
        Err(e @ RootfsError::WrongType { .. }) => ensure(
            e.to_string()
                .contains("must be mounted on ordinary directory"),
            e.to_string(),
        ),
        other => Err(format!("expected a refusal, got {other:?}")),
    });
    assert_eq!(status, 0);
}
