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

/// The function a child started on a new stack runs. Its return value becomes the thread's
/// exit status. It must never unwind.
pub type ChildFn = unsafe extern "C" fn(*mut c_void) -> i32;

#[cfg(not(target_arch = "x86_64"))]
compile_error!(
    "xclone's raw layer is written for x86_64 Linux; other architectures need their own trampoline"
);

const NR_CLONE: usize = 56;
const NR_CLONE3: usize = 435;
const NR_EXIT: usize = 60;

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
    let ret: isize;
    // SAFETY: the caller upholds the contract above; the syscall clobbers rcx and r11 only.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") NR_CLONE3 => ret,
            in("rdi") args as *const clone_args,
            in("rsi") size,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
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
    let ret: isize;
    // SAFETY: newsp = 0 keeps the child on (a copy of) the current stack, which is sound
    // without CLONE_VM as the caller promises; clobbers are rcx and r11.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") NR_CLONE => ret,
            in("rdi") flags,
            in("rsi") 0usize,
            in("rdx") parent_tid,
            in("r10") child_tid,
            in("r8") 0usize,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
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
    let ret: isize;
    // SAFETY: the kernel returns twice. The parent path (rax != 0) falls through with only
    // rax/rcx/r11 changed. The child path runs on the fresh stack the caller reserved and
    // never returns to Rust code: it calls `f` (held in callee-saved r12/r13 across the
    // syscall) and ends the thread with the exit syscall.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "and rsp, -16",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const NR_EXIT,
            inlateout("rax") NR_CLONE3 => ret,
            in("rdi") args as *const clone_args,
            in("rsi") size,
            in("r12") f,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
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
    let ret: isize;
    // SAFETY: as in clone3_on_stack; the legacy argument order on x86_64 is
    // flags, newsp, parent_tid, child_tid, tls.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "and rsp, -16",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const NR_EXIT,
            inlateout("rax") NR_CLONE => ret,
            in("rdi") flags,
            in("rsi") stack_top,
            in("rdx") parent_tid,
            in("r10") 0usize,
            in("r8") 0usize,
            in("r12") f,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    result(ret)
}

/// Raw `exit_group`, for fork-like children that must not run libc's atexit handlers.
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group never returns and touches no memory of ours.
    unsafe {
        core::arch::asm!("syscall", in("rax") 231usize, in("rdi") code as isize, options(noreturn, nostack));
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
