//! Fork-like process creation with `clone3(2)`: for code that builds whole process trees
//! (see [`crate::restore`]) and for `enter`'s intermediate when it must join a time namespace
//! (see [`crate::enter`]); and, through the C library's `fork()` where the request allows it
//! (`fork_like_then`), for the spawn of a command with `pre_exec` hooks, whose child may
//! allocate as after std's fork.
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
    /// Only namespace flags (`CloneFlags::NAMESPACES`), `CLEAR_SIGHAND`, `FILES`, `FS` and
    /// `VFORK` are accepted here: flags that share memory, signal handlers or write through
    /// pointers would make the child's copy of the caller's stack unsound. With `FILES` the
    /// child shares the caller's descriptor table: its code must close nothing it did not
    /// open. With `FS` it shares root, working directory and umask.
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
    /// Use `clone(2)` instead of clone3 (where clone3 is missing or filtered): refused with
    /// `ENOSYS` for what clone(2) cannot carry (`set_tid`, `CLONE_CLEAR_SIGHAND`,
    /// `CLONE_NEWTIME`, an exit signal above 64).
    pub legacy: bool,
}

impl Default for ForkSpec<'_> {
    fn default() -> Self {
        ForkSpec {
            flags: CloneFlags::empty(),
            exit_signal: libc::SIGCHLD as u64,
            set_tid: &[],
            pidfd: false,
            close_in_child: &[],
            legacy: false,
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
    // CLONE_FS shares root, working directory and umask: no memory.
    let allowed = CloneFlags::NAMESPACES
        | CloneFlags::CLEAR_SIGHAND
        | CloneFlags::FILES
        | CloneFlags::FS
        | CloneFlags::VFORK;
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
    let pid = if spec.legacy {
        let inexpressible = CloneFlags::CLEAR_SIGHAND | CloneFlags::NEWTIME;
        if !spec.set_tid.is_empty() || flags.intersects(inexpressible) || spec.exit_signal > 64 {
            return Err(Errno::ENOSYS);
        }
        let ptid = if spec.pidfd {
            &mut pidfd as *mut i32
        } else {
            core::ptr::null_mut()
        };
        // SAFETY: as for clone3 below (the same flags, checked above, none of them CLONE_VM):
        // the child continues on its own copy of this stack; the kernel writes only the
        // pidfd, through `ptid` (a live local), CLONE_PIDFD being how clone(2) returns it.
        unsafe { raw::clone(flags.bits() | spec.exit_signal, ptid, core::ptr::null_mut()) }
            .map_err(Errno)?
    } else {
        // SAFETY: no CLONE_VM/THREAD/SIGHAND/SETTLS and no tid pointers can be in `flags`
        // (checked above), so the child runs on its own copy of this stack (CLONE_VFORK only
        // makes this thread wait for it); the only pointers the kernel follows are `pidfd` (a
        // live local) and `set_tid` (a live slice of the right length), both valid for the
        // duration of the call.
        unsafe { raw::clone3(&args, size) }.map_err(Errno)?
    };
    if pid == 0 {
        run_child(spec.close_in_child, child);
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

/// Runs `helper` in a fork-like child ([`fork_then`] with the default spec), which exits with
/// the code `helper` returns, and waits for that child: its exit code, or `None` when it could
/// not be created or waited for, or did not exit normally. For the probes that ask the kernel
/// a question in a process of their own; `helper` keeps to [`fork_then`]'s rules (raw calls
/// only, nothing allocated: the caller may be multithreaded).
pub(crate) fn exit_code_of(helper: impl FnOnce() -> i32) -> Option<i32> {
    let forked = fork_then(&ForkSpec::default(), || raw::exit_group(helper())).ok()?;
    let pid = rustix::process::Pid::from_raw(forked.pid)?;
    let status = loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
            Ok(s) => break s?.1,
        }
    };
    status.exit_status()
}

/// Whether [`fork_like_then`] can use the C library's `fork()` for `spec`: nothing in it
/// needs clone3 (no flags, `SIGCHLD`, no `set_tid`).
pub(crate) fn is_plain_fork(spec: &ForkSpec<'_>) -> bool {
    spec.flags.is_empty() && spec.exit_signal == libc::SIGCHLD as u64 && spec.set_tid.is_empty()
}

/// Creates a fork-like child and runs `child` in it, like [`fork_then`] — but through the C
/// library's `fork(3)` when the request is a plain fork ([`is_plain_fork`]), so that the
/// library's fork handlers run: the allocator's and stdio's locks, which other threads may
/// hold at the moment of the fork, are usable in the child, which may therefore allocate
/// (what std's `pre_exec` contract relies on). Requests that need clone3 (namespace flags,
/// another exit signal, `set_tid`) go to [`fork_then`], where no handler runs. A pidfd, if
/// asked for, comes from `pidfd_open` on the still unreaped child (Linux 5.3); should that
/// fail, the child is killed and reaped and the errno returned.
///
/// The same rules as [`fork_then`] for `child` otherwise (it ends the process itself; an
/// unwinding child exits with [`EXIT_CHILD_PANICKED`]).
pub(crate) fn fork_like_then<F: FnOnce() -> Infallible>(
    spec: &ForkSpec<'_>,
    child: F,
) -> Result<Forked, Errno> {
    if !is_plain_fork(spec) {
        return fork_then(spec, child);
    }
    // SAFETY: fork(2) copies the calling thread only; the child runs `child`, which ends the
    // process itself (or, unwinding, `ExitOnUnwind` ends it) and never returns into the
    // caller's frames. The C library's fork handlers leave its allocator and stdio usable in
    // the child even though other threads of the parent may have held their locks.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EAGAIN),
        ));
    }
    if pid == 0 {
        run_child(spec.close_in_child, child);
    }
    let pidfd = if spec.pidfd {
        let p = rustix::process::Pid::from_raw(pid).ok_or(Errno::EINVAL)?;
        match rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()) {
            Ok(fd) => Some(fd),
            Err(e) => {
                // Our unreaped child: the PID cannot have been reused.
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
                return Err(Errno(e.raw_os_error()));
            }
        }
    } else {
        None
    };
    Ok(Forked { pid, pidfd })
}

