//! A private temporary directory for one test, removed with its contents on drop.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};

/// A new directory `$TMPDIR/PREFIX-PID-RANDOM`: unique among concurrent tests and test
/// processes; removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates the directory; `prefix` names the test (`xclone-restore-roundtrip`).
    pub fn new(prefix: &str) -> Self {
        let d = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}",
            std::process::id(),
            RandomState::new().hash_one(0) as u32
        ));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes the file `name` with `text`; its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Creates the FIFO `name` (mode 0600, mkfifo(3)); its path.
    pub fn fifo(&self, name: &str) -> PathBuf {
        let p = self.0.join(name);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
