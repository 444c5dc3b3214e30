//! The process-creating system calls, nothing else: `clone3(2)` and `clone(2)`, both the
//! fork-like form and the form that starts the child on its own stack.
//!
//! These calls return twice. Everything here is `unsafe` because the caller must make the
//! child side sound: see each function's contract. Errors come back as raw errno values; the
//! layers above attach explanations.

use super::abi::clone_args;
use core::ffi::c_void;

/// A negative kernel return, as a positive errno.
pub type RawErrno = i32;

pub use super::arch::ChildFn;
use super::arch::{clone_then_call, legacy_clone_args, syscall6};
use super::syscall::nr;

#[inline(always)]
fn result(ret: isize) -> Result<i32, RawErrno> {
    if (-4095..0).contains(&ret) {
        Err((-ret) as i32)
    } else {
        Ok(ret as i32)
    }
}

/// `clone3(args, size)` with the child continuing on the caller's stack, like `fork()`.
///
/// Returns `Ok(0)` in the child, `Ok(pid)` in the parent, `Err(errno)` on failure.
///
/// # Safety
/// `args` must describe memory valid for the kernel (pidfd/tid/set_tid pointers) and `size`
/// must not exceed `size_of::<clone_args>()` unless the caller's buffer is that large. If
/// `CLONE_VM` is set, `args.stack` must be 0 only when the child does not touch the stack
/// (it never does here: use [`clone3_on_stack`] instead). In the child (which is a copy of
/// only the calling thread) only async-signal-safe work may be done before `execve`/`_exit`.
pub unsafe fn clone3(args: &clone_args, size: usize) -> Result<i32, RawErrno> {
    // SAFETY: the caller upholds the contract above; the child continues here like the
    // parent, on (a copy of) the same stack.
    let ret = unsafe {
        syscall6(
            nr::CLONE3,
            args as *const clone_args as usize,
            size,
            0,
            0,
            0,
            0,
        )
    };
    result(ret)
}

/// `clone(flags, NULL, parent_tid, child_tid, 0)`: the legacy call, fork-like (the child
/// continues on a copy of the caller's stack). The exit signal goes in the low byte of `flags`.
///
/// # Safety
/// As [`clone3`]; `CLONE_VM` must not be set (the child would share the stack it runs on).
pub unsafe fn clone(
    flags: u64,
    parent_tid: *mut i32,
    child_tid: *mut i32,
) -> Result<i32, RawErrno> {
    let [a1, a2, a3, a4, a5] = legacy_clone_args(
        flags as usize,
        0,
        parent_tid as usize,
        child_tid as usize,
        0,
    );
    // SAFETY: newsp = 0 keeps the child on (a copy of) the current stack, which is sound
    // without CLONE_VM as the caller promises.
    let ret = unsafe { syscall6(nr::CLONE, a1, a2, a3, a4, a5, 0) };
    result(ret)
}

/// `clone3` whose child starts on the stack given by `args.stack`/`args.stack_size` and runs
/// `f(arg)`; when `f` returns, the child thread exits with its value (raw `exit`, no libc).
///
/// # Safety
/// `args.stack .. args.stack + args.stack_size` must be a mapping reserved for the child, large
/// enough for `f`'s deepest path, and not used by anyone else until the child has exited or
/// exec'd. `f` must not unwind, and with `CLONE_VM` it must not allocate, lock, or touch state
/// that the suspended or concurrently running parent relies on.
pub unsafe fn clone3_on_stack(
    args: &clone_args,
    size: usize,
    f: ChildFn,
    arg: *mut c_void,
) -> Result<i32, RawErrno> {
    let args = [args as *const clone_args as usize, size, 0, 0, 0];
    // SAFETY: the caller reserved the stack named in `args` for the child, which runs only
    // `f(arg)` there and exits (see `arch::clone_then_call`).
    let ret = unsafe { clone_then_call(nr::CLONE3, args, f, arg) };
    result(ret)
}

