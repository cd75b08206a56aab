//! `linux.memoryPolicy`: the NUMA memory policy of the container's process
//! (set_mempolicy(2)). The kernel keeps it across `fork` and `execve`, so the init sets
//! it on itself before it reports ready.

use std::io;

use crate::spec::ranges::{self, RangeError};
use crate::spec::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType};

/// The largest node number a list may name (the kernel's largest `MAX_NUMNODES` - 1).
const MAX_NODE: usize = 1023;

/// Why the memory policy could not be set.
#[derive(Debug, thiserror::Error)]
pub enum MemPolicyError {
    /// The mode and nodes do not go together.
    #[error("linux.memoryPolicy: {0}")]
    Invalid(String),
    /// The node list is malformed.
    #[error("linux.memoryPolicy.nodes: {0}")]
    Nodes(#[from] RangeError),
    /// The kernel refused the policy.
    #[error("linux.memoryPolicy: set_mempolicy({mode} {flags:?} nodes {nodes:?}): {source}")]
    Sys {
        /// The mode asked for.
        mode: MemoryPolicyModeType,
        /// The flags asked for.
        flags: Vec<MemoryPolicyFlagType>,
        /// The node list asked for.
        nodes: String,
        /// The cause.
        source: io::Error,
    },
}

/// The kernel's mode number (linux/mempolicy.h).
fn mode_number(m: MemoryPolicyModeType) -> i32 {
    use MemoryPolicyModeType::*;
    match m {
        MpolDefault => 0,
        MpolPreferred => 1,
        MpolBind => 2,
        MpolInterleave => 3,
        MpolLocal => 4,
        MpolPreferredMany => 5,
        MpolWeightedInterleave => 6,
    }
}

fn flag_bit(f: MemoryPolicyFlagType) -> i32 {
    use MemoryPolicyFlagType::*;
    match f {
        MpolFStaticNodes => 1 << 15,
        MpolFRelativeNodes => 1 << 14,
        MpolFNumaBalancing => 1 << 13,
    }
}

/// The `mode | flags` argument and the node mask for `p`. MPOL_DEFAULT and MPOL_LOCAL
/// take no nodes, MPOL_PREFERRED may (none means local), every other mode needs some.
fn policy_args(p: &LinuxMemoryPolicy) -> Result<(i32, Vec<u64>), MemPolicyError> {
    use MemoryPolicyModeType::*;
    let nodes = p.nodes().as_deref().unwrap_or("");
    let mask = ranges::parse_mask(nodes, MAX_NODE)?;
    let mode = p.mode();
    match mode {
        MpolDefault | MpolLocal if !mask.iter().all(|w| *w == 0) => {
            return Err(MemPolicyError::Invalid(format!(
                "mode {mode} takes no nodes, got {nodes:?}"
            )))
        }
        MpolBind | MpolInterleave | MpolPreferredMany | MpolWeightedInterleave
            if mask.iter().all(|w| *w == 0) =>
        {
            return Err(MemPolicyError::Invalid(format!("mode {mode} needs nodes")))
        }
        _ => {}
    }
    let flags = p
        .flags()
        .iter()
        .flatten()
        .fold(0, |all, f| all | flag_bit(*f));
    Ok((mode_number(mode) | flags, mask))
}

/// Sets the calling thread's memory policy.
pub fn set_memory_policy(p: &LinuxMemoryPolicy) -> Result<(), MemPolicyError> {
    let (mode, mask) = policy_args(p)?;
    let (ptr, maxnode) = if mask.is_empty() {
        (std::ptr::null(), 0)
    } else {
        // The kernel reads maxnode - 1 bits (a historical off-by-one every caller follows).
        (mask.as_ptr(), mask.len() * 64 + 1)
    };
    // SAFETY: ptr is null or points to mask.len() words, which maxnode describes.
    if unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) } != 0 {
        return Err(MemPolicyError::Sys {
            mode: p.mode(),
            flags: p.flags().clone().unwrap_or_default(),
            nodes: p.nodes().clone().unwrap_or_default(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::in_child;

    fn p(json: serde_json::Value) -> LinuxMemoryPolicy {
        serde_json::from_value(json).expect("memory policy json")
    }

    #[test]
    fn modes_flags_and_nodes() {
        let args = |j| policy_args(&p(j)).map_err(|e| e.to_string());
        assert_eq!(
            args(
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "0-3,7", "flags": ["MPOL_F_STATIC_NODES"]})
            ),
            Ok((2 | 1 << 15, vec![0b1000_1111]))
        );
        assert_eq!(
            args(serde_json::json!({"mode": "MPOL_DEFAULT"})),
            Ok((0, vec![]))
        );
        assert_eq!(
            args(serde_json::json!({"mode": "MPOL_LOCAL"})),
            Ok((4, vec![]))
        );
        assert_eq!(
            args(serde_json::json!({"mode": "MPOL_PREFERRED"})),
            Ok((1, vec![]))
        );
        assert_eq!(
            args(
                serde_json::json!({"mode": "MPOL_WEIGHTED_INTERLEAVE", "nodes": "1",
                "flags": ["MPOL_F_RELATIVE_NODES"]})
            ),
            Ok((6 | 1 << 14, vec![2]))
        );
        assert_eq!(
            args(
                serde_json::json!({"mode": "MPOL_PREFERRED_MANY", "nodes": "0", "flags": ["MPOL_F_NUMA_BALANCING"]})
            ),
            Ok((5 | 1 << 13, vec![1]))
        );
        assert_eq!(
            args(serde_json::json!({"mode": "MPOL_INTERLEAVE", "nodes": "0"})),
            Ok((3, vec![1]))
        );
    }

    #[test]
    fn nodes_that_do_not_fit_the_mode_are_refused() {
        let err = |j| policy_args(&p(j)).unwrap_err().to_string();
        assert_eq!(
            err(serde_json::json!({"mode": "MPOL_DEFAULT", "nodes": "0"})),
            "linux.memoryPolicy: mode MPOL_DEFAULT takes no nodes, got \"0\""
        );
        assert_eq!(
            err(serde_json::json!({"mode": "MPOL_BIND"})),
            "linux.memoryPolicy: mode MPOL_BIND needs nodes"
        );
        assert!(
            err(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0-x"}))
                .starts_with("linux.memoryPolicy.nodes: ")
        );
        assert!(
            serde_json::from_value::<LinuxMemoryPolicy>(serde_json::json!({"mode": "MPOL_X"}))
                .is_err()
        );
    }

    #[test]
    fn bind_to_node_0_is_what_the_kernel_reports() {
        in_child(|| {
            set_memory_policy(&p(serde_json::json!({"mode": "MPOL_BIND", "nodes": "0"})))
                .map_err(|e| e.to_string())?;
            let mut mode: i32 = -1;
            let mut mask = [0u64; 16];
            // SAFETY: mode and mask are valid for writing; maxnode matches mask's bits.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_get_mempolicy,
                    &mut mode as *mut i32,
                    mask.as_mut_ptr(),
                    mask.len() * 64,
                    0usize,
                    0usize,
                )
            };
            if r != 0 || mode != 2 || mask[0] != 1 {
                return Err(format!(
                    "get_mempolicy: {r}, mode {mode}, mask {:#x}",
                    mask[0]
                ));
            }
            let e = set_memory_policy(&p(
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "1000"}),
            ))
            .unwrap_err()
            .to_string();
            if !e.contains("Invalid argument") {
                return Err(e);
            }
            Ok(())
        });
    }
}
