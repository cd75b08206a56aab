//! Attacks: each module plays a hostile image or a careless engine against one class of
//! escape or leak, and checks the host side (mountinfo of the container's init,
//! `/proc/<pid>/status`, host files, cgroup files), not only quai's exit status.
//! Module names say the class they cover.

mod device_cgroup;
mod device_symlinks;
mod exe_overwrite;
mod leaked_fd_cwd;
mod no_pivot_procfs;
mod pid_reuse;
mod preserved_fds;
mod proc_mounts;
mod proc_writes;
mod races;
mod trusted_kernel_facts;