/// `clone(2)` whose child starts at `stack_top` and runs `f(arg)`, the fallback for
/// [`clone3_on_stack`] where clone3 is missing or filtered.
///
/// # Safety
/// As [`clone3_on_stack`]; `stack_top` is the highest address of the child's stack (16-byte
/// aligned). `parent_tid` receives the pidfd when `CLONE_PIDFD` is in `flags`.
pub unsafe fn clone_on_stack(
    flags: u64,
    stack_top: *mut u8,
    parent_tid: *mut i32,
    f: ChildFn,
    arg: *mut c_void,
) -> Result<i32, RawErrno> {
    let args = legacy_clone_args(
        flags as usize,
        stack_top as usize,
        parent_tid as usize,
        0,
        0,
    );
    // SAFETY: as in clone3_on_stack, with the stack top passed as newsp.
    let ret = unsafe { clone_then_call(nr::CLONE, args, f, arg) };
    result(ret)
}

/// Raw `exit_group`, for fork-like children that must not run libc's atexit handlers.
pub fn exit_group(code: i32) -> ! {
    loop {
        // SAFETY: exit_group never returns and touches no memory of ours.
        unsafe { syscall6(nr::EXIT_GROUP, code as usize, 0, 0, 0, 0, 0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::abi::{CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER2};

    #[test]
    fn clone3_size_checks_come_first() {
        let args = clone_args::default();
        // SAFETY: both calls fail in copy_clone_args_from_user before creating anything.
        unsafe {
            assert_eq!(clone3(&args, 8), Err(libc::EINVAL));
            assert_eq!(clone3(&args, 8192), Err(libc::E2BIG));
        }
    }

    #[test]
    fn clone3_fork_like_child_exits() {
        let mut pidfd: i32 = -1;
        let args = clone_args {
            flags: libc::CLONE_PIDFD as u64,
            pidfd: &mut pidfd as *mut i32 as u64,
            exit_signal: libc::SIGCHLD as u64,
            ..Default::default()
        };
        // SAFETY: fork-like child only calls exit_group.
        let pid = unsafe { clone3(&args, CLONE_ARGS_SIZE_VER0) }.unwrap();
        if pid == 0 {
            exit_group(7);
        }
        assert!(pidfd >= 0);
        let mut status = 0;
        // SAFETY: plain waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid);
        assert_eq!(libc::WEXITSTATUS(status), 7);
        // SAFETY: closing the pidfd we were given.
        unsafe { libc::close(pidfd) };
        let _ = CLONE_ARGS_SIZE_VER2;
    }

    unsafe extern "C" fn child_writes(arg: *mut c_void) -> i32 {
        // SAFETY: arg points at an i32 in the parent's frame, which is alive because the
        // parent is suspended by CLONE_VFORK until we exit.
        unsafe { *(arg as *mut i32) = 42 };
        3
    }

    #[test]
    fn clone3_on_stack_shares_memory() {
        const STACK: usize = 64 * 1024;
        let mut stack = vec![0u8; STACK];
        let mut shared: i32 = 0;
        let args = clone_args {
            flags: (libc::CLONE_VM | libc::CLONE_VFORK) as u64,
            exit_signal: libc::SIGCHLD as u64,
            stack: stack.as_mut_ptr() as u64,
            stack_size: STACK as u64,
            ..Default::default()
        };
        // SAFETY: the stack is ours and unused; the child only writes `shared` and returns.
        let pid = unsafe {
            clone3_on_stack(
                &args,
                CLONE_ARGS_SIZE_VER0,
                child_writes,
                &mut shared as *mut i32 as *mut c_void,
            )
        }
        .unwrap();
        assert!(pid > 0);
        assert_eq!(shared, 42);
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(libc::WEXITSTATUS(status), 3);
    }

    #[test]
    fn clone_on_stack_works_too() {
        const STACK: usize = 64 * 1024;
        let mut stack = vec![0u8; STACK];
        let mut shared: i32 = 0;
        let top = stack.as_mut_ptr().wrapping_add(STACK);
        let flags = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
        // SAFETY: as above, with the legacy call.
        let pid = unsafe {
            clone_on_stack(
                flags,
                top,
                core::ptr::null_mut(),
                child_writes,
                &mut shared as *mut i32 as *mut c_void,
            )
        }
        .unwrap();
        assert_eq!(shared, 42);
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(libc::WEXITSTATUS(status), 3);
    }
}
