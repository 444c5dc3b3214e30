//! Async processes for tokio (feature `tokio`), shaped like `tokio::process`.
//!
//! [`Command`] wraps an [`xclone::Command`](crate::Command) — every clone3, isolation and
//! descriptor option stays reachable through [`Command::as_xclone_mut`] — and spawns with
//! it; the [`Child`] it returns is driven by the child's **pidfd** in tokio's reactor: no
//! `SIGCHLD` handler, no reaper thread, no signal-safe self-pipe. A program can therefore
//! await many thousands of children at once; each costs one pidfd (mind `RLIMIT_NOFILE`),
//! and a waiting child costs nothing until it exits. Piped streams are tokio pipes
//! ([`ChildStdin`] is [`AsyncWrite`], [`ChildStdout`] and [`ChildStderr`] are
//! [`AsyncRead`]).
//!
//! Differences from `tokio::process`, by design: a child is reaped only by awaiting
//! [`Child::wait`] (or [`Child::try_wait`], or dropping it with `kill_on_drop`); tokio's
//! orphan queue, which reaps dropped children in the background, is not needed here because a
//! dropped child without `kill_on_drop` is left alone as with std, and its zombie is the
//! parent's to reap (or `SIGCHLD` ignored).
//!
//! Spawning, the conversion of the streams and waiting need a tokio runtime with I/O enabled
//! (`Runtime::enter`, or inside `block_on`/a task).
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use tokio::io::AsyncReadExt;
//! use xclone::tokio::Command;
//! use xclone::Stdio;
//!
//! let mut child = Command::new("sh")
//!     .args(["-c", "echo hello; exit 7"])
//!     .stdout(Stdio::piped())
//!     .kill_on_drop(true)
//!     .spawn()?;
//! let mut text = String::new();
//! child.stdout.take().unwrap().read_to_string(&mut text).await?;
//! let status = child.wait().await?;
//! assert_eq!((text.as_str(), status.code()), ("hello\n", Some(7)));
//! # Ok(()) }
//! ```

use crate::pidfd::{ExitStatus, PidFd};
use crate::spawn::{Output, Stdio};
use std::ffi::OsStr;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

/// A process builder for tokio, the async counterpart of [`crate::Command`].
///
/// The common builder methods are here; every other option (namespaces, id maps, clone3
/// arguments, descriptors, signal state, hooks) is set on the wrapped
/// [`crate::Command`] through [`Command::as_xclone_mut`].
#[derive(Debug)]
pub struct Command {
    inner: crate::Command,
    kill_on_drop: bool,
}

impl Command {
    /// A command running `program` (searched in `PATH` when it has no `/`), as
    /// [`crate::Command::new`].
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Command {
            inner: crate::Command::new(program),
            kill_on_drop: false,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Self {
        self.inner.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.inner.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what is set afterwards).
    pub fn env_clear(&mut self) -> &mut Self {
        self.inner.env_clear();
        self
    }

    /// The child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.inner.current_dir(dir);
        self
    }

