//! riscv64.
//!
//! System calls: `ecall` with the number in `a7` and the arguments in `a0`–`a5`; the result
//! comes back in `a0`. The kernel preserves every other register.
//!
//! Clone: the child returns from the same `ecall` with `a0` = 0 and every other register as
//! the parent had it, except `sp`, which is the new stack when one was given (`clone3`:
//! `stack + stack_size`; `clone`: `newsp`). The psABI keeps `sp` 16-byte aligned; `fp` (`s0`)
//! = 0 and `ra` = 0 end the frame chain. `f` and its argument ride in callee-saved `s2`/`s3`
//! (Rust reserves `s0` and `s1` as operands), which the kernel copies into the child; the child
//! path overwrites `s0` and `ra` and never comes back.
//!
//! Legacy `clone(2)` argument order: flags, newsp, parent_tid, tls, child_tid — riscv selects
//! `CLONE_BACKWARDS` (arch/riscv/Kconfig; the `SYSCALL_DEFINE5(clone, ...)` variants in
//! kernel/fork.c).

use super::{ChildFn, AUDIT_ARCH_64BIT_LE, NR_EXIT};
use core::ffi::c_void;

/// `AUDIT_ARCH_RISCV64`: `EM_RISCV` (243) | 64-bit | little-endian.
pub(crate) const AUDIT_ARCH: u32 = 243 | AUDIT_ARCH_64BIT_LE;

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
    // SAFETY: the caller guarantees the arguments; `ecall` changes a0 only.
    unsafe {
        core::arch::asm!(
            "ecall",
            inlateout("a0") a1 as isize => ret,
            in("a1") a2,
            in("a2") a3,
            in("a3") a4,
            in("a4") a5,
            in("a5") a6,
            in("a7") nr,
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
    // SAFETY: the kernel returns twice. The parent path (a0 != 0) falls through with only a0
    // changed. The child path runs on the fresh stack the caller reserved and never returns to
    // Rust code: it aligns sp, clears fp and ra, calls `f` (held in callee-saved s2/s3 across
    // the call) and ends the thread with the exit syscall.
    unsafe {
        core::arch::asm!(
            "ecall",
            "bnez a0, 2f",
            "li s0, 0",
            "li ra, 0",
            "andi sp, sp, -16",
            "mv a0, s3",
            "jalr s2",
            "li a7, {exit}",
            "ecall",
            "unimp",
            "2:",
            exit = const NR_EXIT,
            inlateout("a0") args[0] as isize => ret,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a7") nr,
            in("s2") f,
            in("s3") arg,
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
    // SAFETY: a created child executes only the two instructions after `bnez` (a0 is already
    // 0, the exit status) — no memory access, no stack use — and leaves through the exit
    // syscall. a7 is changed only on that child path, which never returns here.
    unsafe {
        core::arch::asm!(
            "ecall",
            "bnez a0, 2f",
            "li a7, {exit}",
            "ecall",
            "unimp",
            "2:",
            exit = const NR_EXIT,
            inlateout("a0") args[0] as isize => ret,
            in("a1") args[1],
            in("a2") args[2],
            in("a3") args[3],
            in("a4") args[4],
            in("a7") nr,
            options(nostack)
        );
    }
    ret
}
