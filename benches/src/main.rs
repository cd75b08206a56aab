//! Start-latency, memory and scale benchmark: quai side by side with runc and crun in
//! the same run, interleaved round-robin so that drift on the machine hits all alike,
//! with ratios to crun's medians and issue 18's targets judged (never enforced).
//!
//! `cargo run --release -p benches -- [--smoke] [--runs N] [--warmup N]
//! [--runtimes quai,runc,crun] [--quai PATH] [--out DIR] [--json PATH] ...` (as root;
//! `--help` lists every option). Each runtime gets its own `--root` under
//! `--state-parent` (default /dev/shm, a tmpfs like the /run engines use). With
//! `--seccomp`, every container carries that `linux.seccomp` (such as Docker's default
//! profile), so compiling and loading it is part of every figure.
//!
//! The run, in order: warm-up cycles (discarded; a runtime none of whose warm-ups
//! succeeds is reported not runnable with its own error), measured cycles (`cycle`),
//! rounds of N parallel `create`s (`scale`), `list`/`state` with a small and a large
//! population (`scale`), the smallest memory limit (`memlimit`). Every container is
//! deleted, also on failure, and the cgroups under `quai-bench` are checked and removed.
//! The results directory gets results.json, results.md and chart.svg (`outdir`).
//!
//! crun 1.8.1 refuses this hybrid host while hugetlb is bound to the cgroup2 tree;
//! `scripts/bench.sh` moves it to a v1 hierarchy for the run and restores it. Run
//! directly, the benchmark takes the host as it is and reports crun's own error.

mod bundle;
mod cgroups;
mod cycle;
mod markdown;
mod measures;
mod memlimit;
mod outdir;
mod peak;
mod procs;
mod report;
mod results;
mod runtime;
mod scale;
mod stats;
mod svg;
mod sys;
mod targets;

use bundle::{Bundle, TempDir};
use cgroups::CgroupScope;
use measures::Sizes;
use memlimit::Plan;
use report::{Host, Report};
use results::RuntimeResult;
use runtime::Runtime;
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

struct Options {
    smoke: bool,
    runs: usize,
    warmup: usize,
    runtimes: Vec<String>,
    baseline: String,
    quai: Option<PathBuf>,
    out: Option<PathBuf>,
    json: Option<PathBuf>,
    state_parent: PathBuf,
    seccomp: Option<PathBuf>,
    sizes: Sizes,
    rounds: usize,
    scale_reps: usize,
    scale: bool,
    memory: Plan,
    memory_search: bool,
}

const USAGE: &str = "usage: quai-bench [--smoke] [--runs N] [--warmup N] \
[--runtimes quai,runc,crun] [--baseline crun] [--quai PATH] [--out DIR] [--json PATH] \
[--state-parent DIR] [--seccomp PROFILE.json] [--parallel N] [--rounds N] [--small N] \
[--large N] [--scale-reps N] [--no-scale] [--mem-start KIB] [--mem-step KIB] \
[--mem-confirm N] [--no-memory-limit]

  --smoke          CI sizes: 3 runs, 1 warm-up, 10 parallel creates in 1 round,
                   list/state with 2 and 20 containers, memory search in 1 MiB steps
  --out DIR        results directory (default target/bench-results/<UTC timestamp>)
  --json PATH      also write results.json there
  --parallel N     creates started at once (default 100), --rounds times (default 3)
  --small/--large  containers present for list and state (default 100 and 1000),
                   each timed --scale-reps times (default 10)
  --mem-start/--mem-step/--mem-confirm  memory-limit search: from 65536 KiB down in
                   16 KiB steps, 3 confirmations";

