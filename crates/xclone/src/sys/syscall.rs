//! Raw system calls without libc: no `errno`, no cancellation points, no locks, nothing that
//! touches the calling thread's descriptor. That is what a `CLONE_VM` child needs between
//! clone and exec, where it runs on the parent thread's TLS and heap.
//!
//! Only x86_64 is written (like the trampolines in [`super::raw`]).

/// A failed call's errno, positive.
pub type RawErrno = i32;

#[inline(always)]
pub(crate) fn result(ret: isize) -> Result<usize, RawErrno> {
    if (-4095..0).contains(&ret) {
        Err(ret.wrapping_neg() as i32)
    } else {
        Ok(ret as usize)
    }
}

/// `syscall(nr, a1..a6)`; unused arguments are passed as 0.
///
/// # Safety
/// The arguments must satisfy the contract of system call `nr`: pointers valid for what
/// the kernel reads or writes through them, file descriptors meaningful to the caller.
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

/// System call numbers used by the crate (x86_64).
pub(crate) mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const CLOSE: usize = 3;
    pub const POLL: usize = linux_raw_sys::general::__NR_poll as usize;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const GETPID: usize = 39;
    pub const EXECVE: usize = 59;
    pub const FCNTL: usize = 72;
    pub const CHDIR: usize = 80;
    pub const SETUID: usize = 105;
    pub const SETGID: usize = 106;
    pub const SETPGID: usize = 109;
    pub const GETPPID: usize = 110;
    pub const SETSID: usize = 112;
    pub const SETGROUPS: usize = 116;
    pub const PIVOT_ROOT: usize = 155;
    pub const PRCTL: usize = 157;
    pub const CHROOT: usize = 161;
    pub const MOUNT: usize = 165;
    pub const UMOUNT2: usize = 166;
    pub const SETHOSTNAME: usize = 170;
    pub const GETTID: usize = 186;
    pub const TGKILL: usize = 234;
    pub const OPENAT: usize = 257;
    pub const SIGNALFD4: usize = 289;
    pub const DUP3: usize = 292;
    pub const EXECVEAT: usize = 322;
    pub const PIDFD_SEND_SIGNAL: usize = 424;
}
