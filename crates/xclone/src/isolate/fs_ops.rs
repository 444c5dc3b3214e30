//! A sandbox's file tree as bubblewrap describes it: a list of operations (`--bind`,
//! `--tmpfs`, `--dev`, `--symlink`, …) applied in order to a new root.
//!
//! The new root is an empty `tmpfs` (bubblewrap's default) or a directory of the parent's
//! tree ([`Filesystem::base`], `--root DIR`). Sources of binds are paths of the parent's
//! tree; destinations are paths in the new root. The crate-private `fs_plan` turns the list
//! into the child's raw steps.

use std::ffi::OsString;
use std::fmt;
use std::os::fd::RawFd;
use std::path::PathBuf;

/// How a bind mount is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BindKind {
    /// Read-only (`--ro-bind`): every mount of the bound tree is made read-only.
    pub read_only: bool,
    /// Device nodes keep working (`--dev-bind`); otherwise the bind is `nodev`.
    pub devices: bool,
    /// A missing source skips the operation (`--bind-try` and friends).
    pub try_: bool,
}

/// One operation on the new root, as bubblewrap names it. Destinations are absolute paths
/// inside the new root (a relative one is taken from its `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FsOp {
    /// `--bind`, `--ro-bind`, `--dev-bind` and their `-try` forms: `src` of the parent's
    /// tree, recursively (`MS_BIND | MS_REC`), always `nosuid`.
    Bind {
        /// The path bound, in the parent's tree.
        src: PathBuf,
        /// Where it appears in the new root.
        dest: PathBuf,
        /// Read-only, with devices, optional.
        kind: BindKind,
    },
    /// `--remount-ro DEST`: that mount only (not the ones below it).
    RemountRo {
        /// The mount point in the new root.
        dest: PathBuf,
    },
    /// `--tmpfs DEST` with `--perms` (default 0755) and `--size` (bytes).
    Tmpfs {
        /// The mount point in the new root.
        dest: PathBuf,
        /// Mode of its root directory (`mode=` of tmpfs(5)); `None`: 0755.
        perms: Option<u32>,
        /// Size limit in bytes (`size=` of tmpfs(5)); `None`: the kernel's default, half of
        /// the RAM.
        size: Option<u64>,
    },
    /// `--dev DEST`: a `tmpfs` with `null zero full random urandom tty` bound from the
    /// parent's `/dev`, `console` (the parent's terminal, if its stdin is one), a new `devpts`
    /// instance on `pts` with `ptmx` linked to it, `shm`, and the `fd`, `stdin`, `stdout`,
    /// `stderr` and `core` links.
    Dev {
        /// The mount point in the new root (usually `/dev`).
        dest: PathBuf,
    },
    /// `--proc DEST`: a new `proc` when the child is in a pid namespace other than the
    /// caller's (`CLONE_NEWPID`, or one the caller joined for its children with setns);
    /// otherwise the caller's `/proc` bound recursively (`nosuid,nodev`), as bubblewrap does
    /// (mounting a proc needs `CAP_SYS_ADMIN` over the user namespace that owns the pid
    /// namespace). Either way `sys`, `sysrq-trigger`, `irq` and `bus` are made read-only
    /// where they are writable.
    Proc {
        /// The mount point in the new root (usually `/proc`).
        dest: PathBuf,
    },
    /// `--mqueue DEST`: a new `mqueue` file system (mq_overview(7)), which shows the POSIX
    /// message queues of the child's IPC namespace.
    Mqueue {
        /// The mount point in the new root (usually `/dev/mqueue`).
        dest: PathBuf,
    },
    /// `--dir DEST` (with `--perms`, default 0755); parents are created 0755.
    Dir {
        /// The directory in the new root.
        dest: PathBuf,
        /// Its mode; `None`: 0755.
        perms: Option<u32>,
    },
    /// `--symlink TARGET DEST`: an existing identical link is accepted.
    Symlink {
        /// What the link points at (not resolved; may be relative).
        target: OsString,
        /// The link in the new root.
        dest: PathBuf,
    },
    /// `--file FD DEST` (with `--perms`, default 0666): a file with what `fd` yields; `fd`
    /// is closed in the child afterwards.
    File {
        /// The descriptor read to its end (in the child, before exec).
        fd: RawFd,
        /// The file created in the new root.
        dest: PathBuf,
        /// Its mode; `None`: 0666.
        perms: Option<u32>,
    },
    /// `--bind-data FD DEST` / `--ro-bind-data` (with `--perms`, default 0600): what `fd`
    /// yields, in a file outside the new root bind-mounted on `dest`.
    BindData {
        /// The descriptor read to its end.
        fd: RawFd,
        /// Where the file is bound in the new root.
        dest: PathBuf,
        /// `--ro-bind-data`: the bind is read-only.
        read_only: bool,
        /// The file's mode; `None`: 0600.
        perms: Option<u32>,
    },
    /// `--chmod OCTAL PATH`.
    Chmod {
        /// The new mode (chmod(2)).
        perms: u32,
        /// The path in the new root.
        path: PathBuf,
    },
}

