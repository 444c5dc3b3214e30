//! Fork-like process creation with `clone3(2)`: for code that builds whole process trees
//! (see [`crate::restore`]) and for `enter`'s intermediate when it must join a time namespace
//! (see [`crate::enter`]).
//!
//! A fork-like child (no `CLONE_VM`) gets a copy-on-write copy of the calling thread only. When
//! the caller is multithreaded, locks held by other threads (the allocator's, stdio's) stay held
//! forever in the child, so the child must not allocate or lock: it may only work on data that
//! was prepared before the clone, with the raw system calls of `sys::child`,
//! [`super::signal`] and [`super::raw`].

use super::abi::{clone_args, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, MAX_PID_NS_LEVEL};
use super::flags::CloneFlags;
use super::raw;
use crate::errno::Errno;
use core::convert::Infallible;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The exit status of a fork-like child whose code panicked (it never unwinds into the
/// parent's frames, which it has copies of).
pub const EXIT_CHILD_PANICKED: i32 = 125;

/// What [`fork_then`] asks of the kernel besides a plain fork.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ForkSpec<'a> {
    /// Only namespace flags (`CloneFlags::NAMESPACES`), `CLEAR_SIGHAND`, `FILES` and `VFORK`
    /// are accepted here: flags that share memory, signal handlers or write through pointers
    /// would make the child's copy of the caller's stack unsound. With `FILES` the child
    /// shares the caller's descriptor table: its code must close nothing it did not open.
    /// With `VFORK` the calling thread sleeps until the child exec'd or exited.
    pub flags: CloneFlags,
    /// The signal the parent gets when the child ends (`SIGCHLD` by default).
    pub exit_signal: u64,
    /// PIDs for the child, innermost pid namespace first (`set_tid`); empty lets the kernel
    /// choose.
    pub set_tid: &'a [i32],
    /// Ask for a pidfd (`CLONE_PIDFD`).
    pub pidfd: bool,
    /// Descriptors the child closes before it runs its code: ends of pipes it must not hold.
    /// They stay open in the parent (not with `FILES`, whose table is the parent's).
    pub close_in_child: &'a [RawFd],
}

impl Default for ForkSpec<'_> {
    fn default() -> Self {
        ForkSpec {
            flags: CloneFlags::empty(),
            exit_signal: libc::SIGCHLD as u64,
            set_tid: &[],
            pidfd: false,
            close_in_child: &[],
        }
    }
}

/// The parent's view of a child created by [`fork_then`].
#[derive(Debug)]
pub(crate) struct Forked {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
}

/// Creates a child with `clone3(2)` like `fork(2)` (own copy of memory) and runs `child` in
/// it; returns in the parent only.
///
/// `child` must end the process itself (`execve` or [`raw::exit_group`]): it returns
/// [`Infallible`], which no value has, so it cannot return.
/// Should it panic, the child exits with [`EXIT_CHILD_PANICKED`] before any of the caller's
/// frames could be unwound in it. It must not allocate or take locks when the caller is
/// multithreaded (see the module documentation) — a liveness rule: breaking it can hang the
/// child, not corrupt memory, because nothing is shared with the parent.
///
/// Errors: `EINVAL` for flags outside the accepted set, `FILES` with descriptors to close,
/// or more than 32 PIDs, otherwise the kernel's errno (clone3(2): `EEXIST` for a taken PID,
/// `EPERM` without the capability, …).
///
/// Crate-internal: POSIX leaves undefined what a child of a multithreaded process does beyond
/// async-signal-safe calls, so the only callers are the crate's own child paths, which keep
/// to raw system calls on data prepared before the clone.
pub(crate) fn fork_then<F: FnOnce() -> Infallible>(
    spec: &ForkSpec<'_>,
    child: F,
) -> Result<Forked, Errno> {
    let allowed =
        CloneFlags::NAMESPACES | CloneFlags::CLEAR_SIGHAND | CloneFlags::FILES | CloneFlags::VFORK;
    if !allowed.contains(spec.flags)
        || spec.set_tid.len() > MAX_PID_NS_LEVEL
        || (spec.flags.contains(CloneFlags::FILES) && !spec.close_in_child.is_empty())
    {
        return Err(Errno::EINVAL);
    }
    let mut pidfd: i32 = -1;
    let mut flags = spec.flags;
    flags.set(CloneFlags::PIDFD, spec.pidfd);
    let args = clone_args {
        flags: flags.bits(),
        pidfd: if spec.pidfd {
            &mut pidfd as *mut i32 as usize as u64
        } else {
            0
        },
        exit_signal: spec.exit_signal,
        set_tid: if spec.set_tid.is_empty() {
            0
        } else {
            spec.set_tid.as_ptr() as usize as u64
        },
        set_tid_size: spec.set_tid.len() as u64,
        ..Default::default()
    };
    let size = if spec.set_tid.is_empty() {
        CLONE_ARGS_SIZE_VER0
    } else {
        CLONE_ARGS_SIZE_VER1
    };
    // SAFETY: no CLONE_VM/THREAD/SIGHAND/SETTLS and no tid pointers can be in `flags`
    // (checked above), so the child runs on its own copy of this stack (CLONE_VFORK only
    // makes this thread wait for it); the only pointers the kernel follows are `pidfd` (a
    // live local) and `set_tid` (a live slice of the right length), both valid for the
    // duration of the call.
    let pid = unsafe { raw::clone3(&args, size) }.map_err(Errno)?;
    if pid == 0 {
        for &fd in spec.close_in_child {
            // Closing a number that a copied `OwnedFd` claims is fine: the child never
            // returns to the frames that would drop it.
            let _ = super::isolate::close(fd);
        }
        run_child(child);
    }
    let pidfd = if spec.pidfd {
        // SAFETY: clone3 succeeded with CLONE_PIDFD, so the kernel stored a new descriptor
        // that nothing else owns.
        Some(unsafe { OwnedFd::from_raw_fd(pidfd) })
    } else {
        None
    };
    Ok(Forked { pid, pidfd })
}

