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
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.kill_on_drop && self.status.is_none() {
            if let Some(fd) = &self.pidfd {
                let _ = fd.send_signal(libc::SIGKILL);
                let _ = fd.wait();
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
            },
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
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
        let s = self.waitable()?.wait()?;
        self.handle.status = Some(s);
        Ok(s)
    }

    /// Reaps the child if it has exited, without blocking.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.handle.status {
            return Ok(Some(s));
        }
        let s = self.waitable()?.try_wait()?;
        self.handle.status = s;
        Ok(s)
    }

    /// Waits at most `timeout` for the child to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.handle.status {
            return Ok(Some(s));
        }
        let s = self.waitable()?.wait_timeout(timeout)?;
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
        let s = self.waitable()?.wait_async().await?;
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
