//! Raw system calls without libc: no `errno`, no cancellation points, no locks, nothing that
//! touches the calling thread's descriptor. That is what a `CLONE_VM` child needs between
//! clone and exec, where it runs on the parent thread's TLS and heap.
//!
//! The instruction itself is in [`super::arch`], one file per architecture.

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

pub(crate) use super::arch::syscall6;

/// System call numbers used by the crate, from linux-raw-sys's table for the target
/// architecture.
pub(crate) mod nr {
    use linux_raw_sys::general as g;

    pub const READ: usize = g::__NR_read as usize;
    pub const WRITE: usize = g::__NR_write as usize;
    pub const CLOSE: usize = g::__NR_close as usize;
    pub const PPOLL: usize = g::__NR_ppoll as usize;
    pub const RT_SIGACTION: usize = g::__NR_rt_sigaction as usize;
    pub const RT_SIGPROCMASK: usize = g::__NR_rt_sigprocmask as usize;
    pub const GETPID: usize = g::__NR_getpid as usize;
    pub const EXECVE: usize = g::__NR_execve as usize;
    pub const FCNTL: usize = g::__NR_fcntl as usize;
    pub const CHDIR: usize = g::__NR_chdir as usize;
    pub const SETUID: usize = g::__NR_setuid as usize;
    pub const SETGID: usize = g::__NR_setgid as usize;
    pub const SETPGID: usize = g::__NR_setpgid as usize;
    pub const GETPPID: usize = g::__NR_getppid as usize;
    pub const SETSID: usize = g::__NR_setsid as usize;
    pub const SETGROUPS: usize = g::__NR_setgroups as usize;
    pub const PIVOT_ROOT: usize = g::__NR_pivot_root as usize;
    pub const PRCTL: usize = g::__NR_prctl as usize;
    pub const CHROOT: usize = g::__NR_chroot as usize;
    pub const MOUNT: usize = g::__NR_mount as usize;
    pub const UMOUNT2: usize = g::__NR_umount2 as usize;
    pub const SETHOSTNAME: usize = g::__NR_sethostname as usize;
    pub const GETTID: usize = g::__NR_gettid as usize;
    pub const TGKILL: usize = g::__NR_tgkill as usize;
    pub const OPENAT: usize = g::__NR_openat as usize;
    pub const SIGNALFD4: usize = g::__NR_signalfd4 as usize;
    pub const DUP3: usize = g::__NR_dup3 as usize;
    pub const EXECVEAT: usize = g::__NR_execveat as usize;
    pub const PIDFD_SEND_SIGNAL: usize = g::__NR_pidfd_send_signal as usize;
    pub const CLONE: usize = g::__NR_clone as usize;
    pub const CLONE3: usize = g::__NR_clone3 as usize;
    pub const EXIT_GROUP: usize = g::__NR_exit_group as usize;
    pub const FCHDIR: usize = g::__NR_fchdir as usize;
    pub const SETNS: usize = g::__NR_setns as usize;
    pub const WAIT4: usize = g::__NR_wait4 as usize;
    pub const KILL: usize = g::__NR_kill as usize;
    pub const CLOSE_RANGE: usize = g::__NR_close_range as usize;
}