/// In the child: closes the descriptors `close` names ([`ForkSpec::close_in_child`]), then
/// runs the child's code; the guard ends the process should that code unwind.
// The lint sees the guard's drop after a call of uninhabited type; that drop runs only when
// unwinding, which is exactly its purpose.
#[allow(unreachable_code)]
fn run_child<F: FnOnce() -> Infallible>(close: &[RawFd], child: F) -> ! {
    for &fd in close {
        // Closing a number that a copied `OwnedFd` claims is fine: the child never returns to
        // the frames that would drop it.
        let _ = super::isolate::close(fd);
    }
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
pub(super) mod tests {
    use super::*;
    use crate::sys::raw::exit_group;

    /// Reaps child `pid` and returns its exit code (also for `vmtree`'s tests).
    pub(in crate::sys) fn wait_status(pid: i32) -> i32 {
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
    fn fork_like_child_may_allocate_and_gets_a_pidfd() {
        let spec = ForkSpec {
            pidfd: true,
            ..Default::default()
        };
        assert!(is_plain_fork(&spec));
        let f = fork_like_then(&spec, || {
            let v: Vec<u8> = (0..200u8).collect();
            exit_group(i32::from(v[199] == 199) * 7)
        })
        .unwrap();
        assert!(f.pidfd.is_some());
        assert_eq!(wait_status(f.pid), 7);
        let f = fork_like_then(&ForkSpec::default(), || panic!("child side")).unwrap();
        assert_eq!(wait_status(f.pid), EXIT_CHILD_PANICKED);
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
    fn legacy_clone_runs_the_child_and_refuses_what_it_cannot_carry() {
        let f = fork_then(
            &ForkSpec {
                pidfd: true,
                legacy: true,
                ..Default::default()
            },
            || exit_group(11),
        )
        .unwrap();
        assert!(f.pidfd.is_some());
        assert_eq!(wait_status(f.pid), 11);
        let tid = [4242];
        let spec = ForkSpec {
            set_tid: &tid,
            legacy: true,
            ..Default::default()
        };
        assert_eq!(
            fork_then(&spec, || exit_group(0)).unwrap_err(),
            Errno::ENOSYS
        );
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
