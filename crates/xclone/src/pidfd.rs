//! [`PidFd`]: an owned process file descriptor (pidfd_open(2)), and [`ExitStatus`], what
//! waiting on one yields.

use crate::sys::pidfd::pidfd_send_signal;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

/// `__WALL`: wait for children whatever their exit signal (a child with an exit signal other
/// than `SIGCHLD`, or none, is invisible to `waitid` without it).
const WALL: u32 = 0x4000_0000;

/// An owned pidfd. Closing it (drop) does not affect the process.
///
/// A pidfd names one process for as long as it is open: unlike a PID, it cannot come to
/// name another process after this one is reaped (pidfd_open(2)). It becomes readable
/// (`POLLIN`) when the process exits, so it can be polled, put in an epoll set, or awaited
/// under the `tokio` feature: no `SIGCHLD` handler and no thread per child.
///
/// ```
/// use xclone::{Command, PidFd};
///
/// let child = Command::new("sleep").arg("60").spawn()?;
/// let pid = child.id();
/// let pidfd: PidFd = child.into_pidfd(); // the child is neither killed nor reaped
/// assert_eq!(pidfd.pid()?, Some(pid));
/// assert!(!pidfd.poll_exit(Some(std::time::Duration::ZERO))?); // still running
///
/// pidfd.send_signal(libc::SIGTERM)?; // pidfd_send_signal(2): cannot hit a reused PID
/// let status = pidfd.wait()?; // waitid(P_PIDFD): reaps our child
/// assert_eq!(status.signal(), Some(libc::SIGTERM));
///
/// // Any process can be pinned, not only children (but only children can be waited for).
/// let me = PidFd::open(std::process::id())?;
/// assert_eq!(me.pid()?, Some(std::process::id()));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct PidFd(OwnedFd);

/// How a process ended: an exit code, or the signal that killed it — or, from
/// [`PidFd::wait_for`]-style raw statuses, a stop or a continue.
///
/// Stored as the classic wait status (`exit code << 8`, or the signal number with `0x80` for
/// a core dump; `0x7f | signal << 8` for a stop, `0xffff` for a continue), which
/// [`ExitStatus::into_raw`] returns and which converts losslessly into
/// [`std::process::ExitStatus`]. Every accessor, `Display` and `Debug` answer as std's do
/// for the same raw value (`std::os::unix::process::ExitStatusExt`, whose methods are
/// inherent here: std's trait is sealed).
///
/// ```
/// use xclone::{Command, ExitStatus};
///
/// let status = Command::new("sh").args(["-c", "exit 3"]).status()?;
/// assert!(!status.success());
/// assert_eq!((status.code(), status.signal()), (Some(3), None));
/// assert_eq!(status.to_string(), "exit status: 3"); // as std prints it
///
/// let killed = ExitStatus::from_signal(libc::SIGKILL, false);
/// assert_eq!((killed.code(), killed.signal()), (None, Some(9)));
/// assert_eq!(killed.shell_code(), 137); // what a shell's `$?` would say
/// assert_eq!(killed.to_string(), "signal: 9 (SIGKILL)");
///
/// // Lossless both ways with std's type.
/// let std_status: std::process::ExitStatus = status.into();
/// assert_eq!(ExitStatus::from(std_status), status);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExitStatus(i32);

impl ExitStatus {
    /// The status of a process that called `exit(code)`; only the low 8 bits are kept, as
    /// the kernel does.
    pub fn from_code(code: i32) -> Self {
        ExitStatus((code & 0xff) << 8)
    }

    /// The status of a process killed by `signal`.
    pub fn from_signal(signal: i32, core_dumped: bool) -> Self {
        ExitStatus((signal & 0x7f) | if core_dumped { 0x80 } else { 0 })
    }

    /// From a wait status as `waitpid(2)` returns it (as `ExitStatusExt::from_raw`).
    pub fn from_raw(raw: i32) -> Self {
        ExitStatus(raw)
    }

    /// The wait status encoding (as `ExitStatusExt::into_raw`).
    pub fn into_raw(self) -> i32 {
        self.0
    }

    /// Whether the process exited with code 0 (a raw status of 0, as std).
    pub fn success(self) -> bool {
        self.0 == 0
    }

