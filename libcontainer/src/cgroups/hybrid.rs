//! The hybrid driver: controllers mounted on v1 are driven as v1; a controller that
//! sits on the unified tree instead (here, hugetlb) is driven as v2 in the container's
//! unified directory. Each resource goes to exactly one side.

use oci_spec::runtime::LinuxCpu;

use super::driver::Driver;
use super::layout::Mode;
use super::oom::OomWatch;
use super::stats::Stats;
use super::v1::V1;
use super::v2::V2;
use super::CgroupError;
use crate::spec::{LinuxDevice, LinuxResources};

/// v1 for what v1 has, v2 for the rest.
#[derive(Debug, Clone)]
pub struct Hybrid {
    v1: V1,
    v2: V2,
}

impl Hybrid {
    /// A hybrid driver over both halves.
    pub fn new(v1: V1, v2: V2) -> Self {
        Hybrid { v1, v2 }
    }

    /// True when `controller` should be driven through the unified tree.
    fn on_v2(&self, controller: &str) -> bool {
        !self.v1.has(controller) && self.v2.offers(controller)
    }

    /// Splits `res` into the part for v1 and the part for v2. A controller neither side
    /// has stays with v1, whose error names it.
    pub(crate) fn split(&self, res: &LinuxResources) -> (LinuxResources, LinuxResources) {
        let mut a = res.clone();
        let mut b = LinuxResources::default();
        // Each controller is looked up (a read of cgroup.controllers) only when the
        // spec sets its resources.
        if a.memory().is_some() && self.on_v2("memory") {
            b.set_memory(a.memory_mut().take());
        }
        if a.pids().is_some() && self.on_v2("pids") {
            b.set_pids(a.pids_mut().take());
        }
        if a.block_io().is_some() && self.on_v2("io") && !self.v1.has("blkio") {
            b.set_block_io(a.block_io_mut().take());
        }
        if a.hugepage_limits().is_some() && self.on_v2("hugetlb") {
            b.set_hugepage_limits(a.hugepage_limits_mut().take());
        }
        if a.rdma().is_some() && self.on_v2("rdma") {
            b.set_rdma(a.rdma_mut().take());
        }
        // unified keys only make sense on the unified tree.
        b.set_unified(a.unified_mut().take());
        if let Some(c) = a.cpu_mut().take() {
            let (cpu, cpuset) = split_cpu(c);
            let mut to_a = LinuxCpu::default();
            let mut to_b = LinuxCpu::default();
            merge_cpu(
                if self.on_v2("cpu") {
                    &mut to_b
                } else {
                    &mut to_a
                },
                cpu,
            );
            merge_cpu(
                if self.on_v2("cpuset") {
                    &mut to_b
                } else {
                    &mut to_a
                },
                cpuset,
            );
            if to_a != LinuxCpu::default() {
                a.set_cpu(Some(to_a));
            }
            if to_b != LinuxCpu::default() {
                b.set_cpu(Some(to_b));
            }
        }
        (a, b)
    }

    /// Devices go through v1's controller when mounted, else through v2's BPF.
    fn set(
        &self,
        res: &LinuxResources,
        spec_devices: Option<&[LinuxDevice]>,
    ) -> Result<(), CgroupError> {
        let (a, b) = self.split(res);
        let devices_on_v1 = self.v1.has("devices");
        self.v1.set(&a, spec_devices.filter(|_| devices_on_v1))?;
        if b != LinuxResources::default() || !devices_on_v1 && spec_devices.is_some() {
            self.v2
                .set(&b, spec_devices.filter(|_| !devices_on_v1))
                .map_err(|e| match e {
                    // runc refuses `unified` on any host that is not pure v2 with these
                    // words, which tools match; here keys of controllers the unified
                    // tree has still work.
                    CgroupError::Unsupported(m) if m.starts_with("linux.resources.unified") => {
                        CgroupError::Unsupported(format!(
                            "invalid configuration: {m} (a cgroup v1 host)"
                        ))
                    }
                    e => e,
                })?;
        }
        Ok(())
    }
}

/// The cpu controller's fields and the cpuset's, apart.
fn split_cpu(c: LinuxCpu) -> (LinuxCpu, LinuxCpu) {
    let mut cpuset = LinuxCpu::default();
    cpuset.set_cpus(c.cpus().clone());
    cpuset.set_mems(c.mems().clone());
    let mut cpu = c;
    cpu.set_cpus(None);
    cpu.set_mems(None);
    (cpu, cpuset)
}

