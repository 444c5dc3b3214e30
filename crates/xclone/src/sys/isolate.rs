//! The isolation system calls a spawned child makes between clone and exec: mounts, root
//! changes, the host name, `no_new_privs`, time-namespace offsets, the handshake with the
//! parent, and exec through a descriptor.
//!
//! Same rules as [`super::child`]: raw calls on prepared data (`&CStr`, byte slices, plain
//! integers), no libc, no `errno`, no allocation, no locks, no panics. Descriptor numbers are
//! the child's own (a spawn never shares the descriptor table), hence crate-private.

use super::cstr_array::CStrArray;
use super::syscall::{nr, result, syscall6, RawErrno};
use core::ffi::CStr;
use std::os::fd::RawFd;

type R<T = ()> = Result<T, RawErrno>;

fn opt_ptr(s: Option<&CStr>) -> usize {
    s.map_or(0, |s| s.as_ptr() as usize)
}

/// `mount(source, target, fstype, flags, data)` (mount(2)); absent strings are NULL.
pub(crate) fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> R {
    // SAFETY: every pointer is NULL or a NUL-terminated string that outlives the call.
    result(unsafe {
        syscall6(
            nr::MOUNT,
            opt_ptr(source),
            target.as_ptr() as usize,
            opt_ptr(fstype),
            flags as usize,
            opt_ptr(data),
            0,
        )
    })
    .map(|_| ())
}

/// `umount2(target, flags)`.
pub(crate) fn umount2(target: &CStr, flags: i32) -> R {
    // SAFETY: `target` is NUL-terminated and outlives the call.
    result(unsafe {
        syscall6(
            nr::UMOUNT2,
            target.as_ptr() as usize,
            flags as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `pivot_root(new_root, put_old)` (pivot_root(2)).
pub(crate) fn pivot_root(new_root: &CStr, put_old: &CStr) -> R {
    // SAFETY: both are NUL-terminated strings that outlive the call.
    result(unsafe {
        syscall6(
            nr::PIVOT_ROOT,
            new_root.as_ptr() as usize,
            put_old.as_ptr() as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `chroot(path)`.
pub(crate) fn chroot(path: &CStr) -> R {
    // SAFETY: `path` is NUL-terminated and outlives the call.
    result(unsafe { syscall6(nr::CHROOT, path.as_ptr() as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// `sethostname(name, len)`: the name is bytes, not NUL-terminated.
pub(crate) fn sethostname(name: &[u8]) -> R {
    // SAFETY: pointer and length describe a live byte slice the kernel only reads.
    result(unsafe {
        syscall6(
            nr::SETHOSTNAME,
            name.as_ptr() as usize,
            name.len(),
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`.
pub(crate) fn set_no_new_privs() -> R {
    // SAFETY: integer arguments only.
    result(unsafe { syscall6(nr::PRCTL, libc::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0, 0, 0) })
        .map(|_| ())
}

/// `close(fd)`.
pub(crate) fn close(fd: RawFd) -> R {
    // SAFETY: integer argument; the child owns its copy of the descriptor table.
    result(unsafe { syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// Opens `path` write-only (close-on-exec), writes `bytes` in one `write()`, closes it. A
/// short write is `EIO`: the `/proc` files written this way take their content whole.
pub(crate) fn write_file(path: &CStr, bytes: &[u8]) -> R {
    let flags = libc::O_WRONLY | libc::O_CLOEXEC;
    // SAFETY: `path` is NUL-terminated and outlives the call; AT_FDCWD and the flags are
    // integers.
    let fd = result(unsafe {
        syscall6(
            nr::OPENAT,
            libc::AT_FDCWD as usize,
            path.as_ptr() as usize,
            flags as usize,
            0,
            0,
            0,
        )
    })? as RawFd;
    let written = super::child::write(fd, bytes);
    let _ = close(fd);
    match written {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(libc::EIO),
        Err(e) => Err(e),
    }
}

/// Reads one byte from `fd`, retrying on `EINTR`: `Ok(true)` if a byte came, `Ok(false)` at
/// end of file.
pub(crate) fn read_byte(fd: RawFd) -> R<bool> {
    let mut b = [0u8; 1];
    super::child::read(fd, &mut b).map(|n| n == 1)
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`: executes the file `fd` refers to (an
/// `O_PATH` descriptor will do). Returns only on failure, with the errno.
pub(crate) fn execveat_fd(fd: RawFd, argv: &CStrArray, envp: &CStrArray) -> RawErrno {
    let empty = c"";
    // SAFETY: `empty` is a static NUL-terminated string; `argv` and `envp` are
    // NULL-terminated arrays of NUL-terminated strings owned by the arrays, which outlive
    // the call.
    let ret = unsafe {
        syscall6(
            nr::EXECVEAT,
            fd as usize,
            empty.as_ptr() as usize,
            argv.as_ptr() as usize,
            envp.as_ptr() as usize,
            libc::AT_EMPTY_PATH as usize,
            0,
        )
    };
    match result(ret) {
        Err(e) => e,
        Ok(_) => libc::EINVAL, // execveat does not return on success
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn write_file_writes_whole() {
        let path = std::env::temp_dir().join(format!("xclone-sys-isolate-{}", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        write_file(&c, b"monotonic 1 0\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"monotonic 1 0\n");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(write_file(&c, b"x"), Err(libc::ENOENT));
    }

    #[test]
    fn read_byte_sees_data_then_eof() {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        rustix::io::write(&w, b"g").unwrap();
        drop(w);
        assert_eq!(read_byte(r.as_raw_fd()), Ok(true));
        assert_eq!(read_byte(r.as_raw_fd()), Ok(false));
        assert_eq!(read_byte(-1), Err(libc::EBADF));
    }

    #[test]
    fn refusals_come_back_as_errnos() {
        // Not a mount point / no such directory: answered before any privilege matters.
        assert_eq!(umount2(c"/nonexistent-xclone-dir", 0), Err(libc::ENOENT));
        assert_eq!(chroot(c"/nonexistent-xclone-dir"), Err(libc::ENOENT));
        assert_eq!(close(-1), Err(libc::EBADF));
        let argv = crate::sys::cstr_array::CStrArrayBuilder::default().finish();
        assert_eq!(execveat_fd(-1, &argv, &argv), libc::EBADF);
    }
}
