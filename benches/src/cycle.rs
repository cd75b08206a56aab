//! One measured container life per runtime: `run` end to end, then the separate
//! `create`, `start`, `delete --force` calls an engine makes, with memory read
//! while the container sits created; then `exec /bin/true` into a running container.

use crate::bundle::Bundle;
use crate::cgroups::CgroupScope;
use crate::procs;
use crate::runtime::Runtime;
use crate::sys;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// What the benchmark reports, in table order.
pub struct Measure {
    /// JSON key.
    pub key: &'static str,
    /// Table label.
    pub label: &'static str,
    /// Unit of the samples.
    pub unit: &'static str,
}

/// Every measure; a [`Sample`] holds one value for each, in this order.
pub const MEASURES: [Measure; 11] = [
    m("run_ms", "run (create+start+wait+delete)", "ms"),
    m("create_ms", "create", "ms"),
    m("start_ms", "start", "ms"),
    m("exit_wait_ms", "start returned -> process exited", "ms"),
    m("delete_ms", "delete --force (stopped)", "ms"),
    m("create_peak_rss_kib", "create: peak RSS of runtime", "KiB"),
    m("run_peak_rss_kib", "run: peak RSS of runtime", "KiB"),
    m("init_rss_kib", "created: init VmRSS", "KiB"),
    m("init_anon_kib", "created: init RssAnon", "KiB"),
    m("others_rss_kib", "created: other runtime procs RSS", "KiB"),
    m("exec_ms", "exec /bin/true (running container)", "ms"),
];

const fn m(key: &'static str, label: &'static str, unit: &'static str) -> Measure {
    Measure { key, label, unit }
}

/// One value per entry of [`MEASURES`].
pub type Sample = [f64; MEASURES.len()];

/// How long an exited container's init may take to disappear.
const INIT_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one full cycle of `rt`: `run`, then create/start/delete.
pub fn measure(
    rt: &Runtime,
    bundle: &mut Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
    tag: &str,
) -> Result<Sample, String> {
    let bundle_dir = bundle.dir().to_string_lossy().into_owned();

    let id = format!("{}-run-{tag}", rt.name);
    bundle.set_cgroups_path(&cgroups.cgroups_path(&id))?;
    let run = rt
        .timed(&["run", "--bundle", &bundle_dir, &id])
        .inspect_err(|_| {
            rt.force_delete(&id);
        })?;

    let id = format!("{}-life-{tag}", rt.name);
    let cgroups_path = cgroups.cgroups_path(&id);
    bundle.set_cgroups_path(&cgroups_path)?;
    let pid_file = scratch.join(format!("{id}.pid"));
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let life = lifecycle(rt, &bundle_dir, &pid_arg, &id, &cgroups_path);
    let _ = std::fs::remove_file(&pid_file);
    if life.is_err() {
        rt.force_delete(&id);
    }
    let life = life?;

    let id = format!("{}-exec-{tag}", rt.name);
    bundle.set_args(&["sleep", "1000"]);
    let set = bundle.set_cgroups_path(&cgroups.cgroups_path(&id));
    bundle.set_args(&["true"]);
    set?;
    let exec = exec_into_running(rt, &bundle_dir, &id);
    rt.force_delete(&id);
    let exec = exec?;

    Ok([
        ms(run.elapsed),
        ms(life.create.elapsed),
        ms(life.start.elapsed),
        ms(life.exit_wait),
        ms(life.delete.elapsed),
        life.create.maxrss_kib as f64,
        run.maxrss_kib as f64,
        life.init.vm_rss_kib as f64,
        life.init.anon_kib as f64,
        life.others_rss_kib as f64,
        ms(exec.elapsed),
    ])
}

/// `run -d` a sleeping container, then time `exec <id> /bin/true` into it (the health
/// check and `docker exec` path: an engine waits for the exec'd process to exit).
fn exec_into_running(
    rt: &Runtime,
    bundle_dir: &str,
    id: &str,
) -> Result<crate::runtime::Timed, String> {
    rt.timed(&["run", "--detach", "--bundle", bundle_dir, id])?;
    rt.timed(&["exec", id, "/bin/true"])
}

struct Life {
    create: crate::runtime::Timed,
    start: crate::runtime::Timed,
    exit_wait: Duration,
    delete: crate::runtime::Timed,
    init: procs::Rss,
    others_rss_kib: u64,
}

fn lifecycle(
    rt: &Runtime,
    bundle_dir: &str,
    pid_file: &str,
    id: &str,
    cgroups_path: &str,
) -> Result<Life, String> {
    let create = rt.timed(&["create", "--bundle", bundle_dir, "--pid-file", pid_file, id])?;
    let text = std::fs::read_to_string(pid_file).map_err(|e| format!("read pid file: {e}"))?;
    let init: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("pid file holds {text:?}"))?;
    let init_rss = procs::rss(init).ok_or_else(|| format!("init {init} gone after create"))?;
    // Anything besides the init that the runtime left running: in the container's
    // cgroup, or orphaned to us (we are the subreaper, as an engine's shim is).
    let others: BTreeSet<u32> = procs::cgroup_pids(cgroups_path)
        .into_iter()
        .chain(procs::our_children())
        .filter(|pid| *pid != init)
        .collect();
    let others_rss_kib = others
        .iter()
        .filter_map(|pid| procs::rss(*pid))
        .map(|r| r.vm_rss_kib)
        .sum();

    let start = rt.timed(&["start", id])?;
    let waited = std::time::Instant::now();
    wait_init(init)?;
    let exit_wait = waited.elapsed();
    let delete = rt.timed(&["delete", "--force", id])?;
    Ok(Life {
        create,
        start,
        exit_wait,
        delete,
        init: init_rss,
        others_rss_kib,
    })
}

/// Waits for the container's process to exit, as the engine would before `delete`.
fn wait_init(init: u32) -> Result<(), String> {
    match sys::wait_child(init) {
        Ok(r) if r.code == 0 => Ok(()),
        Ok(r) => Err(format!("container process exited {}", r.code)),
        // Not our child (a runtime that keeps its own parent alive): watch /proc.
        Err(_) if procs::wait_gone(init, INIT_EXIT_TIMEOUT) => Ok(()),
        Err(e) => Err(format!("container init {init} did not exit: {e}")),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
