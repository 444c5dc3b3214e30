//! Fork-like process creation with `clone3(2)` for code that builds whole process trees
//! (see [`crate::restore`]), and the few raw calls such a child needs before `execve(2)`.
//!
//! A fork-like child (no `CLONE_VM`) gets a copy-on-write copy of the calling thread only. When
//! the caller is multithreaded, locks held by other threads (the allocator's, stdio's) stay held
//! forever in the child, so the child must not allocate or lock: it may only work on data that
//! was prepared before the clone, with raw system calls. The helpers here need no allocation.

use super::abi::{clone_args, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, MAX_PID_NS_LEVEL};
use super::flags::CloneFlags;
use super::raw;
use crate::errno::Errno;
use core::convert::Infallible;
use core::ffi::{c_char, CStr};
use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The exit status of a fork-like child whose code panicked (it never unwinds into the
/// parent's frames, which it has copies of).
pub const EXIT_CHILD_PANICKED: i32 = 125;

/// What [`fork_then`] asks of the kernel besides a plain fork.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ForkSpec<'a> {
    /// Only namespace flags (`CloneFlags::NAMESPACES`) and `CLEAR_SIGHAND` are accepted here:
    /// flags that share memory, signal handlers or write through pointers would make the
    /// child's copy of the caller's stack unsound.
    pub flags: CloneFlags,
    /// PIDs for the child, innermost pid namespace first (`set_tid`); empty lets the kernel
    /// choose.
    pub set_tid: &'a [i32],
    /// Ask for a pidfd (`CLONE_PIDFD`).
    pub pidfd: bool,
    /// Descriptors the child closes before it runs its code: ends of pipes it must not hold.
    /// They stay open in the parent.
    pub close_in_child: &'a [RawFd],
}

/// The parent's view of a child created by [`fork_then`].
#[derive(Debug)]
pub(crate) struct Forked {
    pub pid: i32,
    pub pidfd: Option<OwnedFd>,
}

/// Creates a child with `clone3(2)` like `fork(2)` (own copy of memory, exit signal `SIGCHLD`)
/// and runs `child` in it; returns in the parent only.
///
/// `child` must end the process itself (`execve` or [`exit_group`]): it returns
/// [`Infallible`], which no value has, so it cannot return.
/// Should it panic, the child exits with [`EXIT_CHILD_PANICKED`] before any of the caller's
/// frames could be unwound in it. It must not allocate or take locks when the caller is
/// multithreaded (see the module documentation) — a liveness rule: breaking it can hang the
/// child, not corrupt memory, because nothing is shared with the parent.
///
/// Errors: `EINVAL` for flags outside the accepted set or more than 32 PIDs, otherwise the
/// kernel's errno (clone3(2): `EEXIST` for a taken PID, `EPERM` without the capability, …).
///
/// Crate-internal: POSIX leaves undefined what a child of a multithreaded process does beyond
/// async-signal-safe calls, so the only callers are the crate's own child paths, which keep
/// to raw system calls on data prepared before the clone.
pub(crate) fn fork_then<F: FnOnce() -> Infallible>(
    spec: &ForkSpec<'_>,
    child: F,
) -> Result<Forked, Errno> {
    let allowed = CloneFlags::NAMESPACES | CloneFlags::CLEAR_SIGHAND;
    if !allowed.contains(spec.flags) || spec.set_tid.len() > MAX_PID_NS_LEVEL {
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
        exit_signal: libc::SIGCHLD as u64,
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
    // SAFETY: no CLONE_VM/VFORK/THREAD/SIGHAND/SETTLS and no tid pointers can be in `flags`
    // (checked above), so the child runs on its own copy of this stack; the only pointers the
    // kernel follows are `pidfd` (a live local) and `set_tid` (a live slice of the right
    // length), both valid for the duration of the call.
    let pid = unsafe { raw::clone3(&args, size) }.map_err(Errno)?;
    if pid == 0 {
        for &fd in spec.close_in_child {
            close_raw(fd);
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

/// Raw `exit_group(2)`: ends the calling process without running atexit handlers or
/// destructors, which in a fork-like child belong to the parent.
pub fn exit_group(code: i32) -> ! {
    raw::exit_group(code)
}

const NR_CLOSE: usize = 3;
const NR_RT_SIGACTION: usize = 13;
const NR_RT_SIGPROCMASK: usize = 14;
const NR_EXECVE: usize = 59;

#[inline(always)]
fn check(ret: isize) -> Result<isize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno((-ret) as i32))
    } else {
        Ok(ret)
    }
}

/// Closes a descriptor number inherited through the fork; used only on the child side of
/// [`fork_then`], which never returns to the frames owning the parent's `OwnedFd`s for it.
fn close_raw(fd: RawFd) {
    // SAFETY: close takes a plain integer and touches no memory; closing a number that some
    // copied `OwnedFd` claims is fine because the child never returns to drop it.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") NR_CLOSE => _, in("rdi") fd as isize,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
}

/// A NULL-terminated array of C strings (`argv`, `envp`), built before a clone so that the
/// child can pass it to `execve(2)` without allocating.
#[derive(Debug)]
pub struct CStrArray {
    strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

// SAFETY: the pointers point into the CStrings this value owns, which are never mutated; the
// value is as thread-safe as the Vec<CString> it wraps.
unsafe impl Send for CStrArray {}
// SAFETY: as above: shared access only reads.
unsafe impl Sync for CStrArray {}

impl CStrArray {
    pub fn new(items: impl IntoIterator<Item = CString>) -> Self {
        let strings: Vec<CString> = items.into_iter().collect();
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(core::ptr::null());
        CStrArray { strings, ptrs }
    }

    pub fn strings(&self) -> &[CString] {
        &self.strings
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}

/// Raw `execve(2)`; returns only on failure, with the errno. Allocates nothing.
pub fn execve(path: &CStr, argv: &CStrArray, envp: &CStrArray) -> Errno {
    let ret: isize;
    // SAFETY: `path` is NUL-terminated, `argv.ptrs` and `envp.ptrs` are NULL-terminated arrays
    // of pointers to NUL-terminated strings owned by the arrays, all alive during the call.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") NR_EXECVE => ret,
            in("rdi") path.as_ptr(), in("rsi") argv.ptrs.as_ptr(), in("rdx") envp.ptrs.as_ptr(),
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    match check(ret) {
        Err(e) => e,
        Ok(_) => Errno::EINVAL, // execve does not return on success
    }
}

/// A thread's signal mask as saved by [`block_all_signals`].
#[derive(Clone, Copy)]
pub struct SignalMask(libc::sigset_t);

impl std::fmt::Debug for SignalMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignalMask")
    }
}

/// Blocks every signal in the calling thread (those the C library reserves for itself stay
/// unblocked) and returns the previous mask, so that no handler runs in a fork-like child
/// before it has reset its dispositions.
pub fn block_all_signals() -> SignalMask {
    // SAFETY: sigset_t is plain data; sigfillset and pthread_sigmask only write to the two
    // locals they are given.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        SignalMask(old)
    }
}

