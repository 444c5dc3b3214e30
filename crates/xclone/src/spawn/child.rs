//! [`Child`]: the parent's handle on a spawned process, built around its pidfd.

use crate::pidfd::{ExitStatus, PidFd};
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::Duration;

/// A spawned child process.
///
/// Dropping a `Child` does nothing to the process (as with std): it keeps running and, once
/// it exits, stays a zombie until the parent exits, unless the `Command` asked for
/// [`kill_on_drop`](super::Command::kill_on_drop), which kills and reaps it.
///
/// `Child` itself has no `Drop` (as std's): its public fields can be moved out of an owned
/// `Child` (`let out = child.stdout.unwrap();`). Kill-on-drop lives in the inner process
/// handle, which goes when the last part of the `Child` that holds it goes.
///
/// ```
/// use std::io::Write;
/// use std::time::Duration;
/// use xclone::{Command, Stdio};
///
/// // Feed a child through a pipe and collect what it writes.
/// let mut child = Command::new("tr").arg("a-z").arg("A-Z")
///     .stdin(Stdio::piped())
///     .stdout(Stdio::piped())
///     .spawn()?;
/// child.stdin.take().unwrap().write_all(b"hello")?; // dropped here: tr sees end of file
/// let out = child.wait_with_output()?;
/// assert_eq!(out.stdout, b"HELLO");
/// assert!(out.status.success());
///
/// // Wait with a deadline (on the pidfd: no SIGCHLD handler, no polling), then kill.
/// let mut child = Command::new("sleep").arg("60").spawn()?;
/// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
/// child.kill()?;
/// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Child {
    handle: Handle,
    /// The parent's end of the child's stdin pipe, if piped.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout pipe, if piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr pipe, if piped.
    pub stderr: Option<ChildStderr>,
}

/// The process part of a [`Child`]: PID, pidfd, the status once reaped, and kill-on-drop.
#[derive(Debug)]
struct Handle {
    pid: u32,
    pidfd: Option<PidFd>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// Made with `CLONE_PARENT`: our parent's child, which only it can wait for.
    sibling: bool,
    /// Under a sandbox's init ([`Sandbox::init`](crate::isolate::sandbox::Sandbox::init)).
    init: Option<InitHandle>,
}

/// A sandbox init's status pipe and stack, handed from a [`Child`] to an async one.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub(crate) struct InitParts {
    pub status: Option<OwnedFd>,
    pub stack: Option<crate::sys::stack::ChildStack>,
}

#[cfg(feature = "tokio")]
impl InitParts {
    /// Once the init has been reaped: the program's status if the init wrote it.
    pub(crate) fn program_status(&self) -> Option<ExitStatus> {
        let fd = self.status.as_ref()?;
        let mut buf = [0u8; 4];
        loop {
            match rustix::io::read(fd, &mut buf) {
                Err(rustix::io::Errno::INTR) => continue,
                Ok(4) => return Some(ExitStatus::from_raw(i32::from_ne_bytes(buf))),
                _ => return None,
            }
        }
    }
}

/// The parent's side of a sandbox's init at PID 1.
#[derive(Debug)]
struct InitHandle {
    /// The pipe the init writes the program's wait status to; `None` once it gave end of
    /// file without one (the init was killed: then the init's own status is the answer).
    status: Option<OwnedFd>,
    /// The stack the init runs on (it shares this process's memory): unmapped only once the
    /// init is reaped.
    stack: Option<crate::sys::stack::ChildStack>,
    /// The init itself has been reaped.
    reaped: bool,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            if let Some(fd) = &self.pidfd {
                let _ = fd.send_signal(libc::SIGKILL);
                if fd.wait().is_ok() {
                    if let Some(i) = self.init.as_mut() {
                        i.reaped = true;
                    }
                }
            }
        }
        if let Some(init) = self.init.as_mut() {
            if !init.reaped && !self.sibling {
                if let Some(Ok(Some(_))) = self.pidfd.as_ref().map(PidFd::try_wait) {
                    init.reaped = true;
                }
            }
            if !init.reaped {
                // The init may still run on it: leave it mapped for good.
                std::mem::forget(init.stack.take());
            }
        }
    }
}

