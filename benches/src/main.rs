//! Start-latency and memory benchmark: quai side by side with runc and crun in the
//! same run, interleaved round-robin so that drift on the machine hits all alike.
//!
//! `cargo run --release -p benches -- [--runs N] [--warmup N] [--runtimes quai,runc,crun]
//! [--quai PATH] [--json PATH] [--state-parent DIR] [--seccomp PROFILE.json]` (as root).
//! Each runtime gets its own `--root` under DIR (default /dev/shm, a tmpfs like the /run
//! engines use). With `--seccomp`, every container carries that `linux.seccomp` (such as
//! Docker's default profile), so compiling and loading it is part of every figure.
//!
//! There is no way to give crun 1.8.1 a v1 hugetlb hierarchy on this hybrid host
//! without changing the host: binding a controller to a hierarchy is kernel-global
//! state, so even a mount made in a private mount namespace would take hugetlb off
//! the host's cgroup2 tree. crun is therefore run as the host comes, and reported
//! as not runnable with its own error when it refuses.

mod bundle;
mod cgroups;
mod cycle;
mod procs;
mod report;
mod runtime;
mod sys;

use bundle::{Bundle, TempDir};
use cgroups::CgroupScope;
use report::RuntimeResult;
use runtime::Runtime;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

struct Options {
    runs: usize,
    warmup: usize,
    runtimes: Vec<String>,
    quai: Option<PathBuf>,
    json: Option<PathBuf>,
    state_parent: PathBuf,
    seccomp: Option<PathBuf>,
}

const USAGE: &str = "usage: quai-bench [--runs N] [--warmup N] [--runtimes quai,runc,crun] \
                     [--quai PATH] [--json PATH] [--state-parent DIR (default /dev/shm)] \
                     [--seccomp PROFILE.json]";

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        runs: 20,
        warmup: 2,
        runtimes: vec!["quai".into(), "runc".into(), "crun".into()],
        quai: None,
        json: None,
        // Engines keep runtime state under /run, a tmpfs on most hosts (not on this one):
        // /dev/shm gives every runtime the same tmpfs, where fsync is free.
        state_parent: PathBuf::from("/dev/shm"),
        seccomp: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--runs" => o.runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--warmup" => o.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--runtimes" => o.runtimes = value()?.split(',').map(str::to_string).collect(),
            "--quai" => o.quai = Some(value()?.into()),
            "--json" => o.json = Some(value()?.into()),
            "--state-parent" => o.state_parent = value()?.into(),
            "--seccomp" => o.seccomp = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    // At least one warm-up cycle: it is where a runtime that cannot run here shows it.
    o.warmup = o.warmup.max(1);
    if o.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(o)
}

/// The quai built beside this binary (`target/release/quai`), unless told otherwise.
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
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("quai-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the benchmark, cleans up after it, and returns the report.
fn bench(o: &Options) -> Result<String, String> {
    sys::become_subreaper().map_err(|e| format!("PR_SET_CHILD_SUBREAPER: {e}"))?;
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
    let mut entries = Vec::new();
    for name in &o.runtimes {
        entries.push(open_runtime(name, &quai, roots.path(), scratch.path()));
    }

    // Warm-up cycles fill the page cache. A runtime none of whose warm-up cycles
    // succeeds cannot run here; one that fails only sometimes is measured, failures counted.
    let mut warm_errors: Vec<Vec<String>> = vec![Vec::new(); entries.len()];
    for round in 0..o.warmup {
        for (e, errors) in entries.iter_mut().zip(warm_errors.iter_mut()) {
            let Some(rt) = &e.rt else { continue };
            let tag = format!("w{round}");
            if let Err(err) = cycle::measure(rt, &mut bundle, &cgroups, scratch.path(), &tag) {
                errors.push(err);
            }
            sys::reap_exited();
        }
    }
    for (e, mut errors) in entries.iter_mut().zip(warm_errors) {
        if errors.len() == o.warmup {
            e.result.not_runnable = Some(errors.swap_remove(0));
            e.rt = None;
        } else {
            e.result.failures = errors
                .into_iter()
                .map(|x| format!("warm-up: {x}"))
                .collect();
        }
    }

    let progress = std::io::stderr().is_terminal();
    for i in 0..o.runs {
        // Rotate who goes first so that no runtime always follows the same one.
        let n = entries.len();
        for k in 0..n {
            let e = &mut entries[(i + k) % n];
            let Some(rt) = &e.rt else { continue };
            match cycle::measure(rt, &mut bundle, &cgroups, scratch.path(), &i.to_string()) {
                Ok(s) => e.result.samples.push(s),
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

    for e in entries.iter_mut() {
        if let Some(rt) = &e.rt {
            e.result.leftover_state = rt.leftover_state();
        }
    }
    let cgroup_problems = cgroups.clean();
    let results: Vec<RuntimeResult> = entries.into_iter().map(|e| e.result).collect();

    let mut text = report::table(&results, o.runs);
    for r in &results {
        if !r.leftover_state.is_empty() {
            text += &format!("{} left state behind: {:?}\n", r.name, r.leftover_state);
        }
    }
    for p in &cgroup_problems {
        text += &format!("cgroup {p}\n");
    }
    if cgroup_problems.is_empty() {
        text += "cgroups: every /sys/fs/cgroup/*/quai-bench directory this run made is gone\n";
    }
    if let Some(path) = &o.json {
        let doc = report::json(&results, o.runs, o.warmup, &cgroup_problems);
        let json = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("write {}: {e}", path.display()))?;
        text += &format!("JSON written to {}\n", path.display());
    }
    // The scratch and state directories go when this returns, before anything is printed.
    Ok(text)
}

fn open_runtime(name: &str, quai: &Path, roots: &Path, scratch: &Path) -> Entry {
    let mut result = RuntimeResult {
        name: name.to_string(),
        path: String::new(),
        version: String::new(),
        not_runnable: None,
        samples: Vec::new(),
        failures: Vec::new(),
        leftover_state: Vec::new(),
    };
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
