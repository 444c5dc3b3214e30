//! The only architecture-specific code of the crate: the system-call instruction and the
//! clone trampolines, one small file per architecture behind the same items.
//!
//! Every file provides:
//! * `syscall6(nr, a1..a6) -> isize`: one system call, the raw kernel return value;
//! * `clone_then_call(nr, args, f, arg) -> isize`: a process-creating call (`clone3` or
//!   `clone`) whose child, on the stack the kernel gave it, calls `f(arg)` and ends the thread
//!   with `exit(f's value)`; the parent gets the raw return value;
//! * `clone_then_exit(nr, args) -> isize`: a process-creating call whose child calls `exit(0)`
//!   at once without touching memory (for the probe);
//! * `legacy_clone_args(flags, newsp, parent_tid, child_tid, tls)`: the five `clone(2)`
//!   arguments in this architecture's register order;
//! * `AUDIT_ARCH`: the `AUDIT_ARCH_*` value seccomp filters see for native system calls.
//!
//! System call numbers are not here: they come from `linux-raw-sys` (see
//! [`super::syscall::nr`]), which has each architecture's table.

#[cfg(target_arch = "aarch64")]
#[path = "aarch64.rs"]
mod imp;
#[cfg(target_arch = "riscv64")]
#[path = "riscv64.rs"]
mod imp;
#[cfg(target_arch = "x86_64")]
#[path = "x86_64.rs"]
mod imp;

#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
compile_error!(
    "xclone's raw layer is written for x86_64, aarch64 and riscv64 Linux; another architecture \
     needs its own file in crates/xclone/src/sys/arch/"
);

pub(crate) use imp::{clone_then_call, clone_then_exit, legacy_clone_args, syscall6, AUDIT_ARCH};

/// The function a child started on a new stack runs. Its return value becomes the thread's
/// exit status. It must never unwind.
pub type ChildFn = unsafe extern "C" fn(*mut core::ffi::c_void) -> i32;

/// `__AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE` of `<linux/audit.h>`, shared by the three.
const AUDIT_ARCH_64BIT_LE: u32 = 0x8000_0000 | 0x4000_0000;

/// `exit(2)`, which ends only the calling thread: the number every trampoline's child uses.
const NR_EXIT: usize = linux_raw_sys::general::__NR_exit as usize;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_arch_is_the_kernels_value() {
        // The values of <linux/audit.h> for the three architectures.
        let expected = if cfg!(target_arch = "x86_64") {
            0xc000_003e
        } else if cfg!(target_arch = "aarch64") {
            0xc000_00b7
        } else {
            0xc000_00f3
        };
        assert_eq!(AUDIT_ARCH, expected);
    }

    #[test]
    fn legacy_clone_puts_flags_and_stack_first() {
        let a = legacy_clone_args(1, 2, 3, 4, 5);
        assert_eq!(&a[..3], &[1, 2, 3]);
    }
}
