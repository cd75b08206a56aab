//! The command lines engines send, read without clap.
//!
//! containerd, Docker, podman and their shims call the same few commands thousands of
//! times (`create`, `start`, `state`, `kill`, `delete`, `exec`, ...) with plain options.
//! clap reads them correctly but is the largest piece of code such a command runs
//! (about a third of the functions `create` touches, and its heap): every page of it
//! counts in the peak RSS of every call. This parser reads exactly those shapes and
//! gives up (`None`) on anything else — help, a version flag, an unknown or repeated
//! option, a value that starts with `-`, bundled short flags, `--`, a bad number, a
//! word that is not UTF-8, a missing or extra argument — which clap then reads and
//! words as before. For what it accepts it builds the very `Cli` clap would build; a
//! differential test holds it to that over the engines' lines and generated ones.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::cli::{
    Cli, Command, CreateArgs, DeleteArgs, ExecArgs, Format, Global, IdArg, KillArgs, ListArgs,
    Rootless, RunArgs,
};
use crate::logging::LogFormat;

/// One option: long name, short letter, whether it takes a value, whether it may repeat.
#[derive(Clone, Copy)]
struct Opt {
    long: &'static str,
    short: Option<char>,
    value: bool,
    many: bool,
}

const fn flag(long: &'static str, short: Option<char>) -> Opt {
    Opt {
        long,
        short,
        value: false,
        many: false,
    }
}

const fn valued(long: &'static str, short: Option<char>) -> Opt {
    Opt {
        long,
        short,
        value: true,
        many: false,
    }
}

const fn multi(long: &'static str, short: Option<char>) -> Opt {
    Opt {
        long,
        short,
        value: true,
        many: true,
    }
}

const GLOBAL: &[Opt] = &[
    valued("root", None),
    valued("log", None),
    valued("log-format", None),
    flag("debug", None),
    flag("systemd-cgroup", None),
    valued("rootless", None),
    valued("criu", None),
];

const CREATE: &[Opt] = &[
    valued("bundle", Some('b')),
    valued("console-socket", None),
    valued("pid-file", None),
    flag("no-pivot", None),
    flag("no-new-keyring", None),
    valued("preserve-fds", None),
    valued("pidfd-socket", None),
];

const RUN_ONLY: &[Opt] = &[
    flag("detach", Some('d')),
    flag("keep", None),
    flag("no-subreaper", None),
];

const KILL: &[Opt] = &[flag("all", Some('a'))];
const DELETE: &[Opt] = &[flag("force", Some('f'))];
const LIST: &[Opt] = &[valued("format", Some('f')), flag("quiet", Some('q'))];

const EXEC: &[Opt] = &[
    valued("console-socket", None),
    valued("cwd", None),
    multi("env", Some('e')),
    flag("tty", Some('t')),
    valued("user", Some('u')),
    multi("additional-gids", Some('g')),
    valued("process", Some('p')),
    flag("detach", Some('d')),
    valued("pid-file", None),
    valued("process-label", None),
    valued("apparmor", None),
    flag("no-new-privs", None),
    multi("cap", Some('c')),
    valued("preserve-fds", None),
    multi("cgroup", None),
    flag("ignore-paused", None),
    valued("pidfd-socket", None),
];

/// What one word turned out to be.
enum Word<'a> {
    /// An option of the table, with its value if it takes one.
    Opt(&'static str, Option<&'a str>),
    /// Not an option.
    Plain(&'a str),
}

/// The words after the program name, read left to right.
struct Words<'a> {
    words: Vec<&'a str>,
    next: usize,
    seen: Vec<&'static str>,
}

