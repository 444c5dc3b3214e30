//! Signal sets, masks and dispositions through the raw system calls.
//!
//! The kernel's `sigset_t` is 64 bits on every architecture this crate supports; libc's is
//! 1024 bits and glibc's `sigprocmask` silently drops its two internal signals (32 and 33)
//! from any set. Blocking *every* signal around a `CLONE_VM` clone needs those too, so this
//! module talks to the kernel directly.

use super::syscall::{nr, result, syscall6, RawErrno};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The highest signal number (`_NSIG`).
pub const NSIG: i32 = 64;

const SIG_BLOCK: usize = 0;
const SIG_UNBLOCK: usize = 1;
const SIG_SETMASK: usize = 2;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const SIGSET_SIZE: usize = 8;

/// A set of signals as the kernel stores it: bit `n-1` for signal `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SigSet(u64);

impl SigSet {
    /// No signal.
    pub const fn empty() -> Self {
        SigSet(0)
    }

    /// Every signal 1..=64 (the kernel ignores SIGKILL and SIGSTOP in masks).
    pub const fn full() -> Self {
        SigSet(!0)
    }

    /// The set holding the given signals; numbers outside 1..=64 are ignored.
    pub fn from_signals(sigs: impl IntoIterator<Item = i32>) -> Self {
        let mut s = Self::empty();
        for sig in sigs {
            s.add(sig);
        }
        s
    }

    /// Adds `sig` (ignored outside 1..=64).
    pub fn add(&mut self, sig: i32) {
        if (1..=NSIG).contains(&sig) {
            self.0 |= 1u64 << (sig - 1);
        }
    }

    /// Removes `sig`.
    pub fn remove(&mut self, sig: i32) {
        if (1..=NSIG).contains(&sig) {
            self.0 &= !(1u64 << (sig - 1));
        }
    }

    /// Whether `sig` is in the set.
    pub fn contains(&self, sig: i32) -> bool {
        (1..=NSIG).contains(&sig) && self.0 & (1u64 << (sig - 1)) != 0
    }

    /// Whether no signal is in the set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The signals in the set, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = i32> + '_ {
        (1..=NSIG).filter(|&s| self.contains(s))
    }

    /// The raw kernel bits.
    pub const fn bits(&self) -> u64 {
        self.0
    }

    /// The set of these kernel bits (bit N-1 for signal N, as in `/proc/PID/status`'s
    /// `SigBlk:`).
    pub const fn from_bits(bits: u64) -> Self {
        SigSet(bits)
    }
}

fn sigprocmask(how: usize, set: Option<&SigSet>) -> Result<SigSet, RawErrno> {
    let mut old = SigSet::empty();
    let set_ptr = set.map_or(0, |s| s as *const SigSet as usize);
    // SAFETY: `set` (if any) points at 8 readable bytes, `old` at 8 writable bytes, and
    // SIGSET_SIZE is the kernel's sigset size, as rt_sigprocmask(2) requires.
    let ret = unsafe {
        syscall6(
            nr::RT_SIGPROCMASK,
            how,
            set_ptr,
            &mut old as *mut SigSet as usize,
            SIGSET_SIZE,
            0,
            0,
        )
    };
    result(ret).map(|_| old)
}

/// Replaces the calling thread's signal mask; returns the previous one.
pub fn set_mask(set: &SigSet) -> Result<SigSet, RawErrno> {
    sigprocmask(SIG_SETMASK, Some(set))
}

/// Adds `set` to the calling thread's mask; returns the previous mask.
pub fn block(set: &SigSet) -> Result<SigSet, RawErrno> {
    sigprocmask(SIG_BLOCK, Some(set))
}

/// Removes `set` from the calling thread's mask; returns the previous mask.
pub fn unblock(set: &SigSet) -> Result<SigSet, RawErrno> {
    sigprocmask(SIG_UNBLOCK, Some(set))
}

/// The calling thread's mask.
pub fn current_mask() -> Result<SigSet, RawErrno> {
    sigprocmask(SIG_BLOCK, None)
}

/// Blocks every signal (glibc's internal 32 and 33 included) in the calling thread until
/// dropped, then restores the previous mask.
pub struct BlockAll {
    old: SigSet,
}

