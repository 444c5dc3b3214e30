//! System calls made only to learn, from the error they return, what the kernel offers.
//!
//! Each function here is safe to call with any argument: the arguments that would let the
//! kernel write to memory or create anything are fixed by the function, not chosen by the
//! caller. The probe (`crate::probe`) picks the remaining arguments so that every call fails
//! before the kernel allocates a PID; the clone wrappers additionally survive the case where
//! a call unexpectedly succeeds (see [`CloneOutcome::Created`]).

use crate::errno::Errno;
use std::os::fd::{FromRawFd, OwnedFd};

use super::arch::{clone_then_exit, legacy_clone_args};
use super::syscall::nr;

/// What a process-creating probe call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloneOutcome {
    /// The kernel refused, as intended.
    Failed(Errno),
    /// The kernel created a child (pid as seen by the caller). The child ran no code of ours:
    /// it called `exit(0)` at once from inside the syscall wrapper, and it has been reaped
    /// unless it was a thread. Its existence means the probe's assumptions were wrong.
    Created(i32),
    /// The arguments were not of the form these wrappers accept; nothing was called.
    Refused,
}

/// `clone_args` words (as 64-bit integers) that point to memory the kernel writes to or
/// that give the child a stack: `pidfd`, `child_tid`, `parent_tid`, `stack`, `stack_size`.
const POINTER_WORDS: [usize; 5] = [1, 2, 3, 5, 6];

const CLONE_VM: u64 = linux_raw_sys::general::CLONE_VM as u64;
const CLONE_VFORK: u64 = linux_raw_sys::general::CLONE_VFORK as u64;
const CLONE_THREAD: u64 = linux_raw_sys::general::CLONE_THREAD as u64;

/// Why the words are acceptable: no pointer the kernel would write through (so a success
/// cannot scribble on our memory) and, when the child would share our memory, the parent
/// sleeps until the child has exited (so the child's exit sequence runs alone).
fn sound_request(flags: u64, pointer_words: impl Iterator<Item = u64>) -> bool {
    let shares_memory_safely = flags & CLONE_VM == 0 || flags & CLONE_VFORK != 0;
    shares_memory_safely && pointer_words.into_iter().all(|w| w == 0)
}

/// Runs `f` with every signal blocked in the calling thread, so that a child created against
/// all expectation inherits a full mask and can run no signal handler (which would run on
/// our stack) before it exits.
fn with_signals_blocked<T>(f: impl FnOnce() -> T) -> T {
    let mut all = core::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = core::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises `all`; pthread_sigmask reads it and writes `old`, which
    // is only read back when that call succeeded.
    unsafe {
        libc::sigfillset(all.as_mut_ptr());
        let blocked = libc::pthread_sigmask(libc::SIG_SETMASK, all.as_ptr(), old.as_mut_ptr()) == 0;
        let result = f();
        if blocked {
            libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), core::ptr::null_mut());
        }
        result
    }
}

/// `clone3(buf, size)` for probing. `buf` holds the `struct clone_args` words and may be
/// longer than the kernel's struct (to probe how large a struct it accepts); `size` may be
/// anything up to `8 * buf.len()`, or, with an empty `buf`, anything at all (a NULL pointer
/// is passed: the kernel checks the size before it reads).
///
/// Refused (nothing called) when `size` exceeds `buf`, when a pointer field the kernel
/// writes through is non-zero, or when `CLONE_VM` comes without `CLONE_VFORK`.
pub fn clone3(buf: &[u64], size: usize) -> CloneOutcome {
    let ptr = if buf.is_empty() {
        core::ptr::null()
    } else {
        if size > buf.len() * 8 {
            return CloneOutcome::Refused;
        }
        buf.as_ptr()
    };
    let in_size = |i: usize| (i + 1) * 8 <= size && i < buf.len();
    let flags = if in_size(0) { buf[0] } else { 0 };
    let pointers = POINTER_WORDS
        .iter()
        .filter(|&&i| in_size(i))
        .map(|&i| buf[i]);
    if !sound_request(flags, pointers) {
        return CloneOutcome::Refused;
    }
    let ret: isize = with_signals_blocked(|| {
        // SAFETY: the kernel reads at most `size` bytes from `ptr`, which are ours (checked
        // above) or, for NULL, not read at all or answered with EFAULT. If a child is created it
        // runs only the exit sequence of `clone_then_exit` — no memory access, no stack use, no
        // signal handler (all blocked): a thread sharing our memory touches nothing, and with
        // CLONE_VM the parent is suspended (CLONE_VFORK, checked above) until it is gone.
        unsafe { clone_then_exit(nr::CLONE3, [ptr as usize, size, 0, 0, 0]) }
    });
    outcome(ret, flags)
}

