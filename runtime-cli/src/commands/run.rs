//! `quai run`: create and start; in the foreground, wait for the init and return its
//! exit status (128+N for signal N), then delete the container unless `--keep`.

use std::path::Path;

use crate::cli::{Global, RunArgs};
use crate::exit::CliError;
use crate::logging::Logger;

/// Runs the container described by `a` under `root`.
pub fn run(root: &Path, a: &RunArgs, g: &Global, log: &mut Logger) -> Result<i32, CliError> {
    let mut c = super::create::create(root, &a.create, a.detach, g, log)?;
    match c.start() {
        Ok(warnings) => warnings.iter().for_each(|w| log.warn(w)),
        Err(e) => {
            // runc destroys a container whose start failed; its error is the one to report.
            let _ = c.delete(true);
            return Err(e.into());
        }
    }
    if a.detach {
        return Ok(0);
    }
    let waited = c.wait();
    if !a.keep {
        let deleted = c.delete(true);
        if let Ok(code) = waited {
            deleted?.iter().for_each(|w| log.warn(w));
            return Ok(code);
        }
    }
    Ok(waited?)
}
