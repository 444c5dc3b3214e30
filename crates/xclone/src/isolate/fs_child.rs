//! The child's side of a sandbox's file tree: the raw steps ([`Act`]) the parent compiled
//! (see `fs_plan`), and running one of them. Runs in a `CLONE_VM` child between clone and
//! exec: system calls on prepared `CString`s and integers, buffers on the stack, no
//! allocation.

use crate::sys::isolate as si;
use crate::sys::sandbox as ss;
use std::ffi::{CStr, CString};
use std::os::fd::RawFd;

/// `MOUNT_ATTR_*` of `<linux/mount.h>`.
pub(crate) const ATTR_RDONLY: u64 = 0x1;
pub(crate) const ATTR_NOSUID: u64 = 0x2;
pub(crate) const ATTR_NODEV: u64 = 0x4;

/// One raw step of the child.
#[derive(Debug)]
pub(crate) enum Act {
    Mkdir {
        path: CString,
        mode: u32,
    },
    Mount {
        src: Option<CString>,
        target: CString,
        fstype: Option<CString>,
        flags: u64,
        data: Option<CString>,
    },
    /// `mount_setattr` setting these `MOUNT_ATTR_*` bits.
    SetAttr {
        path: CString,
        recursive: bool,
        set: u64,
    },
    /// Bind `path` onto itself read-only, unless the caller cannot write it anyway.
    CoverRo {
        path: CString,
    },
    Pivot {
        new_root: CString,
        put_old: CString,
    },
    Umount {
        path: CString,
    },
    Chdir {
        path: CString,
    },
    Symlink {
        target: CString,
        link: CString,
    },
    /// An empty file to mount on, unless something is there already.
    Touch {
        path: CString,
    },
    /// A new file with what the descriptor yields.
    WriteFd {
        fd: RawFd,
        path: CString,
        mode: u32,
    },
    Chmod {
        path: CString,
        mode: u32,
    },
    Close {
        fd: RawFd,
    },
    Unlink {
        path: CString,
    },
}

/// One action's system calls.
pub(crate) fn run(act: &Act) -> Result<(), i32> {
    match act {
        Act::Mkdir { path, mode } => match ss::mkdir(path, *mode) {
            Err(libc::EEXIST) => Ok(()),
            r => r,
        },
        Act::Mount {
            src,
            target,
            fstype,
            flags,
            data,
        } => si::mount(
            src.as_deref(),
            target,
            fstype.as_deref(),
            *flags,
            data.as_deref(),
        ),
        Act::SetAttr {
            path,
            recursive,
            set,
        } => set_attr(path, *recursive, *set),
        Act::CoverRo { path } => match ss::writable(path) {
            Err(libc::EACCES | libc::ENOENT | libc::EROFS) => Ok(()),
            Err(e) => Err(e),
            Ok(()) => {
                si::mount(Some(path), path, None, libc::MS_BIND | libc::MS_REC, None)?;
                set_attr(path, false, ATTR_RDONLY)
            }
        },
        Act::Pivot { new_root, put_old } => si::pivot_root(new_root, put_old),
        Act::Umount { path } => si::umount2(path, libc::MNT_DETACH),
        Act::Chdir { path } => crate::sys::child::chdir(path),
        Act::Symlink { target, link } => match ss::symlink(target, link) {
            Err(libc::EEXIST) => {
                let mut buf = [0u8; 4096];
                match ss::readlink(link, &mut buf) {
                    Ok(n) if buf.get(..n) == Some(target.to_bytes()) => Ok(()),
                    _ => Err(libc::EEXIST),
                }
            }
            r => r,
        },
        Act::Touch { path } => match ss::is_dir(path) {
            Ok(_) => Ok(()),
            Err(_) => {
                let fd = ss::create(path, 0o444, false)?;
                si::close(fd)
            }
        },
        Act::WriteFd { fd, path, mode } => {
            let out = ss::create(path, *mode, true)?;
            let r = ss::copy_all(*fd, out);
            let _ = si::close(out);
            r?;
            // The creation mode was filtered by the umask; the asked one is exact.
            ss::chmod(path, *mode)
        }
        Act::Chmod { path, mode } => ss::chmod(path, *mode),
        Act::Close { fd } => si::close(*fd),
        Act::Unlink { path } => ss::unlink(path),
    }
}

/// `mount_setattr`, or on kernels before 5.12 (`ENOSYS`) what bubblewrap does there: a
/// remount (`MS_REMOUNT | MS_BIND`) of that mount, and when `recursive` of every mount below
/// it as `/proc/self/mountinfo` lists them, each with the flags it has already (nosuid,
/// nodev, noexec, the atime flags, read-only: a bind remount clears what it is not given)
/// plus the asked ones. A mount below that cannot be reached any more (`ENOENT`, `EACCES`)
/// is left as it is; any other failure is the step's. Where no `/proc` is reachable (the
/// plan builds in a root of its own, bubblewrap's layout, when a source lies in `/tmp`), the
/// mounts below are not found and only the top one is remounted.
fn set_attr(path: &CStr, recursive: bool, set: u64) -> Result<(), i32> {
    match ss::mount_setattr(path, recursive, set, 0) {
        Err(libc::ENOSYS) => {
            let mut asked = 0;
            for (attr, ms) in [
                (ATTR_RDONLY, libc::MS_RDONLY),
                (ATTR_NOSUID, libc::MS_NOSUID),
                (ATTR_NODEV, libc::MS_NODEV),
            ] {
                if set & attr != 0 {
                    asked |= ms;
                }
            }
            let kept_bits = libc::MS_RDONLY
                | libc::MS_NOSUID
                | libc::MS_NODEV
                | libc::MS_NOEXEC
                | libc::MS_NOATIME
                | libc::MS_NODIRATIME
                | libc::MS_RELATIME;
            let remount = |p: &CStr| -> Result<(), i32> {
                let kept = ss::mount_flags(p)? & kept_bits;
                si::mount(
                    None,
                    p,
                    None,
                    libc::MS_REMOUNT | libc::MS_BIND | kept | asked,
                    None,
                )
            };
            remount(path)?;
            if !recursive {
                return Ok(());
            }
            let top = path.to_bytes();
            let mut first = true;
            let r = ss::for_each_mount_below(path, &mut |p: &CStr| {
                first = false;
                if p.to_bytes() == top {
                    return Ok(());
                }
                match remount(p) {
                    Err(libc::ENOENT | libc::EACCES) => Ok(()),
                    r => r,
                }
            });
            match r {
                // No mountinfo to read (nothing was called): the top mount only.
                Err(libc::ENOENT) if first => Ok(()),
                r => r,
            }
        }
        r => r,
    }
}
