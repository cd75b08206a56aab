//! v2 device control: the rule list's meaning ([`Filter`]: a default and its
//! exceptions) compiled to a `BPF_PROG_TYPE_CGROUP_DEVICE` program (raw eBPF
//! instructions, no library), loaded with bpf(2) and attached to the container's cgroup
//! directory. It answers as v1's kernel list does: on deny-by-default, an access passes
//! when one exception holds every requested bit; on allow-by-default, it is refused
//! when an exception holds any requested bit.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::LinuxDeviceCgroup;

use super::super::device_filter::{Filter, Node};
use super::super::device_rules::{rule_list, DevType, ACC_ALL};
use super::super::CgroupError;
use crate::spec::LinuxDevice;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    code: u8,
    /// dst in the low nibble, src in the high one.
    regs: u8,
    off: i16,
    imm: i32,
}

// Opcodes: class | op | source.
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// `struct bpf_cgroup_dev_ctx` device types.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2; // device type
const R3: u8 = 3; // requested access
const R4: u8 = 4; // major
const R5: u8 = 5; // minor

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

/// The instructions of one exception: conditions that jump past the block when they
/// fail, then "return `verdict`".
fn exception_block(n: &Node, bits: u32, verdict: bool) -> Vec<Insn> {
    let mut conds: Vec<Insn> = Vec::new();
    let t = if n.typ == DevType::Block {
        DEV_BLOCK
    } else {
        DEV_CHAR
    };
    conds.push(insn(JMP_JNE_K, R2, 0, 0, t));
    if bits != ACC_ALL {
        conds.push(insn(ALU32_MOV_X, R1, R3, 0, 0));
        conds.push(insn(ALU32_AND_K, R1, 0, 0, bits as i32));
        if verdict {
            // An allow must hold every requested bit: (R3 & bits) == R3.
            conds.push(insn(JMP_JNE_X, R1, R3, 0, 0));
        } else {
            // A deny holding any requested bit refuses: (R3 & bits) != 0.
            conds.push(insn(JMP_JEQ_K, R1, 0, 0, 0));
        }
    }
    if let Some(m) = n.major {
        conds.push(insn(JMP_JNE_K, R4, 0, 0, m as i32));
    }
    if let Some(m) = n.minor {
        conds.push(insn(JMP_JNE_K, R5, 0, 0, m as i32));
    }
    let len = conds.len() + 2;
    for (i, c) in conds.iter_mut().enumerate() {
        if matches!(c.code, JMP_JNE_K | JMP_JNE_X | JMP_JEQ_K) {
            // Jump to the first instruction after this block.
            c.off = (len - (i + 1)) as i16;
        }
    }
    conds.push(insn(ALU32_MOV_K, R0, 0, 0, i32::from(verdict)));
    conds.push(insn(JMP_EXIT, 0, 0, 0, 0));
    conds
}

