//! One file per command; each is a thin client of the library's public API and
//! returns the process's exit status.

mod create;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
pub mod later;
mod list;
mod pause;
mod ps;
mod run;
mod spec;
mod start;
mod state;
mod update;

use std::path::{Path, PathBuf};

use crate::cli::{Command, Global};
use crate::exit::CliError;
use crate::logging::Logger;

/// Runs `cmd` with the global options; `Ok` holds the exit status.
pub fn dispatch(global: &Global, cmd: Command, log: &mut Logger) -> Result<i32, CliError> {
    let root = match &global.root {
        Some(r) => absolute(r)?,
        None => absolute(&libcontainer::caller::default_root())?,
    };
    match cmd {
        Command::Create(a) => create::run(&root, &a, global, log),
        Command::Start(a) => start::run(&root, &a.id, log),
        Command::Run(a) => run::run(&root, &a, global, log),
        Command::State(a) => state::run(&root, &a.id),
        Command::Kill(a) => kill::run(&root, &a),
        Command::Delete(a) => delete::run(&root, &a, log),
        Command::List(a) => list::run(&root, &a),
        Command::Spec(a) => spec::run(&a),
        Command::Features => features::run(),
        Command::Exec(a) => exec::run(&root, &a),
        Command::Pause(a) => pause::pause(&root, &a.id),
        Command::Resume(a) => pause::resume(&root, &a.id),
        Command::Update(a) => update::run(&root, &a),
        Command::Events(a) => events::run(&root, &a),
        Command::Ps(a) => ps::run(&root, &a),
        Command::Checkpoint(_) => later::not_implemented("checkpoint"),
        Command::Restore(_) => later::not_implemented("restore"),
    }
}

/// `path` made absolute against the working directory, as runc does with its paths:
/// the state records them and the init may change directory.
pub fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    std::path::absolute(path).map_err(CliError::io("resolve", path))
}

/// Prints `text` to stdout, reporting a failed write (a closed pipe) as an error.
pub fn print(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(CliError::Stdout)
}