impl<'a> Words<'a> {
    fn take(&mut self) -> Option<&'a str> {
        let w = self.words.get(self.next).copied();
        self.next += 1;
        w
    }

    fn rest(&mut self) -> Vec<&'a str> {
        let rest = self.words.get(self.next..).unwrap_or_default().to_vec();
        self.next = self.words.len();
        rest
    }

    /// Reads `word` against `table`. `None`: give up (unknown, repeated, malformed).
    fn read(&mut self, word: &'a str, table: &[Opt]) -> Option<Word<'a>> {
        let (opt, inline) = if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            (table.iter().find(|o| o.long == name)?, inline)
        } else if let Some(short) = word.strip_prefix('-') {
            let mut chars = short.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return None;
            };
            (table.iter().find(|o| o.short == Some(c))?, None)
        } else {
            return Some(Word::Plain(word));
        };
        if !opt.many {
            if self.seen.contains(&opt.long) {
                return None;
            }
            self.seen.push(opt.long);
        }
        if !opt.value {
            return inline.is_none().then_some(Word::Opt(opt.long, None));
        }
        let value = match inline {
            Some(v) => v,
            None => self.take()?,
        };
        if value.is_empty() || value.starts_with('-') {
            return None;
        }
        Some(Word::Opt(opt.long, Some(value)))
    }
}

fn count(v: &str) -> Option<u32> {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse().ok()
    } else {
        None
    }
}

/// The `Cli` for `args` (program name first), when it is one of the plain shapes.
pub fn parse(args: &[OsString]) -> Option<Cli> {
    let words: Vec<&str> = args
        .iter()
        .skip(1)
        .map(|a| a.to_str())
        .collect::<Option<_>>()?;
    let mut w = Words {
        words,
        next: 0,
        seen: Vec::new(),
    };
    let mut global = Global {
        root: None,
        log: None,
        log_format: LogFormat::Text,
        debug: false,
        systemd_cgroup: false,
        rootless: Rootless::Auto,
        criu: "criu".into(),
    };
    let name = loop {
        let word = w.take()?;
        match w.read(word, GLOBAL)? {
            Word::Plain(name) => break name,
            Word::Opt(long, value) => set_global(&mut global, long, value)?,
        }
    };
    w.seen.clear();
    let command = match name {
        "create" => Command::Create(create_args(&mut w, &[])?.0),
        "run" => {
            let (create, run) = create_args(&mut w, RUN_ONLY)?;
            Command::Run(RunArgs {
                create,
                detach: run.contains(&"detach"),
                keep: run.contains(&"keep"),
                no_subreaper: run.contains(&"no-subreaper"),
            })
        }
        "start" | "state" | "pause" | "resume" => {
            let (_, ids) = options(&mut w, &[], |_, _| Some(()))?;
            let [id] = ids[..] else { return None };
            let id = IdArg { id: id.into() };
            match name {
                "start" => Command::Start(id),
                "state" => Command::State(id),
                "pause" => Command::Pause(id),
                _ => Command::Resume(id),
            }
        }
        "kill" => {
            let (all, plain) = options(&mut w, KILL, |_, _| Some(()))?;
            let (id, signal) = match plain[..] {
                [id] => (id, "SIGTERM"),
                [id, signal] => (id, signal),
                _ => return None,
            };
            Command::Kill(KillArgs {
                id: id.into(),
                signal: signal.into(),
                all: !all.is_empty(),
            })
        }
        "delete" => {
            let (force, ids) = options(&mut w, DELETE, |_, _| Some(()))?;
            let [id] = ids[..] else { return None };
            Command::Delete(DeleteArgs {
                id: id.into(),
                force: !force.is_empty(),
            })
        }
        "list" | "ls" => {
            let mut format = Format::Table;
            let (flags, plain) = options(&mut w, LIST, |long, v| {
                if long == "format" {
                    format = match v? {
                        "table" => Format::Table,
                        "json" => Format::Json,
                        _ => return None,
                    };
                }
                Some(())
            })?;
            if !plain.is_empty() {
                return None;
            }
            Command::List(ListArgs {
                format,
                quiet: flags.contains(&"quiet"),
            })
        }
        "exec" => Command::Exec(exec_args(&mut w)?),
        _ => return None,
    };
    Some(Cli {
        global,
        version: false,
        command: Some(command),
    })
}

