//! The end of the user address space, as the running kernel has it.
//!
//! On x86_64 the kernel's user-pointer checks (`access_ok()`, used by
//! `clone3_stack_valid()`) and `ARCH_SET_FS` (the `CLONE_SETTLS` check of `copy_thread()`)
//! compare against `TASK_SIZE_MAX`: `(1 << __VIRTUAL_MASK_SHIFT) - PAGE_SIZE`, where the
//! shift is 47 with 4-level page tables and 56 with 5-level ones (LA57, `CONFIG_X86_5LEVEL`,
//! decided at boot by `pgtable_l5_enabled()`; arch/x86/include/asm/page_64_types.h). A
//! process's mappings stay below 2^47 unless it asks for an address above (the
//! `DEFAULT_MAP_WINDOW`), so the highest existing mapping says nothing: the kernel is asked
//! instead.
//!
//! On arm64 and riscv64 the ends are powers of two with no page taken off: on arm64
//! `TASK_SIZE_MAX` is `1 << VA_BITS` (the kernel's configuration: 39, 42, 47, 48 or 52) and
//! the mappable `TASK_SIZE` `1 << vabits_actual`, which is 48 on a 52-bit kernel whose CPU
//! lacks LPA2/LVA; riscv64 has `1 << 38`, `1 << 47` or `1 << 56` (Sv39, Sv48, Sv57;
//! arch/riscv/include/asm/pgtable.h). There clone3 itself is asked which stacks it takes,
//! one candidate end at a time, highest first (the mappable end where it cannot be asked).

/// `TASK_SIZE_MAX` with 4-level page tables (x86_64).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub const USER_SPACE_END_4LEVEL: u64 = (1 << 47) - 4096;
/// `TASK_SIZE_MAX` with 5-level page tables (x86_64).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub const USER_SPACE_END_5LEVEL: u64 = (1 << 56) - 4096;

/// Where this kernel's user address space ends (exclusive): [`USER_SPACE_END_5LEVEL`] when
/// it places a mapping asked for at 2^55, else [`USER_SPACE_END_4LEVEL`].
///
/// The question: `mmap(2^55, one page, PROT_NONE, MAP_FIXED_NOREPLACE)`. With 4-level
/// paging the address lies beyond `TASK_SIZE` and the kernel answers `ENOMEM`; with 5-level
/// paging it maps the page there (it is unmapped again at once). A kernel older than 4.17
/// ignores `MAP_FIXED_NOREPLACE` and takes the address as a hint, which it honours only
/// with 5-level paging: the returned address tells either way.
#[cfg(target_arch = "x86_64")]
pub fn user_space_end() -> u64 {
    match map_page_once(1 << 55) {
        Ok(got) if got >= 1 << 47 => USER_SPACE_END_5LEVEL,
        _ => USER_SPACE_END_4LEVEL,
    }
}

/// The ends the user address space may have on arm64 (`1 << VA_BITS`) and riscv64 (Sv39,
/// Sv48, Sv57), highest first.
#[cfg(not(target_arch = "x86_64"))]
const CANDIDATE_ENDS: [u64; 7] = [
    1 << 56,
    1 << 52,
    1 << 48,
    1 << 47,
    1 << 42,
    1 << 39,
    1 << 38,
];

/// Where this kernel's user address space ends (exclusive), on arm64 and riscv64, as its
/// user-pointer checks see it: the highest candidate end whose last page clone3 accepts as
/// a child stack ([`clone3_stack_end`]); where clone3 cannot be asked, the highest candidate
/// end whose last page the kernel maps (or has mapped already).
///
/// The two differ on arm64 when the kernel was built for 52-bit addresses (`VA_BITS` 52,
/// Debian's arm64 kernels) and the CPU translates only 48 bits (no LPA2/LVA): `access_ok()`
/// compares against `TASK_SIZE_MAX`, `1 << VA_BITS`, while mappings end at `TASK_SIZE`,
/// `1 << vabits_actual`. On riscv64 `TASK_SIZE_MAX` was `LONG_MAX` in the kernels that carry
/// ad5643cf2f69 ("riscv: Define TASK_SIZE_MAX for __access_ok()") without its later revert.
#[cfg(not(target_arch = "x86_64"))]
pub fn user_space_end() -> u64 {
    if let Some(end) = clone3_stack_end() {
        return end;
    }
    for end in CANDIDATE_ENDS {
        if page_usable(end - 4096) {
            return end;
        }
    }
    1 << 38
}

