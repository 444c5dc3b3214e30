//! cgroup2 directories for `CLONE_INTO_CGROUP` (documented in the `isolate` layer).

use super::error::IsolationError;
use crate::errno::Errno;
use crate::probe::Features;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// `CGROUP2_SUPER_MAGIC` (statfs(2)).
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// `CGROUP_SUPER_MAGIC`: a cgroup v1 hierarchy.
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

/// Where the cgroup2 hierarchy is mounted, if it is.
pub fn cgroup2_mount() -> Option<&'static Path> {
    Features::probe().cgroup2_mount.as_deref()
}

/// Opens `dir` as `O_PATH | O_DIRECTORY | O_CLOEXEC` (all `CLONE_INTO_CGROUP` needs) and
/// checks with fstatfs(2) that it is a directory of the cgroup2 hierarchy: anything else
/// would make clone3 fail with a bare `EBADF`.
pub fn open_cgroup2_dir(dir: &Path) -> Result<OwnedFd, IsolationError> {
    use rustix::fs::OFlags;
    let op = || format!("open cgroup {}", dir.display());
    let fd = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| {
        let errno = Errno(e.raw_os_error());
        let (cause, hint) = match errno.0 {
            libc::ENOENT => ("no such directory", mount_hint()),
            libc::ENOTDIR => (
                "not a directory (give the cgroup's directory, not a file in it)",
                mount_hint(),
            ),
            libc::EACCES => ("a directory on the way is not searchable", String::new()),
            libc::EMFILE | libc::ENFILE => (
                "no descriptor is left to open it",
                "close descriptors or raise the limit (ulimit -n)".to_string(),
            ),
            _ => ("it cannot be opened", String::new()),
        };
        IsolationError::new(op(), Some(errno), cause, hint)
    })?;
    let st = rustix::fs::fstatfs(&fd).map_err(|e| {
        IsolationError::new(op(), Some(Errno(e.raw_os_error())), "fstatfs failed", "")
    })?;
    let magic = st.f_type as i64;
    if magic != CGROUP2_SUPER_MAGIC {
        let what = if magic == CGROUP_SUPER_MAGIC {
            "a cgroup v1 hierarchy".to_string()
        } else {
            format!("a filesystem of type {magic:#x}")
        };
        return Err(IsolationError::new(
            op(),
            None,
            format!("not a cgroup2 directory: it is on {what} (clone3 would fail with EBADF)"),
            mount_hint(),
        ));
    }
    Ok(fd)
}

/// Where cgroup2 directories are, for a hint; read again when the probe found none, and
/// an error reading `/proc/self/mountinfo` is said as such, never as "not mounted".
fn mount_hint() -> String {
    let found = match cgroup2_mount() {
        Some(m) => Ok(Some(m.to_path_buf())),
        None => crate::probe::system::cgroup2_mount_checked(),
    };
    match found {
        Ok(Some(m)) => format!("give a directory under {} (the cgroup2 mount)", m.display()),
        Ok(None) => "mount the cgroup2 hierarchy (mount -t cgroup2 none DIR)".into(),
        Err(e) => format!(
            "the cgroup2 mount could not be looked up: {}: {e}",
            crate::probe::system::MOUNTINFO
        ),
    }
}

/// A cgroup directory this process created: removed (rmdir) on [`Cgroup::remove`] or,
/// best-effort, on drop. Removal fails with `EBUSY` while processes live in it.
#[derive(Debug)]
pub struct Cgroup {
    path: PathBuf,
    removed: bool,
}

impl Cgroup {
    /// Creates `parent/name` (`parent` must be a cgroup2 directory).
    pub fn create(parent: &Path, name: &str) -> Result<Self, IsolationError> {
        open_cgroup2_dir(parent)?;
        let path = parent.join(name);
        std::fs::create_dir(&path).map_err(|e| {
            IsolationError::new(
                format!("mkdir {}", path.display()),
                e.raw_os_error().map(Errno),
                "the cgroup could not be created",
                "create it under a cgroup you may write to (delegation: cgroups(7))",
            )
        })?;
        Ok(Cgroup {
            path,
            removed: false,
        })
    }

    /// Creates `name` directly under the cgroup2 mount.
    pub fn create_at_root(name: &str) -> Result<Self, IsolationError> {
        let root = match cgroup2_mount() {
            Some(m) => Ok(Some(m.to_path_buf())),
            None => crate::probe::system::cgroup2_mount_checked(),
        };
        let op = || format!("create cgroup {name}");
        match root {
            Ok(Some(root)) => Self::create(&root, name),
            Ok(None) => Err(IsolationError::new(
                op(),
                None,
                "no cgroup2 hierarchy is mounted (see /proc/self/mountinfo)",
                "mount -t cgroup2 none /sys/fs/cgroup",
            )),
            Err(errno) => Err(IsolationError::new(
                op(),
                Some(errno),
                "the cgroup2 mount could not be looked up in /proc/self/mountinfo",
                "",
            )),
        }
    }

    /// The directory's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory opened for `CLONE_INTO_CGROUP`.
    pub fn open(&self) -> Result<OwnedFd, IsolationError> {
        open_cgroup2_dir(&self.path)
    }

    /// Writes `value` into the cgroup's file `name` (e.g. `cgroup.type` = `threaded`).
    pub fn write(&self, name: &str, value: &str) -> std::io::Result<()> {
        std::fs::write(self.path.join(name), value)
    }

    /// Removes the directory (it must be empty of processes and child cgroups).
    pub fn remove(mut self) -> std::io::Result<()> {
        self.removed = true;
        std::fs::remove_dir(&self.path)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.removed {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_cgroup_directories_are_explained() {
        let e = open_cgroup2_dir(Path::new("/")).unwrap_err();
        assert!(e.cause.starts_with("not a cgroup2 directory"), "{e}");
        let e = open_cgroup2_dir(Path::new("/nonexistent-xclone")).unwrap_err();
        assert_eq!(e.errno, Some(Errno::ENOENT));
        let e = open_cgroup2_dir(Path::new("/proc/self/status")).unwrap_err();
        assert_eq!(e.errno, Some(Errno::ENOTDIR));
    }

    #[test]
    fn the_mount_opens() {
        match cgroup2_mount() {
            Some(m) => {
                open_cgroup2_dir(m).unwrap();
            }
            None => eprintln!("skipped: no cgroup2 hierarchy mounted"),
        }
    }
}
