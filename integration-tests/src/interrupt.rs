//! Killing `create` at many points of its run, and checking after each that
//! `delete --force` leaves nothing behind.

use crate::{host, Ctr};
use std::time::{Duration, Instant};

/// Processes (other than us) whose command line names `id`: a container's init is a
/// clone of `quai create ... <id>` until it execs, and in its cgroup afterwards.
pub fn processes_naming(id: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| *pid != me)
                .filter(|pid| {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let cg =
                        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
                    cmd.split(|b| *b == 0).any(|a| a == id.as_bytes()) || cg.contains(id)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// How long one whole `create` + `delete --force` takes here (median of 5).
fn create_time(c: &mut Ctr) -> Duration {
    let base = c.id.clone();
    let mut times: Vec<Duration> = (0..5)
        .map(|i| {
            c.id = format!("{base}-m{i}");
            let t = Instant::now();
            c.create(&[]).ok();
            let took = t.elapsed();
            c.delete(&["--force"]).ok();
            took
        })
        .collect();
    c.id = base;
    times.sort();
    times[2]
}

/// SIGKILLs `create` of `c`'s bundle until `points` kills have landed before it finished,
/// at delays spread from 0 to just past a whole create; after each, `delete --force`
/// must leave no state directory, cgroup, mount or process of that container.
pub fn kill_create_at_points(c: &mut Ctr, points: u32) {
    use std::os::unix::process::ExitStatusExt;
    c.bundle.probe(&["sleep", "forever"]);
    c.bundle.save();
    let whole = create_time(c);
    let base = c.id.clone();
    let [flag, b] = c.bundle_args();
    let (mut killed, mut tries) = (0u32, 0u32);
    while killed < points {
        assert!(
            tries < 4 * points,
            "only {killed} of {tries} kills landed before create finished ({whole:?} each)"
        );
        let at = whole.mul_f64(1.1 * f64::from(tries % points) / f64::from(points));
        tries += 1;
        c.id = format!("{base}-k{tries:03}");
        let mut create = c.spawn(&["create", &flag, &b, &c.id], &format!("create-{tries}"));
        std::thread::sleep(at);
        create.kill().expect("SIGKILL create");
        let status = create.wait().expect("reap create");
        if status.signal() == Some(libc::SIGKILL) {
            killed += 1;
        }
        c.delete(&["--force"]).ok();
        for pid in processes_naming(&c.id) {
            assert!(
                host::wait_process_gone(pid),
                "process {pid} of {} (killed at {at:?}) outlived delete --force",
                c.id
            );
        }
        c.assert_gone(None);
    }
    c.id = base;
    eprintln!("{killed} kills landed during create out of {tries} ({whole:?} per create)");
}
