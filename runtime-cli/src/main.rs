//! `quai`: the runc-compatible command line over `libcontainer`'s public API.
//! It parses arguments, sets up runc's logging and maps failures to runc's exit
//! statuses; everything else is a library call.
//!
//! `#![no_main]`: quai starts from its own C `main` ([`start`]), not std's runtime
//! start; the test harness brings its own.

#![cfg_attr(not(test), no_main)]

mod cli;
mod commands;
mod exit;
mod fastargs;
mod logging;
mod start;

use std::ffi::OsString;

use clap::{CommandFactory, Parser};

use cli::Cli;
use logging::Logger;

/// The process entry: what quai needs of a process start ([`start::prepare`]), the
/// command, then stdout flushed (std's runtime would flush it after `main`).
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    start::prepare();
    let code = run();
    let _ = std::io::Write::flush(&mut std::io::stdout());
    libc::c_int::from(code)
}

/// Runs the command line; returns the exit status.
#[cfg_attr(test, allow(dead_code))]
fn run() -> u8 {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The engines' plain lines without clap (smaller and faster); clap for the rest,
    // and for every error and help text.
    let cli = match fastargs::parse(&args).map_or_else(|| Cli::try_parse_from(&args), Ok) {
        Ok(cli) => cli,
        Err(e) => return exit::usage_failure(e, &args),
    };
    if cli.version {
        print!("{}", version_text());
        return 0;
    }
    let Some(command) = cli.command else {
        // runc prints its help when called without a command.
        let _ = Cli::command().print_help();
        return 0;
    };
    let g = &cli.global;
    let mut log = match Logger::open(g.log.as_deref(), g.log_format, g.debug) {
        Ok(log) => log,
        Err(e) => {
            let path = g.log.as_deref().unwrap_or("".as_ref()).display();
            Logger::stderr(g.log_format)
                .error(&format!("open log {path}: {}", exit::errno_text(&e)));
            return 1;
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
            return 1;
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
        Ok(code) => (code & 0xff) as u8,
        Err(e) => {
            log.error(&e.to_string());
            e.exit_code()
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
