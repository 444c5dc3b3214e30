//! x86_64.
//!
//! System calls: the `syscall` instruction with the number in `rax` and the arguments in `rdi`,
//! `rsi`, `rdx`, `r10`, `r8`, `r9`; the result comes back in `rax`. The instruction itself
//! overwrites `rcx` (return address) and `r11` (flags); the kernel preserves every other
//! register.
//!
//! Clone: the child returns from the same `syscall` instruction with `rax` = 0 and every other
//! register as the parent had it, except `rsp`, which is the new stack when one was given
//! (`clone3`: `stack + stack_size`; `clone`: `newsp`). The psABI wants `rsp` 16-byte aligned
//! at a `call`; `rbp` = 0 ends the frame chain for debuggers. `f` and its argument ride in
//! callee-saved `r12`/`r13`, which the kernel copies into the child.
//!
//! Legacy `clone(2)` argument order: flags, newsp, parent_tid, child_tid, tls (x86_64 does not
//! select `CLONE_BACKWARDS`: see the `SYSCALL_DEFINE5(clone, ...)` variants in kernel/fork.c).

use super::{ChildFn, AUDIT_ARCH_64BIT_LE, NR_EXIT};
use core::ffi::c_void;

/// `AUDIT_ARCH_X86_64`: `EM_X86_64` (62) | 64-bit | little-endian.
pub(crate) const AUDIT_ARCH: u32 = 62 | AUDIT_ARCH_64BIT_LE;

/// The `clone(2)` registers, in order, for these arguments.
pub(crate) const fn legacy_clone_args(
    flags: usize,
    newsp: usize,
    parent_tid: usize,
    child_tid: usize,
    tls: usize,
) -> [usize; 5] {
    [flags, newsp, parent_tid, child_tid, tls]
}

/// `syscall(nr, a1..a6)`.
///
/// # Safety
/// The arguments must satisfy the contract of system call `nr`.
#[inline(always)]
pub(crate) unsafe fn syscall6(
    nr: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees the arguments; the x86_64 syscall instruction clobbers
    // rcx and r11 only, and the kernel preserves every other register.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            in("r8") a5,
            in("r9") a6,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// Process-creating call `nr` with `args`; the child runs `f(arg)` on its new stack and exits
/// with its value.
///
/// # Safety
/// See [`crate::sys::raw::clone3_on_stack`]: the call must give the child a stack of its own.
#[inline(always)]
pub(crate) unsafe fn clone_then_call(
    nr: usize,
    args: [usize; 5],
    f: ChildFn,
    arg: *mut c_void,
) -> isize {
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
            inlateout("rax") nr => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r12") f,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// Process-creating call `nr` with `args` whose child calls `exit(0)` at once.
///
/// # Safety
/// See [`crate::sys::probe_calls::clone3`]: a child sharing the caller's memory must find the
/// caller suspended (`CLONE_VFORK`), and every signal must be blocked.
#[inline(always)]
pub(crate) unsafe fn clone_then_exit(nr: usize, args: [usize; 5]) -> isize {
    let ret: isize;
    // SAFETY: a created child executes only the three instructions after `jnz` — no memory
    // access, no stack use — and leaves through the exit syscall. rdi is changed only on that
    // child path, which never returns here.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov eax, {exit}",
            "xor edi, edi",
            "syscall",
            "ud2",
            "2:",
            exit = const NR_EXIT,
            inlateout("rax") nr => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}
