//! `quai spec [--rootless] [--bundle B]`: write the default config.json, never over an
//! existing one.

use std::io::Write;

use crate::cli::SpecArgs;
use crate::exit::CliError;

/// Writes `<bundle>/config.json` (the working directory without `--bundle`).
pub fn run(a: &SpecArgs) -> Result<i32, CliError> {
    let dir = a.bundle.clone().unwrap_or_else(|| ".".into());
    let path = dir.join("config.json");
    let text = render(&libcontainer::spec::default_spec(a.rootless));
    // create_new: refusing an existing file and creating it are one step.
    let mut f = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::SpecExists("config.json".into()));
        }
        Err(e) => return Err(CliError::io("open", &path)(e)),
    };
    f.write_all(text.as_bytes())
        .map_err(CliError::io("write", &path))?;
    Ok(0)
}

/// Tab-indented JSON, as runc writes it.
fn render(v: &serde_json::Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    v.serialize(&mut ser).expect("a Value always serializes");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}