fn parse_args() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let mut o = Options {
        smoke,
        runs: if smoke { 3 } else { 20 },
        warmup: if smoke { 1 } else { 2 },
        runtimes: vec!["quai".into(), "runc".into(), "crun".into()],
        baseline: "crun".into(),
        quai: None,
        out: None,
        json: None,
        // Engines keep runtime state under /run, a tmpfs on most hosts (not on this one):
        // /dev/shm gives every runtime the same tmpfs, where fsync is free.
        state_parent: PathBuf::from("/dev/shm"),
        seccomp: None,
        sizes: if smoke {
            Sizes {
                parallel: 10,
                small: 2,
                large: 20,
            }
        } else {
            Sizes {
                parallel: 100,
                small: 100,
                large: 1000,
            }
        },
        rounds: if smoke { 1 } else { 3 },
        scale_reps: if smoke { 3 } else { 10 },
        scale: true,
        memory: Plan {
            start_kib: 65536,
            step_kib: if smoke { 1024 } else { 16 },
            confirmations: if smoke { 1 } else { 3 },
        },
        memory_search: true,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--smoke" => {}
            "--runs" => o.runs = number(value()?)?,
            "--warmup" => o.warmup = number(value()?)?,
            "--runtimes" => o.runtimes = value()?.split(',').map(str::to_string).collect(),
            "--baseline" => o.baseline = value()?,
            "--quai" => o.quai = Some(value()?.into()),
            "--out" => o.out = Some(value()?.into()),
            "--json" => o.json = Some(value()?.into()),
            "--state-parent" => o.state_parent = value()?.into(),
            "--seccomp" => o.seccomp = Some(value()?.into()),
            "--parallel" => o.sizes.parallel = number(value()?)?,
            "--rounds" => o.rounds = number(value()?)?,
            "--small" => o.sizes.small = number(value()?)?,
            "--large" => o.sizes.large = number(value()?)?,
            "--scale-reps" => o.scale_reps = number(value()?)?,
            "--no-scale" => o.scale = false,
            "--mem-start" => o.memory.start_kib = number(value()?)? as u64,
            "--mem-step" => o.memory.step_kib = number(value()?)? as u64,
            "--mem-confirm" => o.memory.confirmations = number(value()?)?,
            "--no-memory-limit" => o.memory_search = false,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    // At least one warm-up cycle: it is where a runtime that cannot run here shows it.
    o.warmup = o.warmup.max(1);
    if o.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    if o.sizes.large < o.sizes.small {
        return Err("--large must be at least --small".into());
    }
    if o.memory.step_kib == 0 || o.memory.start_kib == 0 {
        return Err("--mem-start and --mem-step must be positive".into());
    }
    Ok(o)
}