    /// `WIFEXITED`.
    fn exited(self) -> bool {
        self.0 & 0x7f == 0
    }

    /// `WIFSIGNALED`: neither exited (low bits 0) nor stopped (low bits `0x7f`).
    fn signaled(self) -> bool {
        let low = self.0 & 0x7f;
        low != 0 && low != 0x7f
    }

    /// The exit code, if the process exited (rather than being killed).
    pub fn code(self) -> Option<i32> {
        self.exited().then_some((self.0 >> 8) & 0xff)
    }

    /// The signal that killed the process, if it was killed (`None` for a stopped or
    /// continued status, as std).
    pub fn signal(self) -> Option<i32> {
        self.signaled().then_some(self.0 & 0x7f)
    }

    /// Whether the process dumped core when it was killed.
    pub fn core_dumped(self) -> bool {
        self.signaled() && self.0 & 0x80 != 0
    }

    /// The signal that stopped the process (`WIFSTOPPED`/`WSTOPSIG`), as
    /// `ExitStatusExt::stopped_signal`.
    pub fn stopped_signal(self) -> Option<i32> {
        (self.0 & 0xff == 0x7f).then_some((self.0 >> 8) & 0xff)
    }

    /// Whether the process was resumed by `SIGCONT` (`WIFCONTINUED`), as
    /// `ExitStatusExt::continued`.
    pub fn continued(self) -> bool {
        self.0 == 0xffff
    }

    /// The shell's convention: the exit code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match (self.code(), self.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => 0,
        }
    }
}

/// `" (SIGTERM)"` for the signals Linux names, as std's `Display` adds them; empty otherwise.
fn signal_suffix(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => " (SIGHUP)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGQUIT => " (SIGQUIT)",
        libc::SIGILL => " (SIGILL)",
        libc::SIGTRAP => " (SIGTRAP)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGBUS => " (SIGBUS)",
        libc::SIGFPE => " (SIGFPE)",
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGUSR1 => " (SIGUSR1)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGUSR2 => " (SIGUSR2)",
        libc::SIGPIPE => " (SIGPIPE)",
        libc::SIGALRM => " (SIGALRM)",
        libc::SIGTERM => " (SIGTERM)",
        // std names it on these architectures only (riscv64 shows a bare "signal: 16").
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "x86",
            target_arch = "arm",
            target_arch = "aarch64"
        ))]
        libc::SIGSTKFLT => " (SIGSTKFLT)",
        libc::SIGCHLD => " (SIGCHLD)",
        libc::SIGCONT => " (SIGCONT)",
        libc::SIGSTOP => " (SIGSTOP)",
        libc::SIGTSTP => " (SIGTSTP)",
        libc::SIGTTIN => " (SIGTTIN)",
        libc::SIGTTOU => " (SIGTTOU)",
        libc::SIGURG => " (SIGURG)",
        libc::SIGXCPU => " (SIGXCPU)",
        libc::SIGXFSZ => " (SIGXFSZ)",
        libc::SIGVTALRM => " (SIGVTALRM)",
        libc::SIGPROF => " (SIGPROF)",
        libc::SIGWINCH => " (SIGWINCH)",
        libc::SIGIO => " (SIGIO)",
        libc::SIGPWR => " (SIGPWR)",
        libc::SIGSYS => " (SIGSYS)",
        _ => "",
    }
}

impl fmt::Debug for ExitStatus {
    /// As std prints its `ExitStatus`: `ExitStatus(unix_wait_status(256))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Raw(i32);
        impl fmt::Debug for Raw {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple("unix_wait_status").field(&self.0).finish()
            }
        }
        f.debug_tuple("ExitStatus").field(&Raw(self.0)).finish()
    }
}