impl BlockAll {
    /// Blocks every signal now (rt_sigprocmask(2)); fails only if the kernel refuses the call.
    pub fn new() -> Result<Self, RawErrno> {
        Ok(BlockAll {
            old: set_mask(&SigSet::full())?,
        })
    }

    /// The mask that was in force before.
    pub fn previous(&self) -> SigSet {
        self.old
    }
}

impl Drop for BlockAll {
    fn drop(&mut self) {
        // Restoring a mask the kernel gave us cannot fail.
        let _ = set_mask(&self.old);
    }
}

/// The kernel's `struct sigaction` (include/linux/signal_types.h): `sa_restorer` exists only
/// where the architecture defines `__ARCH_HAS_SA_RESTORER` (x86_64 and aarch64, not riscv64).
#[repr(C)]
#[derive(Default)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    #[cfg(not(target_arch = "riscv64"))]
    restorer: usize,
    mask: u64,
}

fn sigaction(sig: i32, new: Option<&KernelSigaction>) -> Result<usize, RawErrno> {
    let mut old = KernelSigaction::default();
    let new_ptr = new.map_or(0, |n| n as *const KernelSigaction as usize);
    // SAFETY: both pointers refer to live `k_sigaction`-shaped values of this ABI and the
    // sigset size matches the kernel's. A handler of SIG_DFL/SIG_IGN needs no restorer.
    let ret = unsafe {
        syscall6(
            nr::RT_SIGACTION,
            sig as usize,
            new_ptr,
            &mut old as *mut KernelSigaction as usize,
            SIGSET_SIZE,
            0,
            0,
        )
    };
    result(ret).map(|_| old.handler)
}

/// Sets `sig`'s disposition to the default action.
pub fn set_default(sig: i32) -> Result<(), RawErrno> {
    let dfl = KernelSigaction {
        handler: SIG_DFL,
        ..Default::default()
    };
    sigaction(sig, Some(&dfl)).map(|_| ())
}

/// Sets `sig`'s disposition to "ignore".
pub fn set_ignored(sig: i32) -> Result<(), RawErrno> {
    let ign = KernelSigaction {
        handler: SIG_IGN,
        ..Default::default()
    };
    sigaction(sig, Some(&ign)).map(|_| ())
}

/// How `sig` is currently handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// `SIG_DFL`: the default action of signal(7) (terminate, core, stop or ignore).
    Default,
    /// `SIG_IGN`: ignored; survives execve(2).
    Ignore,
    /// A handler function; execve(2) resets it to the default.
    Handler,
}

/// How `sig` is currently handled in the calling process (sigaction(2), nothing changed).
pub fn disposition(sig: i32) -> Result<Disposition, RawErrno> {
    Ok(match sigaction(sig, None)? {
        SIG_DFL => Disposition::Default,
        SIG_IGN => Disposition::Ignore,
        _ => Disposition::Handler,
    })
}

/// Resets every signal that has a handler to its default action; with `ignored_too`, also
/// every ignored one. What `CLONE_CLEAR_SIGHAND` does in the kernel, by hand. Safe in a
/// `CLONE_VM` child: raw calls only.
pub fn reset_dispositions(ignored_too: bool) -> Result<(), RawErrno> {
    let mut sig = 1;
    while sig <= NSIG {
        let resettable = sig != libc::SIGKILL && sig != libc::SIGSTOP;
        if resettable && (ignored_too || disposition(sig)? == Disposition::Handler) {
            set_default(sig)?;
        }
        sig += 1;
    }
    Ok(())
}

fn getpid_raw() -> i32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    unsafe { syscall6(nr::GETPID, 0, 0, 0, 0, 0, 0) as i32 }
}

fn gettid_raw() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { syscall6(nr::GETTID, 0, 0, 0, 0, 0, 0) as i32 }
}

/// Sends `sig` to the calling thread (`tgkill(getpid(), gettid(), sig)`).
pub fn raise(sig: i32) -> Result<(), RawErrno> {
    // SAFETY: tgkill takes plain integers.
    let ret = unsafe {
        syscall6(
            nr::TGKILL,
            getpid_raw() as usize,
            gettid_raw() as usize,
            sig as usize,
            0,
            0,
            0,
        )
    };
    result(ret).map(|_| ())
}

