//! What the init gives back before it waits for `start`.
//!
//! A created container may wait for `start` for a long time (engines create ahead, and
//! some hold many created containers), so the waiting init should hold only what it
//! needs. Two things it holds and does not need while it waits:
//! - the pages of our binary (and, in a dynamic build, of the C library) that set-up ran
//!   through: file pages, shared with the page cache, but counted in the process's
//!   resident set (about 2 MB measured here). The read-only segments of every loaded
//!   object (found through `dl_iterate_phdr`: no /proc, a few microseconds) are dropped
//!   from its page tables (`MADV_DONTNEED` on a clean private file mapping: the next
//!   touch reads the bytes back from the page cache, a minor fault). The RELRO range,
//!   read-only now but written by relocation at start, is never dropped: that would
//!   lose the relocations; nor is any page a segment shares with another;
//! - the heap's free pages, returned to the kernel (`malloc_trim`);
//! - the stack below the waiting frame: the dead frames of set-up (the rootfs code
//!   nests deep, ~80 KB), pages the init copied from the runtime's when it wrote them,
//!   charged to the container's memory cgroup until the container's process replaces
//!   the init (`MADV_DONTNEED`: they read back as zeros if the stack grows again).

/// A segment of a loaded object, as its program header says, at its load address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    start: usize,
    end: usize,
}

/// The page-aligned ranges that may be dropped: every read-only segment's whole pages,
/// minus every RELRO range widened to whole pages.
fn droppable(read_only: &[Segment], relro: &[Segment], page: usize) -> Vec<Segment> {
    let down = |x: usize| x & !(page - 1);
    let up = |x: usize| x.saturating_add(page - 1) & !(page - 1);
    let mut out = Vec::new();
    for seg in read_only {
        let mut parts = vec![Segment {
            start: up(seg.start),
            end: down(seg.end),
        }];
        for r in relro {
            let (rs, re) = (down(r.start), up(r.end));
            parts = parts
                .into_iter()
                .flat_map(|p| {
                    [
                        Segment {
                            start: p.start,
                            end: p.end.min(rs),
                        },
                        Segment {
                            start: p.start.max(re),
                            end: p.end,
                        },
                    ]
                })
                .filter(|p| p.start < p.end)
                .collect();
        }
        out.extend(parts.into_iter().filter(|p| p.start < p.end));
    }
    out
}

/// The read-only `PT_LOAD` segments and the `PT_GNU_RELRO` ranges of every object
/// loaded in this process but the vDSO (the kernel's own mapping).
fn loaded_segments() -> (Vec<Segment>, Vec<Segment>) {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: the C library hands us a valid info for the duration of the call, and
        // `data` is the pair below, borrowed for the whole iteration.
        let (info, found) = unsafe { (&*info, &mut *(data as *mut (Vec<Segment>, Vec<Segment>))) };
        let name = if info.dlpi_name.is_null() {
            &[][..]
        } else {
            // SAFETY: a NUL-terminated name owned by the C library.
            unsafe { std::ffi::CStr::from_ptr(info.dlpi_name) }.to_bytes()
        };
        if name.starts_with(b"linux-vdso") || name.starts_with(b"linux-gate") {
            return 0;
        }
        let base = info.dlpi_addr as usize;
        for i in 0..info.dlpi_phnum as usize {
            // SAFETY: `dlpi_phnum` headers follow `dlpi_phdr`.
            let ph = unsafe { &*info.dlpi_phdr.add(i) };
            let seg = Segment {
                start: base.wrapping_add(ph.p_vaddr as usize),
                end: base
                    .wrapping_add(ph.p_vaddr as usize)
                    .wrapping_add(ph.p_memsz as usize),
            };
            match ph.p_type {
                libc::PT_LOAD if ph.p_flags & libc::PF_W == 0 => found.0.push(seg),
                libc::PT_GNU_RELRO => found.1.push(seg),
                _ => {}
            }
        }
        0
    }
    let mut found: (Vec<Segment>, Vec<Segment>) = (Vec::new(), Vec::new());
    // SAFETY: the callback only reads what it is given and writes into `found`.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut found as *mut _ as *mut libc::c_void) };
    found
}

