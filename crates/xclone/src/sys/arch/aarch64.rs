//! aarch64.
//!
//! System calls: `svc #0` with the number in `x8` and the arguments in `x0`–`x5`; the result
//! comes back in `x0`. The kernel preserves every other general-purpose register.
//!
//! Clone: the child returns from the same `svc` with `x0` = 0 and every other register as the
//! parent had it, except `sp`, which is the new stack when one was given (`clone3`:
//! `stack + stack_size`; `clone`: `newsp`). AAPCS64 requires `sp` 16-byte aligned whenever it
//! is used to access memory (the hardware may check it); `x29` = 0 and `x30` = 0 end the frame
//! record chain. `f` and its argument ride in callee-saved `x20`/`x21` (Rust reserves `x19`,
//! `x29` and `x30` as operands), which the kernel copies into the child; the child path
//! overwrites `x9`, `x29` and `x30` and never comes back.
//!
//! Legacy `clone(2)` argument order: flags, newsp, parent_tid, tls, child_tid — arm64 selects
//! `CLONE_BACKWARDS` (arch/arm64/Kconfig; the `SYSCALL_DEFINE5(clone, ...)` variants in
//! kernel/fork.c).

use super::{ChildFn, AUDIT_ARCH_64BIT_LE, NR_EXIT};
use core::ffi::c_void;

/// `AUDIT_ARCH_AARCH64`: `EM_AARCH64` (183) | 64-bit | little-endian.
pub(crate) const AUDIT_ARCH: u32 = 183 | AUDIT_ARCH_64BIT_LE;

/// The `clone(2)` registers, in order, for these arguments.
pub(crate) const fn legacy_clone_args(
    flags: usize,
    newsp: usize,
    parent_tid: usize,
    child_tid: usize,
    tls: usize,
) -> [usize; 5] {
    [flags, newsp, parent_tid, tls, child_tid]
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
    // SAFETY: the caller guarantees the arguments; `svc` changes x0 only.
    unsafe {
        core::arch::asm!(
            "svc #0",
            inlateout("x0") a1 as isize => ret,
            in("x1") a2,
            in("x2") a3,
            in("x3") a4,
            in("x4") a5,
            in("x5") a6,
            in("x8") nr,
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
    // SAFETY: the kernel returns twice. The parent path (x0 != 0) falls through with only x0
    // changed. The child path runs on the fresh stack the caller reserved and never returns to
    // Rust code: it aligns sp, clears the frame record registers, calls `f` (held in
    // callee-saved x20/x21 across the call) and ends the thread with the exit syscall.
    unsafe {
        core::arch::asm!(
            "svc #0",
            "cbnz x0, 2f",
            "mov x29, xzr",
            "mov x30, xzr",
            "mov x9, sp",
            "and x9, x9, #-16",
            "mov sp, x9",
            "mov x0, x21",
            "blr x20",
            "mov x8, #{exit}",
            "svc #0",
            "brk #0x1",
            "2:",
            exit = const NR_EXIT,
            inlateout("x0") args[0] as isize => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x8") nr,
            in("x20") f,
            in("x21") arg,
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
    // SAFETY: a created child executes only the two instructions after `cbnz` (x0 is already
    // 0, the exit status) — no memory access, no stack use — and leaves through the exit
    // syscall. x8 is changed only on that child path, which never returns here.
    unsafe {
        core::arch::asm!(
            "svc #0",
            "cbnz x0, 2f",
            "mov x8, #{exit}",
            "svc #0",
            "brk #0x1",
            "2:",
            exit = const NR_EXIT,
            inlateout("x0") args[0] as isize => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x8") nr,
            options(nostack)
        );
    }
    ret
}