/// Dies the way a child died: resets `sig` to its default action, unblocks it and sends it
/// to the calling thread. Returns only if the default action does not end the process
/// (signals whose default is to ignore or to stop).
pub fn raise_default(sig: i32) -> io::Result<()> {
    // SIGKILL and SIGSTOP cannot (and need not) be reset.
    if sig != libc::SIGKILL && sig != libc::SIGSTOP {
        set_default(sig).map_err(io::Error::from_raw_os_error)?;
    }
    raise(sig).map_err(io::Error::from_raw_os_error)?;
    unblock(&SigSet::from_signals([sig])).map_err(io::Error::from_raw_os_error)?;
    Ok(())
}

/// A `signalfd(2)`: signals in its set, blocked in every thread, are read from it instead of
/// being delivered.
#[derive(Debug)]
pub struct SignalFd {
    fd: OwnedFd,
}

/// One signal read from a [`SignalFd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalInfo {
    /// The signal's number.
    pub signo: i32,
    /// `si_code`: `SI_USER` (0) from kill(2), `SI_KERNEL` (0x80) from the kernel (e.g. a
    /// terminal's Ctrl-C), and so on.
    pub code: i32,
    /// The sender's PID for signals from kill(2).
    pub pid: u32,
}

/// `si_code` of signals the kernel generates itself (a terminal's `^C`, for example).
pub const SI_KERNEL: i32 = 0x80;

impl SignalFd {
    /// A close-on-exec, blocking signalfd for `set`. The caller blocks the signals.
    pub fn new(set: &SigSet) -> io::Result<Self> {
        // SAFETY: fd -1 asks for a new signalfd; `set` points at 8 readable bytes.
        let ret = unsafe {
            syscall6(
                nr::SIGNALFD4,
                usize::MAX, // -1
                set as *const SigSet as usize,
                SIGSET_SIZE,
                libc::SFD_CLOEXEC as usize,
                0,
                0,
            )
        };
        let fd = result(ret).map_err(io::Error::from_raw_os_error)?;
        // SAFETY: the kernel just returned this descriptor to us; nobody else owns it.
        Ok(SignalFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
        })
    }

    /// Reads one pending signal, blocking until one arrives.
    pub fn read(&self) -> io::Result<SignalInfo> {
        let mut buf = [0u8; 128];
        let n = rustix::io::read(&self.fd, &mut buf)?;
        if n < 128 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "short read from signalfd",
            ));
        }
        let u32_at =
            |off: usize| u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]);
        // struct signalfd_siginfo: ssi_signo at 0, ssi_errno at 4, ssi_code at 8, ssi_pid at 12.
        Ok(SignalInfo {
            signo: u32_at(0) as i32,
            code: u32_at(8) as i32,
            pid: u32_at(12),
        })
    }
}

impl std::os::fd::AsFd for SignalFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        let mut s = SigSet::from_signals([1, 32, 33, 64, 0, 65]);
        assert!(s.contains(32) && s.contains(64) && !s.contains(2));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 32, 33, 64]);
        s.remove(32);
        assert!(!s.contains(32));
        assert_eq!(SigSet::full().iter().count(), 64);
    }

    #[test]
    fn block_all_blocks_internal_signals_and_restores() {
        // Runs on a fresh thread so the test harness thread's mask is never touched.
        std::thread::spawn(|| {
            let before = current_mask().unwrap();
            {
                let _g = BlockAll::new().unwrap();
                let m = current_mask().unwrap();
                assert!(m.contains(32) && m.contains(33) && m.contains(libc::SIGTERM));
                // SIGKILL and SIGSTOP cannot be blocked.
                assert!(!m.contains(libc::SIGKILL));
            }
            assert_eq!(current_mask().unwrap(), before);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn dispositions_read() {
        // SIGKILL always has the default action.
        assert_eq!(disposition(libc::SIGKILL).unwrap(), Disposition::Default);
    }
}