    /// The child's standard input (default: inherit; [`Command::output`]: null).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.inner.stdin(cfg);
        self
    }

    /// The child's standard output (default: inherit; [`Command::output`]: piped).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.inner.stdout(cfg);
        self
    }

    /// The child's standard error (default: inherit; [`Command::output`]: piped).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.inner.stderr(cfg);
        self
    }

    /// Kill the child (`SIGKILL` through its pidfd) and reap it when its [`Child`] is
    /// dropped before it was reaped, as `tokio::process::Command::kill_on_drop`.
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Self {
        self.kill_on_drop = on;
        self
    }

    /// The wrapped [`crate::Command`].
    pub fn as_xclone(&self) -> &crate::Command {
        &self.inner
    }

    /// The wrapped [`crate::Command`], for every option this type does not repeat.
    pub fn as_xclone_mut(&mut self) -> &mut crate::Command {
        &mut self.inner
    }

    /// Gives back the wrapped [`crate::Command`].
    pub fn into_xclone(self) -> crate::Command {
        self.inner
    }

    /// Spawns the child. Must be called within a tokio runtime with I/O enabled: the piped
    /// streams and the pidfd are registered with its reactor.
    pub fn spawn(&mut self) -> io::Result<Child> {
        Child::from_xclone(self.inner.spawn()?, self.kill_on_drop)
    }

    /// Runs the child to its end and returns its status; streams not set default to
    /// inherit.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        // The child is reaped by the await below; if the future is dropped first, the
        // child is killed rather than left running unobserved (as tokio does for `status`).
        let mut child = Child::from_xclone(self.inner.spawn()?, true)?;
        drop(child.stdin.take());
        child.wait().await
    }

    /// Runs the child to its end, collecting its standard output and error: streams not set
    /// default to piped (stdout, stderr) and null (stdin), as with std.
    pub async fn output(&mut self) -> io::Result<Output> {
        let unset = (
            self.inner.stdin.is_none(),
            self.inner.stdout.is_none(),
            self.inner.stderr.is_none(),
        );
        if unset.0 {
            self.inner.stdin = Some(Stdio::null());
        }
        if unset.1 {
            self.inner.stdout = Some(Stdio::piped());
        }
        if unset.2 {
            self.inner.stderr = Some(Stdio::piped());
        }
        let spawned = self.inner.spawn();
        // The defaults were for this call only: the command is reusable as configured.
        if unset.0 {
            self.inner.stdin = None;
        }
        if unset.1 {
            self.inner.stdout = None;
        }
        if unset.2 {
            self.inner.stderr = None;
        }
        Child::from_xclone(spawned?, true)?.wait_with_output().await
    }
}

impl From<crate::Command> for Command {
    fn from(inner: crate::Command) -> Self {
        Command {
            inner,
            kill_on_drop: false,
        }
    }
}

/// The parent's handle on a child spawned by [`Command::spawn`].
///
/// The streams are public fields, as in `tokio::process::Child`: take them out and move them
/// into other tasks. Only the inner guard has a `Drop`, so a `Child` can be destructured.
#[derive(Debug)]
pub struct Child {
    /// The write end of the child's stdin pipe, if piped.
    pub stdin: Option<ChildStdin>,
    /// The read end of the child's stdout pipe, if piped.
    pub stdout: Option<ChildStdout>,
    /// The read end of the child's stderr pipe, if piped.
    pub stderr: Option<ChildStderr>,
    guard: Guard,
}

/// The process side of a [`Child`]: its pidfd in the reactor, its status once reaped, and
/// the kill-on-drop decision.
#[derive(Debug)]
struct Guard {
    pid: u32,
    pidfd: AsyncFd<PidFd>,
    status: Option<ExitStatus>,
    kill_on_drop: bool,
    /// Under a sandbox's init: its status pipe and the stack it runs on (dropped once the
    /// init is reaped, left mapped otherwise).
    init: Option<crate::spawn::InitParts>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            let fd = self.pidfd.get_ref();
            if fd.send_signal(libc::SIGKILL).is_ok() {
                // SIGKILL cannot be caught: the wait is short, and it reaps the zombie.
                if fd.wait().is_ok() {
                    self.status = Some(ExitStatus::from_raw(libc::SIGKILL));
                }
            }
        }
        if let Some(init) = self.init.as_mut() {
            if self.status.is_none() {
                // The init may still run on it.
                std::mem::forget(init.stack.take());
            }
        }
    }
}

impl Child {
    /// Turns a spawned [`crate::Child`] into an async one (streams to tokio pipes, pidfd into
    /// the reactor). Must be called within a tokio runtime with I/O enabled.
    pub fn from_xclone(mut child: crate::Child, kill_on_drop: bool) -> io::Result<Child> {
        let stdin = child.stdin.take().map(OwnedFd::from);
        let stdout = child.stdout.take().map(OwnedFd::from);
        let stderr = child.stderr.take().map(OwnedFd::from);
        let pid = child.id();
        let init = child.take_init();
        let guard = Guard {
            pid,
            pidfd: crate::sys::pidfd::async_owned(child.into_pidfd())?,
            status: None,
            kill_on_drop,
            init,
        };
        // From here on the guard owns the process: an error below kills it if asked.
        Ok(Child {
            stdin: stdin
                .map(|fd| pipe::Sender::from_owned_fd(fd).map(|inner| ChildStdin { inner }))
                .transpose()?,
            stdout: stdout
                .map(|fd| pipe::Receiver::from_owned_fd(fd).map(|inner| ChildStdout { inner }))
                .transpose()?,
            stderr: stderr
                .map(|fd| pipe::Receiver::from_owned_fd(fd).map(|inner| ChildStderr { inner }))
                .transpose()?,
            guard,
        })
    }