/// Whether clone3's check of a child stack (`clone3_stack_valid()`: `access_ok(stack,
/// stack_size)` against the architecture's `TASK_SIZE_MAX`) accepts `[stack, stack + size)`,
/// asked without creating a process or taking a PID: the request also asks for the caller's
/// own PID as the child's (`set_tid`), which `alloc_pid()` refuses long after the stack was
/// checked and before it allocates any PID number: `EEXIST` where the caller may choose PIDs,
/// `EPERM` where it may not. Either means the stack was accepted; `EINVAL` that it was not;
/// anything else that this caller cannot ask (clone3 filtered or older than 5.5, a limit).
///
/// Only sound while the caller's children would be born in its own pid namespace (in a new
/// one without an init the PID could be free): the caller checks `pid_for_children` first.
pub fn clone3_stack_check(stack: u64, size: u64) -> CloneOutcome {
    // SAFETY: getpid has no preconditions.
    let own = [unsafe { libc::getpid() }];
    // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
    // set_tid_size (CLONE_ARGS_SIZE_VER1).
    let words: [u64; 10] = [
        CLONE_VM | CLONE_VFORK,
        0,
        0,
        0,
        0,
        stack,
        size,
        0,
        own.as_ptr() as u64,
        1,
    ];
    let ret: isize = with_signals_blocked(|| {
        // SAFETY: the kernel reads the 80 bytes of `words` and the one pid_t of `own`, which
        // are ours and live across the call, and writes through no pointer (pidfd, child_tid
        // and parent_tid are 0, their flags absent). The stack is never used: a child, were
        // one created against all expectation, runs only the exit sequence of
        // `clone_then_exit` (no memory access, no stack use, every signal blocked) while the
        // parent is suspended (CLONE_VFORK) until it is gone.
        unsafe {
            clone_then_exit(
                nr::CLONE3,
                [
                    words.as_ptr() as usize,
                    core::mem::size_of_val(&words),
                    0,
                    0,
                    0,
                ],
            )
        }
    });
    outcome(ret, words[0])
}

/// Legacy `clone(flags, 0, NULL, NULL, 0)` for probing, with the same guarantees as
/// [`clone3`]: refused when `CLONE_VM` comes without `CLONE_VFORK`. All pointer arguments
/// are zero, so `CLONE_PIDFD`/`CLONE_PARENT_SETTID` would fault rather than write.
pub fn clone(flags: u64) -> CloneOutcome {
    if !sound_request(flags, core::iter::empty()) {
        return CloneOutcome::Refused;
    }
    let ret: isize = with_signals_blocked(|| {
        // SAFETY: as in `clone3`: a created child runs only the exit sequence; newsp = 0 keeps
        // it on (a copy of, or with CLONE_VM|CLONE_VFORK the suspended parent's) stack which it
        // does not touch; every pointer argument is NULL.
        unsafe { clone_then_exit(nr::CLONE, legacy_clone_args(flags as usize, 0, 0, 0, 0)) }
    });
    outcome(ret, flags)
}

fn outcome(ret: isize, flags: u64) -> CloneOutcome {
    if (-4095..0).contains(&ret) {
        return CloneOutcome::Failed(Errno((-ret) as i32));
    }
    let pid = ret as i32;
    if flags & CLONE_THREAD == 0 {
        // The child has exited (CLONE_VFORK) or is about to; its exit signal may be anything,
        // so wait for any kind of child. A failure here leaves a zombie, which the report of
        // `Created` makes visible anyway.
        let mut info = core::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: waitid writes a siginfo_t into `info`, which is large enough.
        unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                info.as_mut_ptr(),
                libc::WEXITED | libc::__WALL,
            )
        };
    }
    CloneOutcome::Created(pid)
}

fn errno_of(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret < 0 {
        Err(Errno(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ))
    } else {
        Ok(ret)
    }
}

/// `pidfd_send_signal(pidfd, sig, NULL, flags)` with a raw descriptor number that need not be
/// open (a probe passes -1 to get EBADF from a kernel that has the call). A success on a
/// real pidfd sends the signal, as the call is meant to.
pub fn pidfd_send_signal(pidfd: i32, sig: i32, flags: u32) -> Result<(), Errno> {
    // SAFETY: no pointer is passed (info = NULL); the kernel validates the descriptor.
    errno_of(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            core::ptr::null::<libc::siginfo_t>(),
            flags,
        )
    })
    .map(drop)
}