/// The program for `f`: every exception (all with the verdict opposite to the
/// default, so their order does not matter), then the default.
pub(crate) fn program(f: &Filter) -> Vec<Insn> {
    let mut p = vec![
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU32_AND_K, R2, 0, 0, 0xffff),
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU32_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for (n, bits) in &f.exceptions {
        p.extend(exception_block(n, *bits, !f.default_allow));
    }
    p.push(insn(ALU32_MOV_K, R0, 0, 0, i32::from(f.default_allow)));
    p.push(insn(JMP_EXIT, 0, 0, 0, 0));
    p
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a repr(C) prefix of `union bpf_attr` of the size we pass; the
    // kernel zero-extends the rest.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Loads `insns` as a cgroup device program; the verifier's log comes with a refusal.
pub(crate) fn load(insns: &[Insn]) -> Result<OwnedFd, CgroupError> {
    let license = c"Apache";
    let mut log = vec![0u8; 64 * 1024];
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    attr.prog_name[..4].copy_from_slice(b"quai");
    let fd = match bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => fd,
        Err(first) => {
            // Load again with the verifier log, to say why.
            attr.log_level = 1;
            attr.log_size = log.len() as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            return Err(CgroupError::Unsupported(format!(
                "linux.resources.devices: loading the cgroup v2 device BPF program: {first}{}{text}",
                if text.is_empty() { "" } else { ": " }
            )));
        }
    };
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attaches `prog` to the cgroup directory `dir` (alongside any program already
/// attached, as runc does; every attached program must allow an access).
pub(crate) fn attach(prog: &OwnedFd, dir: &Path) -> Result<(), CgroupError> {
    let d = std::fs::File::open(dir).map_err(|source| CgroupError::Io {
        what: "open",
        path: dir.to_path_buf(),
        source,
    })?;
    let mut attr = ProgAttachAttr {
        target_fd: d.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|source| CgroupError::Io {
        what: "attach the device BPF program to",
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(())
}

/// Builds, loads and attaches the device program for the spec's rules and runc's
/// defaults (minus those `linux.devices` replaces).
pub fn apply(
    dir: &Path,
    spec_rules: &[LinuxDeviceCgroup],
    spec_devices: &[LinuxDevice],
) -> Result<(), CgroupError> {
    let filter = Filter::from_rules(&rule_list(spec_rules, spec_devices)?)?;
    let prog = load(&program(&filter))?;
    attach(&prog, dir)
}

#[cfg(test)]
pub(crate) mod interp {
    //! A tiny interpreter for the instructions `program` emits, so the rule logic is
    //! tested without root or a kernel.
    use super::*;

    /// Runs `p` on a device access; returns R0.
    pub(crate) fn run(p: &[Insn], typ: i32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [((access << 16) | typ as u32), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => r[dst] = u64::from(ctx[i.off as usize / 4]),
                ALU32_AND_K => r[dst] = (r[dst] as u32 & i.imm as u32) as u64,
                ALU32_RSH_K => r[dst] = ((r[dst] as u32) >> i.imm) as u64,
                ALU32_MOV_K => r[dst] = i.imm as u32 as u64,
                ALU32_MOV_X => r[dst] = r[src] as u32 as u64,
                JMP_JNE_K => {
                    if r[dst] != i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JMP_JEQ_K => {
                    if r[dst] == i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JMP_JNE_X => {
                    if r[dst] != r[src] {
                        pc += i.off as usize;
                    }
                }
                JMP_EXIT => return r[0],
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::device_filter::tests::{devices, generated_lists};
    use super::super::super::device_rules::{ACC_MKNOD, ACC_READ, ACC_WRITE};
    use super::interp::run;
    use super::*;
    use crate::spec::LinuxDevice;

    fn filter(json: &str, devices: &str) -> Filter {
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(json).unwrap();
        let devs: Vec<LinuxDevice> = serde_json::from_str(devices).unwrap();
        Filter::from_rules(&rule_list(&spec, &devs).unwrap()).unwrap()
    }

    const RW: u32 = ACC_READ | ACC_WRITE;

    #[test]
    fn the_program_answers_as_the_v1_list() {
        for rules in generated_lists(3000) {
            let Ok(f) = Filter::from_rules(&rules) else {
                continue;
            };
            let p = program(&f);
            for (typ, major, minor) in devices() {
                let t = if typ == DevType::Block {
                    DEV_BLOCK
                } else {
                    DEV_CHAR
                };
                for acc in 1..=ACC_ALL {
                    assert_eq!(
                        run(&p, t, acc, major, minor) == 1,
                        f.allows(typ, major, minor, acc),
                        "{} on {typ:?} {major}:{minor} access {acc}",
                        f.describe()
                    );
                }
            }
        }
    }

    #[test]
    fn deny_all_then_defaults() {
        let p = program(&filter(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"}]"#,
            r#"[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]"#,
        ));
        assert_eq!(run(&p, DEV_CHAR, RW, 1, 3), 1, "null");
        assert_eq!(run(&p, DEV_CHAR, RW, 136, 7), 1, "pts");
        assert_eq!(run(&p, DEV_CHAR, RW, 10, 200), 1, "tun");
        assert_eq!(run(&p, DEV_CHAR, RW, 10, 229), 1, "fuse, allowed rw");
        assert_eq!(
            run(&p, DEV_CHAR, ACC_MKNOD, 10, 229),
            1,
            "mknod of any char"
        );
        assert_eq!(
            run(&p, DEV_CHAR, RW | ACC_MKNOD, 10, 229),
            0,
            "rwm exceeds rw"
        );
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 11), 0, "kmsg denied");
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 0, "sda denied");
        assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 1, "mknod of any block");
    }

    #[test]
    fn linux_devices_add_no_rule() {
        // A node in linux.devices, denied by the rules: stays denied.
        let p = program(&filter(
            r#"[{"allow":false,"access":"rwm"},{"allow":false,"type":"c","major":10,"minor":229,"access":"rwm"}]"#,
            r#"[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]"#,
        ));
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 10, 229), 0);
        // /dev/null in linux.devices drops the default that allowed it.
        let p = program(&filter(
            r#"[{"allow":false,"access":"rwm"}]"#,
            r#"[{"path":"/dev/null","type":"c","major":1,"minor":3}]"#,
        ));
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 5), 1, "zero");
    }

    #[test]
    fn allow_all_then_deny() {
        let p = program(&filter(
            r#"[{"allow":true,"access":"rwm"},{"allow":false,"type":"c","major":1,"minor":11,"access":"w"}]"#,
            "[]",
        ));
        assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 11), 1);
        assert_eq!(run(&p, DEV_CHAR, RW, 1, 11), 0, "rw holds the denied w");
        assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
    }

    #[test]
    fn encoding() {
        // ldxw r2, [r1+0] = 61 12 00 00 00 00 00 00
        let i = insn(LDX_MEM_W, R2, R1, 0, 0);
        assert_eq!((i.code, i.regs), (0x61, 0x12));
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::size_of::<ProgAttachAttr>(), 20);
    }
}
