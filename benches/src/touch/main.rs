//! `quai-touch`: which functions of a binary each command runs, and the order in
//! which the linker should lay them out (`--symbol-ordering-file`).
//!
//! `quai-touch --binary QUAI [--priority create,exec,...] [--touches FILE] -- PROGRAM ARGS...`
//! runs PROGRAM (a script that runs QUAI's commands, say) traced, prints the layout to
//! stdout, each function once, and per command the number and total size of the
//! functions it ran to stderr. `--touches` keeps every first touch as `label<TAB>name`.
//! Root only (ptrace of containers' processes); the binary must be position-dependent.

mod elf;
mod layout;
mod trace;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

struct Args {
    binary: PathBuf,
    priority: Vec<String>,
    touches: Option<PathBuf>,
    command: Vec<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut binary, mut priority, mut touches) = (None, Vec::new(), None);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--binary" => binary = Some(PathBuf::from(value()?)),
            "--priority" => priority = value()?.split(',').map(str::to_string).collect(),
            "--touches" => touches = Some(PathBuf::from(value()?)),
            "--" => break,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    let command: Vec<String> = args.collect();
    if command.is_empty() {
        return Err("no command after --".into());
    }
    let binary = binary.ok_or("--binary is required")?;
    Ok(Args {
        binary,
        priority,
        touches,
        command,
    })
}

fn run(a: Args) -> Result<i32, String> {
    let image = std::fs::read(&a.binary).map_err(|e| format!("{}: {e}", a.binary.display()))?;
    if !elf::is_position_dependent(&image).map_err(|e| e.to_string())? {
        return Err(format!(
            "{} is position-independent; build it with relocation-model=static",
            a.binary.display()
        ));
    }
    let functions = elf::functions(&image).map_err(|e| e.to_string())?;
    let size: BTreeMap<&str, u64> = functions
        .iter()
        .map(|f| (f.name.as_str(), f.size))
        .collect();
    let tracer = trace::Tracer::new(&a.binary, &functions).map_err(|e| e.to_string())?;
    let (touches, status) = tracer
        .run(&a.command[0], &a.command[1..])
        .map_err(|e| format!("trace: {e}"))?;
    if let Some(path) = &a.touches {
        let text: String = touches
            .iter()
            .map(|t| format!("{}\t{}\n", t.label, t.name))
            .collect();
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut per_label: BTreeMap<&str, (usize, u64)> = BTreeMap::new();
    for t in &touches {
        let e = per_label.entry(t.label.as_str()).or_default();
        e.0 += 1;
        e.1 += size.get(t.name.as_str()).copied().unwrap_or(0);
    }
    for (label, (n, bytes)) in &per_label {
        eprintln!("{label:>16}: {n:>5} functions, {:>6} KiB", bytes / 1024);
    }
    let priority: Vec<&str> = a.priority.iter().map(String::as_str).collect();
    let order = layout::order(&touches, &priority);
    let total: u64 = order.iter().filter_map(|n| size.get(n.as_str())).sum();
    eprintln!(
        "{:>16}: {:>5} functions, {:>6} KiB",
        "all",
        order.len(),
        total / 1024
    );
    let mut out = std::io::stdout().lock();
    for name in order {
        writeln!(out, "{name}").map_err(|e| e.to_string())?;
    }
    Ok(status)
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(run);
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("quai-touch: the traced command exited with status {status}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("quai-touch: {e}");
            ExitCode::from(1)
        }
    }
}