/// `pidfd_getfd(pidfd, targetfd, flags)` with raw descriptor numbers that need not be open.
/// A duplicated descriptor is returned owned.
pub fn pidfd_getfd(pidfd: i32, targetfd: i32, flags: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers; the kernel validates both descriptors.
    let fd = errno_of(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, targetfd, flags) })?;
    // SAFETY: on success the kernel returned a new descriptor that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `P_PIDFD` of `<linux/wait.h>` (Linux 5.4).
pub const P_PIDFD: u32 = 3;

/// `waitid(idtype, id, &info, options, NULL)` with a raw id, so that a descriptor number
/// that is not open can be given. Returns the `si_pid` of the reported child (0 for none).
pub fn waitid(idtype: u32, id: u32, options: i32) -> Result<i32, Errno> {
    let mut info = core::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: the kernel writes at most one siginfo_t into `info`; rusage is NULL.
    errno_of(unsafe {
        libc::syscall(
            libc::SYS_waitid,
            idtype,
            id,
            info.as_mut_ptr(),
            options,
            core::ptr::null_mut::<libc::rusage>(),
        )
    })?;
    // SAFETY: zero-initialised and possibly filled by the kernel: valid either way.
    let info = unsafe { info.assume_init() };
    // SAFETY: si_pid is meaningful for SIGCHLD-class siginfo, which waitid produces; for
    // "no child" it is 0 from the zeroing.
    Ok(unsafe { info.si_pid() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsound_requests_are_refused() {
        let mut buf = [0u64; 11];
        buf[0] = CLONE_VM;
        assert_eq!(clone3(&buf, 88), CloneOutcome::Refused);
        buf[0] = 0;
        buf[1] = 0x1000; // pidfd pointer
        assert_eq!(clone3(&buf, 88), CloneOutcome::Refused);
        assert_eq!(clone3(&buf, 200), CloneOutcome::Refused);
        assert_eq!(clone(CLONE_VM), CloneOutcome::Refused);
    }

    /// clone3's stack check, asked without a process: the last page below the end of user
    /// space is accepted, the page at the end is not, and nothing is created either way.
    #[test]
    fn stack_check_answers_at_the_end_of_user_space() {
        let end = crate::sys::addr::user_space_end();
        let last_pid = || std::fs::read_to_string("/proc/sys/kernel/ns_last_pid").ok();
        let before = last_pid();
        match clone3_stack_check(end - 4096, 4096) {
            CloneOutcome::Failed(Errno::EEXIST | Errno::EPERM) => {}
            // clone3 filtered or missing, no CLONE_INTO_CGROUP (before 5.7), a limit: the
            // question cannot be asked here.
            CloneOutcome::Failed(e) if e != Errno::EINVAL => return,
            other => panic!("the last page below {end:#x}: {other:?}"),
        }
        assert_eq!(
            clone3_stack_check(end, 4096),
            CloneOutcome::Failed(Errno::EINVAL)
        );
        assert_eq!(
            clone3_stack_check(end - 4096, 8192),
            CloneOutcome::Failed(Errno::EINVAL)
        );
        // No PID was taken (other processes may take some meanwhile: only a change that
        // this test alone would make is looked for, on a quiet namespace best).
        if let (Some(b), Some(a)) = (before, last_pid()) {
            eprintln!("ns_last_pid {} -> {}", b.trim(), a.trim());
        }
    }

    #[test]
    fn size_errors_come_first() {
        assert_eq!(clone3(&[], 8), CloneOutcome::Failed(Errno::EINVAL));
        assert_eq!(clone3(&[], 8192), CloneOutcome::Failed(Errno::E2BIG));
    }

    #[test]
    fn created_child_exits_at_once() {
        // A plain fork-like clone3: the child must run nothing of ours and be reaped.
        let mut buf = [0u64; 8];
        buf[4] = libc::SIGCHLD as u64;
        match clone3(&buf, 64) {
            CloneOutcome::Created(pid) => {
                assert!(pid > 0);
                // Reaped already: no such child any more.
                assert_eq!(
                    waitid(libc::P_PID, pid as u32, libc::WEXITED | libc::WNOHANG),
                    Err(Errno::ECHILD)
                );
            }
            other => panic!("expected a child, got {other:?}"),
        }
    }

    #[test]
    fn bogus_descriptors() {
        assert_eq!(pidfd_send_signal(-1, 0, 0), Err(Errno::EBADF));
        assert_eq!(pidfd_getfd(-1, 0, 0).map(drop), Err(Errno::EBADF));
        assert_eq!(
            waitid(P_PIDFD, 0x7fff_fff0, libc::WEXITED),
            Err(Errno::EBADF)
        );
    }
}
