//! The cgroup v2 driver: one directory in the unified tree, whose controllers must be
//! enabled in every ancestor's `cgroup.subtree_control`.

pub mod cpu;
pub mod devices_bpf;
pub mod freezer;
pub mod hugetlb;
pub mod io;
pub mod memory;
pub mod pids;
pub mod rdma;
pub mod stats;
pub mod unified;

use std::path::{Path, PathBuf};

use super::driver::Driver;
use super::layout::Mode;
use super::oom::OomWatch;
use super::stats::Stats;
use super::{files, CgroupError};
use crate::spec::{LinuxDevice, LinuxResources};

/// The v2 driver: the container's directory under the unified mount.
#[derive(Debug, Clone)]
pub struct V2 {
    mount: PathBuf,
    dir: PathBuf,
}

/// The controllers listed in `dir/cgroup.controllers` (available to `dir`).
pub(crate) fn controllers(dir: &Path) -> Vec<String> {
    files::read(dir, "cgroup.controllers")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The directories from `mount` down to `dir`'s parent: where `dir`'s controllers
/// must be enabled in `cgroup.subtree_control`.
fn ancestors(mount: &Path, dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut cur = dir.parent().map(Path::to_path_buf);
    while let Some(d) = cur {
        if !d.starts_with(mount) {
            break;
        }
        cur = if d == mount {
            None
        } else {
            d.parent().map(Path::to_path_buf)
        };
        out.push(d);
    }
    out.reverse();
    out
}

/// Enables `wanted` (those available) in each ancestor of `dir`, one at a time so
/// one refusal does not stop the others (runc's way).
fn enable(mount: &Path, dir: &Path, wanted: &[String], include_root: bool) {
    for a in ancestors(mount, dir) {
        if a == mount && !include_root {
            continue;
        }
        let avail = controllers(&a);
        let on = files::read(&a, "cgroup.subtree_control").unwrap_or_default();
        for c in wanted {
            if avail.contains(c) && !on.split_whitespace().any(|x| x == c) {
                let _ = files::write(&a, "cgroup.subtree_control", format!("+{c}"));
            }
        }
    }
}

/// Enables every controller the unified root offers on the way down to `dir`.
pub(crate) fn enable_all_controllers(mount: &Path, dir: &Path) {
    enable(mount, dir, &controllers(mount), true);
}

impl V2 {
    /// A driver for the cgroup directory `dir` under the unified `mount`.
    pub fn new(mount: PathBuf, dir: PathBuf) -> Self {
        V2 { mount, dir }
    }

    /// The container's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when the unified root has `controller` at all.
    pub fn offers(&self, controller: &str) -> bool {
        controllers(&self.mount).iter().any(|c| c == controller)
    }

    /// True when `controller` is enabled for the container's directory.
    pub fn has(&self, controller: &str) -> bool {
        controllers(&self.dir).iter().any(|c| c == controller)
    }

    /// Makes sure `controller` is enabled for the container's directory (enabling it
    /// in the ancestors below the root if the host offers it), or an error naming it.
    /// The root's `cgroup.subtree_control` is the host's (on a hybrid host, the
    /// machine's own unified tree): only `create` on a pure v2 host touches it, as runc.
    fn need(&self, controller: &str, field: &str) -> Result<&Path, CgroupError> {
        if !self.has(controller) {
            enable(&self.mount, &self.dir, &[controller.to_string()], false);
        }
        if self.has(controller) {
            Ok(&self.dir)
        } else {
            Err(CgroupError::Unsupported(format!(
                "linux.resources.{field}: the {controller} cgroup v2 controller is not available for {}",
                self.dir.display()
            )))
        }
    }

    /// Writes `res`; the BPF device program too when `spec_devices` is given.
    pub(crate) fn set(
        &self,
        res: &LinuxResources,
        spec_devices: Option<&[LinuxDevice]>,
    ) -> Result<(), CgroupError> {
        if let Some(p) = res.pids() {
            pids::apply(self.need("pids", "pids")?, p)?;
        }
        if let Some(m) = res.memory() {
            if memory::has_fields(m) {
                memory::apply(self.need("memory", "memory")?, m)?;
            }
        }
        if let Some(b) = res.block_io() {
            if io::has_fields(b) {
                io::apply(self.need("io", "blockIO")?, b)?;
            }
        }
        if let Some(c) = res.cpu() {
            if cpu::has_cpu_fields(c) {
                cpu::apply(self.need("cpu", "cpu")?, c)?;
            }
            if c.cpus().as_ref().is_some_and(|s| !s.is_empty())
                || c.mems().as_ref().is_some_and(|s| !s.is_empty())
            {
                cpu::apply_cpuset(self.need("cpuset", "cpu.cpus")?, c)?;
            }
        }
        if let Some(h) = res.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
            hugetlb::apply(self.need("hugetlb", "hugepageLimits")?, h)?;
        }
        if let Some(r) = res.rdma().as_ref().filter(|r| !r.is_empty()) {
            rdma::apply(self.need("rdma", "rdma")?, r)?;
        }
        if res.network().is_some() {
            return Err(CgroupError::Unsupported(
                "linux.resources.network: net_cls and net_prio do not exist on cgroup v2".into(),
            ));
        }
        if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
            unified::apply(self, u)?;
        }
        if let Some(spec) = spec_devices {
            let rules = res.devices().as_deref().unwrap_or(&[]);
            devices_bpf::apply(&self.dir, rules, spec)?;
        }
        Ok(())
    }

    /// Fills the sections of `stats` whose controllers are enabled here.
    pub(crate) fn fill_stats(&self, s: &mut Stats) -> Result<(), CgroupError> {
        let on = controllers(&self.dir);
        let has = |c: &str| on.iter().any(|x| x == c);
        if has("cpu") {
            stats::cpu(&self.dir, &mut s.cpu)?;
        }
        if has("memory") {
            stats::memory(&self.dir, &mut s.memory)?;
        }
        if has("pids") {
            stats::pids(&self.dir, &mut s.pids)?;
        }
        if has("io") {
            stats::io(&self.dir, &mut s.blkio)?;
        }
        if has("hugetlb") {
            stats::hugetlb(&self.dir, &mut s.hugetlb)?;
        }
        Ok(())
    }
}

