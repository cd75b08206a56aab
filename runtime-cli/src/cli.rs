//! The command line, with runc 1.1.5's global flags and subcommands.
//!
//! Options may follow the container id (`create <id> --bundle B`) as they may with
//! runc, which reorders flags; clap accepts options between positionals by default.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::commands::later::{
    CheckpointArgs, EventsArgs, ExecArgs, PsArgs, RestoreArgs, UpdateArgs,
};
use crate::logging::LogFormat;

/// `quai [global options] command [command options] [arguments...]`
#[derive(Debug, Parser)]
#[command(
    name = "quai",
    about = "Open Container Initiative runtime",
    disable_version_flag = true,
    // runc prints usage for `help` but has no `-V`; `-v` is the version flag.
    subcommand_value_name = "command"
)]
pub struct Cli {
    /// Global options.
    #[command(flatten)]
    pub global: Global,
    /// Print the version.
    #[arg(short = 'v', long)]
    pub version: bool,
    /// The command; with none, the help is printed.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The options that go before the command.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Root directory for storage of container state (this should be located in tmpfs)
    /// [default: /run/quai, or $XDG_RUNTIME_DIR/quai when rootless].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Set the log file to write quai logs to (default is stderr).
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Set the log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Enable debug logging.
    #[arg(long)]
    pub debug: bool,
    /// Enable systemd cgroup support (accepted; cgroupsPath decides the layout).
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// Ignore cgroup permission errors.
    #[arg(long, value_enum, default_value_t = Rootless::Auto)]
    pub rootless: Rootless,
    /// Path to the criu binary used for checkpoint and restore.
    #[arg(long, default_value = "criu")]
    pub criu: String,
}

/// `--rootless true|false|auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Rootless {
    /// Rootless mode on.
    True,
    /// Rootless mode off.
    False,
    /// Decide from the caller's euid.
    Auto,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a container.
    Create(CreateArgs),
    /// Executes the user defined process in a created container.
    Start(IdArg),
    /// Create and run a container.
    Run(RunArgs),
    /// Output the state of a container.
    State(IdArg),
    /// Send the specified signal (default: SIGTERM) to the container's init process.
    Kill(KillArgs),
    /// Delete any resources held by the container.
    Delete(DeleteArgs),
    /// Lists containers started by quai with the given root.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Create a new specification file.
    Spec(SpecArgs),
    /// Execute new process inside the container.
    Exec(ExecArgs),
    /// Suspend all processes inside the container.
    Pause(IdArg),
    /// Resume all processes that have been previously paused.
    Resume(IdArg),
    /// Update container resource constraints.
    Update(UpdateArgs),
    /// Display container events such as OOM notifications and statistics.
    Events(EventsArgs),
    /// Display the processes running inside a container.
    Ps(PsArgs),
    /// Checkpoint a running container.
    Checkpoint(CheckpointArgs),
    /// Restore a container from a previous checkpoint.
    Restore(RestoreArgs),
    /// Show the enabled features (the runtime-spec features JSON).
    Features,
}

/// A command that takes only the container id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `create` options (also part of `run`).
#[derive(Debug, Clone, Args)]
pub struct CreateArgs {
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
    /// Path to the root of the bundle directory.
    #[arg(short, long, default_value = ".")]
    pub bundle: PathBuf,
    /// Path to an AF_UNIX socket which will receive the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Specify the file to write the process id to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Do not use pivot root to jail process inside rootfs.
    #[arg(long)]
    pub no_pivot: bool,
    /// Do not create a new session keyring for the container.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors to the container (fds 3 to 3+N-1, each of
    /// which must be open and inheritable).
    // A negative N is read as a value, so it is refused as one ("invalid value '-1'"),
    // not as an unknown option.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub preserve_fds: u32,
    /// Socket to receive the init's pidfd (accepted, not used yet).
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
}

/// `run` options: `create`'s plus the foreground ones.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The create options.
    #[command(flatten)]
    pub create: CreateArgs,
    /// Detach from the container's process.
    #[arg(short, long)]
    pub detach: bool,
    /// Do not delete the container after it exits.
    #[arg(long)]
    pub keep: bool,
    /// Disable the use of the subreaper used to reap reparented processes.
    #[arg(long)]
    pub no_subreaper: bool,
}

/// `kill [--all] <id> [signal]`.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
    /// Signal name or number.
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
    /// Send the signal to all processes inside the container.
    #[arg(short, long)]
    pub all: bool,
}

/// `delete [--force] <id>`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
    /// Forcibly delete the container if it is still running (uses SIGKILL).
    #[arg(short, long)]
    pub force: bool,
}

