//! `linux.personality`: the execution domain (LINUX, or LINUX32 for 32-bit `uname -m`)
//! and personality(2) flags of the container's process. The kernel keeps it across
//! `execve`, so the init sets it on itself before it reports ready.

use std::io;

use crate::spec::{LinuxPersonality, LinuxPersonalityDomain};

/// Why the personality could not be set.
#[derive(Debug, thiserror::Error)]
pub enum PersonalityError {
    /// A flag is not one of personality(2)'s.
    #[error("linux.personality: unknown flag {0:?}")]
    Flag(String),
    /// The kernel refused the value.
    #[error("linux.personality: personality({value:#x}): {source}")]
    Sys {
        /// The value passed.
        value: u64,
        /// The cause.
        source: io::Error,
    },
}

/// personality(2)'s flags by name (linux/personality.h).
const FLAGS: [(&str, u64); 11] = [
    ("UNAME26", 0x0020000),
    ("ADDR_NO_RANDOMIZE", 0x0040000),
    ("FDPIC_FUNCPTRS", 0x0080000),
    ("MMAP_PAGE_ZERO", 0x0100000),
    ("ADDR_COMPAT_LAYOUT", 0x0200000),
    ("READ_IMPLIES_EXEC", 0x0400000),
    ("ADDR_LIMIT_32BIT", 0x0800000),
    ("SHORT_INODE", 0x1000000),
    ("WHOLE_SECONDS", 0x2000000),
    ("STICKY_TIMEOUTS", 0x4000000),
    ("ADDR_LIMIT_3GB", 0x8000000),
];

/// The personality value for `p`: the domain (PER_LINUX 0, PER_LINUX32 8) with its flags.
pub fn personality_value(p: &LinuxPersonality) -> Result<u64, PersonalityError> {
    let domain = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    p.flags().iter().flatten().try_fold(domain, |v, name| {
        FLAGS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bit)| v | bit)
            .ok_or_else(|| PersonalityError::Flag(name.clone()))
    })
}

/// Sets the calling process's personality.
pub fn set_personality(p: &LinuxPersonality) -> Result<(), PersonalityError> {
    let value = personality_value(p)?;
    // SAFETY: personality takes one integer.
    if unsafe { libc::personality(value as libc::c_ulong) } == -1 {
        return Err(PersonalityError::Sys {
            value,
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::in_child;

    fn p(json: serde_json::Value) -> LinuxPersonality {
        serde_json::from_value(json).expect("personality json")
    }

    #[test]
    fn domains_and_flags() {
        assert_eq!(
            personality_value(&p(serde_json::json!({"domain": "LINUX"}))).unwrap(),
            0
        );
        assert_eq!(
            personality_value(&p(serde_json::json!({
                "domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE", "UNAME26"]
            })))
            .unwrap(),
            0x8 | 0x40000 | 0x20000
        );
        let e = personality_value(&p(
            serde_json::json!({"domain": "LINUX", "flags": ["FAST"]}),
        ))
        .unwrap_err();
        assert_eq!(e.to_string(), "linux.personality: unknown flag \"FAST\"");
        assert!(
            serde_json::from_value::<LinuxPersonality>(serde_json::json!({"domain": "SVR4"}))
                .is_err()
        );
    }

    #[test]
    fn linux32_makes_uname_say_i686() {
        in_child(|| {
            set_personality(&p(serde_json::json!({"domain": "LINUX32"})))
                .map_err(|e| e.to_string())?;
            let machine = nix::sys::utsname::uname()
                .map_err(|e| e.to_string())?
                .machine()
                .to_string_lossy()
                .into_owned();
            if machine != "i686" {
                return Err(format!("machine {machine}"));
            }
            Ok(())
        });
    }
}
