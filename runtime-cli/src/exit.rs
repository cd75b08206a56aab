//! Failures and exit statuses: every failure is one line and exit status 1 (usage
//! errors included, where clap would use 2); `--help` and `--version` exit 0.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;

use crate::logging::{LogFormat, Logger};

/// Why a command failed; `Display` is the one line that is logged.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The library refused or failed; its message keeps runc's phrases.
    #[error(transparent)]
    Lib(#[from] libcontainer::Error),
    /// The command is parsed but belongs to later work.
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    /// `spec` found a config.json already there.
    #[error("File {0} exists. Remove it first")]
    SpecExists(String),
    /// The CLI's own file work failed.
    #[error("{what} {}: {}", path.display(), errno_text(source))]
    Io {
        /// The operation, e.g. "open".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An argument's value is invalid.
    #[error("{0}")]
    Usage(String),
    /// ps(1) failed.
    #[error("ps: {0}")]
    Ps(String),
    /// `exec` failed: runc's prefix, and exit status 255.
    #[error("exec failed: {0}")]
    Exec(Box<CliError>),
    /// Writing to stdout failed.
    #[error("write to stdout: {}", errno_text(.0))]
    Stdout(std::io::Error),
}

impl CliError {
    /// The exit status this failure gives: 255 for `exec` (runc's), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Exec(_) => 255,
            _ => 1,
        }
    }

    /// An I/O failure of `what` on `path`.
    pub fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| CliError::Io { what, path, source }
    }
}

/// An OS error worded as Go (and so runc) words it: "no such file or directory", which
/// podman matches to choose exit status 127.
pub fn errno_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_string(),
        _ => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// The one-line message of a clap error: its first paragraph, lines joined.
pub fn usage_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.trim_start().split("\n\n").next().unwrap_or("");
    let joined = first
        .split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    joined
        .strip_prefix("error: ")
        .unwrap_or(&joined)
        .to_string()
}

/// Handles a failed parse: help and version print and exit 0; anything else is logged
/// as one line (to the `--log` file found in `args`, if any) and exits 1.
pub fn usage_failure(e: clap::Error, args: &[OsString]) -> u8 {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // Help goes to stdout; a closed stdout is not worth a failure here.
        let _ = e.print();
        return 0;
    }
    let (log, format) = prescan_log(args);
    let mut logger =
        Logger::open(log.as_deref(), format, false).unwrap_or_else(|_| Logger::stderr(format));
    logger.error(&usage_message(&e));
    1
}

/// Finds `--log` and `--log-format` among the global options, before the command, for
/// usage errors where clap produced no parsed value.
pub fn prescan_log(args: &[OsString]) -> (Option<PathBuf>, LogFormat) {
    const WITH_VALUE: [&str; 5] = ["--log", "--log-format", "--root", "--criu", "--rootless"];
    let (mut log, mut format) = (None, LogFormat::Text);
    let mut it = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        if !a.starts_with('-') {
            break; // the command
        }
        let (name, value) = match a.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None if WITH_VALUE.contains(&a.as_str()) => (a.clone(), it.next()),
            None => (a.clone(), None),
        };
        match (name.as_str(), value) {
            ("--log", Some(v)) => log = Some(PathBuf::from(v)),
            ("--log-format", Some(v)) if v == "json" => format = LogFormat::Json,
            ("--log-format", Some(_)) => format = LogFormat::Text,
            _ => {}
        }
    }
    (log, format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn usage_messages_are_one_line() {
        for args in [
            &["quai", "--bogus", "list"][..],
            &["quai", "state"],
            &["quai", "--log-format", "xml", "list"],
            &["quai", "nosuchcmd"],
        ] {
            let e = crate::cli::Cli::try_parse_from(args).expect_err("a usage error");
            let m = usage_message(&e);
            assert!(
                !m.is_empty() && !m.contains('\n') && !m.starts_with("error:"),
                "{m:?}"
            );
        }
        let e = crate::cli::Cli::try_parse_from(["quai", "state"]).expect_err("missing id");
        assert!(
            usage_message(&e).contains("container-id"),
            "{}",
            usage_message(&e)
        );
    }

    #[test]
    fn prescan_finds_the_log() {
        let (log, f) = prescan_log(&os(&[
            "quai",
            "--root",
            "/r",
            "--log",
            "/l",
            "--log-format",
            "json",
            "x",
        ]));
        assert_eq!((log, f), (Some(PathBuf::from("/l")), LogFormat::Json));
        let (log, f) = prescan_log(&os(&[
            "quai",
            "--log-format=json",
            "--log=/l",
            "create",
            "--log",
            "/no",
        ]));
        assert_eq!((log, f), (Some(PathBuf::from("/l")), LogFormat::Json));
        assert_eq!(
            prescan_log(&os(&["quai", "list", "--log", "/x"])),
            (None, LogFormat::Text)
        );
    }

    #[test]
    fn errno_is_worded_like_go() {
        let enoent = std::io::Error::from_raw_os_error(2);
        assert_eq!(errno_text(&enoent), "no such file or directory");
        assert_eq!(errno_text(&std::io::Error::other("Plain")), "plain");
    }
}
