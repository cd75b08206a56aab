//! `quai`: the runc-compatible command line over `libcontainer`'s public API.
//! It parses arguments, sets up runc's logging and maps failures to runc's exit
//! statuses; everything else is a library call.

mod cli;
mod commands;
mod exit;
mod fastargs;
mod logging;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::Cli;
use logging::Logger;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The engines' plain lines without clap (smaller and faster); clap for the rest,
    // and for every error and help text.
    let cli = match fastargs::parse(&args).map_or_else(|| Cli::try_parse_from(&args), Ok) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(exit::usage_failure(e, &args)),
    };
    if cli.version {
        print!("{}", version_text());
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        // runc prints its help when called without a command.
        let _ = Cli::command().print_help();
        return ExitCode::SUCCESS;
    };
    let g = &cli.global;
    let mut log = match Logger::open(g.log.as_deref(), g.log_format, g.debug) {
        Ok(log) => log,
        Err(e) => {
            let path = g.log.as_deref().unwrap_or("".as_ref()).display();
            Logger::stderr(g.log_format)
                .error(&format!("open log {path}: {}", exit::errno_text(&e)));
            return ExitCode::from(1);
        }
    };
    if matches!(
        command,
        cli::Command::Create(_) | cli::Command::Run(_) | cli::Command::Exec(_)
    ) {
        // Before anything of a container runs: its processes are our clones, and their
        // exe link must land on a read-only view of this binary (CVE-2019-5736).
        if let Err(e) = libcontainer::container::run_from_read_only_view(&args) {
            log.error(&format!("protect the runtime binary: {e}"));
            return ExitCode::from(1);
        }
    }
    log.debug(&format!(
        "quai {}",
        args.iter()
            .skip(1)
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    match commands::dispatch(g, command, &mut log) {
        // Exit statuses are one byte; `run` passes on the container's (0..=255).
        Ok(code) => ExitCode::from((code & 0xff) as u8),
        Err(e) => {
            log.error(&e.to_string());
            ExitCode::from(e.exit_code())
        }
    }
}

/// `quai --version`, in the shape of `runc --version` (go-runc parses the first line
/// and the `spec:` line).
fn version_text() -> String {
    let spec = libcontainer::spec::default_spec(false);
    let spec_version = spec["ociVersion"].as_str().unwrap_or("unknown");
    format!(
        "quai version {}\nspec: {spec_version}\n",
        env!("CARGO_PKG_VERSION")
    )
}