impl fmt::Display for ExitStatus {
    /// As std: `exit status: 1`, `signal: 15 (SIGTERM)`, `signal: 11 (SIGSEGV) (core
    /// dumped)`, `stopped (not terminated) by signal: 19 (SIGSTOP)`, `continued
    /// (WIFCONTINUED)`, else `unrecognised wait status: N 0xN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.code() {
            write!(f, "exit status: {c}")
        } else if let Some(s) = self.signal() {
            write!(f, "signal: {s}{}", signal_suffix(s))?;
            if self.core_dumped() {
                f.write_str(" (core dumped)")?;
            }
            Ok(())
        } else if let Some(s) = self.stopped_signal() {
            write!(
                f,
                "stopped (not terminated) by signal: {s}{}",
                signal_suffix(s)
            )
        } else if self.continued() {
            f.write_str("continued (WIFCONTINUED)")
        } else {
            write!(f, "unrecognised wait status: {} {:#x}", self.0, self.0)
        }
    }
}

impl From<ExitStatus> for std::process::ExitStatus {
    fn from(s: ExitStatus) -> Self {
        std::process::ExitStatus::from_raw(s.0)
    }
}

impl From<std::process::ExitStatus> for ExitStatus {
    fn from(s: std::process::ExitStatus) -> Self {
        ExitStatus(s.into_raw())
    }
}

/// A change of state reported by [`PidFd::wait_for`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildEvent {
    /// The process ended.
    Exited(ExitStatus),
    /// Stopped by this signal (`WSTOPPED`).
    Stopped(i32),
    /// Stopped under ptrace by this signal.
    Trapped(i32),
    /// Resumed by `SIGCONT` (`WCONTINUED`).
    Continued,
}

bitflags::bitflags! {
    /// Options of `waitid(2)`: which changes to wait for and how.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct WaitOptions: u32 {
        /// Termination (`WEXITED`).
        const EXITED = libc::WEXITED as u32;
        /// Stop by a signal (`WSTOPPED`).
        const STOPPED = libc::WSTOPPED as u32;
        /// Resumption by `SIGCONT` (`WCONTINUED`).
        const CONTINUED = libc::WCONTINUED as u32;
        /// Do not block (`WNOHANG`).
        const NOHANG = libc::WNOHANG as u32;
        /// Leave the child waitable (`WNOWAIT`): a later wait sees the same event.
        const NOWAIT = libc::WNOWAIT as u32;
    }
}

fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `waitid(id, &info, options | __WALL)`, retried on `EINTR`, as a [`ChildEvent`].
fn waitid_event(
    id: rustix::process::WaitId<'_>,
    options: WaitOptions,
) -> io::Result<Option<ChildEvent>> {
    use rustix::process::{waitid, WaitIdOptions};
    let opts = WaitIdOptions::from_bits_retain(options.bits() | WALL);
    let st = loop {
        match waitid(id.clone(), opts) {
            Err(rustix::io::Errno::INTR) => continue,
            r => break r?,
        }
    };
    let Some(st) = st else { return Ok(None) };
    let sig = |v: Option<i32>| v.unwrap_or(0);
    Ok(Some(if st.exited() {
        ChildEvent::Exited(ExitStatus::from_code(sig(st.exit_status())))
    } else if st.killed() || st.dumped() {
        ChildEvent::Exited(ExitStatus::from_signal(
            sig(st.terminating_signal()),
            st.dumped(),
        ))
    } else if st.stopped() {
        ChildEvent::Stopped(sig(st.stopping_signal()))
    } else if st.trapped() {
        ChildEvent::Trapped(sig(st.trapping_signal()))
    } else if st.continued() {
        ChildEvent::Continued
    } else {
        // WNOHANG with nothing to report leaves si_pid = 0; rustix maps that to None,
        // so anything else here is a code we do not know.
        return Err(io::Error::other(format!(
            "waitid: unknown si_code {}",
            st.raw_code()
        )));
    }))
}

/// Waits for the child `pid` to end and reaps it: `waitid(P_PID, pid, WEXITED | __WALL)`.
///
/// Only for a child of the calling process that nobody else reaps: until it is reaped its
/// PID cannot name another process. `ECHILD` when it is not (or no longer) our child,
/// e.g. auto-reaped because `SIGCHLD` is ignored (waitid(2)); the call then returns only
/// once the child is gone.
pub(crate) fn wait_child_pid(pid: i32) -> io::Result<ExitStatus> {
    let p = rustix::process::Pid::from_raw(pid)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    match waitid_event(rustix::process::WaitId::Pid(p), WaitOptions::EXITED)? {
        Some(ChildEvent::Exited(s)) => Ok(s),
        other => Err(io::Error::other(format!(
            "waitid returned {other:?} for WEXITED"
        ))),
    }
}

