//! `quai ps [--format table|json] <id> [ps options]`: the container's processes. JSON is
//! the array of host PIDs (what containerd reads); the table is ps(1)'s output for those
//! PIDs, as runc prints it.

use std::path::Path;

use libcontainer::container::Container;

use super::print;
use crate::cli::{Format, PsArgs};
use crate::exit::CliError;

/// Lists the processes of container `a.id`.
pub fn run(root: &Path, a: &PsArgs) -> Result<i32, CliError> {
    let pids = Container::load(root, &a.id)?.processes()?;
    match a.format {
        Format::Json => {
            print(&serde_json::to_string(&pids).expect("pids serialize"))?;
            print("\n")?;
        }
        Format::Table => print(&table(&pids, &a.ps_args)?)?,
    }
    Ok(0)
}

/// Runs ps(1) with the caller's options (default `-ef`) and keeps its header and the
/// lines of the container's PIDs.
fn table(pids: &[i32], ps_args: &[String]) -> Result<String, CliError> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(CliError::io("run", Path::new("ps")))?;
    if !out.status.success() {
        return Err(CliError::Ps(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    filter(&String::from_utf8_lossy(&out.stdout), pids)
}

/// Keeps the header and the lines whose PID column holds one of `pids`.
fn filter(text: &str, pids: &[i32]) -> Result<String, CliError> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| CliError::Ps("ps output has no PID column".into()))?;
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_header_and_container_pids() {
        let ps = "UID   PID  PPID C STIME TTY TIME CMD\nroot    1     0 0 00:00 ?   00:00:01 init\nroot   42     1 0 00:00 ?   00:00:00 sleep 100\n";
        let t = filter(ps, &[42]).unwrap();
        assert_eq!(t, "UID   PID  PPID C STIME TTY TIME CMD\nroot   42     1 0 00:00 ?   00:00:00 sleep 100\n");
        assert!(filter("no pid column\n", &[1]).is_err());
    }
}
