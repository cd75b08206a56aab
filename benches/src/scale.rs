//! Many containers at once: N `create`s started in parallel (how long until all
//! returned, how many failed), and `list` / `state` with a small and a large
//! population of created containers, to show how their cost grows with the count.

use crate::bundle::Bundle;
use crate::cgroups::CgroupScope;
use crate::cycle::{ms, Sample};
use crate::measures::{self as m, Sizes};
use crate::runtime::{Runtime, Spawned, Timed, DEFAULT_TIMEOUT};
use crate::sys;
use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

/// How many population `create`s and `delete`s run at once (the machine has 2 cores).
const POOL_WIDTH: usize = 4;

/// One round: `n` `create`s started at once, then `n` `delete --force` at once.
/// Returns the wall times and failure count; every container is deleted, also on error.
pub fn parallel_round(
    rt: &Runtime,
    bundle: &Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
    n: usize,
    tag: &str,
) -> Result<(Sample, Option<String>), String> {
    let ids: Vec<String> = (0..n)
        .map(|i| format!("{}-par{tag}-{i}", rt.name))
        .collect();
    let dirs = write_bundles(bundle, cgroups, scratch, &ids)?;
    let creates: Vec<Vec<String>> = ids
        .iter()
        .zip(&dirs)
        .map(|(id, dir)| argv(&["create", "--bundle", dir, id]))
        .collect();
    let start = Instant::now();
    let created = pool(rt, &creates, n.max(1), "par-create", true);
    let create_wall = start.elapsed();
    let failed: Vec<&String> = created.iter().filter_map(|r| r.as_ref().err()).collect();
    let first_error = failed.first().map(|e| e.to_string());
    let failures = failed.len();

    let deletes: Vec<Vec<String>> = ids
        .iter()
        .map(|id| argv(&["delete", "--force", id]))
        .collect();
    let start = Instant::now();
    let deleted = pool(rt, &deletes, n.max(1), "par-delete", false);
    let delete_wall = start.elapsed();
    let mut first_error = first_error;
    for ((id, d), c) in ids.iter().zip(&deleted).zip(&created) {
        // Every failed delete is retried; it is an error only if the create succeeded.
        if let Err(e) = d {
            if c.is_ok() {
                first_error.get_or_insert_with(|| format!("delete: {e}"));
            }
            rt.force_delete(id);
        }
    }
    sys::reap_exited();
    remove_bundles(&dirs);
    Ok((
        vec![
            (m::PARALLEL_CREATE, ms(create_wall)),
            (m::PARALLEL_FAILURES, failures as f64),
            (m::PARALLEL_DELETE, ms(delete_wall)),
        ],
        first_error,
    ))
}

/// `list` and `state` timed `reps` times each with `sizes.small`, then `sizes.large`
/// created (not started) containers present; all of them are deleted at the end.
pub fn population(
    rt: &Runtime,
    bundle: &Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
    sizes: &Sizes,
    reps: usize,
) -> Result<Sample, String> {
    let ids: Vec<String> = (0..sizes.large.max(sizes.small))
        .map(|i| format!("{}-pop-{i}", rt.name))
        .collect();
    let result = fill_and_measure(rt, bundle, cgroups, scratch, sizes, reps, &ids);
    let deletes: Vec<Vec<String>> = ids
        .iter()
        .map(|id| argv(&["delete", "--force", id]))
        .collect();
    let mut problems = Vec::new();
    for (id, r) in ids
        .iter()
        .zip(pool(rt, &deletes, POOL_WIDTH, "pop-delete", false))
    {
        // A container whose create failed is not there to delete: only say so if it was.
        if let Err(e) = r {
            if rt.leftover_state().iter().any(|s| s == id) {
                problems.push(e);
            }
        }
    }
    sys::reap_exited();
    let _ = std::fs::remove_dir_all(scratch.join("bundles"));
    let samples = result?;
    match problems.first() {
        Some(e) => Err(format!("{} deletes failed; first: {e}", problems.len())),
        None => Ok(samples),
    }
}

fn fill_and_measure(
    rt: &Runtime,
    bundle: &Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
    sizes: &Sizes,
    reps: usize,
    ids: &[String],
) -> Result<Sample, String> {
    let mut samples = Vec::new();
    let steps = [
        (sizes.small, m::LIST_SMALL, m::STATE_SMALL),
        (sizes.large, m::LIST_LARGE, m::STATE_LARGE),
    ];
    let mut present = 0;
    for (count, list_key, state_key) in steps {
        let batch = &ids[present..count.max(present)];
        let dirs = write_bundles(bundle, cgroups, scratch, batch)?;
        let creates: Vec<Vec<String>> = batch
            .iter()
            .zip(&dirs)
            .map(|(id, dir)| argv(&["create", "--bundle", dir, id]))
            .collect();
        for r in pool(rt, &creates, POOL_WIDTH, "pop-create", true) {
            r?;
        }
        present = count.max(present);
        for i in 0..reps {
            if sys::stop_requested() {
                return Err("stopped by a signal".into());
            }
            samples.push((list_key, ms(rt.timed(&["list"])?.elapsed)));
            // Spread the `state`s over the population, as an engine's polling would.
            let id = &ids[(i * 7919) % present.max(1)];
            samples.push((state_key, ms(rt.timed(&["state", id])?.elapsed)));
        }
    }
    Ok(samples)
}

/// A bundle directory per container, all sharing the one rootfs.
fn write_bundles(
    bundle: &Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
    ids: &[String],
) -> Result<Vec<String>, String> {
    ids.iter()
        .map(|id| {
            let dir = scratch.join("bundles").join(id);
            bundle.write_variant(&dir, &cgroups.cgroups_path(id), |_| {})
        })
        .collect()
}

fn remove_bundles(dirs: &[String]) {
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Runs every command with at most `width` at a time; results in command order.
/// With `stoppable`, a SIGINT/SIGTERM stops it starting more (never for deletes).
fn pool(
    rt: &Runtime,
    commands: &[Vec<String>],
    width: usize,
    slot: &str,
    stoppable: bool,
) -> Vec<Result<Timed, String>> {
    let mut results: Vec<Option<Result<Timed, String>>> = vec![None; commands.len()];
    let mut running: VecDeque<(usize, Spawned)> = VecDeque::new();
    for (i, args) in commands.iter().enumerate() {
        if stoppable && sys::stop_requested() {
            results[i] = Some(Err("stopped by a signal".into()));
            continue;
        }
        if running.len() >= width {
            if let Some((j, s)) = running.pop_front() {
                results[j] = Some(s.finish(DEFAULT_TIMEOUT));
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match rt.spawn(&args, &format!("{slot}-{}", i % (width + 1))) {
            Ok(s) => running.push_back((i, s)),
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    for (j, s) in running {
        results[j] = Some(s.finish(DEFAULT_TIMEOUT));
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not run".into())))
        .collect()
}
