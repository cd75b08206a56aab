//! runc's logging, observably: logrus lines in `text` or `json` format to the `--log`
//! file (appended) or, without one, to stderr. With `--log`, an error also goes to stderr
//! as the bare message, as runc prints it. Only error lines are written unless `--debug`:
//! podman reads the whole log file as one JSON object after a failure.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use clap::ValueEnum;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// logrus's text formatter: `time="..." level=error msg="..."`.
    Text,
    /// One JSON object per line: `{"level":..,"msg":..,"time":..}`.
    Json,
}

/// A log line's level, lowercase as logrus writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A failure; the last one is what callers report.
    Error,
    /// Something failed that the runtime-spec says must not stop the command
    /// (poststart and poststop hooks).
    Warning,
    /// Tracing for `--debug`.
    Debug,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Debug => "debug",
        }
    }
}

/// RFC 3339 time in UTC with whole seconds, as logrus's default timestamp.
pub fn log_time(t: SystemTime) -> String {
    let full = libcontainer::container::rfc3339_nanos(t);
    // `YYYY-MM-DDTHH:MM:SS` is the fixed-width prefix of the nanosecond form.
    format!("{}Z", full.get(..19).unwrap_or(&full))
}

/// One log line, without the newline.
pub fn format_line(format: LogFormat, level: Level, msg: &str, time: &str) -> String {
    match format {
        LogFormat::Json => {
            let q = |s: &str| serde_json::Value::from(s).to_string();
            format!(
                "{{\"level\":{},\"msg\":{},\"time\":{}}}",
                q(level.as_str()),
                q(msg),
                q(time)
            )
        }
        LogFormat::Text => format!(
            "time={} level={} msg={}",
            quote(time),
            level.as_str(),
            quote(msg)
        ),
    }
}

/// logrus quotes a value unless every character is in `[A-Za-z0-9-._/@^+]`; it uses Go's
/// `%q`, whose escapes Rust's `{:?}` matches for the text we log.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// Where log lines go for this invocation.
#[derive(Debug)]
pub struct Logger {
    format: LogFormat,
    debug: bool,
    file: Option<File>,
}

impl Logger {
    /// Logs to `path` (appending) or, with none, to stderr.
    pub fn open(path: Option<&Path>, format: LogFormat, debug: bool) -> std::io::Result<Self> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        Ok(Self {
            format,
            debug,
            file,
        })
    }

    /// A logger to stderr, for failures before `--log` could be opened.
    pub fn stderr(format: LogFormat) -> Self {
        Self {
            format,
            debug: false,
            file: None,
        }
    }

    /// Logs a failure: one line to the log, and the bare message to stderr when the
    /// log is a file.
    pub fn error(&mut self, msg: &str) {
        // A message is one line: callers parse the log line by line.
        let msg = msg.trim_end().replace('\n', " ");
        self.write(Level::Error, &msg);
        if self.file.is_some() {
            eprintln!("{msg}");
        }
    }

    /// Logs a warning line.
    pub fn warn(&mut self, msg: &str) {
        let msg = msg.trim_end().replace('\n', " ");
        self.write(Level::Warning, &msg);
    }

    /// Logs a debug line when `--debug` is set.
    pub fn debug(&mut self, msg: &str) {
        if self.debug {
            self.write(Level::Debug, msg);
        }
    }

    fn write(&mut self, level: Level, msg: &str) {
        let mut line = format_line(self.format, level, msg, &log_time(SystemTime::now()));
        line.push('\n');
        // One write per line, so concurrent appenders never interleave within a line.
        let res = match self.file.as_mut() {
            Some(f) => f.write_all(line.as_bytes()),
            None => std::io::stderr().write_all(line.as_bytes()),
        };
        if let Err(e) = res {
            eprintln!("cannot write to the log: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const T: &str = "2023-11-14T22:13:20Z";

    #[test]
    fn time_is_rfc3339_seconds() {
        assert_eq!(log_time(UNIX_EPOCH + Duration::new(1_700_000_000, 999)), T);
    }

    #[test]
    fn json_line_has_the_three_keys() {
        let line = format_line(
            LogFormat::Json,
            Level::Error,
            "container \"x\" does not exist",
            T,
        );
        assert_eq!(
            line,
            r#"{"level":"error","msg":"container \"x\" does not exist","time":"2023-11-14T22:13:20Z"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        let obj = v.as_object().expect("an object");
        assert_eq!(obj.len(), 3);
        assert_eq!(obj["level"], "error");
        assert_eq!(obj["msg"], "container \"x\" does not exist");
        assert_eq!(obj["time"], T);
    }

    #[test]
    fn text_line_is_logrus() {
        let line = format_line(LogFormat::Text, Level::Error, "container does not exist", T);
        assert_eq!(
            line,
            r#"time="2023-11-14T22:13:20Z" level=error msg="container does not exist""#
        );
        let line = format_line(LogFormat::Text, Level::Debug, "plain", T);
        assert_eq!(line, r#"time="2023-11-14T22:13:20Z" level=debug msg=plain"#);
        let line = format_line(LogFormat::Text, Level::Error, "say \"hi\"\tnow", T);
        assert_eq!(
            line,
            r#"time="2023-11-14T22:13:20Z" level=error msg="say \"hi\"\tnow""#
        );
    }
}