impl PidFd {
    /// `pidfd_open(pid, 0)` (Linux 5.3). Racy by nature when `pid` is not a child of the
    /// caller that it has not yet waited for: the PID may have been reused.
    pub fn open(pid: u32) -> io::Result<Self> {
        Self::open_with(pid, rustix::process::PidfdFlags::empty())
    }

    /// `pidfd_open(pid, PIDFD_NONBLOCK)` (Linux 5.10): `waitid` on it never blocks.
    pub fn open_nonblocking(pid: u32) -> io::Result<Self> {
        Self::open_with(pid, rustix::process::PidfdFlags::NONBLOCK)
    }

    fn open_with(pid: u32, flags: rustix::process::PidfdFlags) -> io::Result<Self> {
        let pid = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        Ok(PidFd(rustix::process::pidfd_open(pid, flags)?))
    }

    /// Sends `sig` (`pidfd_send_signal(2)`, Linux 5.1). Signal 0 checks that the process
    /// still exists. Fails with `ESRCH` once the process has been reaped.
    pub fn send_signal(&self, sig: i32) -> io::Result<()> {
        pidfd_send_signal(self.0.as_fd(), sig)
    }

    /// Waits for the process to end and reaps it (`waitid(P_PIDFD, …, WEXITED)`, Linux 5.4).
    /// Works for children of the calling process only (`ECHILD` otherwise).
    pub fn wait(&self) -> io::Result<ExitStatus> {
        match self.wait_for(WaitOptions::EXITED)? {
            Some(ChildEvent::Exited(s)) => Ok(s),
            other => Err(io::Error::other(format!(
                "waitid returned {other:?} for WEXITED"
            ))),
        }
    }

    /// Reaps the process if it has ended, without blocking.
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        match self.wait_for(WaitOptions::EXITED | WaitOptions::NOHANG)? {
            Some(ChildEvent::Exited(s)) => Ok(Some(s)),
            _ => Ok(None),
        }
    }

    /// Waits at most `timeout` for the process to end (poll(2) on the pidfd, then reaps).
    pub fn wait_timeout(&self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.poll_exit(Some(left))? {
                return self.try_wait();
            }
        }
    }

    /// `waitid(P_PIDFD, fd, &info, options | __WALL)`: waits for the events in `options`.
    /// `Ok(None)` only with [`WaitOptions::NOHANG`] when nothing happened yet.
    pub fn wait_for(&self, options: WaitOptions) -> io::Result<Option<ChildEvent>> {
        waitid_event(rustix::process::WaitId::PidFd(self.0.as_fd()), options)
    }

    /// Whether the process has ended, waiting at most `timeout` (`None`: forever) — poll(2)
    /// for `POLLIN`. Works for any process, not only children.
    pub fn poll_exit(&self, timeout: Option<Duration>) -> io::Result<bool> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let ts = timeout.map(|d| Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: d.subsec_nanos() as _,
        });
        let mut fds = [PollFd::new(&self.0, PollFlags::IN)];
        let n = retry(|| Ok(poll(&mut fds, ts.as_ref())?))?;
        Ok(n > 0)
    }

    /// A duplicate of the process's descriptor `fd` (`pidfd_getfd(2)`, Linux 5.6), close-on-
    /// exec. Needs ptrace-attach permission over the process (`EPERM` otherwise); `EBADF`
    /// when it has no such descriptor.
    pub fn getfd(&self, fd: RawFd) -> io::Result<OwnedFd> {
        Ok(rustix::process::pidfd_getfd(
            &self.0,
            fd,
            rustix::process::PidfdGetfdFlags::empty(),
        )?)
    }

    /// The PID in this process's pid namespace, from `/proc/self/fdinfo` (`Pid:`). `None`
    /// once the process has been reaped, or when it is outside our pid namespace tree.
    /// A snapshot: act through the pidfd, not the number.
    pub fn pid(&self) -> io::Result<Option<u32>> {
        let pid = self.fdinfo_field("Pid:")?;
        Ok(pid
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|&p| p > 0)
            .map(|p| p as u32))
    }

    /// The PID at every pid-namespace level from ours inwards (`NSpid:` of fdinfo); empty
    /// once the process has been reaped.
    pub fn ns_pids(&self) -> io::Result<Vec<u32>> {
        let line = self.fdinfo_field("NSpid:")?;
        Ok(line
            .split_whitespace()
            .filter_map(|v| v.parse::<i64>().ok())
            .filter(|&p| p > 0)
            .map(|p| p as u32)
            .collect())
    }

    fn fdinfo_field(&self, key: &str) -> io::Result<String> {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.0.as_raw_fd()))?;
        Ok(info
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .unwrap_or_default())
    }

    /// Waits for the process to end without blocking a thread: the pidfd's readiness is
    /// watched by tokio's reactor (epoll), then the process is reaped. Needs a tokio runtime
    /// with I/O enabled.
    #[cfg(feature = "tokio")]
    pub async fn wait_async(&self) -> io::Result<ExitStatus> {
        if let Some(s) = self.try_wait()? {
            return Ok(s);
        }
        let afd = crate::sys::pidfd::async_readable(self.0.as_fd())?;
        loop {
            let mut guard = afd.readable().await?;
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            guard.clear_ready();
        }
    }

    /// Clones the descriptor (`F_DUPFD_CLOEXEC`).
    pub fn try_clone(&self) -> io::Result<PidFd> {
        Ok(PidFd(self.0.try_clone()?))
    }
}

