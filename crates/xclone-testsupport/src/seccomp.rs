//! What a test's seccomp filter needs to know of the target architecture: the `arch` value
//! of its native system calls and the numbers of the calls the tests deny.

/// `AUDIT_ARCH_*` of the native ABI (`EM_*` | 64-bit | little-endian, `<linux/audit.h>`):
/// the `arch` field a filter sees for this target's own system calls.
#[cfg(target_arch = "x86_64")]
pub const AUDIT_ARCH: u32 = 62 | 0xC000_0000;
/// `AUDIT_ARCH_*` of the native ABI (`EM_*` | 64-bit | little-endian, `<linux/audit.h>`):
/// the `arch` field a filter sees for this target's own system calls.
#[cfg(target_arch = "aarch64")]
pub const AUDIT_ARCH: u32 = 183 | 0xC000_0000;
/// `AUDIT_ARCH_*` of the native ABI (`EM_*` | 64-bit | little-endian, `<linux/audit.h>`):
/// the `arch` field a filter sees for this target's own system calls.
#[cfg(target_arch = "riscv64")]
pub const AUDIT_ARCH: u32 = 243 | 0xC000_0000;

/// The system calls that make a directory: `mkdir` and `mkdirat` on x86_64, only `mkdirat`
/// where the table is asm-generic's (aarch64, riscv64), which has no `mkdir`.
pub fn mkdir_calls() -> Vec<u32> {
    #[cfg(target_arch = "x86_64")]
    return vec![libc::SYS_mkdir as u32, libc::SYS_mkdirat as u32];
    #[cfg(not(target_arch = "x86_64"))]
    return vec![libc::SYS_mkdirat as u32];
}

/// `uname(2)`'s number.
pub const UNAME: u32 = libc::SYS_uname as u32;
