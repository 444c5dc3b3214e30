//! What `enter` needs below the safe layer: the raw calls its intermediate and payload make
//! between clone and exec (`setns`, `fchdir`, `chroot`), and the clone of the intermediate
//! itself, which shares the caller's descriptor table.
//!
//! The raw calls follow the rules of [`super::child`]: no libc, no errno, no allocation —
//! they run in `CLONE_VM` children on the caller's TLS and heap. Descriptor arguments are
//! plain numbers prepared by the caller (crate-private for that reason).

use super::flags::CloneFlags;
use super::raw::{clone3_on_stack, clone_on_stack};
use super::signal::BlockAll;
use super::stack::ChildStack;
use super::syscall::{nr, result, syscall6, RawErrno};
use super::vfork::{entry, Spawned, VforkChild};
use crate::sys::abi::{clone_args, CLONE_ARGS_SIZE_VER0};
use core::ffi::{c_void, CStr};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

type R = Result<(), RawErrno>;

/// `setns(fd, nstype)`: `fd` a pidfd (Linux 5.8, `nstype` a set of `CLONE_NEW*`) or a
/// `/proc/PID/ns/*` file (`nstype` 0 or its one type), see setns(2).
pub(crate) fn setns(fd: RawFd, nstype: u64) -> R {
    // SAFETY: integer arguments only.
    result(unsafe { syscall6(nr::SETNS, fd as usize, nstype as usize, 0, 0, 0, 0) }).map(|_| ())
}

/// `fchdir(fd)`.
pub(crate) fn fchdir(fd: RawFd) -> R {
    // SAFETY: integer argument only.
    result(unsafe { syscall6(nr::FCHDIR, fd as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// `chroot(path)`.
pub(crate) fn chroot(path: &CStr) -> R {
    // SAFETY: `path` is NUL-terminated and outlives the call.
    result(unsafe { syscall6(nr::CHROOT, path.as_ptr() as usize, 0, 0, 0, 0, 0) }).map(|_| ())
}

/// Creates the intermediate of an `enter`: `clone3(CLONE_VM | CLONE_VFORK | CLONE_FILES |
/// CLONE_PIDFD)` running `child.run_child()` on `stack`, with `exit_signal` (which the
/// payload it creates with `CLONE_PARENT` inherits). Returns once the intermediate has
/// exited (it never execs).
///
/// `CLONE_FILES` is what lets the payload's pidfd, which the intermediate receives from its
/// own clone, land in the caller's descriptor table. It is sound here although a spawn
/// forbids it: the intermediate only calls `setns` and `clone3` (a payload made without
/// `CLONE_FILES` does its descriptor setup on its own copy of the table).
///
/// With `legacy`, the same through `clone(2)` (where clone3 is missing or filtered): every
/// flag here has its place in the legacy word, the pidfd comes back through `parent_tid`.
pub(crate) fn spawn_intermediate<C: VforkChild>(
    exit_signal: u64,
    child: &mut C,
    stack: &ChildStack,
    legacy: bool,
) -> Result<Spawned, RawErrno> {
    let flags = CloneFlags::VM | CloneFlags::VFORK | CloneFlags::FILES | CloneFlags::PIDFD;
    let mut pidfd: i32 = -1;
    let args = clone_args {
        flags: flags.bits(),
        pidfd: &mut pidfd as *mut i32 as u64,
        exit_signal,
        stack: stack.lowest() as u64,
        stack_size: stack.size() as u64,
        ..Default::default()
    };
    let arg = child as *mut C as *mut c_void;
    if legacy && exit_signal > 64 {
        return Err(libc::EINVAL);
    }
    let _blocked = BlockAll::new()?;
    let pid = if legacy {
        let ptid = &mut pidfd as *mut i32;
        // SAFETY: as for clone3 below; the legacy word carries the same flags and the exit
        // signal (checked to fit its byte), and the kernel writes only the pidfd, through
        // `ptid`, a live local.
        unsafe {
            clone_on_stack(
                flags.bits() | exit_signal,
                stack.top(),
                ptid,
                entry::<C>,
                arg,
            )
        }?
    } else {
        // SAFETY: as in `spawn_vfork`: the stack is reserved for this child until it exits
        // (CLONE_VFORK keeps this thread asleep until then); `entry` runs a `VforkChild`, whose
        // contract is raw calls only on prepared data; every signal is blocked; the kernel
        // writes through no pointer but `pidfd`, a live local.
        unsafe { clone3_on_stack(&args, CLONE_ARGS_SIZE_VER0, entry::<C>, arg) }?
    };
    // SAFETY: the kernel installed this descriptor for us on success; nobody else owns it.
    let pidfd = (pidfd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    Ok(Spawned { pid, pidfd })
}

/// Creates the intermediate of an `enter` that joins a time namespace: fork-like
/// (`clone3(CLONE_VFORK | CLONE_FILES | CLONE_PIDFD)` without `CLONE_VM`), because
/// `setns(CLONE_NEWTIME)` wants a caller whose memory no other task shares (`EUSERS`,
/// `timens_install`). The child runs `child` on its own copy of the caller's memory, with
/// every signal blocked, and must end with `exit_group`; this returns once it has (the
/// calling thread sleeps meanwhile: `CLONE_VFORK`). It cannot write results into the
/// caller's memory: `child` reports through a descriptor of the shared table.
pub(crate) fn fork_intermediate<F: FnOnce() -> core::convert::Infallible>(
    exit_signal: u64,
    child: F,
    legacy: bool,
) -> Result<Spawned, RawErrno> {
    let spec = super::fork::ForkSpec {
        flags: CloneFlags::FILES | CloneFlags::VFORK,
        exit_signal,
        pidfd: true,
        legacy,
        ..Default::default()
    };
    let _blocked = BlockAll::new()?;
    let f = super::fork::fork_then(&spec, child).map_err(|e| e.0)?;
    Ok(Spawned {
        pid: f.pid,
        pidfd: f.pidfd,
    })
}

/// Takes ownership of the payload's pidfd, which the intermediate received from its clone3
/// into the descriptor table it shares with us (`CLONE_FILES`). `None` for a negative number.
///
/// Only for that number: it was installed by the kernel for a clone that succeeded, and
/// the intermediate, now exited, gave it up without closing it — nobody else owns it.
pub(crate) fn adopt_payload_pidfd(fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: see above; the caller passes the number from the intermediate's outcome once.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setns_on_a_non_namespace_fd_is_einval() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(setns(f.as_raw_fd(), 0), Err(libc::EINVAL));
        assert_eq!(fchdir(-1), Err(libc::EBADF));
    }
}
