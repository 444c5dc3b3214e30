//! Descriptors known only by number — inherited from the process that started us, as in a
//! command line's `--fd-map 5:3` — turned into owned ones without taking over the original.

use super::syscall::{nr, result, syscall6};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

fn fcntl(fd: RawFd, cmd: i32, arg: usize) -> io::Result<usize> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: F_DUPFD_CLOEXEC and F_SETFD/F_GETFD take integers; a number that is not an
    // open descriptor just yields EBADF.
    result(unsafe { syscall6(nr::FCNTL, fd as usize, cmd as usize, arg, 0, 0, 0) })
        .map_err(io::Error::from_raw_os_error)
}

/// A close-on-exec duplicate of descriptor number `fd` (`EBADF` if it is not open). The
/// original stays as it is, owned by whoever owns it.
pub fn dup_number(fd: RawFd) -> io::Result<OwnedFd> {
    let new = fcntl(fd, libc::F_DUPFD_CLOEXEC, 0)?;
    // SAFETY: the kernel just created this descriptor for us.
    Ok(unsafe { OwnedFd::from_raw_fd(new as RawFd) })
}

/// Marks descriptor number `fd` close-on-exec, so children do not inherit it.
pub fn set_cloexec_number(fd: RawFd) -> io::Result<()> {
    fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC as usize).map(|_| ())
}

impl FromRawFd for crate::spawn::Stdio {
    /// As std's `Stdio::from_raw_fd`: the stream becomes this descriptor, which the `Stdio`
    /// owns from now on.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns (`FromRawFd`'s contract).
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: ownership of the open descriptor `fd` is given to us by the caller.
        crate::spawn::Stdio::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

/// Closes descriptor number `fd` (one the process was given by number and is done with).
pub fn close_number(fd: RawFd) -> io::Result<()> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // Closing a number owns nothing in Rust: the caller states that no `OwnedFd` holds it
    // (it came from the command line, not from this process's own objects).
    super::isolate::close(fd).map_err(io::Error::from_raw_os_error)
}

/// Whether descriptor number `fd` is open (`F_GETFD` answers).
pub fn is_open_number(fd: RawFd) -> bool {
    fcntl(fd, libc::F_GETFD, 0).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn dup_and_cloexec() {
        let f = std::fs::File::open("/dev/null").unwrap();
        let d = dup_number(f.as_raw_fd()).unwrap();
        assert_ne!(d.as_raw_fd(), f.as_raw_fd());
        set_cloexec_number(f.as_raw_fd()).unwrap();
        assert_eq!(
            dup_number(-1).unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
        assert_eq!(
            dup_number(1_000_000).unwrap_err().raw_os_error(),
            Some(libc::EBADF)
        );
    }
}