/// What [`Command::output`](super::Command::output) and [`Child::wait_with_output`] return.
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// How the process ended.
    pub status: ExitStatus,
    /// Everything it wrote on its standard output (empty unless the output was piped).
    pub stdout: Vec<u8>,
    /// Everything it wrote on its standard error (empty unless the output was piped).
    pub stderr: Vec<u8>,
}

impl std::fmt::Debug for Output {
    /// As std prints its `Output`: `stdout`/`stderr` as strings when they are UTF-8, else
    /// as byte lists.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn text(b: &[u8]) -> Result<&str, &[u8]> {
            std::str::from_utf8(b).map_err(|_| b)
        }
        let out = text(&self.stdout);
        let err = text(&self.stderr);
        let mut d = f.debug_struct("Output");
        d.field("status", &self.status);
        match &out {
            Ok(s) => d.field("stdout", s),
            Err(b) => d.field("stdout", b),
        };
        match &err {
            Ok(s) => d.field("stderr", s),
            Err(b) => d.field("stderr", b),
        };
        d.finish()
    }
}

impl From<Output> for std::process::Output {
    fn from(o: Output) -> Self {
        std::process::Output {
            status: o.status.into(),
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

impl Child {
    pub(crate) fn new(
        pid: u32,
        pidfd: PidFd,
        stdin: Option<OwnedFd>,
        stdout: Option<OwnedFd>,
        stderr: Option<OwnedFd>,
        kill_on_drop: bool,
    ) -> Self {
        Child {
            handle: Handle {
                pid,
                pidfd: Some(pidfd),
                status: None,
                kill_on_drop,
                sibling: false,
                init: None,
            },
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
        }
    }

    /// Under a sandbox's init: the status pipe's read end, and the stack the init runs on.
    pub(crate) fn set_init(&mut self, status: OwnedFd, stack: crate::sys::stack::ChildStack) {
        self.handle.init = Some(InitHandle {
            status: Some(status),
            stack: Some(stack),
            reaped: false,
        });
    }

    /// Whether the program runs under a sandbox's init
    /// ([`Sandbox::init`](crate::isolate::sandbox::Sandbox::init)): [`id`](Self::id),
    /// [`pidfd`](Self::pidfd) and [`signal`](Self::signal) are the init's (which passes
    /// signals on), the statuses [`wait`](Self::wait) returns are the program's.
    pub fn has_init(&self) -> bool {
        self.handle.init.is_some()
    }

    /// The descriptor that becomes readable when [`wait`](Self::wait) would not block: the
    /// pidfd, or under a sandbox's init
    /// ([`Sandbox::init`](crate::isolate::sandbox::Sandbox::init)) the pipe the init writes
    /// the program's status to before it exits.
    pub fn ready_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self.handle.init.as_ref().and_then(|i| i.status.as_ref()) {
            Some(fd) => fd.as_fd(),
            None => self.fd().as_fd(),
        }
    }

    /// Under a sandbox's init: the program's status from the init's pipe, waiting at most
    /// `timeout` (`None`: until it comes). `Ok(None)`: not there yet, or the pipe gave end
    /// of file (the init ended without writing it: then the pidfd answers).
    fn init_status(&mut self, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
        let Some(fd) = self.handle.init.as_ref().and_then(|i| i.status.as_ref()) else {
            return Ok(None);
        };
        if let Some(t) = timeout {
            use rustix::event::{poll, PollFd, PollFlags, Timespec};
            let ts = Timespec {
                tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
                tv_nsec: t.subsec_nanos() as _,
            };
            let mut fds = [PollFd::new(fd, PollFlags::IN)];
            loop {
                match poll(&mut fds, Some(&ts)) {
                    Err(rustix::io::Errno::INTR) => continue,
                    Ok(0) => return Ok(None),
                    r => {
                        r?;
                        break;
                    }
                }
            }
        }
        let mut buf = [0u8; 4];
        let n = loop {
            match rustix::io::read(fd, &mut buf) {
                Err(rustix::io::Errno::INTR) => continue,
                r => break r?,
            }
        };
        if n == 4 {
            return Ok(Some(ExitStatus::from_raw(i32::from_ne_bytes(buf))));
        }
        if let Some(i) = self.handle.init.as_mut() {
            i.status = None;
        }
        Ok(None)
    }

    /// Hands the init's status pipe and stack over (to `xclone::tokio::Child`, which then
    /// keeps them as this handle did).
    #[cfg(feature = "tokio")]
    pub(crate) fn take_init(&mut self) -> Option<InitParts> {
        self.handle.init.take().map(|i| InitParts {
            status: i.status,
            stack: i.stack,
        })
    }

    /// Marks the init reaped (its stack is free again).
    fn init_reaped(&mut self) {
        if let Some(i) = self.handle.init.as_mut() {
            i.reaped = true;
        }
    }

    /// Marks a child made with `CLONE_PARENT`: waiting for it is refused with the reason.
    pub(crate) fn mark_sibling(&mut self) {
        self.handle.sibling = true;
    }

    /// The pidfd to wait through, or why this process cannot wait for the child.
    fn waitable(&self) -> io::Result<&PidFd> {
        if self.handle.sibling {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the child was made with CLONE_PARENT: it is the child of this process's \
                 parent, which alone can wait for it (waitid here fails with ECHILD); watch \
                 its pidfd (Child::pidfd().poll_exit) to learn when it ends",
            ));
        }
        Ok(self.fd())
    }

