//! A fake cgroup directory for unit tests: a temporary directory with the interface
//! files pre-created, so the drivers' writes can be checked without root.

use std::path::{Path, PathBuf};

/// A temporary directory removed on drop.
pub(crate) struct FakeDir(PathBuf);

impl FakeDir {
    /// Makes a directory holding `files` (name, content); names may contain `/`.
    pub(crate) fn new(files: &[(&str, &str)]) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("quai-cgfake-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fake dir");
        let d = FakeDir(dir);
        for (name, content) in files {
            d.put(name, content);
        }
        d
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    /// Creates or replaces a file.
    pub(crate) fn put(&self, name: &str, content: &str) {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("fake subdir");
        }
        std::fs::write(p, content).expect("fake file");
    }

    /// A file's content.
    pub(crate) fn get(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_else(|_| panic!("no {name}"))
    }
}

impl Drop for FakeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