impl Driver for V2 {
    fn mode(&self) -> Mode {
        Mode::V2
    }

    fn apply(&self, res: &LinuxResources, spec_devices: &[LinuxDevice]) -> Result<(), CgroupError> {
        self.set(res, Some(spec_devices))
    }

    fn update(&self, res: &LinuxResources) -> Result<(), CgroupError> {
        self.set(res, None)
    }

    fn freeze(&self) -> Result<(), CgroupError> {
        freezer::freeze(&self.dir)
    }

    fn thaw(&self) -> Result<(), CgroupError> {
        freezer::thaw(&self.dir)
    }

    fn is_frozen(&self) -> Result<bool, CgroupError> {
        freezer::is_frozen(&self.dir)
    }

    fn stats(&self) -> Result<Stats, CgroupError> {
        let mut s = Stats::default();
        self.fill_stats(&mut s)?;
        Ok(s)
    }

    fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        memory::oom_kill_count(self.need("memory", "memory")?)
    }

    fn oom_watch(&self) -> Result<OomWatch, CgroupError> {
        OomWatch::v2(self.need("memory", "memory")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::testutil::FakeDir;

    #[test]
    fn enables_controllers_down_the_tree() {
        let d = FakeDir::new(&[
            ("cgroup.controllers", "cpu memory pids"),
            ("cgroup.subtree_control", ""),
            ("quai/cgroup.controllers", "cpu memory pids"),
            ("quai/cgroup.subtree_control", ""),
            ("quai/c1/cgroup.controllers", "memory"),
        ]);
        let v = V2::new(d.path().to_path_buf(), d.path().join("quai/c1"));
        assert_eq!(
            ancestors(d.path(), &d.path().join("quai/c1")),
            vec![d.path().to_path_buf(), d.path().join("quai")]
        );
        assert!(v.need("memory", "memory").is_ok());
        // Not enabled by the fake kernel: the error names the controller.
        let e = v.need("pids", "pids").unwrap_err().to_string();
        assert!(e.contains("pids cgroup v2 controller"), "{e}");
        assert_eq!(d.get("quai/cgroup.subtree_control"), "+pids");
        assert!(v.offers("cpu") && !v.offers("io"));
    }

    #[test]
    fn network_is_refused() {
        let d = FakeDir::new(&[]);
        let v = V2::new(d.path().to_path_buf(), d.path().join("x"));
        let r: LinuxResources = serde_json::from_str(r#"{"network":{"classID":1}}"#).unwrap();
        assert!(v.update(&r).unwrap_err().to_string().contains("network"));
    }
}
