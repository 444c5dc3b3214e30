//! The system calls of the init that a sandbox puts at PID 1 of its pid namespace
//! (bubblewrap's layout, `isolate::sandbox::Sandbox::init`): block the signals it handles
//! and read them from a signalfd, reap children, pass signals on, close every descriptor
//! but its own. It runs in a `CLONE_VM` child on the spawn's stack, so like
//! [`super::child`]: raw calls, no libc, no allocation, no locks, no panics.

use super::signal::SigSet;
use super::syscall::{nr, result, syscall6, RawErrno};
use std::os::fd::RawFd;

type R<T = ()> = Result<T, RawErrno>;

/// `__WALL`: wait for children whatever their exit signal.
const WALL: usize = 0x4000_0000;

/// Blocks `set` in the calling thread and returns a close-on-exec signalfd reading it.
pub(crate) fn block_into_signalfd(set: &SigSet) -> R<RawFd> {
    // SAFETY: `set` points at the 8 readable bytes of a kernel sigset; the old mask is not
    // asked for (NULL).
    result(unsafe {
        syscall6(
            nr::RT_SIGPROCMASK,
            libc::SIG_BLOCK as usize,
            set as *const SigSet as usize,
            0,
            core::mem::size_of::<SigSet>(),
            0,
            0,
        )
    })?;
    // SAFETY: fd -1 asks for a new signalfd; `set` is readable as above.
    result(unsafe {
        syscall6(
            nr::SIGNALFD4,
            usize::MAX,
            set as *const SigSet as usize,
            core::mem::size_of::<SigSet>(),
            libc::SFD_CLOEXEC as usize,
            0,
            0,
        )
    })
    .map(|fd| fd as RawFd)
}

/// Reads one signal from a signalfd: `(signo, si_code)`. Retries on `EINTR`.
pub(crate) fn read_signal(fd: RawFd) -> R<(i32, i32)> {
    let mut buf = [0u8; 128];
    if super::child::read(fd, &mut buf)? < 12 {
        return Err(libc::EIO);
    }
    // struct signalfd_siginfo: ssi_signo at 0, ssi_code at 8.
    let signo = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as i32;
    let code = i32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
    Ok((signo, code))
}

/// `wait4(-1, &status, WNOHANG | __WALL, NULL)`: `Some((pid, raw wait status))` of a child
/// that has ended, `None` when none has (or there are no children).
pub(crate) fn reap_any() -> R<Option<(i32, i32)>> {
    let mut status: i32 = 0;
    loop {
        // SAFETY: `status` is a live, writable i32; no rusage (NULL).
        let r = result(unsafe {
            syscall6(
                nr::WAIT4,
                usize::MAX, // -1: any child
                &mut status as *mut i32 as usize,
                libc::WNOHANG as usize | WALL,
                0,
                0,
                0,
            )
        });
        return match r {
            Err(libc::EINTR) => continue,
            Err(libc::ECHILD) | Ok(0) => Ok(None),
            Err(e) => Err(e),
            Ok(pid) => Ok(Some((pid as i32, status))),
        };
    }
}

/// `kill(pid, sig)`.
pub(crate) fn kill(pid: i32, sig: i32) -> R {
    // SAFETY: integer arguments only.
    result(unsafe { syscall6(nr::KILL, pid as usize, sig as usize, 0, 0, 0, 0) }).map(|_| ())
}

/// Closes every descriptor but `keep` (two numbers, in any order) with `close_range(2)`
/// (Linux 5.9); on an older kernel closes nothing and answers `ENOSYS`.
pub(crate) fn close_all_but(keep: [RawFd; 2]) -> R {
    let (a, b) = if keep[0] <= keep[1] {
        (keep[0], keep[1])
    } else {
        (keep[1], keep[0])
    };
    let range = |lo: u32, hi: u32| -> R {
        if lo > hi {
            return Ok(());
        }
        // SAFETY: integer arguments only; the descriptors closed are this process's own
        // copies (a spawn never shares its descriptor table).
        result(unsafe { syscall6(nr::CLOSE_RANGE, lo as usize, hi as usize, 0, 0, 0, 0) })
            .map(|_| ())
    };
    let (a, b) = (a.max(0) as u32, b.max(0) as u32);
    if a > 0 {
        range(0, a - 1)?;
    }
    if b > a + 1 {
        range(a + 1, b - 1)?;
    }
    range(b.saturating_add(1), u32::MAX)
}