fn set_global(g: &mut Global, long: &str, value: Option<&str>) -> Option<()> {
    match (long, value) {
        ("root", Some(v)) => g.root = Some(v.into()),
        ("log", Some(v)) => g.log = Some(v.into()),
        ("log-format", Some("text")) => g.log_format = LogFormat::Text,
        ("log-format", Some("json")) => g.log_format = LogFormat::Json,
        ("debug", None) => g.debug = true,
        ("systemd-cgroup", None) => g.systemd_cgroup = true,
        ("rootless", Some("true")) => g.rootless = Rootless::True,
        ("rootless", Some("false")) => g.rootless = Rootless::False,
        ("rootless", Some("auto")) => g.rootless = Rootless::Auto,
        ("criu", Some(v)) => g.criu = v.into(),
        _ => return None,
    }
    Some(())
}

/// Reads the remaining words as options of `table` (anywhere, as clap allows) and
/// plain words. Returns the flags seen and the plain words; valued options go to
/// `on_value` (`None` from it gives up).
fn options<'a>(
    w: &mut Words<'a>,
    table: &[Opt],
    mut on_value: impl FnMut(&'static str, Option<&'a str>) -> Option<()>,
) -> Option<(Vec<&'static str>, Vec<&'a str>)> {
    let (mut flags, mut plain) = (Vec::new(), Vec::new());
    while let Some(word) = w.take() {
        match w.read(word, table)? {
            Word::Plain(p) => plain.push(p),
            Word::Opt(long, None) => flags.push(long),
            Word::Opt(long, value) => on_value(long, value)?,
        }
    }
    Some((flags, plain))
}

/// `create`'s options (and `extra`, `run`'s), then exactly one id.
fn create_args(w: &mut Words<'_>, extra: &[Opt]) -> Option<(CreateArgs, Vec<&'static str>)> {
    let table: Vec<Opt> = CREATE.iter().chain(extra).copied().collect();
    let mut a = CreateArgs {
        id: String::new(),
        bundle: PathBuf::from("."),
        console_socket: None,
        pid_file: None,
        no_pivot: false,
        no_new_keyring: false,
        preserve_fds: 0,
        pidfd_socket: None,
    };
    let (flags, ids) = options(w, &table, |long, v| {
        let v = v?;
        match long {
            "bundle" => a.bundle = v.into(),
            "console-socket" => a.console_socket = Some(v.into()),
            "pid-file" => a.pid_file = Some(v.into()),
            "preserve-fds" => a.preserve_fds = count(v)?,
            "pidfd-socket" => a.pidfd_socket = Some(v.into()),
            _ => return None,
        }
        Some(())
    })?;
    let [id] = ids[..] else { return None };
    a.id = id.into();
    a.no_pivot = flags.contains(&"no-pivot");
    a.no_new_keyring = flags.contains(&"no-new-keyring");
    Some((a, flags))
}

