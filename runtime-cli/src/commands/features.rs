//! `quai features`: the runtime-spec features document of this build, as the library
//! reports it, indented as runc prints it.

use serde::Serialize;

use crate::exit::CliError;

/// Prints the features JSON and a newline.
pub fn run() -> Result<i32, CliError> {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut buf,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    libcontainer::features()
        .serialize(&mut ser)
        .expect("the features document always serializes");
    let mut text = String::from_utf8(buf).expect("serde_json writes UTF-8");
    text.push('\n');
    super::print(&text)?;
    Ok(0)
}
