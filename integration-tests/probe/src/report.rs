//! `probe report`: everything the container's process can observe about itself.

use crate::json::Json;
use crate::sys;
use std::fs;

/// What `report` was asked to look at beyond the fixed fields.
#[derive(Default)]
pub struct Request {
    pub stat: Vec<String>,
    pub sysctl: Vec<String>,
    pub read: Vec<String>,
}

/// Build the whole report object.
pub fn report(req: &Request) -> Json {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> Json {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
            .map(|v| Json::s(v.trim()))
            .unwrap_or(Json::Null)
    };
    let (uid, euid, gid, egid) = sys::ids();
    let uts = sys::uname();
    Json::obj(vec![
        ("uid", Json::Int(uid.into())),
        ("gid", Json::Int(gid.into())),
        ("euid", Json::Int(euid.into())),
        ("egid", Json::Int(egid.into())),
        (
            "groups",
            Json::Arr(
                sys::groups()
                    .into_iter()
                    .map(|g| Json::Int(g.into()))
                    .collect(),
            ),
        ),
        (
            "caps",
            Json::obj(vec![
                ("inh", field("CapInh")),
                ("prm", field("CapPrm")),
                ("eff", field("CapEff")),
                ("bnd", field("CapBnd")),
                ("amb", field("CapAmb")),
            ]),
        ),
        ("no_new_privs", field("NoNewPrivs")),
        ("umask", field("Umask")),
        ("rlimits", sys::rlimits()),
        ("namespaces", namespaces()),
        ("mounts", mounts()),
        ("hostname", Json::s(uts.0)),
        ("domainname", Json::s(uts.1)),
        (
            "cwd",
            std::env::current_dir()
                .map(|p| Json::s(p.to_string_lossy()))
                .unwrap_or(Json::Null),
        ),
        (
            "env",
            Json::Arr(
                std::env::vars_os()
                    .map(|(k, v)| {
                        Json::s(format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
                    })
                    .collect(),
            ),
        ),
        ("oom_score_adj", read_trimmed("/proc/self/oom_score_adj")),
        ("session_keyring", sys::session_keyring()),
        ("pid", Json::Int(std::process::id().into())),
        ("ppid", Json::Int(sys::ppid().into())),
        ("stdio", stdio()),
        ("fields", crate::fields::report()),
        (
            "stat",
            Json::Obj(req.stat.iter().map(|p| (p.clone(), sys::stat(p))).collect()),
        ),
        (
            "sysctl",
            Json::Obj(
                req.sysctl
                    .iter()
                    .map(|k| {
                        (
                            k.clone(),
                            read_trimmed(&format!("/proc/sys/{}", k.replace('.', "/"))),
                        )
                    })
                    .collect(),
            ),
        ),
        (
            "read",
            Json::Obj(
                req.read
                    .iter()
                    .map(|f| {
                        (
                            f.clone(),
                            fs::read_to_string(f).map(Json::s).unwrap_or(Json::Null),
                        )
                    })
                    .collect(),
            ),
        ),
    ])
}

fn read_trimmed(path: &str) -> Json {
    fs::read_to_string(path)
        .map(|s| Json::s(s.trim()))
        .unwrap_or(Json::Null)
}

/// `/proc/self/ns/<name>` link targets, e.g. `"net": "net:[4026531840]"`.
fn namespaces() -> Json {
    let mut names: Vec<String> = fs::read_dir("/proc/self/ns")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    Json::Obj(
        names
            .into_iter()
            .map(|n| {
                let target = fs::read_link(format!("/proc/self/ns/{n}"))
                    .map(|t| Json::s(t.to_string_lossy()))
                    .unwrap_or(Json::Null);
                (n, target)
            })
            .collect(),
    )
}

/// Where fds 0, 1 and 2 point (a pipe, a pty, /dev/null...), whether each is a tty, and its window size.
fn stdio() -> Json {
    Json::Arr(
        (0..3)
            .map(|fd| {
                let target = fs::read_link(format!("/proc/self/fd/{fd}"))
                    .map(|t| Json::s(t.to_string_lossy()))
                    .unwrap_or(Json::Null);
                let winsize = match sys::winsize(fd) {
                    Some((rows, cols)) => Json::obj(vec![
                        ("rows", Json::Int(rows.into())),
                        ("cols", Json::Int(cols.into())),
                    ]),
                    None => Json::Null,
                };
                Json::obj(vec![
                    ("target", target),
                    ("tty", Json::Bool(sys::isatty(fd))),
                    ("winsize", winsize),
                ])
            })
            .collect(),
    )
}

/// `/proc/self/mountinfo`, one object per line (see proc(5) for the field order).
fn mounts() -> Json {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    Json::Arr(info.lines().filter_map(mount_line).collect())
}

fn mount_line(line: &str) -> Option<Json> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.len() < 3 {
        return None;
    }
    let list = |s: &str| Json::Arr(s.split(',').map(|o| Json::s(unescape(o))).collect());
    Some(Json::obj(vec![
        ("mount_point", Json::s(unescape(l[4]))),
        ("root", Json::s(unescape(l[3]))),
        ("fstype", Json::s(r[0])),
        ("source", Json::s(unescape(r[1]))),
        ("options", list(l[5])),
        ("super_options", list(r[2])),
        (
            "propagation",
            Json::Arr(l[6..].iter().map(|s| Json::s(*s)).collect()),
        ),
    ]))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