/// Runs the child's code; the guard ends the process should that code unwind.
// The lint sees the guard's drop after a call of uninhabited type; that drop runs only when
// unwinding, which is exactly its purpose.
#[allow(unreachable_code)]
fn run_child<F: FnOnce() -> Infallible>(child: F) -> ! {
    let _guard = ExitOnUnwind;
    match child() {}
}

/// Ends a fork-like child whose code unwinds, before any copied frame of the parent could run
/// its destructors (closing the parent's descriptors, flushing its buffers) in the child.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        raw::exit_group(EXIT_CHILD_PANICKED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::raw::exit_group;

    fn wait_status(pid: i32) -> i32 {
        let st = rustix::process::waitpid(
            Some(rustix::process::Pid::from_raw(pid).unwrap()),
            rustix::process::WaitOptions::empty(),
        )
        .unwrap()
        .unwrap()
        .1;
        st.exit_status().unwrap() as i32
    }

    #[test]
    fn refuses_memory_sharing_flags() {
        let spec = ForkSpec {
            flags: CloneFlags::VM,
            ..Default::default()
        };
        let r = fork_then(&spec, || exit_group(0));
        assert_eq!(r.unwrap_err(), Errno::EINVAL);
    }

    #[test]
    fn child_runs_and_exits_with_its_code() {
        let f = fork_then(
            &ForkSpec {
                pidfd: true,
                ..Default::default()
            },
            || exit_group(9),
        )
        .unwrap();
        assert!(f.pidfd.is_some());
        assert_eq!(wait_status(f.pid), 9);
    }

    #[test]
    fn panicking_child_exits_without_unwinding_into_the_parent() {
        let f = fork_then(&ForkSpec::default(), || panic!("child side")).unwrap();
        assert_eq!(wait_status(f.pid), EXIT_CHILD_PANICKED);
    }

    #[test]
    fn child_closes_what_it_was_told_to() {
        use std::os::fd::AsRawFd;
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let wfd = w.as_raw_fd();
        let close = [wfd];
        let f = fork_then(
            &ForkSpec {
                close_in_child: &close,
                ..Default::default()
            },
            // Writing to the closed number fails with EBADF: exit 0 proves it was closed.
            || match rustix::io::write(borrow_number(wfd), b"x") {
                Err(e) if e == rustix::io::Errno::BADF => exit_group(0),
                _ => exit_group(1),
            },
        )
        .unwrap();
        drop(w);
        assert_eq!(wait_status(f.pid), 0);
        let mut buf = [0u8; 1];
        assert_eq!(rustix::io::read(&r, &mut buf).unwrap(), 0);
    }

    fn borrow_number(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
        // SAFETY: test helper: the number may be closed; the syscall then reports EBADF, which
        // is what the test checks.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
    }

    #[test]
    fn files_and_vfork_share_the_table_and_wait() {
        use std::os::fd::AsRawFd;
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let wfd = w.as_raw_fd();
        // The child opens a descriptor in the shared table and tells its number; with
        // CLONE_VFORK it has exited when fork_then returns.
        let f = fork_then(
            &ForkSpec {
                flags: CloneFlags::FILES | CloneFlags::VFORK,
                exit_signal: libc::SIGCHLD as u64,
                ..Default::default()
            },
            || {
                let n = match rustix::fs::open(
                    c"/dev/null",
                    rustix::fs::OFlags::RDONLY,
                    rustix::fs::Mode::empty(),
                ) {
                    Ok(fd) => std::os::fd::IntoRawFd::into_raw_fd(fd),
                    Err(_) => exit_group(2),
                };
                let _ = rustix::io::write(borrow_number(wfd), &n.to_ne_bytes());
                exit_group(0)
            },
        )
        .unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(rustix::io::read(&r, &mut buf).unwrap(), 4);
        let n = i32::from_ne_bytes(buf);
        let link = std::fs::read_link(format!("/proc/self/fd/{n}")).unwrap();
        assert_eq!(link, std::path::Path::new("/dev/null"));
        let _ = crate::sys::isolate::close(n);
        assert_eq!(wait_status(f.pid), 0);
        let with_close = ForkSpec {
            flags: CloneFlags::FILES,
            close_in_child: &[wfd],
            ..Default::default()
        };
        assert_eq!(
            fork_then(&with_close, || exit_group(0)).unwrap_err(),
            Errno::EINVAL
        );
    }
}