/// Adds the fields set in `from` to `to`.
fn merge_cpu(to: &mut LinuxCpu, from: LinuxCpu) {
    macro_rules! take {
        ($get:ident, $set:ident) => {
            if from.$get().is_some() {
                to.$set(from.$get());
            }
        };
    }
    take!(shares, set_shares);
    take!(quota, set_quota);
    take!(period, set_period);
    take!(burst, set_burst);
    take!(idle, set_idle);
    take!(realtime_runtime, set_realtime_runtime);
    take!(realtime_period, set_realtime_period);
    if from.cpus().is_some() {
        to.set_cpus(from.cpus().clone());
    }
    if from.mems().is_some() {
        to.set_mems(from.mems().clone());
    }
}

impl Driver for Hybrid {
    fn mode(&self) -> Mode {
        Mode::Hybrid
    }

    fn apply(&self, res: &LinuxResources, spec_devices: &[LinuxDevice]) -> Result<(), CgroupError> {
        self.set(res, Some(spec_devices))
    }

    fn update(&self, res: &LinuxResources) -> Result<(), CgroupError> {
        self.set(res, None)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        if self.v1.has("freezer") {
            self.v1.freeze()
        } else {
            self.v2.freeze()
        }
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        if self.v1.has("freezer") {
            self.v1.thaw()
        } else {
            self.v2.thaw()
        }
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        if self.v1.has("freezer") {
            self.v1.is_frozen()
        } else {
            self.v2.is_frozen()
        }
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        self.v1.fill_stats(&mut s)?;
        // Only controllers enabled in the unified directory, which v1 does not have.
        let mut u = Stats::default();
        self.v2.fill_stats(&mut u)?;
        if !self.v1.has("hugetlb") {
            s.hugetlb = u.hugetlb;
        }
        if !self.v1.has("cpuacct") && !self.v1.has("cpu") && u.cpu != Default::default() {
            s.cpu = u.cpu;
        }
        if !self.v1.has("memory") && u.memory != Default::default() {
            s.memory = u.memory;
        }
        if !self.v1.has("pids") && u.pids != Default::default() {
            s.pids = u.pids;
        }
        if !self.v1.has("blkio") && u.blkio != Default::default() {
            s.blkio = u.blkio;
        }
        Ok(s)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        if self.v1.has("memory") {
            self.v1.oom_kill_count()
        } else {
            self.v2.oom_kill_count()
        }
    }

    fn oom_watch(&self) -> Result<OomWatch, CgroupError> {
        if self.v1.has("memory") {
            self.v1.oom_watch()
        } else {
            self.v2.oom_watch()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;
    use std::collections::BTreeMap;

    #[test]
    fn routes_each_resource_once() {
        let d = FakeDir::new(&[
            ("unified/cgroup.controllers", "hugetlb"),
            ("unified/c/cgroup.controllers", "hugetlb"),
            ("unified/c/hugetlb.2MB.max", "max"),
            ("memory/c/memory.limit_in_bytes", ""),
            ("cpu/c/cpu.shares", "1024"),
            ("cpuset/c/cpuset.cpus", ""),
            ("cpuset/c/cpuset.mems", ""),
        ]);
        let v1 = V1::new(BTreeMap::from([
            ("memory".to_string(), d.path().join("memory/c")),
            ("cpu".to_string(), d.path().join("cpu/c")),
            ("cpuset".to_string(), d.path().join("cpuset/c")),
        ]));
        let v2 = V2::new(d.path().join("unified"), d.path().join("unified/c"));
        let h = Hybrid::new(v1, v2);
        let res: LinuxResources = serde_json::from_str(
            r#"{"memory":{"limit":1048576},"cpu":{"shares":512,"cpus":"0"},
                "hugepageLimits":[{"pageSize":"2MB","limit":2097152}]}"#,
        )
        .unwrap();
        let (a, b) = h.split(&res);
        assert!(a.hugepage_limits().is_none() && b.hugepage_limits().is_some());
        assert!(a.memory().is_some() && b.memory().is_none());
        assert_eq!(a.cpu().as_ref().unwrap().cpus().as_deref(), Some("0"));
        h.update(&res).unwrap();
        assert_eq!(d.get("memory/c/memory.limit_in_bytes"), "1048576");
        assert_eq!(d.get("cpu/c/cpu.shares"), "512");
        assert_eq!(d.get("cpuset/c/cpuset.cpus"), "0");
        assert_eq!(d.get("unified/c/hugetlb.2MB.max"), "2097152");
        // A controller neither side has: the error names it.
        let net: LinuxResources = serde_json::from_str(r#"{"network":{"classID":1}}"#).unwrap();
        let e = h.update(&net).unwrap_err().to_string();
        assert!(e.contains("net_cls"), "{e}");
        let pids: LinuxResources = serde_json::from_str(r#"{"pids":{"limit":5}}"#).unwrap();
        assert!(h.update(&pids).unwrap_err().to_string().contains("pids"));
    }
}
