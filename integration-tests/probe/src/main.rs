//! probe: run inside a test container, it prints what the container sees as JSON.
//!
//! Modes:
//! - `report [--stat PATH]... [--sysctl KEY]... [--read FILE]...`: one JSON object;
//! - `exit N`; `sleep SECS|forever`; `echo ARGS...`; `fds`;
//! - `write PATH`: `{"path":..,"ok":bool,"errno":n}`;
//! - `kill-self SIGNAL`: default action for SIGNAL, then raise it;
//! - `syscall NR [ARG...]`, `syscall32 NR [ARG...]`: one raw system call, native or
//!   through the i386 gate: `{"ret":r,"errno":e}` (see `raw`);
//! - `swap A B`: exchange the two paths (`renameat2(RENAME_EXCHANGE)`) forever, the
//!   racing process of the race attacks; prints `swapping` once the first exchange worked;
//! - `trap`: block signals, print `ready`, then print `signal N` for the first one and exit 0
//!   (SIGURG, SIGCHLD and SIGWINCH are ignored, not reported).

mod fields;
mod json;
mod raw;
mod report;
mod sys;

use json::Json;
use std::process::exit;

fn usage() -> ! {
    eprintln!(
        "usage: probe report|exit N|sleep SECS|forever|echo ARGS|fds|write PATH|kill-self SIG|trap|swap A B|syscall[32] NR ARGS"
    );
    exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first() else { usage() };
    let rest = &args[1..];
    match mode.as_str() {
        "report" => println!("{}", report::report(&parse_request(rest)).render()),
        "exit" => exit(
            rest.first()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| usage()),
        ),
        "sleep" => sleep(rest.first().map(String::as_str).unwrap_or("forever")),
        "echo" => println!("{}", rest.join(" ")),
        "fds" => println!("{}", fds().render()),
        "write" => write(rest.first().unwrap_or_else(|| usage())),
        "kill-self" => {
            let sig = rest
                .first()
                .and_then(|s| sys::signal_number(s))
                .unwrap_or_else(|| usage());
            let err = sys::kill_self(sig);
            eprintln!("probe: still alive after signal {sig}: {err}");
            exit(3)
        }
        "trap" => trap(),
        "swap" => match rest {
            [a, b] => swap(a, b),
            _ => usage(),
        },
        "syscall" | "syscall32" => match raw::run(mode == "syscall32", rest) {
            Ok(doc) => println!("{}", doc.render()),
            Err(e) => {
                eprintln!("probe: {e}");
                usage()
            }
        },
        _ => usage(),
    }
}

fn parse_request(args: &[String]) -> report::Request {
    let mut req = report::Request::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage()).clone();
        match flag.as_str() {
            "--stat" => req.stat.push(value),
            "--sysctl" => req.sysctl.push(value),
            "--read" => req.read.push(value),
            _ => usage(),
        }
    }
    req
}

fn sleep(arg: &str) {
    if arg == "forever" {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    let secs: f64 = arg.parse().unwrap_or_else(|_| usage());
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
}

fn write(path: &str) {
    let result = sys::try_write(path);
    let errno = result
        .as_ref()
        .err()
        .and_then(|e| e.raw_os_error())
        .unwrap_or(0);
    let doc = Json::obj(vec![
        ("path", Json::s(path)),
        ("ok", Json::Bool(result.is_ok())),
        ("errno", Json::Int(errno.into())),
    ]);
    println!("{}", doc.render());
}

/// Open fds and their targets; the directory fd used to list them is left out.
fn fds() -> Json {
    let names: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut fds: Vec<(i64, String)> = names
        .iter()
        .filter_map(|n| {
            let target = std::fs::read_link(format!("/proc/self/fd/{n}")).ok()?;
            Some((n.parse().ok()?, target.to_string_lossy().into_owned()))
        })
        .collect();
    fds.sort();
    Json::Obj(
        fds.into_iter()
            .map(|(fd, t)| (fd.to_string(), Json::s(t)))
            .collect(),
    )
}

/// Wait for one signal synchronously; works as PID 1, where default actions are ignored.
fn trap() {
    // SAFETY: sigset_t is plain data initialised by sigfillset; blocking signals and waiting is sound.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        // Noise a runtime may forward (Go's preemption SIGURG, SIGCHLD, SIGWINCH) is not
        // waited for; their default action is to be ignored.
        for noise in [libc::SIGURG, libc::SIGCHLD, libc::SIGWINCH] {
            libc::sigdelset(&mut set, noise);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        println!("ready");
        let sig = libc::sigwaitinfo(&set, std::ptr::null_mut());
        println!("signal {sig}");
    }
}

/// Exchanges `a` and `b` as fast as possible, forever.
fn swap(a: &str, b: &str) -> ! {
    let (a, b) = (cstring(a), cstring(b));
    let mut announced = false;
    loop {
        // SAFETY: two valid NUL-terminated paths.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 && !announced {
            println!("swapping");
            announced = true;
        }
    }
}

fn cstring(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).unwrap_or_else(|_| usage())
}
