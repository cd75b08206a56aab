//! `linux.sysctl`: kernel parameters written into the container's namespaces.

use crate::procfs::ProcHandle;

/// Why a sysctl could not be set.
#[derive(Debug, thiserror::Error)]
pub enum SysctlError {
    /// The key is not a plain dotted name.
    #[error("invalid sysctl key {0:?}")]
    InvalidKey(String),
    /// Writing the value failed.
    #[error("failed to set sysctl {key}={value}: {source}")]
    Write {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The file under `/proc/sys` for a dotted key (`net.ipv4.ip_forward`).
pub fn key_path(key: &str) -> Result<String, SysctlError> {
    let ok = !key.is_empty()
        && key
            .split(['.', '/'])
            .all(|c| !c.is_empty() && c != ".." && !c.contains('\0'));
    if !ok {
        return Err(SysctlError::InvalidKey(key.to_string()));
    }
    Ok(format!("sys/{}", key.replace('.', "/")))
}

/// Writes every sysctl, in key order, through the verified procfs.
pub fn apply(
    proc: &ProcHandle,
    sysctls: &std::collections::HashMap<String, String>,
) -> Result<(), SysctlError> {
    let mut keys: Vec<&String> = sysctls.keys().collect();
    keys.sort();
    for key in keys {
        let value = &sysctls[key];
        proc.write(&key_path(key)?, value)
            .map_err(|source| SysctlError::Write {
                key: key.clone(),
                value: value.clone(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(
            key_path("net.ipv4.ip_forward").unwrap(),
            "sys/net/ipv4/ip_forward"
        );
        assert_eq!(key_path("kernel/shmmax").unwrap(), "sys/kernel/shmmax");
        assert!(key_path("net..x").is_err());
        assert!(key_path("../x").is_err());
        assert!(key_path("").is_err());
    }
}
