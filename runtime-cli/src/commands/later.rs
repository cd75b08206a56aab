//! Commands that come with later work (`checkpoint`, `restore`) and the argument
//! types of `exec` and the cgroup commands: the later ones parse with runc's syntax, so callers get
//! a clear error rather than a usage error, and then fail with exit status 1. None of
//! them may pretend to succeed.

use std::path::PathBuf;

use clap::Args;

use crate::cli::Format;
use crate::exit::CliError;

/// Fails with "<command> is not implemented yet".
pub fn not_implemented(command: &'static str) -> Result<i32, CliError> {
    Err(CliError::NotImplemented(command))
}

/// `exec [options] <id> <command> [args...]` or `exec -p process.json <id>`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Path to an AF_UNIX socket which will receive the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Current working directory in the container.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    pub tty: bool,
    /// UID (format: <uid>[:<gid>]).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Additional gids.
    #[arg(short = 'g', long)]
    pub additional_gids: Vec<String>,
    /// Path to the process.json.
    #[arg(short, long)]
    pub process: Option<PathBuf>,
    /// Detach from the container's process.
    #[arg(short, long)]
    pub detach: bool,
    /// Specify the file to write the process id to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Set the asm process label for the process.
    #[arg(long)]
    pub process_label: Option<String>,
    /// Set the apparmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set the no new privileges value for the process.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Add a capability to the bounding set for the process.
    #[arg(short, long)]
    pub cap: Vec<String>,
    /// Pass N additional file descriptors to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Run the process in an (existing) sub-cgroup.
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Allow exec in a paused container.
    #[arg(long)]
    pub ignore_paused: bool,
    /// Socket to receive the process's pidfd.
    #[arg(long)]
    pub pidfd_socket: Option<PathBuf>,
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
    /// The command and its arguments (everything after the id belongs to it).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `update [options] <id>`. Every number may be negative (`--memory -1` is unlimited).
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// File with LinuxResources JSON, or `-` for stdin.
    #[arg(short, long)]
    pub resources: Option<String>,
    /// Per cgroup weight, 10 to 1000.
    #[arg(long, allow_hyphen_values = true)]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period (usecs).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// CPU CFS hardcap limit (usecs).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPU shares.
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_share: Option<String>,
    /// CPU realtime period (usecs).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_period: Option<String>,
    /// CPU realtime hardcap limit (usecs).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_rt_runtime: Option<String>,
    /// CPU(s) to use.
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory node(s) to use.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Kernel memory limit (deprecated, ignored by runc too).
    #[arg(long, allow_hyphen_values = true)]
    pub kernel_memory: Option<String>,
    /// Kernel TCP memory limit (deprecated).
    #[arg(long, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<String>,
    /// Memory limit (in bytes, or with a unit suffix).
    #[arg(long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory reservation or soft limit.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Total memory usage (memory + swap); -1 for unlimited swap.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Maximum number of pids allowed in the container.
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Intel RDT/CAT L3 cache schema.
    #[arg(long)]
    pub l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema.
    #[arg(long)]
    pub mem_bw_schema: Option<String>,
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `events [--stats] [--interval 5s] <id>`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Set the stats collection interval.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: std::time::Duration,
    /// Display the container's stats then exit.
    #[arg(long)]
    pub stats: bool,
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `ps [--format table|json] <id> [ps options]`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Select one of: table or json.
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
    /// Options passed to ps(1).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

/// Options `checkpoint` and `restore` share.
#[derive(Debug, Args)]
pub struct CriuArgs {
    /// Path for the criu image files.
    #[arg(long)]
    pub image_path: Option<PathBuf>,
    /// Path for saving work files and logs.
    #[arg(long)]
    pub work_path: Option<PathBuf>,
    /// Allow open tcp connections.
    #[arg(long)]
    pub tcp_established: bool,
    /// Allow external unix sockets.
    #[arg(long)]
    pub ext_unix_sk: bool,
    /// Allow shell jobs.
    #[arg(long)]
    pub shell_job: bool,
    /// Use userfaultfd to lazily restore memory pages.
    #[arg(long)]
    pub lazy_pages: bool,
    /// Handle file locks, for safety.
    #[arg(long)]
    pub file_locks: bool,
    /// Cgroups mode: soft, full or strict.
    #[arg(long)]
    pub manage_cgroups_mode: Option<String>,
    /// Create a namespace, but don't restore its properties.
    #[arg(long)]
    pub empty_ns: Vec<String>,
    /// Enable auto deduplication of memory images.
    #[arg(long)]
    pub auto_dedup: bool,
}

/// `checkpoint [options] <id>`.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The options shared with restore.
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Path for previous criu image files in pre-dump.
    #[arg(long)]
    pub parent_path: Option<PathBuf>,
    /// Leave the process running after checkpointing.
    #[arg(long)]
    pub leave_running: bool,
    /// criu writes \0 to this fd once lazy-pages is ready.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub status_fd: i32,
    /// ADDRESS:PORT of the page server.
    #[arg(long)]
    pub page_server: Option<String>,
    /// Dump the container's memory only, leaving it running.
    #[arg(long)]
    pub pre_dump: bool,
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// `restore [options] <id>`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The options shared with checkpoint.
    #[command(flatten)]
    pub criu: CriuArgs,
    /// Path to an AF_UNIX socket which will receive the pty master.
    #[arg(long)]
    pub console_socket: Option<PathBuf>,
    /// Path to the root of the bundle directory.
    #[arg(short, long)]
    pub bundle: Option<PathBuf>,
    /// Detach from the container's process.
    #[arg(short, long)]
    pub detach: bool,
    /// Specify the file to write the process id to.
    #[arg(long)]
    pub pid_file: Option<PathBuf>,
    /// Disable the use of the subreaper.
    #[arg(long)]
    pub no_subreaper: bool,
    /// Do not use pivot root to jail process inside rootfs.
    #[arg(long)]
    pub no_pivot: bool,
    /// LSM profile to use during restore, TYPE:NAME.
    #[arg(long)]
    pub lsm_profile: Option<String>,
    /// LSM mount context to use during restore.
    #[arg(long)]
    pub lsm_mount_context: Option<String>,
    /// The container id.
    #[arg(value_name = "container-id")]
    pub id: String,
}

/// Parses a Go duration string (`5s`, `1m30s`, `250ms`, `1.5h`, `0`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..num_end].parse().map_err(|_| bad())?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * scale;
        rest = &rest[unit_end..];
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
