//! The system calls a spawned child makes between clone and exec, as safe functions over
//! prepared data (`&CStr`, [`CStrArray`], plain integers).
//!
//! They are raw calls (see [`super::syscall`]): no libc, no `errno`, no allocation, no locks,
//! no panics — fit for a `CLONE_VM` child that runs on the parent thread's TLS and heap.
//! File-descriptor arguments are plain numbers because the child works on its *own copy* of
//! the descriptor table (a spawn never uses `CLONE_FILES`); these functions are therefore
//! crate-private.
//!
//! Identity changes (`setuid` & co.) are the raw per-thread calls: right here, since the
//! child has exactly one thread (glibc's wrappers would try to broadcast to the parent's
//! threads).

use super::cstr_array::CStrArray;
use super::syscall::{nr, result, syscall6, RawErrno};
use core::ffi::CStr;
use std::os::fd::RawFd;

type R<T = ()> = Result<T, RawErrno>;

/// `dup3(old, new, 0)`: `new` becomes a copy of `old` without close-on-exec.
pub(crate) fn dup3(old: RawFd, new: RawFd) -> R {
    // SAFETY: integer arguments only.
    result(unsafe { syscall6(nr::DUP3, old as usize, new as usize, 0, 0, 0, 0) }).map(|_| ())
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec copy numbered `min` or higher.
pub(crate) fn dup_cloexec_above(fd: RawFd, min: RawFd) -> R<RawFd> {
    // SAFETY: integer arguments only.
    result(unsafe {
        syscall6(
            nr::FCNTL,
            fd as usize,
            libc::F_DUPFD_CLOEXEC as usize,
            min as usize,
            0,
            0,
            0,
        )
    })
    .map(|fd| fd as RawFd)
}

/// Clears `FD_CLOEXEC` on `fd` (for a descriptor mapped onto its own number).
pub(crate) fn clear_cloexec(fd: RawFd) -> R {
    // SAFETY: integer arguments only.
    result(unsafe { syscall6(nr::FCNTL, fd as usize, libc::F_SETFD as usize, 0, 0, 0, 0) })
        .map(|_| ())
}

/// `chdir(path)`.
pub(crate) fn chdir(path: &CStr) -> R {
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    result(unsafe { syscall6(nr::CHDIR, path.as_ptr() as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// `setsid()`.
pub(crate) fn setsid() -> R {
    // SAFETY: no arguments.
    result(unsafe { syscall6(nr::SETSID, 0, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// `setpgid(0, pgid)`: 0 makes the child the leader of a new group.
pub(crate) fn setpgid_self(pgid: i32) -> R {
    // SAFETY: integer arguments only.
    result(unsafe { syscall6(nr::SETPGID, 0, pgid as usize, 0, 0, 0, 0) }).map(|_| ())
}

/// `setgroups(groups)` for the calling thread.
pub(crate) fn setgroups(groups: &[u32]) -> R {
    // SAFETY: the pointer and length describe a live slice of gid_t-sized values.
    result(unsafe {
        syscall6(
            nr::SETGROUPS,
            groups.len(),
            groups.as_ptr() as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `setgid(gid)` for the calling thread.
pub(crate) fn setgid(gid: u32) -> R {
    // SAFETY: integer argument only.
    result(unsafe { syscall6(nr::SETGID, gid as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// `setuid(uid)` for the calling thread.
pub(crate) fn setuid(uid: u32) -> R {
    // SAFETY: integer argument only.
    result(unsafe { syscall6(nr::SETUID, uid as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// `prctl(PR_SET_PDEATHSIG, sig)`.
pub(crate) fn set_pdeathsig(sig: i32) -> R {
    // SAFETY: integer arguments only.
    result(unsafe {
        syscall6(
            nr::PRCTL,
            libc::PR_SET_PDEATHSIG as usize,
            sig as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
}

/// `getppid()`.
pub(crate) fn getppid() -> i32 {
    // SAFETY: no arguments; cannot fail.
    unsafe { syscall6(nr::GETPPID, 0, 0, 0, 0, 0, 0) as i32 }
}

/// `read(fd, buf)`, retried on `EINTR`: how many bytes came (0 at end of file).
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> R<usize> {
    loop {
        // SAFETY: the pointer and length describe a live, writable slice.
        let r = result(unsafe {
            syscall6(
                nr::READ,
                fd as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                0,
                0,
            )
        });
        if r != Err(libc::EINTR) {
            return r;
        }
    }
}

/// `write(fd, bytes)`: one call; returns how much was written.
pub(crate) fn write(fd: RawFd, bytes: &[u8]) -> R<usize> {
    // SAFETY: the pointer and length describe a live, readable slice.
    result(unsafe {
        syscall6(
            nr::WRITE,
            fd as usize,
            bytes.as_ptr() as usize,
            bytes.len(),
            0,
            0,
            0,
        )
    })
}

/// `ppoll` of one descriptor without waiting: whether reading it would not block (data, end
/// of file or an error are pending). (`ppoll`, not `poll`: arm64 and riscv64 have only it.)
pub(crate) fn readable_now(fd: RawFd) -> R<bool> {
    let mut p = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    Ok(poll_in(&mut p, false)? > 0)
}

/// `ppoll` for `POLLIN` of the descriptors in `fds` (their `events` are used as given): waits
/// until one is ready when `wait`, else only looks. The number ready; `revents` filled in.
pub(crate) fn poll_in(fds: &mut [libc::pollfd], wait: bool) -> R<usize> {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let timeout = if wait {
        0
    } else {
        &zero as *const libc::timespec as usize
    };
    // SAFETY: `fds.len()` live `struct pollfd`s and, unless waiting without limit (NULL), one
    // `struct timespec` on our stack; no signal mask (NULL, so its size is not read).
    result(unsafe {
        syscall6(
            nr::PPOLL,
            fds.as_mut_ptr() as usize,
            fds.len(),
            timeout,
            0,
            0,
            0,
        )
    })
}

/// `execve(path, argv, envp)`. Returns only on failure, with the errno.
pub(crate) fn execve(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> RawErrno {
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NULL-terminated arrays of
    // pointers to NUL-terminated strings, all owned by the arrays, which outlive the call.
    let ret = unsafe {
        syscall6(
            nr::EXECVE,
            path.as_ptr() as usize,
            argv.as_ptr() as usize,
            envp.as_ptr() as usize,
            0,
            0,
            0,
        )
    };
    match result(ret) {
        Err(e) => e,
        Ok(_) => libc::EINVAL, // execve does not return on success
    }
}
