//! The raw calls behind [`crate::unshare`] and [`crate::setns`]: `unshare(2)`, `setns(2)` on
//! any descriptor, and `kcmp(2)`, which tells (read-only) whether two tasks share their
//! filesystem information, signal handlers or address space — what the kernel's
//! `fs->users`, `sighand->count` and `current_is_single_threaded()` checks look at.

use super::syscall::{result, syscall6};
use crate::errno::Errno;
use linux_raw_sys::general as k;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `unshare(flags)` for the calling thread, any bits (the kernel judges them).
///
/// Unsafe to call in general only in the sense that it changes the calling thread's
/// namespaces, descriptor table or filesystem information under the rest of the program; it
/// writes no memory. The public wrapper documents those effects.
pub fn unshare(flags: u64) -> Result<(), Errno> {
    // SAFETY: an integer argument only; the kernel reads and writes no user memory.
    result(unsafe { syscall6(k::__NR_unshare as usize, flags as usize, 0, 0, 0, 0, 0) })
        .map(|_| ())
        .map_err(Errno)
}

/// `setns(fd, nstype)` for the calling thread.
pub fn setns(fd: BorrowedFd<'_>, nstype: u64) -> Result<(), Errno> {
    setns_raw(fd.as_raw_fd(), nstype)
}

/// `setns` on a descriptor number that may not be open (for explaining `EBADF`).
pub fn setns_raw(fd: i32, nstype: u64) -> Result<(), Errno> {
    // SAFETY: integer arguments only; a number that is not an open descriptor is refused by
    // the kernel with EBADF.
    result(unsafe {
        syscall6(
            k::__NR_setns as usize,
            fd as usize,
            nstype as usize,
            0,
            0,
            0,
            0,
        )
    })
    .map(|_| ())
    .map_err(Errno)
}

/// What `kcmp` compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KcmpType {
    /// The address space (`KCMP_VM`).
    Vm = 1,
    /// Root, working directory and umask (`KCMP_FS`).
    Fs = 3,
    /// Signal handlers (`KCMP_SIGHAND`).
    Sighand = 4,
}

/// `kcmp(pid1, pid2, type, 0, 0)`: `Ok(true)` when both tasks share that resource. Needs
/// ptrace read access to both (`EPERM` otherwise) and a kernel with `CONFIG_KCMP`
/// (`ENOSYS`).
pub fn kcmp_same(pid1: i32, pid2: i32, what: KcmpType) -> Result<bool, Errno> {
    // SAFETY: integer arguments only; kcmp reads no user memory for these types.
    result(unsafe {
        syscall6(
            k::__NR_kcmp as usize,
            pid1 as usize,
            pid2 as usize,
            what as usize,
            0,
            0,
            0,
        )
    })
    .map(|v| v == 0)
    .map_err(Errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_answer() {
        // No flags: nothing to unshare, success.
        assert_eq!(unshare(0), Ok(()));
        assert_eq!(unshare(1 << 63), Err(Errno::EINVAL));
        assert_eq!(setns_raw(-1, 0), Err(Errno::EBADF));
        let me = rustix::thread::gettid().as_raw_nonzero().get();
        match kcmp_same(me, me, KcmpType::Fs) {
            Ok(same) => assert!(same),
            Err(e) => assert!(e == Errno::ENOSYS || e == Errno::EPERM, "{e:?}"),
        }
    }
}