impl From<OwnedFd> for PidFd {
    /// Wraps a pidfd (or a `/proc/<pid>` directory descriptor, which only supports
    /// [`PidFd::send_signal`]).
    fn from(fd: OwnedFd) -> Self {
        PidFd(fd)
    }
}

impl From<PidFd> for OwnedFd {
    fn from(p: PidFd) -> Self {
        p.0
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

impl IntoRawFd for PidFd {
    fn into_raw_fd(self) -> RawFd {
        self.0.into_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_encoding() {
        let s = ExitStatus::from_code(3);
        assert_eq!((s.code(), s.signal(), s.success()), (Some(3), None, false));
        assert_eq!(s.to_string(), "exit status: 3");
        let k = ExitStatus::from_signal(9, false);
        assert_eq!(
            (k.code(), k.signal(), k.core_dumped()),
            (None, Some(9), false)
        );
        assert_eq!(k.shell_code(), 137);
        let d = ExitStatus::from_signal(11, true);
        assert!(d.core_dumped());
        assert_eq!(d.to_string(), "signal: 11 (SIGSEGV) (core dumped)");
        let std: std::process::ExitStatus = d.into();
        assert_eq!(std.signal(), Some(11));
        assert!(std.core_dumped());
        assert!(ExitStatus::from_code(256).success());
    }

    /// Every accessor, `Display` and `Debug` agree with std's for every 16-bit raw status.
    #[test]
    fn same_as_std_for_every_raw_status() {
        for raw in 0..=0xffff {
            let ours = ExitStatus::from_raw(raw);
            let std = std::process::ExitStatus::from_raw(raw);
            assert_eq!(ours.code(), std.code(), "{raw:#x}");
            assert_eq!(ours.success(), std.success(), "{raw:#x}");
            assert_eq!(ours.signal(), std.signal(), "{raw:#x}");
            assert_eq!(ours.core_dumped(), std.core_dumped(), "{raw:#x}");
            assert_eq!(ours.stopped_signal(), std.stopped_signal(), "{raw:#x}");
            assert_eq!(ours.continued(), std.continued(), "{raw:#x}");
            assert_eq!(ours.to_string(), std.to_string(), "{raw:#x}");
            assert_eq!(format!("{ours:?}"), format!("{std:?}"), "{raw:#x}");
        }
        assert_eq!(ExitStatus::from_raw(0x137f).signal(), None);
        assert_eq!(ExitStatus::from_raw(0x137f).stopped_signal(), Some(19));
        assert_eq!(
            format!("{:?}", ExitStatus::default()),
            format!("{:?}", std::process::ExitStatus::default())
        );
    }
}
