//! The cgroup v1 driver: one directory per controller hierarchy.

pub mod blkio;
pub mod cpu;
pub mod cpuset;
pub mod devices;
pub mod freezer;
pub mod hugetlb;
pub mod memory;
pub mod net;
pub mod pids;
pub mod rdma;
pub mod stats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::driver::Driver;
use super::layout::Mode;
use super::oom::OomWatch;
use super::stats::Stats;
use super::{files, CgroupError};
use crate::spec::{LinuxDevice, LinuxResources};

/// The v1 driver: the container's directory in each controller's hierarchy.
#[derive(Debug, Clone)]
pub struct V1 {
    dirs: BTreeMap<String, PathBuf>,
}

impl V1 {
    /// A driver over `dirs` (controller name -> the container's directory).
    pub fn new(dirs: BTreeMap<String, PathBuf>) -> Self {
        V1 { dirs }
    }

    /// True when `controller` is mounted.
    pub fn has(&self, controller: &str) -> bool {
        self.dirs.contains_key(controller)
    }

    /// The directory of `controller`, or an error naming it and the spec field.
    fn dir(&self, controller: &str, field: &str) -> Result<&Path, CgroupError> {
        self.dirs.get(controller).map(PathBuf::as_path).ok_or_else(|| {
            CgroupError::Unsupported(format!(
                "linux.resources.{field}: the {controller} cgroup controller is not mounted on this host"
            ))
        })
    }

    /// Writes `res`; device rules too when `spec_devices` is given.
    pub(crate) fn set(
        &self,
        res: &LinuxResources,
        spec_devices: Option<&[LinuxDevice]>,
    ) -> Result<(), CgroupError> {
        if let Some(m) = res.memory() {
            memory::apply(self.dir("memory", "memory")?, m)?;
        }
        if let Some(c) = res.cpu() {
            if cpu::has_cpu_fields(c) {
                cpu::apply(self.dir("cpu", "cpu")?, c)?;
            }
            if c.cpus().is_some() || c.mems().is_some() {
                cpuset::apply(self.dir("cpuset", "cpu.cpus")?, c)?;
            }
        }
        if let Some(p) = res.pids() {
            pids::apply(self.dir("pids", "pids")?, p)?;
        }
        if let Some(b) = res.block_io() {
            blkio::apply(self.dir("blkio", "blockIO")?, b)?;
        }
        if let Some(h) = res.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
            hugetlb::apply(self.dir("hugetlb", "hugepageLimits")?, h)?;
        }
        if let Some(n) = res.network() {
            if let Some(id) = n.class_id() {
                net::apply_class_id(self.dir("net_cls", "network.classID")?, id)?;
            }
            if let Some(p) = n.priorities().as_ref().filter(|p| !p.is_empty()) {
                net::apply_priorities(self.dir("net_prio", "network.priorities")?, p)?;
            }
        }
        if let Some(r) = res.rdma().as_ref().filter(|r| !r.is_empty()) {
            rdma::apply(self.dir("rdma", "rdma")?, r)?;
        }
        if res.unified().as_ref().is_some_and(|u| !u.is_empty()) {
            return Err(CgroupError::Unsupported(
                "linux.resources.unified needs the cgroup v2 (unified) hierarchy, which this host does not have".into(),
            ));
        }
        if let Some(spec) = spec_devices {
            match (res.devices().as_deref(), self.dirs.get("devices")) {
                (rules, Some(d)) => devices::apply(d, rules.unwrap_or(&[]), spec)?,
                // Nothing asked of a controller the host does not have.
                (None, None) => {}
                (Some(_), None) => {
                    self.dir("devices", "devices")?;
                }
            }
        }
        Ok(())
    }

    fn freezer_dir(&self) -> Result<&Path, CgroupError> {
        self.dirs
            .get("freezer")
            .map(PathBuf::as_path)
            .ok_or_else(|| {
                CgroupError::Unsupported(
                    "pause: the freezer cgroup controller is not mounted".into(),
                )
            })
    }

    /// Fills the sections of `stats` whose controllers this driver has.
    pub(crate) fn fill_stats(&self, s: &mut Stats) -> Result<(), CgroupError> {
        if let Some(d) = self.dirs.get("cpuacct") {
            stats::cpuacct(d, &mut s.cpu)?;
        }
        if let Some(d) = self.dirs.get("cpu") {
            stats::throttling(d, &mut s.cpu.throttling)?;
        }
        if let Some(d) = self.dirs.get("memory") {
            stats::memory(d, &mut s.memory)?;
        }
        if let Some(d) = self.dirs.get("pids") {
            stats::pids(d, &mut s.pids)?;
        }
        if let Some(d) = self.dirs.get("blkio") {
            stats::blkio(d, &mut s.blkio)?;
        }
        if let Some(d) = self.dirs.get("hugetlb") {
            stats::hugetlb(d, &mut s.hugetlb)?;
        }
        Ok(())
    }

    pub(crate) fn memory_dir(&self) -> Result<&Path, CgroupError> {
        self.dir("memory", "memory")
    }
}

impl Driver for V1 {
    fn mode(&self) -> Mode {
        Mode::V1
    }

    fn apply(&self, res: &LinuxResources, spec_devices: &[LinuxDevice]) -> Result<(), CgroupError> {
        self.set(res, Some(spec_devices))
    }

    fn update(&self, res: &LinuxResources) -> Result<(), CgroupError> {
        self.set(res, None)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(self.freezer_dir()?)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(self.freezer_dir()?)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        match self.dirs.get("freezer") {
            Some(d) => freezer::is_frozen(d),
            None => Ok(false),
        }
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        self.fill_stats(&mut s)?;
        Ok(s)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        memory::oom_kill_count(self.memory_dir()?)
    }

    fn oom_watch(&self) -> Result<OomWatch, CgroupError> {
        OomWatch::v1(self.memory_dir()?)
    }
}

/// Reads a key of `memory.oom_control`-style files; used by tests and stats.
pub(crate) fn keyed(dir: &Path, file: &str, key: &str) -> Result<u64, CgroupError> {
    Ok(files::flat_keyed(&files::read(dir, file)?)
        .get(key)
        .copied()
        .unwrap_or(0))
}
