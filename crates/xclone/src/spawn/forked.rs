//! The fork-like spawn: how a command with [`pre_exec`](super::Command::pre_exec) hooks
//! spawns, keeping std's contract for them.
//!
//! The child gets its own copy of the parent's memory ([`fork_like_then`]: the C library's
//! `fork()` for a plain request, so a hook may allocate as after std's fork; clone3 without
//! `CLONE_VM` when namespace flags, another exit signal or `set_tid` are asked for). It runs
//! the same setup as every spawn ([`child_side::run`]), hooks included, and execs. Its
//! memory is not the parent's, so a failure travels back through a close-on-exec pipe:
//! twelve bytes (step, item, errno) before the child exits, or end of file at a successful
//! exec. A hook that panics aborts the child (`SIGABRT`), which `spawn` does not see — the
//! status does — as with std.
//!
//! This costs what std's fork costs (page tables copied, growing with the parent's memory);
//! [`pre_exec_shared_memory`](super::Command::pre_exec_shared_memory) keeps the O(1) spawn.

use super::child::Child;
use super::child_side::{self, SETUP_FAILED};
use super::command::{Command, StdioDefault};
use super::report::Step;
use super::{plan, spawn_error, Failure};
use crate::pidfd::PidFd;
use crate::sys::flags::CloneFlags;
use crate::sys::fork::{fork_like_then, ForkSpec};
use crate::sys::raw::exit_group;
use crate::sys::signal;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// The flags a fork-like spawn passes on (the clone3 path of [`fork_like_then`] takes these).
const FORK_FLAGS: CloneFlags = CloneFlags::NAMESPACES.union(CloneFlags::CLEAR_SIGHAND);

/// The child's exit status should its abort not end it (never expected).
const ABORT_FAILED: i32 = 134;

/// Spawns `cmd` in a fork-like child.
pub(crate) fn spawn(cmd: &mut Command, defaults: StdioDefault) -> Result<Child, Failure> {
    let legacy = crate::fallback::clone3_unusable(cmd.fallback);
    let mut p = plan::prepare(cmd, defaults)?;
    let flags = p.clone.flags - CloneFlags::PIDFD;
    let beyond = flags - FORK_FLAGS;
    if !beyond.is_empty() || p.clone.cgroup.is_some() {
        let what = if beyond.is_empty() {
            "CLONE_INTO_CGROUP".to_string()
        } else {
            beyond.to_names_string()
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} cannot be used with pre_exec: its hooks run in a fork-like child \
                 (own copy of memory, as std's), which takes only namespace flags; \
                 pre_exec_shared_memory runs hooks in the spawn that takes them"
            ),
        )
        .into());
    }
    // The kernel resets handlers only when asked explicitly; otherwise the child does.
    p.child.signals.kernel_cleared = flags.contains(CloneFlags::CLEAR_SIGHAND);
    let (report_r, report_w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(io::Error::from)?;
    let close = [report_r.as_raw_fd()];
    let spec = ForkSpec {
        flags,
        exit_signal: p.clone.exit_signal,
        set_tid: p.clone.set_tid,
        pidfd: true,
        close_in_child: &close,
        // Where clone3 is missing or filtered, a request beyond a plain fork goes through
        // clone(2) (which refuses what it cannot carry).
        legacy,
    };
    let child_plan = &mut p.child;
    let w = &report_w;
    let forked = fork_like_then(&spec, || {
        let _abort = AbortOnUnwind;
        let (step, index, errno) = child_side::run(child_plan);
        let _ = write_all(w, &encode(step, index, errno));
        exit_group(SETUP_FAILED)
    })
    .map_err(|e| io::Error::from_raw_os_error(e.0))?;
    drop(report_w);
    drop(std::mem::take(&mut p.child_owned));
    let pidfd = PidFd::from(
        forked
            .pidfd
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?,
    );
    let mut guard = Reap {
        pidfd: Some(&pidfd),
    };
    if let Some(sock) = p.handshake.as_mut() {
        drop(sock.child.take());
        if let Some(m) = &p.maps {
            m.apply(forked.pid as u32).map_err(io::Error::from)?;
        }
        crate::sys::vfork::send_go(&sock.parent);
    }
    let mut buf = [0u8; 12];
    let n = read_full(&report_r, &mut buf)?;
    guard.pidfd = None;
    drop(guard);
    if n == buf.len() {
        if let Some((step, index, errno)) = decode(&buf) {
            // The child exited without exec'ing; reap it so it does not linger as a zombie.
            let _ = pidfd.wait();
            p.child.report.fail(step, index, errno);
            return Err(Failure::Child(spawn_error(&p, step, errno)));
        }
    }
    Ok(p.take_child(forked.pid as u32, pidfd))
}

/// Kills and reaps the child when the parent's side fails before the child's fate is known.
struct Reap<'a> {
    pidfd: Option<&'a PidFd>,
}

impl Drop for Reap<'_> {
    fn drop(&mut self) {
        if let Some(fd) = self.pidfd {
            let _ = fd.send_signal(libc::SIGKILL);
            let _ = fd.wait();
        }
    }
}

/// Ends a fork-like child whose hook panicked the way std's does: abort (`SIGABRT`), before
/// any of the parent's copied frames could unwind in it.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        let _ = signal::raise_default(libc::SIGABRT);
        exit_group(ABORT_FAILED);
    }
}

fn encode(step: Step, index: usize, errno: i32) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&step.code().to_ne_bytes());
    b[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
    b[8..].copy_from_slice(&errno.to_ne_bytes());
    b
}

fn decode(b: &[u8; 12]) -> Option<(Step, usize, i32)> {
    let word = |i: usize| [b[i], b[i + 1], b[i + 2], b[i + 3]];
    let step = Step::from_code(u32::from_ne_bytes(word(0)))?;
    let index = u32::from_ne_bytes(word(4)) as usize;
    Some((step, index, i32::from_ne_bytes(word(8))))
}

fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> rustix::io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads until `buf` is full or end of file; the number of bytes read.
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match rustix::io::read(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trips() {
        let b = encode(Step::Chdir, 3, libc::ENOENT);
        assert_eq!(decode(&b), Some((Step::Chdir, 3, libc::ENOENT)));
        let mut bad = b;
        bad[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(decode(&bad), None);
    }
}