/// Output format of `list` and `ps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

/// `list [--format table|json] [--quiet]`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Select one of: table or json.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Display only container IDs.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `spec [--rootless] [--bundle B]`.
#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Path to the root of the bundle directory.
    #[arg(short, long)]
    pub bundle: Option<PathBuf>,
    /// Generate a configuration for a rootless container.
    #[arg(long)]
    pub rootless: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("quai").chain(args.iter().copied())).expect("parses")
    }

    #[test]
    fn options_after_the_id() {
        let cli = parse(&[
            "--root",
            "/r",
            "create",
            "c1",
            "--bundle",
            "/b",
            "--pid-file",
            "/p",
        ]);
        assert_eq!(cli.global.root, Some(PathBuf::from("/r")));
        let Some(Command::Create(a)) = cli.command else {
            panic!("not create")
        };
        assert_eq!(a.id, "c1");
        assert_eq!(a.bundle, PathBuf::from("/b"));
        assert_eq!(a.pid_file, Some(PathBuf::from("/p")));
        let Some(Command::Delete(d)) = parse(&["delete", "c1", "-f"]).command else {
            panic!("not delete")
        };
        assert!(d.force);
        assert_eq!(d.id, "c1");
    }

    #[test]
    fn containerd_create_line() {
        let cli = parse(&[
            "--root",
            "/run/containerd/runc/k8s.io",
            "--log",
            "/b/log.json",
            "--log-format",
            "json",
            "--systemd-cgroup",
            "create",
            "--bundle",
            "/b",
            "--pid-file",
            "/b/init.pid",
            "--console-socket",
            "/s",
            "--no-pivot",
            "--no-new-keyring",
            "--preserve-fds",
            "2",
            "abc",
        ]);
        assert_eq!(cli.global.log_format, LogFormat::Json);
        assert!(cli.global.systemd_cgroup);
        let Some(Command::Create(a)) = cli.command else {
            panic!("not create")
        };
        assert!(a.no_pivot && a.no_new_keyring);
        assert_eq!(a.preserve_fds, 2);
        assert_eq!(a.console_socket, Some(PathBuf::from("/s")));
    }

    #[test]
    fn preserve_fds_must_be_a_count() {
        for bad in ["-1", "x", "4294967296"] {
            let e = Cli::try_parse_from(["quai", "create", "--preserve-fds", bad, "c"])
                .expect_err(bad)
                .to_string();
            assert!(
                e.contains(&format!("invalid value '{bad}' for '--preserve-fds")),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn podman_equals_forms() {
        let cli = parse(&[
            "--log-format=json",
            "--log=/l",
            "--rootless=false",
            "kill",
            "c",
            "15",
        ]);
        assert_eq!(cli.global.log, Some(PathBuf::from("/l")));
        assert_eq!(cli.global.rootless, Rootless::False);
        let Some(Command::Kill(k)) = cli.command else {
            panic!("not kill")
        };
        assert_eq!(k.signal, "15");
    }

    #[test]
    fn kill_defaults_to_sigterm() {
        let Some(Command::Kill(k)) = parse(&["kill", "c"]).command else {
            panic!("not kill")
        };
        assert_eq!(k.signal, "SIGTERM");
        assert!(!k.all);
        let Some(Command::Kill(k)) = parse(&["kill", "--all", "c", "KILL"]).command else {
            panic!("not kill")
        };
        assert!(k.all);
        assert_eq!(k.signal, "KILL");
    }

    #[test]
    fn run_list_and_defaults() {
        let cli = parse(&["run", "-d", "--keep", "--no-subreaper", "c"]);
        assert_eq!(cli.global.root, None);
        assert_eq!(cli.global.log_format, LogFormat::Text);
        let Some(Command::Run(r)) = cli.command else {
            panic!("not run")
        };
        assert!(r.detach && r.keep && r.no_subreaper);
        assert_eq!(r.create.bundle, PathBuf::from("."));
        let Some(Command::List(l)) = parse(&["ls", "-q", "--format", "json"]).command else {
            panic!("not list")
        };
        assert!(l.quiet);
        assert_eq!(l.format, Format::Json);
        assert!(parse(&["-v"]).version);
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["state"][..],
            &["state", "a", "b"],
            &["--bogus", "list"],
            &["list", "--bogus"],
            &["kill", "a", "b", "c"],
            &["--log-format", "xml", "list"],
            &["--rootless", "maybe", "list"],
            &["nosuchcmd"],
        ] {
            let args = std::iter::once("quai").chain(bad.iter().copied());
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }
}
