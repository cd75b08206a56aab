//! `quai events [--stats] [--interval 5s] <id>`: runc's event stream, one JSON object per
//! line: `{"type":"stats","id":..,"data":{..}}` every interval and `{"type":"oom",..}`
//! when the kernel OOM-kills in the container. `--stats` prints one stats event and exits.

use std::path::Path;

use libcontainer::container::{Container, Event};

use super::print;
use crate::cli::EventsArgs;
use crate::exit::CliError;

/// Streams the events of container `a.id`.
pub fn run(root: &Path, a: &EventsArgs) -> Result<i32, CliError> {
    let c = Container::load(root, &a.id)?;
    if a.stats {
        let ev = Event {
            kind: "stats",
            id: a.id.clone(),
            data: Some(c.stats()?),
        };
        print(&format!(
            "{}\n",
            serde_json::to_string(&ev).expect("events serialize")
        ))?;
        return Ok(0);
    }
    let mut failed = None;
    c.events(a.interval, &mut |ev| match print(&format!(
        "{}\n",
        serde_json::to_string(ev).expect("events serialize")
    )) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