    /// The child's PID in the parent's pid namespace, or `None` once it has been reaped (as
    /// tokio, since the number may then name another process).
    pub fn id(&self) -> Option<u32> {
        self.guard.status.is_none().then_some(self.guard.pid)
    }

    /// The child's pidfd (signal it, or watch it elsewhere).
    pub fn pidfd(&self) -> &PidFd {
        self.guard.pidfd.get_ref()
    }

    /// Sends `SIGKILL` without waiting; `Ok(())` if the child has already exited.
    pub fn start_kill(&mut self) -> io::Result<()> {
        if self.guard.status.is_some() {
            return Ok(());
        }
        match self.pidfd().send_signal(libc::SIGKILL) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            other => other,
        }
    }

    /// Sends `SIGKILL` and waits for the child to end (reaping it).
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Reaps the child if it has ended, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.guard.status {
            return Ok(Some(s));
        }
        let s = self.pidfd().try_wait()?;
        // Under a sandbox's init, reaped now: the program's status is in its pipe.
        let s = match (s, self.guard.init.as_ref()) {
            (Some(s), Some(init)) => Some(init.program_status().unwrap_or(s)),
            _ => s,
        };
        self.guard.status = s;
        Ok(s)
    }

    /// Waits for the child to end and reaps it: the task sleeps until the pidfd becomes
    /// readable. Closes stdin first, so a child reading it sees end of file. Cancel safe:
    /// dropping the future leaves the child as it was.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(s);
            }
            let mut ready = self.guard.pidfd.readable().await?;
            ready.clear_ready();
        }
    }

    /// Closes stdin, reads stdout and stderr to their ends concurrently, and waits.
    pub async fn wait_with_output(mut self) -> io::Result<Output> {
        use tokio::io::AsyncReadExt;
        drop(self.stdin.take());
        async fn all(stream: Option<impl AsyncRead + Unpin>) -> io::Result<Vec<u8>> {
            let mut buf = Vec::new();
            if let Some(mut s) = stream {
                s.read_to_end(&mut buf).await?;
            }
            Ok(buf)
        }
        // Both streams at once: a child that fills one pipe while the other is read cannot
        // stall the pair.
        let mut out = std::pin::pin!(all(self.stdout.take()));
        let mut err = std::pin::pin!(all(self.stderr.take()));
        let (mut stdout, mut stderr) = (None, None);
        std::future::poll_fn(|cx| {
            if stdout.is_none() {
                if let Poll::Ready(r) = out.as_mut().poll(cx) {
                    stdout = Some(r);
                }
            }
            if stderr.is_none() {
                if let Poll::Ready(r) = err.as_mut().poll(cx) {
                    stderr = Some(r);
                }
            }
            if stdout.is_some() && stderr.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let (stdout, stderr) = (
            stdout.unwrap_or(Ok(Vec::new()))?,
            stderr.unwrap_or(Ok(Vec::new()))?,
        );
        let status = self.wait().await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// The write end of a child's standard input: [`AsyncWrite`].
#[derive(Debug)]
pub struct ChildStdin {
    inner: pipe::Sender,
}

/// The read end of a child's standard output: [`AsyncRead`].
#[derive(Debug)]
pub struct ChildStdout {
    inner: pipe::Receiver,
}

/// The read end of a child's standard error: [`AsyncRead`].
#[derive(Debug)]
pub struct ChildStderr {
    inner: pipe::Receiver,
}

impl ChildStdin {
    /// The pipe's descriptor, handed over (it stays non-blocking).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.inner.into_nonblocking_fd()
    }
}

impl ChildStdout {
    /// The pipe's descriptor, handed over (it stays non-blocking).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.inner.into_nonblocking_fd()
    }
}

impl ChildStderr {
    /// The pipe's descriptor, handed over (it stays non-blocking).
    pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
        self.inner.into_nonblocking_fd()
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl AsyncRead for ChildStdout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncRead for ChildStderr {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}
