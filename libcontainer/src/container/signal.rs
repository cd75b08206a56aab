//! Signal names and numbers as `kill` accepts them: `9`, `KILL`, `SIGKILL`, `sigkill`,
//! and real-time signals by number (`37`) or as `RTMIN+3` / `RTMAX-1`.

use super::ContainerError;

const NAMES: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

fn rt_bounds() -> (i32, i32) {
    (libc::SIGRTMIN(), libc::SIGRTMAX())
}

/// Parses a signal as `kill` accepts it.
pub fn parse_signal(s: &str) -> Result<i32, ContainerError> {
    let bad = || ContainerError::InvalidSignal(s.to_string());
    let (rtmin, rtmax) = rt_bounds();
    if let Ok(n) = s.parse::<i32>() {
        // 0 checks that the processes exist, as kill(2) does (runc passes it on).
        return if (0..=rtmax).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(&(_, n)) = NAMES.iter().find(|(k, _)| *k == name) {
        return Ok(n);
    }
    let rt = |base: i32, rest: &str, sign: i32| -> Result<i32, ContainerError> {
        let off: i32 = if rest.is_empty() {
            0
        } else {
            rest.parse().map_err(|_| bad())?
        };
        let n = base + sign * off;
        if (rtmin..=rtmax).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return match rest.strip_prefix('+') {
            Some(r) => rt(rtmin, r, 1),
            None if rest.is_empty() => Ok(rtmin),
            None => Err(bad()),
        };
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return match rest.strip_prefix('-') {
            Some(r) => rt(rtmax, r, -1),
            None if rest.is_empty() => Ok(rtmax),
            None => Err(bad()),
        };
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert_eq!(parse_signal("KILL").unwrap(), 9);
        assert_eq!(parse_signal("SIGKILL").unwrap(), 9);
        assert_eq!(parse_signal("sigterm").unwrap(), 15);
        assert_eq!(parse_signal("hup").unwrap(), 1);
        assert_eq!(parse_signal("37").unwrap(), 37);
        assert_eq!(parse_signal("SIGRTMIN+3").unwrap(), libc::SIGRTMIN() + 3);
        assert_eq!(parse_signal("RTMAX-1").unwrap(), libc::SIGRTMAX() - 1);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["-1", "65", "FOO", "SIG", "RTMIN+99", "9x", ""] {
            assert!(parse_signal(bad).is_err(), "{bad}");
        }
    }
}
