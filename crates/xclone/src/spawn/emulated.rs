//! The fork-like spawn where a `CLONE_VM` child is refused (emulation; the other fork-like
//! spawn, for `pre_exec` hooks, is `forked`): under qemu's user-mode
//! emulation (how multi-arch container builds run foreign binaries) clone3 is `ENOSYS` and
//! `clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` is `EINVAL` — the emulator cannot share its
//! own memory with a child it does not control, and emulates vfork by fork — while a plain
//! fork works, which is what `posix_spawn` ends up using there.
//!
//! The child gets its own copy of the parent's memory ([`fork_then`], through `clone(2)`:
//! clone3 is unusable here by definition) with every signal blocked, runs the same steps as
//! every spawn ([`child_side::run`]) and execs. Its failure cannot be left in the parent's
//! memory, so it travels back through a close-on-exec pipe: twelve bytes (step, item,
//! errno) before the child exits, or end of file at a successful exec. The pidfd is opened
//! after the fact (`pidfd_open`, as on kernels whose clone(2) lacks `CLONE_PIDFD`); the child
//! cannot have been reaped by anyone in between unless `SIGCHLD` is ignored (see
//! [`crate::fallback`]).
//!
//! qemu 10.0 accepts `clone(CLONE_VM | CLONE_VFORK)` but runs the child as a fork: the spawn
//! "works", yet a child that fails before exec writes its report into its own copy of
//! memory and the parent sees a silent exit 127. So before its first clone(2) spawn a process
//! asks whether such a child shares its memory (`sys::vfork::clone_shares_memory`: a child
//! that stores one flag and exits); where it does not, spawns come here too.
//!
//! It costs what std's fork costs (page tables copied, growing with the parent's memory), so
//! it is only taken once the vfork-like clone has been refused or found not to share memory,
//! and then for every later spawn of the process.

use super::child_side::{self, SETUP_FAILED};
use super::plan::Prepared;
use super::report::Step;
use super::{Launched, ParentStep};
use crate::sys::flags::CloneFlags;
use crate::sys::fork::{fork_then, ForkSpec};
use crate::sys::raw::exit_group;
use crate::sys::signal::BlockAll;
use crate::sys::vfork::{Reaped, Spawned};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a `CLONE_VM` clone was refused (or found to give the child its own memory) where
/// a fork-like one then worked.
static VM_REFUSED: AtomicBool = AtomicBool::new(false);

/// Whether an earlier spawn found `CLONE_VM` children refused or not sharing memory (go
/// straight to a fork-like one).
pub(crate) fn vm_known_refused() -> bool {
    VM_REFUSED.load(Ordering::Relaxed)
}

/// The request flags a fork-like child can take: namespaces (what [`fork_then`] accepts).
const FORK_FLAGS: CloneFlags = CloneFlags::NAMESPACES;

/// Whether a request can be spawned fork-like: a plain spawn (no handshake with the parent)
/// whose flags are namespaces only.
pub(crate) fn possible(p: &Prepared<'_>) -> bool {
    p.handshake.is_none() && FORK_FLAGS.contains(p.clone.flags - CloneFlags::PIDFD)
}

/// Spawns the prepared child fork-like; with `to_end`, runs the parent's step and reaps it.
/// On success of the clone, remembers that this process spawns fork-like from now on.
pub(crate) fn launch(
    p: &mut Prepared<'_>,
    to_end: Option<ParentStep<'_, '_>>,
) -> io::Result<Launched> {
    // The kernel does not reset handlers here (no CLONE_CLEAR_SIGHAND): the child does.
    p.child.signals.kernel_cleared = false;
    p.child.report = super::report::Report::default();
    let (report_r, report_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let close = [report_r.as_raw_fd()];
    let spec = ForkSpec {
        flags: p.clone.flags & FORK_FLAGS,
        exit_signal: p.clone.exit_signal,
        pidfd: false,
        close_in_child: &close,
        legacy: true,
        ..Default::default()
    };
    let child_plan = &mut p.child;
    let w = &report_w;
    let forked = {
        // No handler may run in the child before its steps reset them.
        let _blocked = BlockAll::new().map_err(io::Error::from_raw_os_error)?;
        fork_then(&spec, || {
            let (step, index, errno) = child_side::run(child_plan);
            let rec = encode(step, index, errno);
            let _ = rustix::io::write(w, &rec);
            exit_group(SETUP_FAILED)
        })
    }
    .map_err(|e| {
        io::Error::from(crate::Error::os(
            "clone (fork-like: CLONE_VM children are refused or get their own memory here)",
            e,
        ))
    })?;
    VM_REFUSED.store(true, Ordering::Relaxed);
    drop(report_w);
    let pid = forked.pid;
    let Some(parent) = to_end else {
        read_report(p, &report_r);
        return Ok(Launched::Spawned(Spawned { pid, pidfd: None }));
    };
    let step = parent(pid);
    if step.is_err() {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    read_report(p, &report_r);
    let status = crate::pidfd::wait_child_pid(pid);
    step?;
    Ok(Launched::Reaped(Reaped { status }))
}

/// Reads the child's record into the plan's report: end of file (exec'd) leaves it empty.
fn read_report(p: &mut Prepared<'_>, r: &OwnedFd) {
    let mut rec = [0u8; 12];
    let mut got = 0;
    while got < rec.len() {
        match rustix::io::read(r.as_fd(), &mut rec[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
    }
    if got == rec.len() {
        if let Some((step, index, errno)) = decode(&rec) {
            p.child.report.fail(step, index, errno);
        }
    }
}

fn encode(step: Step, index: usize, errno: i32) -> [u8; 12] {
    let mut rec = [0u8; 12];
    rec[0..4].copy_from_slice(&step.code().to_ne_bytes());
    rec[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
    rec[8..12].copy_from_slice(&errno.to_ne_bytes());
    rec
}

fn decode(rec: &[u8; 12]) -> Option<(Step, usize, i32)> {
    let word = |i: usize| [rec[i], rec[i + 1], rec[i + 2], rec[i + 3]];
    let step = Step::from_code(u32::from_ne_bytes(word(0)))?;
    Some((
        step,
        u32::from_ne_bytes(word(4)) as usize,
        i32::from_ne_bytes(word(8)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let rec = encode(Step::Execve, 3, libc::ENOENT);
        assert_eq!(decode(&rec), Some((Step::Execve, 3, libc::ENOENT)));
        let mut bad = rec;
        bad[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(decode(&bad), None);
    }
}
