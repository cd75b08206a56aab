//! `/dev/console`: with a terminal, the container's console is its pty slave, bind-mounted
//! over an empty file as runc does, so programs that write to /dev/console reach it.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use super::{io_err, sys, RootfsError};
use crate::rootdir::RootfsDir;

/// After pivot_root: bind `slave` (a verified pty slave) onto `/dev/console`.
pub fn mount_console(slave: BorrowedFd<'_>) -> Result<(), RootfsError> {
    let console = Path::new("/dev/console");
    let root = RootfsDir::open(Path::new("/")).map_err(io_err("open", Path::new("/")))?;
    let target = root
        .create_file(console, 0o600)
        .map_err(io_err("create", console))?;
    let st = sys::fstat(target.as_fd()).map_err(io_err("stat", console))?;
    // An image may ship /dev/console as a node or file; never a directory or a link
    // (openat2 resolved it inside the root, so a link cannot lead out anyway).
    if sys::is_dir(&st) {
        return Err(RootfsError::WrongType {
            path: console.to_path_buf(),
            reason: "is a directory".into(),
        });
    }
    // Through the new mount API: no path of the container's own /proc is involved.
    let tree = sys::clone_tree(slave, false).map_err(io_err("clone the pty for", console))?;
    sys::move_mount(tree.as_fd(), target.as_fd()).map_err(io_err("bind the pty onto", console))
}