/// The quai built beside this binary (`target/<profile>/quai`), unless told otherwise.
fn quai_path(o: &Options) -> Result<PathBuf, String> {
    if let Some(p) = &o.quai {
        return Ok(p.clone());
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let beside = exe.with_file_name("quai");
    if beside.is_file() {
        Ok(beside)
    } else {
        Err(format!(
            "{} not found: build it or pass --quai",
            beside.display()
        ))
    }
}

fn runtime_path(name: &str, quai: &Path) -> Option<PathBuf> {
    if name == "quai" {
        return Some(quai.to_path_buf());
    }
    runtime::find_on_path(name).or_else(|| {
        ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"]
            .iter()
            .map(|d| PathBuf::from(d).join(name))
            .find(|p| p.is_file())
    })
}

struct Entry {
    rt: Option<Runtime>,
    result: RuntimeResult,
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match bench(&o) {
        Ok(text) => {
            // A closed stdout (`| head`) must not turn into a panic.
            let _ = std::io::stdout().write_all(text.as_bytes());
            if sys::stop_requested() {
                eprintln!("quai-bench: stopped by a signal; the results are partial");
                return ExitCode::from(130);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quai-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Says what the run is doing, on stderr (the table goes to stdout).
fn phase(text: &str) {
    eprintln!("quai-bench: {text}");
}

/// Runs the benchmark, cleans up after it, writes the results directory and returns
/// the table.
fn bench(o: &Options) -> Result<String, String> {
    let (started, stamp) = outdir::utc_stamps(std::time::SystemTime::now());
    let out_dir = o.out.clone().unwrap_or_else(|| outdir::default_dir(&stamp));
    sys::become_subreaper().map_err(|e| format!("PR_SET_CHILD_SUBREAPER: {e}"))?;
    sys::stop_on_signals();
    let quai = quai_path(o)?;
    let scratch = TempDir::new_in(&std::env::temp_dir(), "quai-bench")
        .map_err(|e| format!("temp dir: {e}"))?;
    let roots = TempDir::new_in(&o.state_parent, "quai-bench-state")
        .map_err(|e| format!("state dir in {}: {e}", o.state_parent.display()))?;
    let mut bundle = Bundle::create(scratch.path(), &quai)?;
    if let Some(path) = &o.seccomp {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--seccomp {}: {e}", path.display()))?;
        let profile = serde_json::from_str(&text)
            .map_err(|e| format!("--seccomp {}: {e}", path.display()))?;
        bundle.set_seccomp(profile);
    }
    let cgroups = CgroupScope::new();
    let mut entries: Vec<Entry> = o
        .runtimes
        .iter()
        .map(|name| open_runtime(name, &quai, roots.path(), scratch.path()))
        .collect();

    phase(&format!("{} warm-up cycles per runtime", o.warmup));
    warm_up(o, &mut entries, &mut bundle, &cgroups, scratch.path());
    phase(&format!(
        "{} measured cycles per runtime, interleaved",
        o.runs
    ));
    cycles(o, &mut entries, &mut bundle, &cgroups, scratch.path());
    if o.scale && !sys::stop_requested() {
        parallel_rounds(o, &mut entries, &bundle, &cgroups, scratch.path());
        for e in entries.iter_mut() {
            let Some(rt) = &e.rt else { continue };
            if sys::stop_requested() {
                break;
            }
            phase(&format!(
                "{}: list and state with {} then {} created containers",
                rt.name, o.sizes.small, o.sizes.large
            ));
            match scale::population(
                rt,
                &bundle,
                &cgroups,
                scratch.path(),
                &o.sizes,
                o.scale_reps,
            ) {
                Ok(samples) => e.result.push_all(&samples),
                Err(err) => e
                    .result
                    .failures
                    .push(format!("list/state population: {err}")),
            }
        }
    }
    if o.memory_search {
        for e in entries.iter_mut() {
            let Some(rt) = &e.rt else { continue };
            if sys::stop_requested() {
                break;
            }
            phase(&format!(
                "{}: smallest memory limit `run` starts under",
                rt.name
            ));
            let s = memlimit::smallest_limit(rt, &bundle, &cgroups, scratch.path(), &o.memory);
            if let Some(kib) = s.found_kib {
                e.result.push_all(&[(measures::MEMORY_LIMIT, kib as f64)]);
            }
            e.result.memory_search = Some(s);
        }
    }

    for e in entries.iter_mut() {
        if let Some(rt) = &e.rt {
            e.result.leftover_state = rt.leftover_state();
        }
    }
    let leftover_procs = procs::end_leftovers();
    let mut cgroup_problems = cgroups.clean();
    let host_dirty: Vec<String> = cgroup_problems
        .iter()
        .filter(|p| p.starts_with("cannot remove"))
        .cloned()
        .collect();
    cgroup_problems.extend(leftover_procs);
    let results: Vec<RuntimeResult> = entries.into_iter().map(|e| e.result).collect();
    let verdicts = targets::evaluate(
        &targets::issue_18(&o.sizes),
        results.iter().find(|r| r.name == "quai"),
        results.iter().find(|r| r.name == o.baseline),
        &o.baseline,
    );
    let report = Report {
        started,
        runs: o.runs,
        warmup: o.warmup,
        smoke: o.smoke,
        sizes: o.sizes,
        baseline: o.baseline.clone(),
        catalog: measures::catalog(&o.sizes),
        results,
        verdicts,
        host: Host::probe(),
        interrupted: sys::stop_requested(),
        options: options_json(o, &quai),
        cgroup_problems,
    };

    let mut text = report::table(&report);
    for r in &report.results {
        if !r.leftover_state.is_empty() {
            text += &format!("{} left state behind: {:?}\n", r.name, r.leftover_state);
        }
    }
    for p in &report.cgroup_problems {
        text += &format!("cleanup: {p}\n");
    }
    if report.cgroup_problems.is_empty() {
        text += "cgroups: every /sys/fs/cgroup/*/quai-bench directory this run made is gone\n";
    }
    let files = outdir::write_all(&out_dir, &report)?;
    text += &format!(
        "results written to {}/ (results.json, results.md, chart.svg)\n",
        out_dir.display()
    );
    if let Some(path) = &o.json {
        std::fs::copy(&files[0], path).map_err(|e| format!("write {}: {e}", path.display()))?;
        text += &format!("JSON written to {}\n", path.display());
    }
    if !host_dirty.is_empty() {
        let _ = std::io::stdout().write_all(text.as_bytes());
        return Err(format!(
            "the host is not as it was: {}",
            host_dirty.join("; ")
        ));
    }
    // The scratch and state directories go when this returns, before anything is printed.
    Ok(text)
}

/// Warm-up cycles fill the page cache. A runtime none of whose warm-up cycles
/// succeeds cannot run here; one that fails only sometimes is measured, failures counted.
fn warm_up(
    o: &Options,
    entries: &mut [Entry],
    bundle: &mut Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
) {
    let mut warm_errors: Vec<Vec<String>> = vec![Vec::new(); entries.len()];
    for round in 0..o.warmup {
        if sys::stop_requested() {
            break;
        }
        for (e, errors) in entries.iter_mut().zip(warm_errors.iter_mut()) {
            let Some(rt) = &e.rt else { continue };
            let tag = format!("w{round}");
            if let Err(err) = cycle::measure(rt, bundle, cgroups, scratch, &tag) {
                errors.push(err);
            }
            sys::reap_exited();
        }
    }
    for (e, mut errors) in entries.iter_mut().zip(warm_errors) {
        if e.rt.is_some() && errors.len() == o.warmup {
            e.result.not_runnable = Some(errors.swap_remove(0));
            e.rt = None;
        } else {
            e.result.failures = errors
                .into_iter()
                .map(|x| format!("warm-up: {x}"))
                .collect();
        }
    }
}

/// The measured cycles, round-robin, rotating who goes first so that no runtime
/// always follows the same one.
fn cycles(
    o: &Options,
    entries: &mut [Entry],
    bundle: &mut Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
) {
    let progress = std::io::stderr().is_terminal();
    let n = entries.len();
    for i in 0..o.runs {
        if sys::stop_requested() {
            break;
        }
        for k in 0..n {
            let e = &mut entries[(i + k) % n];
            let Some(rt) = &e.rt else { continue };
            match cycle::measure(rt, bundle, cgroups, scratch, &i.to_string()) {
                Ok(s) => {
                    e.result.push_all(&s);
                    e.result.cycles += 1;
                }
                Err(err) => e.result.failures.push(err),
            }
            sys::reap_exited();
        }
        if progress {
            eprint!("\rcycle {}/{}", i + 1, o.runs);
        }
    }
    if progress {
        eprintln!();
    }
}

/// Rounds of N parallel `create`s, interleaved across runtimes like the cycles.
fn parallel_rounds(
    o: &Options,
    entries: &mut [Entry],
    bundle: &Bundle,
    cgroups: &CgroupScope,
    scratch: &Path,
) {
    let n = entries.len();
    for round in 0..o.rounds {
        if sys::stop_requested() {
            break;
        }
        phase(&format!(
            "{} creates in parallel, round {}/{}",
            o.sizes.parallel,
            round + 1,
            o.rounds
        ));
        for k in 0..n {
            let e = &mut entries[(round + k) % n];
            let Some(rt) = &e.rt else { continue };
            let tag = round.to_string();
            match scale::parallel_round(rt, bundle, cgroups, scratch, o.sizes.parallel, &tag) {
                Ok((samples, first_error)) => {
                    e.result.push_all(&samples);
                    if let Some(err) = first_error {
                        e.result.failures.push(format!("parallel create: {err}"));
                    }
                }
                Err(err) => e.result.failures.push(format!("parallel round: {err}")),
            }
        }
    }
}

fn options_json(o: &Options, quai: &Path) -> serde_json::Value {
    json!({
        "runtimes": o.runtimes,
        "quai": quai.display().to_string(),
        "state_parent": o.state_parent.display().to_string(),
        "seccomp": o.seccomp.as_ref().map(|p| p.display().to_string()),
        "parallel_rounds": o.rounds,
        "scale_reps": o.scale_reps,
        "scale": o.scale,
        "memory_search": o.memory_search.then(|| json!({
            "start_kib": o.memory.start_kib,
            "step_kib": o.memory.step_kib,
            "confirmations": o.memory.confirmations,
        })),
    })
}

fn open_runtime(name: &str, quai: &Path, roots: &Path, scratch: &Path) -> Entry {
    let mut result = RuntimeResult::new(name);
    let Some(path) = runtime_path(name, quai) else {
        result.not_runnable = Some(format!("{name}: binary not found"));
        return Entry { rt: None, result };
    };
    result.path = path.display().to_string();
    match Runtime::new(name, path, roots, scratch) {
        Ok(rt) => {
            result.version = rt.version.clone();
            Entry {
                rt: Some(rt),
                result,
            }
        }
        Err(e) => {
            result.not_runnable = Some(e);
            Entry { rt: None, result }
        }
    }
}
