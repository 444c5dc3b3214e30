//! pidfd system calls that rustix does not cover as needed (any signal number, including
//! real-time ones), and the raw-descriptor conversions of [`crate::PidFd`].

use super::syscall::{nr, result, syscall6};
use crate::pidfd::PidFd;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` (Linux 5.1). `sig` 0 only checks that the
/// process exists and may be signalled.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: a NULL siginfo asks the kernel to fill one in as kill(2) would; the rest are
    // integers.
    let ret = unsafe {
        syscall6(
            nr::PIDFD_SEND_SIGNAL,
            pidfd.as_raw_fd() as usize,
            sig as usize,
            0,
            0,
            0,
            0,
        )
    };
    result(ret)
        .map(|_| ())
        .map_err(io::Error::from_raw_os_error)
}

impl FromRawFd for PidFd {
    /// Takes ownership of a raw pidfd (or a `/proc/<pid>` directory descriptor, which
    /// `pidfd_send_signal` also accepts).
    ///
    /// # Safety
    /// `fd` must be an open descriptor that the caller owns and hands over.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: ownership is transferred by the caller's contract.
        PidFd::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Registers a pidfd with tokio's reactor for readability (the process exited).
#[cfg(feature = "tokio")]
pub(crate) fn async_readable(
    fd: BorrowedFd<'_>,
) -> io::Result<tokio::io::unix::AsyncFd<BorrowedFd<'_>>> {
    use tokio::io::{unix::AsyncFd, Interest};
    // SAFETY: the `BorrowedFd` keeps the descriptor open and naming the same pidfd for as
    // long as the returned `AsyncFd` (which holds it) lives.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from)
}

/// Registers an owned pidfd with tokio's reactor for readability (the process exited).
#[cfg(feature = "tokio")]
pub(crate) fn async_owned(
    fd: crate::pidfd::PidFd,
) -> io::Result<tokio::io::unix::AsyncFd<crate::pidfd::PidFd>> {
    use tokio::io::{unix::AsyncFd, Interest};
    // SAFETY: a `PidFd` owns its descriptor: `as_raw_fd` returns the same open descriptor for
    // as long as the `PidFd` lives, and the `AsyncFd` owns the `PidFd` for its whole life.
    unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.map_err(io::Error::from)
}
