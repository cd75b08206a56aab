//! One measured container life per runtime: `run` end to end; then the separate
//! `create`, `state`, `start`, `delete --force` calls an engine makes, with memory read
//! while the container sits created; then `exec /bin/true` into a running container
//! and `kill <id> KILL` of it.

use crate::bundle::Bundle;
use crate::cgroups::CgroupScope;
use crate::measures as m;
use crate::procs;
use crate::runtime::{Runtime, Timed};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// One value per measure key.
pub type Sample = Vec<(&'static str, f64)>;

/// How long an exited or killed container's init may take to disappear.
const INIT_EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one full cycle of `rt`: `run`, create/state/start/delete, then exec and kill.
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
    // Peak RSS is measured on calls of their own (traced: see crate::peak), never on
    // the timed ones.
    let id = format!("{}-runrss-{tag}", rt.name);
    bundle.set_cgroups_path(&cgroups.cgroups_path(&id))?;
    let run_rss = rt
        .peak_rss(&["run", "--bundle", &bundle_dir, &id])
        .inspect_err(|_| rt.force_delete(&id))?;

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

    let id = format!("{}-rss-{tag}", rt.name);
    bundle.set_cgroups_path(&cgroups.cgroups_path(&id))?;
    let pid_file = scratch.join(format!("{id}.pid"));
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let create_rss = rt.peak_rss(&[
        "create",
        "--bundle",
        &bundle_dir,
        "--pid-file",
        &pid_arg,
        &id,
    ]);
    rt.force_delete(&id);
    let _ = std::fs::remove_file(&pid_file);
    let create_rss = create_rss?;

    let id = format!("{}-exec-{tag}", rt.name);
    bundle.set_args(&["sleep", "1000"]);
    let set = bundle.set_cgroups_path(&cgroups.cgroups_path(&id));
    bundle.set_args(&["true"]);
    set?;
    let pid_file = scratch.join(format!("{id}.pid"));
    let pid_arg = pid_file.to_string_lossy().into_owned();
    let exec = exec_and_kill(rt, &bundle_dir, &pid_arg, &id);
    let _ = std::fs::remove_file(&pid_file);
    rt.force_delete(&id);
    let (exec, exec_rss, kill) = exec?;

    let cycle = life.create.elapsed + life.start.elapsed + life.delete.elapsed;
    Ok(vec![
        (m::RUN, ms(run.elapsed)),
        (m::CYCLE, ms(cycle)),
        (m::CREATE, ms(life.create.elapsed)),
        (m::START, ms(life.start.elapsed)),
        (m::STATE, ms(life.state.elapsed)),
        (m::KILL, ms(kill.elapsed)),
        (m::DELETE, ms(life.delete.elapsed)),
        (m::EXEC, ms(exec.elapsed)),
        (m::EXIT_WAIT, ms(life.exit_wait)),
        (m::CREATE_RSS, create_rss as f64),
        (m::EXEC_RSS, exec_rss as f64),
        (m::RUN_RSS, run_rss as f64),
        (m::INIT_RSS, life.init.vm_rss_kib as f64),
        (m::INIT_ANON, life.init.anon_kib as f64),
        (m::OTHERS_RSS, life.others_rss_kib as f64),
    ])
}

/// `run -d` a sleeping container, time `exec <id> /bin/true` into it (the health
/// check and `docker exec` path: an engine waits for the exec'd process to exit),
/// then time `kill <id> KILL` and wait for the container's process to die, as an
/// engine's `stop` does.
fn exec_and_kill(
    rt: &Runtime,
    bundle_dir: &str,
    pid_file: &str,
    id: &str,
) -> Result<(Timed, u64, Timed), String> {
    rt.timed(&[
        "run",
        "--detach",
        "--bundle",
        bundle_dir,
        "--pid-file",
        pid_file,
        id,
    ])?;
    let init = read_pid(pid_file)?;
    let exec = rt.timed(&["exec", id, "/bin/true"])?;
    let exec_rss = rt.peak_rss(&["exec", id, "/bin/true"])?;
    let kill = rt.timed(&["kill", id, "KILL"])?;
    match procs::wait_exit(init, INIT_EXIT_TIMEOUT)? {
        Some(code) if code != 128 + 9 => Err(format!("killed container process exited {code}")),
        _ => Ok((exec, exec_rss, kill)),
    }
}

struct Life {
    create: Timed,
    state: Timed,
    start: Timed,
    exit_wait: Duration,
    delete: Timed,
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
    let init = read_pid(pid_file)?;
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

    let state = rt.timed(&["state", id])?;
    let start = rt.timed(&["start", id])?;
    let waited = std::time::Instant::now();
    match procs::wait_exit(init, INIT_EXIT_TIMEOUT)? {
        Some(code) if code != 0 => return Err(format!("container process exited {code}")),
        _ => {}
    }
    let exit_wait = waited.elapsed();
    let delete = rt.timed(&["delete", "--force", id])?;
    Ok(Life {
        create,
        state,
        start,
        exit_wait,
        delete,
        init: init_rss,
        others_rss_kib,
    })
}

/// The pid a runtime wrote to `--pid-file`.
pub fn read_pid(pid_file: &str) -> Result<u32, String> {
    let text = std::fs::read_to_string(pid_file).map_err(|e| format!("read pid file: {e}"))?;
    text.trim()
        .parse()
        .map_err(|_| format!("pid file holds {text:?}"))
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