/// Drops the clean file pages from our page tables and returns the heap's free pages.
/// Best effort: what cannot be dropped is simply kept.
pub(super) fn give_back() {
    // SAFETY: plain sysconf.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        p if p > 0 && (p as usize).is_power_of_two() => p as usize,
        _ => return,
    };
    let (read_only, relro) = loaded_segments();
    for r in droppable(&read_only, &relro, page) {
        // SAFETY: whole pages of read-only segments of loaded objects, none of them
        // written (RELRO excluded): dropping them only makes the next access fault the
        // same bytes back in from the file.
        unsafe {
            libc::madvise(
                r.start as *mut libc::c_void,
                r.end - r.start,
                libc::MADV_DONTNEED,
            )
        };
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: plain glibc call; the process is single-threaded.
    unsafe {
        libc::malloc_trim(0);
    }
    drop_dead_stack(page);
}

/// How far below the waiting frame the stack is dropped: deeper than set-up goes (the
/// init's whole stack mapping is ~130 KB).
const DEAD_STACK: usize = 256 << 10;

/// Drops the stack pages below this frame (minus two pages of margin for the
/// `madvise` call itself). The range may begin below the stack's mapping: nothing else
/// is mapped there (the kernel keeps a 1 MB guard gap below a stack, and mmap's base
/// lies the stack limit, at least 128 MB, below its top), and `madvise` skips the
/// unmapped part (ENOMEM, ignored).
#[inline(never)]
fn drop_dead_stack(page: usize) {
    let here = 0u8;
    let top = (std::ptr::addr_of!(here) as usize & !(page - 1)).saturating_sub(2 * page);
    let low = top.saturating_sub(DEAD_STACK);
    if low < top {
        // SAFETY: every live frame is above `top` (this one and the wrapper's, which
        // are far smaller than the margin); below it only dead frames or nothing.
        unsafe { libc::madvise(low as *mut libc::c_void, top - low, libc::MADV_DONTNEED) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: usize, end: usize) -> Segment {
        Segment { start, end }
    }

    #[test]
    fn whole_pages_of_read_only_segments_minus_relro() {
        let page = 0x1000;
        // Text at 0x1000..0x5800, read-only data 0x5800..0x9000 with RELRO in
        // 0x7100..0x8200.
        let ro = [seg(0x1000, 0x5800), seg(0x5800, 0x9000)];
        let relro = [seg(0x7100, 0x8200)];
        assert_eq!(
            droppable(&ro, &relro, page),
            vec![
                // The page at 0x5000 is shared by both segments: kept.
                seg(0x1000, 0x5000),
                seg(0x6000, 0x7000),
                // RELRO widened to 0x7000..0x9000: nothing after it.
            ]
        );
        assert!(droppable(&[seg(0x1100, 0x1f00)], &[], page).is_empty());
        assert_eq!(droppable(&ro, &[], page).len(), 2);
    }

    #[test]
    fn this_process_has_read_only_segments() {
        let (ro, _) = loaded_segments();
        assert!(!ro.is_empty());
    }

    fn rss_anon_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("RssAnon:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap()
    }

    #[inline(never)]
    fn deep_frame() -> u64 {
        let mut buf = [1u8; 192 << 10];
        std::hint::black_box(&mut buf);
        buf.iter().map(|&b| b as u64).sum()
    }

    #[test]
    fn dead_stack_pages_are_dropped_and_live_ones_kept() {
        // In a child, on this test thread's own 2 MB stack (the range dropped lies
        // inside it); a 192 KB frame leaves dead pages below this one.
        crate::test_support::in_child(|| {
            let live = std::hint::black_box([7u8; 4096]);
            if deep_frame() != 192 << 10 {
                return Err("deep frame".into());
            }
            let before = rss_anon_kib();
            drop_dead_stack(4096);
            let after = rss_anon_kib();
            if after + 128 > before {
                return Err(format!("RssAnon {before} kB -> {after} kB"));
            }
            if live.iter().any(|&b| b != 7) {
                return Err("a live frame lost its data".into());
            }
            Ok(())
        });
    }

    #[test]
    fn giving_back_keeps_this_process_working() {
        // In a child: the test runner's own pages are not ours to drop.
        // (What it saves is measured by the benchmark: the pages it drops may come back
        // in whole large folios when touched, so an RSS before/after check here would
        // measure the page cache, not this code.)
        crate::test_support::in_child(|| {
            let keep = vec![7u64; 100_000];
            give_back();
            // Code, read-only data, relocated data and the heap still work.
            let v: Vec<u64> = (0..1000).collect();
            if v.iter().sum::<u64>() != 499_500
                || keep.iter().sum::<u64>() != 700_000
                || format!("{:?}", Some(1)) != "Some(1)"
            {
                return Err("lost data".into());
            }
            Ok(())
        });
    }
}
