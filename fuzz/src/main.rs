//! `quai-fuzz`: the parsers that read what other programs hand quai, fed mutated inputs
//! on stable Rust: no input may panic, hang, or leave anything behind.
//!
//! `cargo run -p quai-fuzz -- [--seconds N] [--seed S] [TARGET...]` runs each target
//! (all by default) for N seconds (default 10); `cargo run --profile fuzz -p quai-fuzz`
//! runs optimized (the release profile aborts on panic, so it cannot report the input).
//! Targets:
//!
//! - `config`: `config.json` text -> `spec::parse` -> validation (`Bundle::from_spec`);
//! - `seccomp`: a `linux.seccomp` object -> the seccomp compiler (`Filter::compile`);
//! - `state`: a container's `state.json` -> `Container::load` and `state` (read only);
//! - `mountinfo`: `/proc/self/mountinfo` text -> `mountinfo::parse`;
//! - `cli`: an argv -> the built `quai` binary, fenced in a read-only mount namespace
//!   (see `cli.rs`).
//!
//! Inputs start from seeds (`fuzz/seeds/`, the engines' seccomp profiles, quai's default
//! spec, this host's mountinfo) and are mutated twice over: as JSON (a random node
//! replaced by an extreme value: huge and negative numbers, wrong types, long and
//! control-character strings, deep nesting) and as bytes (flips, inserts, deletions,
//! splices, tokens). A panic writes the input to `target/fuzz-crashes/` and exits 1
//! (`--replay FILE TARGET` runs it again); an
//! input that runs for more than 5 s is a hang, written there too. Not coverage-guided
//! (cargo-fuzz needs nightly): it makes up in volume, and each target is a plain
//! `fn(&[u8])` that a libFuzzer or AFL harness can call as it is.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod cli;
mod targets;

/// A small, fast, seeded generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "null",
    "-1",
    "0",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1e999",
    "-0",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\"../../../\"",
    "\"/proc/self/fd/3\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    ",",
    ":",
    "\"",
    "[",
    "]",
    "{",
    "}",
    "\n",
];

/// A value to put where another was.
fn extreme(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(14) {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::from(u64::MAX),
        3 => Value::from(i64::MIN),
        4 => Value::from(u32::MAX),
        5 => Value::from(-1),
        6 => Value::from(rng.next() as i64),
        7 => Value::from(1e300),
        8 => Value::from("x".repeat(rng.below(70_000))),
        9 => Value::from("\u{0}\n\t\"\\/..".to_string()),
        10 => Value::from("/../../proc/self/fd/3"),
        11 if depth < 6 => {
            Value::Array((0..rng.below(4)).map(|_| extreme(rng, depth + 1)).collect())
        }
        12 if depth < 6 => {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), extreme(rng, depth + 1));
            m.insert("path".into(), extreme(rng, depth + 1));
            Value::Object(m)
        }
        _ => Value::from(""),
    }
}

/// Replaces one random node of `v` by an extreme value (or drops an object key, or
/// duplicates an array element).
fn mutate_json(v: &mut Value, rng: &mut Rng) {
    let deeper = rng.below(4) != 0;
    match v {
        Value::Object(m) if !m.is_empty() && deeper => {
            let k = m.keys().nth(rng.below(m.len())).cloned().expect("a key");
            if rng.below(8) == 0 {
                m.remove(&k);
            } else if let Some(child) = m.get_mut(&k) {
                mutate_json(child, rng);
            }
        }
        Value::Array(a) if !a.is_empty() && deeper => {
            let i = rng.below(a.len());
            if rng.below(8) == 0 {
                let dup = a[i].clone();
                a.push(dup);
            } else {
                mutate_json(&mut a[i], rng);
            }
        }
        _ => *v = extreme(rng, 0),
    }
}

fn mutate_bytes(data: &mut Vec<u8>, rng: &mut Rng, other: &[u8]) {
    for _ in 0..=rng.below(8) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => data[rng.below(len)] ^= 1 << rng.below(8),
            1 if len > 0 => data[rng.below(len)] = rng.next() as u8,
            2 => {
                let at = rng.below(len + 1);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(at..at, t.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(64)).min(len);
                data.drain(a..b);
            }
            4 if len > 0 && !other.is_empty() => {
                let a = rng.below(len);
                let b = rng.below(other.len());
                let n = rng.below(256).min(other.len() - b);
                data.splice(a..a, other[b..b + n].iter().copied());
            }
            5 => {
                let at = rng.below(len + 1);
                let deep = "[".repeat(rng.below(4000));
                data.splice(at..at, deep.bytes());
            }
            _ if len > 0 => {
                let a = rng.below(len);
                let b = (a + rng.below(32)).min(len);
                let copy = data[a..b].to_vec();
                data.splice(b..b, copy);
            }
            _ => {}
        }
    }
}