impl FsOp {
    /// The option that asks for it, as bubblewrap spells it.
    pub fn option(&self) -> &'static str {
        match self {
            FsOp::Bind { kind, .. } => match (kind.read_only, kind.devices, kind.try_) {
                (true, _, false) => "--ro-bind",
                (true, _, true) => "--ro-bind-try",
                (false, true, false) => "--dev-bind",
                (false, true, true) => "--dev-bind-try",
                (false, false, false) => "--bind",
                (false, false, true) => "--bind-try",
            },
            FsOp::RemountRo { .. } => "--remount-ro",
            FsOp::Tmpfs { .. } => "--tmpfs",
            FsOp::Dev { .. } => "--dev",
            FsOp::Proc { .. } => "--proc",
            FsOp::Mqueue { .. } => "--mqueue",
            FsOp::Dir { .. } => "--dir",
            FsOp::Symlink { .. } => "--symlink",
            FsOp::File { .. } => "--file",
            FsOp::BindData {
                read_only: true, ..
            } => "--ro-bind-data",
            FsOp::BindData { .. } => "--bind-data",
            FsOp::Chmod { .. } => "--chmod",
        }
    }
}

impl fmt::Display for FsOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.option())?;
        match self {
            FsOp::Bind { src, dest, .. } => write!(f, " {} {}", src.display(), dest.display()),
            FsOp::RemountRo { dest }
            | FsOp::Tmpfs { dest, .. }
            | FsOp::Dev { dest }
            | FsOp::Proc { dest }
            | FsOp::Mqueue { dest }
            | FsOp::Dir { dest, .. } => write!(f, " {}", dest.display()),
            FsOp::Symlink { target, dest } => {
                write!(f, " {} {}", target.to_string_lossy(), dest.display())
            }
            FsOp::File { fd, dest, .. } | FsOp::BindData { fd, dest, .. } => {
                write!(f, " {fd} {}", dest.display())
            }
            FsOp::Chmod { perms, path } => write!(f, " {perms:o} {}", path.display()),
        }
    }
}

/// A sandbox's whole file tree: the base of the new root and the operations on it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filesystem {
    /// `None`: an empty `tmpfs` (bubblewrap's default). `Some(dir)`: `dir` of the parent's
    /// tree, bound recursively (`--root DIR`, pivot_root onto it).
    pub base: Option<PathBuf>,
    /// The operations, applied in this order (as bubblewrap applies its options).
    pub ops: Vec<FsOp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_as_bwrap_spells_them() {
        let b = |read_only, devices, try_| FsOp::Bind {
            src: "/a".into(),
            dest: "/b".into(),
            kind: BindKind {
                read_only,
                devices,
                try_,
            },
        };
        assert_eq!(b(true, false, false).to_string(), "--ro-bind /a /b");
        assert_eq!(b(false, true, true).option(), "--dev-bind-try");
        assert_eq!(b(false, false, false).option(), "--bind");
        let c = FsOp::Chmod {
            perms: 0o750,
            path: "/x".into(),
        };
        assert_eq!(c.to_string(), "--chmod 750 /x");
    }
}