    fn fd(&self) -> &PidFd {
        self.handle
            .pidfd
            .as_ref()
            .expect("a Child always holds its pidfd until consumed")
    }

    /// The child's PID in the parent's pid namespace.
    pub fn id(&self) -> u32 {
        self.handle.pid
    }

    /// The child's pidfd: poll it, put it in an epoll set, signal through it.
    pub fn pidfd(&self) -> &PidFd {
        self.fd()
    }

    /// Gives up the handle and returns the pidfd (the child is neither killed nor reaped).
    pub fn into_pidfd(mut self) -> PidFd {
        self.handle.kill_on_drop = false;
        self.handle
            .pidfd
            .take()
            .expect("a Child always holds its pidfd until consumed")
    }

    /// Sends `SIGKILL`. `Ok(())` if the child has already exited, as std.
    pub fn kill(&mut self) -> io::Result<()> {
        if self.handle.status.is_some() {
            return Ok(());
        }
        match self.fd().send_signal(libc::SIGKILL) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            other => other,
        }
    }

    /// Sends signal `sig` through the pidfd (never to a recycled PID).
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        self.fd().send_signal(sig)
    }

    /// Waits for the child to exit and reaps it. Closes the child's stdin first (so a child
    /// reading it sees end of file). Returns the same status again once reaped.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        if let Some(s) = self.handle.status {
            return Ok(s);
        }
        if let Some(s) = self.init_status(None)? {
            self.handle.status = Some(s);
            // The init ends right after writing the status: reap it too, so that a blocking
            // wait leaves neither a zombie nor its stack behind (try_wait and wait_timeout
            // return at once and reap it later, when they or the drop find it ended).
            self.reap_ended_init(true);
            return Ok(s);
        }
        let s = self.waitable()?.wait()?;
        self.init_reaped();
        self.handle.status = Some(s);
        Ok(s)
    }

    /// Under a sandbox's init whose program's status is known: reaps the init, waiting for
    /// it when `block` (it ends right after writing the status, once its namespaces are torn
    /// down), and frees its stack.
    fn reap_ended_init(&mut self, block: bool) {
        let pending = self.handle.init.as_ref().is_some_and(|i| !i.reaped);
        if !pending || self.handle.sibling {
            return;
        }
        let Some(fd) = self.handle.pidfd.as_ref() else {
            return;
        };
        let ended = if block {
            fd.wait().is_ok()
        } else {
            matches!(fd.try_wait(), Ok(Some(_)))
        };
        if ended {
            self.init_reaped();
            if let Some(i) = self.handle.init.as_mut() {
                drop(i.stack.take());
            }
        }
    }

    /// Reaps the child if it has exited, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.handle.status {
            self.reap_ended_init(false);
            return Ok(Some(s));
        }
        if let Some(s) = self.init_status(Some(Duration::ZERO))? {
            self.handle.status = Some(s);
            return Ok(Some(s));
        }
        if self.waiting_on_init_pipe() {
            return Ok(None);
        }
        let s = self.waitable()?.try_wait()?;
        if s.is_some() {
            self.init_reaped();
        }
        self.handle.status = s;
        Ok(s)
    }

    /// Whether the init's status pipe is still the one to wait on.
    fn waiting_on_init_pipe(&self) -> bool {
        self.handle
            .init
            .as_ref()
            .is_some_and(|i| i.status.is_some())
    }

    /// Waits at most `timeout` for the child to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.handle.status {
            return Ok(Some(s));
        }
        if let Some(s) = self.init_status(Some(timeout))? {
            self.handle.status = Some(s);
            return Ok(Some(s));
        }
        if self.waiting_on_init_pipe() {
            return Ok(None);
        }
        let s = self.waitable()?.wait_timeout(timeout)?;
        if s.is_some() {
            self.init_reaped();
        }
        self.handle.status = s;
        Ok(s)
    }

    /// Waits for the child without blocking a thread (tokio reactor on the pidfd).
    #[cfg(feature = "tokio")]
    pub async fn wait_async(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        if let Some(s) = self.handle.status {
            return Ok(s);
        }
        // Under a sandbox's init: the init exits right after writing the program's status.
        let s = self.waitable()?.wait_async().await?;
        self.init_reaped();
        let s = self.init_status(Some(Duration::ZERO))?.unwrap_or(s);
        self.handle.status = Some(s);
        Ok(s)
    }

    /// Closes stdin, reads stdout and stderr to the end — both at once, so a child filling
    /// one pipe while the parent reads the other cannot deadlock — and waits.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let out = self.stdout.take().map(OwnedFd::from);
        let err = self.stderr.take().map(OwnedFd::from);
        let (stdout, stderr) = read2(out, err)?;
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Reads two pipes to their ends at the same time.
pub(crate) fn read2(out: Option<OwnedFd>, err: Option<OwnedFd>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut bufs = (Vec::new(), Vec::new());
    match (out, err) {
        (None, None) => {}
        (Some(o), None) => {
            std::fs::File::from(o).read_to_end(&mut bufs.0)?;
        }
        (None, Some(e)) => {
            std::fs::File::from(e).read_to_end(&mut bufs.1)?;
        }
        (Some(o), Some(e)) => {
            for fd in [&o, &e] {
                let fl = rustix::fs::fcntl_getfl(fd)?;
                rustix::fs::fcntl_setfl(fd, fl | rustix::fs::OFlags::NONBLOCK)?;
            }
            let mut files = [Some(std::fs::File::from(o)), Some(std::fs::File::from(e))];
            let mut chunk = vec![0u8; 64 * 1024];
            while files.iter().any(Option::is_some) {
                let ready = {
                    let mut pfds: Vec<PollFd<'_>> = files
                        .iter()
                        .flatten()
                        .map(|f| PollFd::new(f, PollFlags::IN))
                        .collect();
                    match poll(&mut pfds, None) {
                        Err(rustix::io::Errno::INTR) => continue,
                        r => r?,
                    };
                    pfds.iter()
                        .map(|p| !p.revents().is_empty())
                        .collect::<Vec<_>>()
                };
                let mut r = ready.into_iter();
                for (i, slot) in files.iter_mut().enumerate() {
                    let Some(f) = slot else { continue };
                    if !r.next().unwrap_or(false) {
                        continue;
                    }
                    let buf = if i == 0 { &mut bufs.0 } else { &mut bufs.1 };
                    loop {
                        match f.read(&mut chunk) {
                            Ok(0) => {
                                *slot = None;
                                break;
                            }
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
    }
    Ok(bufs)
}

impl AsFd for Child {
    /// The pidfd.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd().as_fd()
    }
}
