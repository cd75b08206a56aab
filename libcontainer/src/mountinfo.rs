//! `/proc/self/mountinfo`, parsed: what is mounted where, with which propagation and
//! super-block options. Shared by the rootfs steps and the cgroup layout detection.

use std::path::PathBuf;

/// One line of /proc/self/mountinfo, the fields we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Root of the mount within its filesystem (field 4).
    pub root: String,
    /// Mount point (field 5), unescaped.
    pub mount_point: PathBuf,
    /// Optional fields (`shared:N`, `master:N`).
    pub optional: Vec<String>,
    /// Filesystem type.
    pub fstype: String,
    /// Super-block options (for cgroup v1, the controllers).
    pub super_options: String,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Three octal digits naming a byte (\000 to \377): anything else is literal
        // (a fuzzer found "\777" overflowing the byte).
        if b[i] == b'\\'
            && i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && b[i + 2..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
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

/// Parses /proc/self/mountinfo text.
pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            let p: Vec<&str> = post.split(' ').collect();
            Some(MountInfo {
                root: unescape(f.get(3)?),
                mount_point: PathBuf::from(unescape(f.get(4)?)),
                optional: f
                    .get(6..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                fstype: p.first()?.to_string(),
                super_options: p.get(2).copied().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// Reads and parses the calling process's mountinfo.
pub fn read() -> std::io::Result<Vec<MountInfo>> {
    Ok(parse(&crate::rootdir::read_text(std::path::Path::new(
        "/proc/self/mountinfo",
    ))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_and_escapes() {
        let m = parse("36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].root, "/mnt1");
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt x"));
        assert_eq!(m[0].optional, vec!["master:1", "shared:2"]);
        assert_eq!(m[0].fstype, "ext3");
        assert_eq!(m[0].super_options, "rw,errors=continue");
    }

    #[test]
    fn escapes_past_a_byte_are_literal() {
        // Found by quai-fuzz: "\\777" overflowed the byte it was decoded into.
        assert_eq!(unescape("/a\\777b"), "/a\\777b");
        assert_eq!(unescape("/a\\377"), String::from_utf8_lossy(b"/a\xff"));
        assert_eq!(unescape("/a\\040b\\"), "/a b\\");
    }
}