/// Sets the calling thread's signal mask (undoes [`block_all_signals`]).
pub fn set_thread_signal_mask(mask: &SignalMask) {
    // SAFETY: pthread_sigmask reads the given set and writes nothing through a null pointer.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &mask.0, core::ptr::null_mut());
    }
}

/// The kernel's `sigset_t` is 64 bits on x86_64; the C library's is larger but begins with it.
const KERNEL_SIGSET_SIZE: usize = 8;

/// Raw `rt_sigprocmask(SIG_SETMASK)`, for the child side of a fork (no C library state).
pub fn set_signal_mask_raw(mask: &SignalMask) -> Result<(), Errno> {
    let ret: isize;
    // SAFETY: the kernel reads KERNEL_SIGSET_SIZE bytes from the start of `mask.0`, which is
    // at least that large (128 bytes in glibc); the old-set pointer is null.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") NR_RT_SIGPROCMASK => ret,
            in("rdi") libc::SIG_SETMASK as isize, in("rsi") &mask.0 as *const libc::sigset_t,
            in("rdx") 0usize, in("r10") KERNEL_SIGSET_SIZE,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    check(ret).map(|_| ())
}

/// `struct sigaction` as the x86_64 kernel reads it.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// Raw `rt_sigaction(sig, SIG_DFL)`: sets a signal's disposition back to the default, for the
/// child side of a fork. Used for `SIGPIPE`, which Rust programs ignore and which `execve`
/// would otherwise pass on as ignored.
pub fn set_default_disposition_raw(sig: i32) -> Result<(), Errno> {
    let act = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let ret: isize;
    // SAFETY: the kernel reads the local `act` (layout of the x86_64 kernel sigaction) and
    // writes nothing (old-action pointer null).
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") NR_RT_SIGACTION => ret,
            in("rdi") sig as isize, in("rsi") &act as *const KernelSigaction,
            in("rdx") 0usize, in("r10") KERNEL_SIGSET_SIZE,
            lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    check(ret).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn exec_failure_returns_errno() {
        let path = CString::new("/nonexistent/xclone-test").unwrap();
        let argv = CStrArray::new([path.clone()]);
        let envp = CStrArray::new([]);
        assert_eq!(argv.len(), 1);
        assert_eq!(execve(&path, &argv, &envp), Errno::ENOENT);
    }

    #[test]
    fn raw_signal_helpers_work_in_a_child() {
        let f = fork_then(&ForkSpec::default(), || {
            let mask = block_all_signals();
            let ok = set_signal_mask_raw(&mask).is_ok()
                && set_default_disposition_raw(libc::SIGPIPE).is_ok();
            exit_group(if ok { 0 } else { 1 })
        })
        .unwrap();
        assert_eq!(wait_status(f.pid), 0);
    }
}