/// `exec`'s options, the id, then the command: every word after the id is the
/// command's (the first may not look like an option).
fn exec_args(w: &mut Words<'_>) -> Option<ExecArgs> {
    let mut a = ExecArgs {
        console_socket: None,
        cwd: None,
        env: Vec::new(),
        tty: false,
        user: None,
        additional_gids: Vec::new(),
        process: None,
        detach: false,
        pid_file: None,
        process_label: None,
        apparmor: None,
        no_new_privs: false,
        cap: Vec::new(),
        preserve_fds: 0,
        cgroup: Vec::new(),
        ignore_paused: false,
        pidfd_socket: None,
        id: String::new(),
        command: Vec::new(),
    };
    let id = loop {
        let word = w.take()?;
        match w.read(word, EXEC)? {
            Word::Plain(id) => break id,
            Word::Opt(long, None) => match long {
                "tty" => a.tty = true,
                "detach" => a.detach = true,
                "no-new-privs" => a.no_new_privs = true,
                "ignore-paused" => a.ignore_paused = true,
                _ => return None,
            },
            Word::Opt(long, Some(v)) => match long {
                "console-socket" => a.console_socket = Some(v.into()),
                "cwd" => a.cwd = Some(v.into()),
                "env" => a.env.push(v.into()),
                "user" => a.user = Some(v.into()),
                "additional-gids" => a.additional_gids.push(v.into()),
                "process" => a.process = Some(v.into()),
                "pid-file" => a.pid_file = Some(v.into()),
                "process-label" => a.process_label = Some(v.into()),
                "apparmor" => a.apparmor = Some(v.into()),
                "cap" => a.cap.push(v.into()),
                "preserve-fds" => a.preserve_fds = count(v)?,
                "cgroup" => a.cgroup.push(v.into()),
                "pidfd-socket" => a.pidfd_socket = Some(v.into()),
                _ => return None,
            },
        }
    };
    a.id = id.into();
    let command = w.rest();
    if command.first().is_some_and(|c| c.starts_with('-')) {
        return None;
    }
    a.command = command.into_iter().map(String::from).collect();
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::os::unix::ffi::OsStringExt;

    fn os(args: &[&str]) -> Vec<OsString> {
        std::iter::once("quai")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Whether the fast path answered `args`; when it did, clap must have answered the
    /// same (compared through `Debug`, which shows every field).
    fn agree(args: &[OsString]) -> bool {
        let Some(fast) = parse(args) else {
            return false;
        };
        let clap = Cli::try_parse_from(args)
            .unwrap_or_else(|e| panic!("{args:?}: the fast path parsed what clap refuses: {e}"));
        assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{args:?}");
        true
    }

    #[test]
    fn the_engines_lines_take_the_fast_path() {
        let lines: &[&[&str]] = &[
            // containerd (go-runc) and Docker through it
            &[
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
            ],
            &[
                "--root",
                "/r",
                "--log",
                "/l",
                "--log-format",
                "json",
                "start",
                "abc",
            ],
            &["--root", "/r", "--log-format", "json", "state", "abc"],
            &["--root", "/r", "kill", "abc", "9"],
            &["--root", "/r", "kill", "--all", "abc", "15"],
            &["--root", "/r", "delete", "--force", "abc"],
            &[
                "--root",
                "/r",
                "--log",
                "/l",
                "--log-format",
                "json",
                "exec",
                "--process",
                "/tmp/p.json",
                "--console-socket",
                "/s",
                "--detach",
                "--pid-file",
                "/p",
                "abc",
            ],
            &["--root", "/r", "pause", "abc"],
            &["--root", "/r", "resume", "abc"],
            // podman (conmon) with its `=` forms
            &[
                "--root=/run/runc",
                "--systemd-cgroup",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/p",
                "--no-new-keyring",
                "abc",
            ],
            &[
                "--log-format=json",
                "--log=/l",
                "--rootless=false",
                "kill",
                "c",
                "15",
            ],
            &["exec", "-d", "--pid-file=/p", "--process=/p.json", "c"],
            // people
            &["run", "-d", "--keep", "--no-subreaper", "c"],
            &["create", "c1", "--bundle", "/b", "--pid-file", "/p"],
            &["delete", "c1", "-f"],
            &[
                "exec", "-t", "-e", "A=1", "-e", "B=2", "--cwd", "/", "c", "ls", "-l", "--", "x",
            ],
            &["exec", "c"],
            &["list"],
            &["ls", "-q", "--format", "json"],
            &["--debug", "state", ""],
        ];
        for line in lines {
            assert!(agree(&os(line)), "{line:?} fell back to clap");
        }
    }

    #[test]
    fn everything_else_falls_back_to_clap() {
        let lines: &[&[&str]] = &[
            &[],
            &["--help"],
            &["-v"],
            &["--version"],
            &["help"],
            &["create", "--help"],
            &["create"],
            &["create", "a", "b"],
            &["--bogus", "list"],
            &["list", "--bogus"],
            &["kill", "a", "b", "c"],
            &["exec", "c", "--", "ls"],
            &["exec", "c", "-t", "sh"],
            &["create", "-bx", "c"],
            &["delete", "-ff", "c"],
            &["create", "--bundle", "-x", "c"],
            &["create", "--bundle=", "c"],
            &["--root", "/r", "--root", "/s", "state", "c"],
            &["list", "--format", "xml"],
            &["--log-format", "JSON", "list"],
            &["--rootless", "maybe", "list"],
            &["create", "--preserve-fds", "-1", "c"],
            &["create", "--preserve-fds", "+1", "c"],
            &["run", "--detach=true", "c"],
            &["update", "c"],
            &["ps", "c"],
            &["spec"],
            &["features"],
            &["state", "--", "c"],
        ];
        for line in lines {
            assert!(!agree(&os(line)), "{line:?} took the fast path");
        }
        let mut bad = os(&["state"]);
        bad.push(OsString::from_vec(b"c\xff".to_vec()));
        assert!(!agree(&bad), "a word that is not UTF-8 took the fast path");
    }

    /// Lines made of every option of every command in every form, good and bad values,
    /// other commands' options, stray words; in random order. Whatever the fast path
    /// accepts, clap accepts the same way.
    #[test]
    fn generated_lines_agree_with_clap() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let values = ["/v", "3", "-1", "", "json", "table", "true", "auto", "x y"];
        let plain = ["c1", "c2", "KILL", "9", "-", "--", "sh", "-l", "--x"];
        // Every way of writing `o` with value `v`; `clean` leaves out the malformed ones.
        let forms = |o: &Opt, v: &str, clean: bool| -> Vec<Vec<String>> {
            let long = format!("--{}", o.long);
            let mut f = Vec::new();
            if o.value {
                f.push(vec![long.clone(), v.to_string()]);
                f.push(vec![format!("{long}={v}")]);
                if !clean {
                    f.push(vec![long]);
                }
            } else {
                f.push(vec![long.clone()]);
                if !clean {
                    f.push(vec![format!("{long}=true")]);
                }
            }
            if let Some(c) = o.short {
                if o.value {
                    f.push(vec![format!("-{c}"), v.to_string()]);
                    if !clean {
                        f.push(vec![format!("-{c}")]);
                        f.push(vec![format!("-{c}{v}")]);
                    }
                } else {
                    f.push(vec![format!("-{c}")]);
                }
            }
            f
        };
        let tables: [(&str, &[Opt]); 11] = [
            ("create", CREATE),
            ("run", RUN_ONLY),
            ("start", &[]),
            ("state", &[]),
            ("pause", &[]),
            ("kill", KILL),
            ("delete", DELETE),
            ("list", LIST),
            ("ls", LIST),
            ("exec", EXEC),
            ("ps", LIST),
        ];
        let (mut fast, rounds) = (0, 20_000);
        for _ in 0..rounds {
            // Half the lines are clean: the command's own options, plain values.
            let clean = next(2) == 0;
            let value = |n: usize| {
                if clean {
                    ["/v", "3", "json"][n % 3]
                } else {
                    values[n]
                }
            };
            let mut line: Vec<String> = Vec::new();
            for _ in 0..next(4) {
                let o = &GLOBAL[next(GLOBAL.len())];
                let f = forms(o, value(next(values.len())), clean);
                line.extend(f[next(f.len())].clone());
            }
            let (name, table) = tables[next(tables.len())];
            line.push(name.to_string());
            let mut words: Vec<Vec<String>> = Vec::new();
            for _ in 0..next(6) {
                let pick = next(10);
                let from: &[Opt] = if name == "run" && pick < 3 {
                    CREATE
                } else if pick < 6 || clean {
                    table
                } else if pick < 7 {
                    tables[next(tables.len())].1
                } else {
                    &[]
                };
                if from.is_empty() && clean {
                    continue;
                } else if from.is_empty() {
                    words.push(vec![plain[next(plain.len())].to_string()]);
                } else {
                    let o = &from[next(from.len())];
                    let f = forms(o, value(next(values.len())), clean);
                    words.push(f[next(f.len())].clone());
                }
            }
            // Most commands need an id: put one somewhere.
            if clean || next(4) > 0 {
                let at = next(words.len() + 1);
                words.insert(at, vec![format!("id{}", next(3))]);
            }
            line.extend(words.into_iter().flatten());
            let refs: Vec<&str> = line.iter().map(String::as_str).collect();
            fast += usize::from(agree(&os(&refs)));
        }
        eprintln!("{fast} of {rounds} generated lines took the fast path");
        // The generator must reach the fast path often, or it tests nothing.
        assert!(
            fast > rounds / 10,
            "only {fast} of {rounds} lines took the fast path"
        );
    }
}
