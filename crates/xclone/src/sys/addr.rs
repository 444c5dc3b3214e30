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
//! On arm64 and riscv64 `TASK_SIZE` is a power of two with no page taken off: `1 << 48` or
//! `1 << 52` on arm64 (`vabits_actual`), `1 << 38`, `1 << 47` or `1 << 56` on riscv64 (Sv39,
//! Sv48, Sv57; arch/riscv/include/asm/pgtable.h). There the kernel is asked the same way,
//! one candidate end at a time, highest first.

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
    const HINT: u64 = 1 << 55;
    const PAGE: usize = 4096;
    // SAFETY: a new anonymous PROT_NONE mapping at an address nothing of ours can use
    // (MAP_FIXED_NOREPLACE never replaces an existing mapping; without it the address is a
    // hint); it is unmapped before anything could refer to it.
    let got = unsafe {
        libc::mmap(
            HINT as usize as *mut libc::c_void,
            PAGE,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if got == libc::MAP_FAILED {
        return USER_SPACE_END_4LEVEL;
    }
    // SAFETY: the mapping was just made by us, one page, and nothing refers to it.
    unsafe { libc::munmap(got, PAGE) };
    if got as usize as u64 >= 1 << 47 {
        USER_SPACE_END_5LEVEL
    } else {
        USER_SPACE_END_4LEVEL
    }
}

/// Where this kernel's user address space ends (exclusive), on arm64 and riscv64: the
/// highest candidate end whose last page the kernel maps (or has mapped already).
#[cfg(not(target_arch = "x86_64"))]
pub fn user_space_end() -> u64 {
    const CANDIDATES: [u32; 5] = [56, 52, 48, 47, 38];
    for bits in CANDIDATES {
        let end = 1u64 << bits;
        if page_usable(end - 4096) {
            return end;
        }
    }
    1 << 38
}

/// Whether the page at `addr` lies in this process's address space: the kernel maps a new
/// page there, or one is there already (`EEXIST`).
#[cfg(not(target_arch = "x86_64"))]
fn page_usable(addr: u64) -> bool {
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
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST);
    }
    // SAFETY: the mapping was just made by us, one page, and nothing refers to it.
    unsafe { libc::munmap(got, PAGE) };
    got as usize as u64 == addr
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