/// One mutated input from the seeds.
fn next_input(seeds: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len())];
    let other = &seeds[rng.below(seeds.len())];
    let structured = rng.below(2) == 0;
    if structured {
        if let Ok(mut v) = serde_json::from_slice::<Value>(seed) {
            for _ in 0..=rng.below(3) {
                mutate_json(&mut v, rng);
            }
            return serde_json::to_vec(&v).expect("serialize");
        }
    }
    let mut data = seed.clone();
    mutate_bytes(&mut data, rng, other);
    data
}

fn crash_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
    std::fs::create_dir_all(&dir).expect("mkdir target/fuzz-crashes");
    dir
}

fn save(target: &str, what: &str, data: &[u8]) -> PathBuf {
    let path = crash_dir().join(format!("{target}-{what}-{}", std::process::id()));
    std::fs::write(&path, data).expect("save the input");
    path
}

/// Runs `target` on mutated inputs for `budget`; returns the number of executions.
fn run(name: &str, target: &targets::Target, budget: Duration, seed: u64) -> u64 {
    let seeds = (target.seeds)();
    assert!(!seeds.is_empty(), "{name}: no seeds");
    let mut rng = Rng(seed | 1);
    // The watchdog: the start of the current input, in ms since `t0` (0: idle).
    let t0 = Instant::now();
    let busy_since = Arc::new(AtomicU64::new(0));
    let current: Arc<std::sync::Mutex<Vec<u8>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (busy_since, current, done) = (busy_since.clone(), current.clone(), done.clone());
        let name = name.to_string();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let since = busy_since.load(Ordering::Relaxed);
                let now = t0.elapsed().as_millis() as u64;
                if since != 0 && now.saturating_sub(since) > 5_000 {
                    let data = current.lock().map(|d| d.clone()).unwrap_or_default();
                    let path = save(&name, "hang", &data);
                    eprintln!(
                        "quai-fuzz: {name}: an input ran for 5 s: {}",
                        path.display()
                    );
                    std::process::exit(1);
                }
            }
        })
    };
    let mut execs = 0u64;
    let mut inputs: Vec<Vec<u8>> = seeds.clone();
    inputs.extend((target.extra)());
    while t0.elapsed() < budget {
        let data = if execs < inputs.len() as u64 {
            inputs[execs as usize].clone()
        } else {
            next_input(&inputs, &mut rng)
        };
        if let Ok(mut c) = current.lock() {
            c.clone_from(&data);
        }
        busy_since.store(t0.elapsed().as_millis().max(1) as u64, Ordering::Relaxed);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&data)));
        busy_since.store(0, Ordering::Relaxed);
        if result.is_err() {
            let path = save(name, "panic", &data);
            eprintln!(
                "quai-fuzz: {name}: the input in {} panicked",
                path.display()
            );
            std::process::exit(1);
        }
        if let Err(e) = (target.left_behind)() {
            let path = save(name, "leftover", &data);
            eprintln!("quai-fuzz: {name}: {e} after {}", path.display());
            std::process::exit(1);
        }
        execs += 1;
    }
    done.store(true, Ordering::Relaxed);
    let _ = watchdog.join();
    execs
}

fn main() {
    let mut seconds = 10u64;
    let mut seed = std::process::id() as u64 ^ 0x5eed;
    let mut names: Vec<String> = Vec::new();
    let mut replay: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--replay" => replay = args.next().map(PathBuf::from),
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds N")
            }
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed S"),
            _ => names.push(a),
        }
    }
    let all = targets::all();
    if names.is_empty() {
        names = all.iter().map(|(n, _)| n.to_string()).collect();
    }
    if let Some(file) = replay {
        // One saved input, once, on the named targets: a panic shows as usual.
        let data = std::fs::read(&file).expect("read the input");
        for name in &names {
            let (_, target) = all.iter().find(|(n, _)| n == name).expect("a target");
            (target.run)(&data);
            println!("quai-fuzz: {name}: {} ran without a panic", file.display());
        }
        targets::cleanup();
        return;
    }
    // Panics are reported by the driver, with the input; the default hook's text too.
    for name in &names {
        let Some((_, target)) = all.iter().find(|(n, _)| n == name) else {
            eprintln!("quai-fuzz: no target {name}; targets: config seccomp state mountinfo");
            std::process::exit(2);
        };
        let execs = run(name, target, Duration::from_secs(seconds), seed);
        println!("quai-fuzz: {name}: {execs} inputs in {seconds} s (seed {seed}), no panic, hang or leftover");
    }
    targets::cleanup();
}