/// The end of the range clone3 accepts for a child stack: the highest candidate `end` for
/// which `[end - 4096, end)` passes `clone3_stack_valid()`. `None` when the kernel cannot be
/// asked this way (clone3 filtered or missing, no `set_tid` before 5.5, children going to
/// another pid namespace, a limit refusing new processes) or answers none of the candidates.
#[cfg(not(target_arch = "x86_64"))]
fn clone3_stack_end() -> Option<u64> {
    use super::probe_calls::{clone3_stack_check, CloneOutcome};
    use crate::errno::Errno;
    // The question names our own PID for the child: sound only where children are born in
    // our pid namespace (not after unshare(CLONE_NEWPID), where that PID may be free).
    let ns = |f: &str| std::fs::read_link(format!("/proc/self/ns/{f}")).ok();
    if ns("pid")? != ns("pid_for_children")? {
        return None;
    }
    let accepted = |end: u64| match clone3_stack_check(end - 4096, 4096) {
        CloneOutcome::Failed(Errno::EEXIST | Errno::EPERM) => Some(true),
        CloneOutcome::Failed(Errno::EINVAL) => Some(false),
        _ => None,
    };
    // A stack every kernel accepts: without EBADF there, the question cannot be asked.
    if accepted(1 << 32)? {
        // riscv64's `LONG_MAX` first (see `user_space_end`).
        for end in std::iter::once(i64::MAX as u64).chain(CANDIDATE_ENDS) {
            if accepted(end)? {
                return Some(end);
            }
        }
    }
    None
}

/// Whether the page at `addr` lies in this process's address space: the kernel maps a new
/// page there, or one is there already (`EEXIST`).
#[cfg(not(target_arch = "x86_64"))]
fn page_usable(addr: u64) -> bool {
    match map_page_once(addr) {
        Ok(got) => got == addr,
        Err(e) => e == libc::EEXIST,
    }
}

/// Asks the kernel for one new `PROT_NONE` page at `addr` (`MAP_FIXED_NOREPLACE`, which
/// never replaces an existing mapping; a kernel older than 4.17 takes the address as a
/// hint) and unmaps it again at once: the address the page got, or the errno of the refusal.
fn map_page_once(addr: u64) -> Result<u64, i32> {
    const PAGE: usize = 4096;
    // SAFETY: a new anonymous PROT_NONE mapping that never replaces an existing one
    // (MAP_FIXED_NOREPLACE; an old kernel takes the address as a hint); it is unmapped before
    // anything could refer to it.
    let got = unsafe {
        libc::mmap(
            addr as usize as *mut libc::c_void,
            PAGE,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if got == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ENOMEM));
    }
    // SAFETY: the mapping was just made by us, one page, and nothing refers to it.
    unsafe { libc::munmap(got, PAGE) };
    Ok(got as usize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn matches_the_cpu_and_kernel() {
        let end = user_space_end();
        assert!(end == USER_SPACE_END_4LEVEL || end == USER_SPACE_END_5LEVEL);
        // 5-level paging needs the CPU's la57 flag; without it the space is 47 bits.
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let la57 = cpuinfo
            .lines()
            .filter(|l| l.starts_with("flags"))
            .any(|l| l.split_whitespace().any(|w| w == "la57"));
        if !la57 {
            assert_eq!(end, USER_SPACE_END_4LEVEL);
        }
        // Every mapping of this process lies below the end.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for l in maps.lines().filter(|l| !l.ends_with("[vsyscall]")) {
            let hi = l.split(['-', ' ']).nth(1).unwrap();
            assert!(u64::from_str_radix(hi, 16).unwrap() <= end, "{l}");
        }
    }

    #[test]
    fn every_mapping_lies_below_the_end() {
        let end = user_space_end();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        for l in maps.lines().filter(|l| !l.ends_with("[vsyscall]")) {
            let hi = l.split(['-', ' ']).nth(1).unwrap();
            assert!(u64::from_str_radix(hi, 16).unwrap() <= end, "{l}");
        }
    }
}
