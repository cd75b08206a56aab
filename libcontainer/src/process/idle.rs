//! What the init gives back before it waits for `start`.
//!
//! A created container may wait for `start` for a long time (engines create ahead, and
//! some hold many created containers), so the waiting init should hold only what it
//! needs. Two things it holds and does not need while it waits:
//! - the pages of our binary and of the C library that set-up ran through: file pages,
//!   shared with the page cache, but counted in the process's resident set (about
//!   2 MB measured here). They are dropped from its page tables (`MADV_DONTNEED` on a
//!   clean file mapping: the next touch reads them back from the page cache, a minor
//!   fault). A private file mapping that holds written pages (relocations) is left
//!   alone: dropping those would lose the writes;
//! - the heap's free pages, returned to the kernel (`malloc_trim`).

use crate::procfs::ProcHandle;

/// One mapping of `/proc/self/smaps` that may be dropped.
#[derive(Debug, PartialEq, Eq)]
struct Clean {
    start: usize,
    len: usize,
}

/// The file-backed mappings of an smaps text that hold no written (anonymous) page and
/// no locked one: every page can be read back from its file.
fn clean_file_mappings(smaps: &str) -> Vec<Clean> {
    let mut out = Vec::new();
    // (range, a read-only file mapping, anonymous kB if the kernel said, locked kB)
    type Entry = (Clean, bool, Option<u64>, u64);
    let finish = |c: Option<Entry>, out: &mut Vec<Clean>| {
        if let Some((range, file, anon, locked)) = c {
            if file && anon == Some(0) && locked == 0 {
                out.push(range);
            }
        }
    };
    let mut cur: Option<Entry> = None;
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else { continue };
        if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            else {
                continue;
            };
            finish(cur.take(), &mut out);
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            // A file (not [heap], [stack], [vdso]...), never writable: a writable
            // private mapping may hold written pages the counters below miss on
            // kernels that do not report them, and a shared one is the file itself.
            let file = path.starts_with('/') && perms.len() == 4 && !perms.contains('w');
            cur = Some((
                Clean {
                    start: a,
                    len: b.saturating_sub(a),
                },
                file,
                None,
                0,
            ));
        } else if let Some(c) = cur.as_mut() {
            let kb = || {
                f.clone()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1)
            };
            match first {
                "Anonymous:" => c.2 = Some(kb()),
                "Locked:" => c.3 = kb(),
                _ => {}
            }
        }
    }
    finish(cur, &mut out);
    out
}

/// Drops the clean file pages from our page tables and returns the heap's free pages.
/// Best effort: what cannot be read or dropped is simply kept.
pub(super) fn give_back(proc: &ProcHandle) {
    if let Ok(smaps) = proc.read("thread-self/smaps") {
        for c in clean_file_mappings(&smaps) {
            // SAFETY: a mapping of ours with no written page: dropping it only makes
            // the next access fault the same bytes back in from the file.
            unsafe { libc::madvise(c.start as *mut libc::c_void, c.len, libc::MADV_DONTNEED) };
        }
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: plain glibc call; the process is single-threaded.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0c0000000-55d0c0060000 r--p 00000000 fe:01 1234   /usr/bin/quai
Rss:                 384 kB
Anonymous:             0 kB
Locked:                0 kB
55d0c0060000-55d0c01a0000 r-xp 00060000 fe:01 1234   /usr/bin/quai
Rss:                1296 kB
Anonymous:             0 kB
Locked:                0 kB
55d0c01a0000-55d0c01d0000 r--p 001a0000 fe:01 1234   /usr/bin/quai
Rss:                 192 kB
Anonymous:           192 kB
Locked:                0 kB
55d0c01d0000-55d0c01d1000 rw-p 001d0000 fe:01 1234   /usr/bin/quai
Anonymous:             0 kB
55d0c1000000-55d0c1030000 rw-p 00000000 00:00 0      [heap]
Anonymous:           168 kB
7f0000000000-7f0000080000 r-xp 00000000 fe:01 99     /usr/lib/libc.so.6
Anonymous:             0 kB
Locked:                4 kB
7f0000100000-7f0000102000 r-xp 00000000 00:00 0      [vdso]
Anonymous:             0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]
Anonymous:            68 kB
";

    #[test]
    fn only_clean_read_only_file_mappings_are_dropped() {
        assert_eq!(
            clean_file_mappings(SMAPS),
            vec![
                Clean {
                    start: 0x55d0c0000000,
                    len: 0x60000
                },
                Clean {
                    start: 0x55d0c0060000,
                    len: 0x140000
                },
            ]
        );
    }

    #[test]
    fn a_mapping_not_known_to_be_clean_is_kept() {
        // No Anonymous line: its written pages are unknown.
        let text = "7f0000000000-7f0000001000 r--p 00000000 fe:01 9 /lib/x.so\n";
        assert!(clean_file_mappings(text).is_empty());
        let text = format!("{text}Anonymous:  0 kB\n");
        assert_eq!(clean_file_mappings(&text).len(), 1);
        assert!(clean_file_mappings("garbage\n\n").is_empty());
    }

    #[test]
    fn giving_back_keeps_this_process_working() {
        // In a child: the test runner's own pages are not ours to drop.
        crate::test_support::in_child(|| {
            let proc = ProcHandle::open().map_err(|e| e.to_string())?;
            let before = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
            give_back(&proc);
            // Code, read-only data and the heap still work after the drop.
            let v: Vec<u64> = (0..1000).collect();
            if v.iter().sum::<u64>() != 499_500 {
                return Err("the heap lost its data".into());
            }
            let after = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
            let rss = |s: &str| -> u64 {
                s.lines()
                    .find_map(|l| l.strip_prefix("RssFile:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0)
            };
            if rss(&after) >= rss(&before) {
                return Err(format!("RssFile did not drop:\n{before}\n{after}"));
            }
            Ok(())
        });
    }
}
