//! How long quai takes to compile a seccomp profile to BPF (Docker's default, about 350
//! calls, by default): the median and spread of many compiles, and the program's size.
//! libseccomp, which runc and crun use, has no separate figure to set beside it; the
//! end-to-end cost against them is `quai-bench --seccomp PROFILE`.
//!
//! `cargo run --release -p benches --bin seccomp-compile-bench -- [--runs N] [PROFILE.json]`

use libcontainer::seccomp::Filter;
use std::time::Instant;

const DOCKER: &str = include_str!("../../integration-tests/tests/data/seccomp/docker-default.json");

fn main() {
    let mut runs = 2000usize;
    let mut path = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(runs),
            _ => path = Some(a),
        }
    }
    let (name, text) = match &path {
        Some(p) => (
            p.clone(),
            std::fs::read_to_string(p).expect("read the profile"),
        ),
        None => ("Docker's default profile".to_string(), DOCKER.to_string()),
    };
    let profile: oci_spec::runtime::LinuxSeccomp =
        serde_json::from_str(&text).expect("a linux.seccomp object");
    let names: usize = profile
        .syscalls()
        .iter()
        .flatten()
        .map(|s| s.names().len())
        .sum();
    let mut times = Vec::with_capacity(runs);
    let mut insns = 0;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let f = Filter::compile(&profile).expect("the profile compiles");
        times.push(t.elapsed().as_secs_f64() * 1e6);
        insns = f.instructions().len();
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "compile {name} ({names} call names, {insns} BPF instructions), {} runs: \
         median {:.1} us, p10 {:.1} us, p90 {:.1} us",
        times.len(),
        at(0.5),
        at(0.1),
        at(0.9)
    );
}
