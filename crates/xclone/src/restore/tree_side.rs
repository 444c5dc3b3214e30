//! What runs in the processes of a tree being restored, and the protocol that ties them to the
//! restorer.
//!
//! # Protocol
//!
//! Everything the tree needs (PID arrays, flags, program paths, `argv`/`envp` arrays, working
//! directories) is built before the first clone; the processes of the tree only make raw system
//! calls on that data (they may be copies of one thread of a multithreaded caller, where
//! allocating could deadlock). Three close-on-exec pipes connect them to the restorer:
//!
//! * `report`: every tree process writes fixed 16-byte records (atomic on a pipe) to the
//!   restorer: a child *created* (written by its parent), *ready* (own setup done, children
//!   created), *joined* (moves of its children into process groups done), or *failed* (step,
//!   errno). Exec closes it, so end-of-file after the exec phase means every process has
//!   started its program.
//! * `go_join` and `go_exec`: the restorer writes one byte into each when every process is
//!   ready (phase 2: parents move children into their groups) and when every one has joined
//!   (phase 3: exec). Nobody reads these bytes: every process waits for its pipe to become
//!   readable (`ppoll`), so one write wakes all of them at once. (Reading one byte each, as
//!   an earlier version did, woke the readers one after another, each waking the next once it
//!   had the CPU: with 10,000 processes on a busy machine the exec phase took tens of seconds.)
//! * `abort`: the restorer writes one byte when it gives up; end-of-file (the restorer died)
//!   means the same. Checked before each child is created and together with each go pipe; a
//!   go pipe that ended without its byte means abort too.
//!
//! Phase 1, per process: `setsid()` or `setpgid(0, 0)` if it leads a session or group, then
//! create its children in manifest order. Group leaders thus exist before phase 2 moves anybody
//! into their groups; sessions only pass from parent to child, so they need no second phase.
//!
//! On abort every process first reaps its children (`wait` until `ECHILD`), then exits; the
//! restorer reaps the root. When the restorer returns, every created process has been reaped by
//! its own parent: none is left behind, not even as a zombie. The restorer watches every
//! created process through a pidfd, so one killed from outside during creation aborts the
//! restore instead of stalling it.
//!
//! Should an exec fail (after the checks that program and directory exist), the processes
//! that already run their programs are killed with `SIGKILL` and waited for; those whose parent
//! was killed too are then reaped by the system's reaper, not by the restorer.

use super::check::Setup;
use super::Step;
use crate::sys::child::{execve, getppid, poll_in, readable_now, set_pdeathsig, write};
use crate::sys::cstr_array::CStrArray;
use crate::sys::flags::CloneFlags;
use crate::sys::isolate::close;
use crate::sys::raw::exit_group;
use crate::sys::signal::{self, SigSet};
use crate::sys::vmtree::VmTree;
use core::convert::Infallible;
use rustix::process::Pid;
use std::ffi::CString;
use std::os::fd::RawFd;

/// Exit status of a tree process that gave up because the restore was aborted.
pub(super) const EXIT_ABORTED: i32 = 125;
/// Exit status of a tree process whose `chdir` or `execve` failed.
pub(super) const EXIT_EXEC_FAILED: i32 = 127;

pub(super) const GO_JOIN: u8 = b'J';
pub(super) const GO_EXEC: u8 = b'X';
pub(super) const ABORT: u8 = b'A';

pub(super) const REC_CREATED: u32 = 1;
pub(super) const REC_READY: u32 = 2;
pub(super) const REC_JOINED: u32 = 3;
pub(super) const REC_FAILED: u32 = 4;
pub(super) const RECORD: usize = 16;

/// What one tree process needs, built before the first clone.
pub(super) struct NodePlan {
    /// Innermost namespace first, as clone3 wants it.
    pub(super) set_tid: Vec<i32>,
    pub(super) flags: CloneFlags,
    pub(super) children: Vec<usize>,
    pub(super) setup: Setup,
    /// `(child index, child pid, pgid)` as seen in this process's namespace.
    pub(super) joins: Vec<(usize, i32, i32)>,
    pub(super) path: CString,
    pub(super) argv: CStrArray,
    pub(super) envp: CStrArray,
    pub(super) cwd: Option<CString>,
    /// The parent's PID as `getppid()` shows it in this process, or 0 where it shows 0 (a
    /// process that starts a pid namespace does not see its parent).
    pub(super) ppid: i32,
}

/// The part of the restorer's state the tree processes use, borrowed by all of them.
pub(super) struct ChildSide<'a> {
    pub(super) nodes: &'a [NodePlan],
    /// Descriptor numbers, valid in the tree processes' own descriptor tables (copies of
    /// the restorer's at the root's creation); the restorer closes its copies meanwhile.
    pub(super) report: RawFd,
    pub(super) go_join: RawFd,
    pub(super) go_exec: RawFd,
    pub(super) abort: RawFd,
    /// The restorer's ends of the pipes, which the root closes first thing (its children
    /// inherit its descriptor table, so no other tree process holds them).
    pub(super) restorer_ends: [RawFd; 4],
    /// The root's index.
    pub(super) root: usize,
}

/// The argument of a tree process: the shared plan and its own index.
pub(super) type TreeArg<'a> = (&'a ChildSide<'a>, usize);

/// The code of every tree process (see [`ChildSide::main`]).
pub(super) fn tree_process<'a>(tree: &VmTree<'a>, (side, i): TreeArg<'a>) -> Infallible {
    side.main(tree, i)
}

// Everything below runs in the created processes: raw system calls (rustix, sys::child, sys::signal) on
// pre-built data, no allocation, no locks, no panics.

impl ChildSide<'_> {
    fn report(&self, kind: u32, index: usize, step: Step, errno: i32) {
        let mut rec = [0u8; RECORD];
        rec[0..4].copy_from_slice(&kind.to_ne_bytes());
        rec[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
        rec[8..12].copy_from_slice(&(step as u32).to_ne_bytes());
        rec[12..16].copy_from_slice(&errno.to_ne_bytes());
        // A failed report means the restorer is gone; the go pipes then say abort.
        while write(self.report, &rec) == Err(libc::EINTR) {}
    }

    fn fail(&self, index: usize, step: Step, e: rustix::io::Errno) {
        self.report(REC_FAILED, index, step, e.raw_os_error());
    }

    /// Waits until the go pipe `pipe` or the abort pipe is readable (neither is read): true
    /// for go, false for abort — a byte or end-of-file on the abort pipe, or a go pipe that
    /// ended without its byte (the restorer died).
    fn go(&self, pipe: RawFd) -> bool {
        let mut fds = [self.abort, pipe].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        loop {
            match poll_in(&mut fds, true) {
                Ok(_) => {}
                Err(libc::EINTR) => continue,
                Err(_) => return false,
            }
            if fds[0].revents != 0 {
                return false;
            }
            if fds[1].revents != 0 {
                return fds[1].revents & libc::POLLIN != 0;
            }
        }
    }

    /// After reporting a failure: wait for the restorer's abort (no go can come, as the
    /// process never reports its phase done).
    fn abort_after(&self) -> Infallible {
        let mut fds = [libc::pollfd {
            fd: self.abort,
            events: libc::POLLIN,
            revents: 0,
        }];
        while poll_in(&mut fds, true) == Err(libc::EINTR) {}
        self.abort()
    }

    /// Whether the restorer has given up (or is gone): stop building.
    fn told_to_stop(&self) -> bool {
        !matches!(readable_now(self.abort), Ok(false) | Err(libc::EINTR))
    }

    /// Reaps every child (they abort too), then exits: nothing is left for another reaper.
    fn abort(&self) -> Infallible {
        while let Ok(Some(_)) | Err(rustix::io::Errno::INTR) =
            rustix::process::wait(rustix::process::WaitOptions::empty())
        {}
        exit_group(EXIT_ABORTED)
    }

    /// One tree process: dies with its parent, sets up its session or group, creates its
    /// children, then follows the restorer's phases.
    fn main<'a>(&'a self, tree: &VmTree<'a>, i: usize) -> Infallible {
        let node = &self.nodes[i];
        if i == self.root {
            for fd in self.restorer_ends {
                let _ = close(fd);
            }
        }
        // Dies with its parent (the restorer for the root). Should the parent have died
        // before this took effect, the parent PID has changed (where it can be seen) or, for
        // the root, the restorer's pipe has ended: checked right after, and before each child.
        if set_pdeathsig(libc::SIGKILL).is_err()
            || (node.ppid != 0 && getppid() != node.ppid)
            || self.told_to_stop()
        {
            return self.abort();
        }
        let setup = match node.setup {
            Setup::Inherit => Ok(()),
            Setup::SessionLeader => rustix::process::setsid().map(|_| ()),
            Setup::GroupLeader => rustix::process::setpgid(None, None),
        };
        if let Err(e) = setup {
            let step = if node.setup == Setup::SessionLeader {
                Step::Setsid
            } else {
                Step::Setpgid
            };
            self.fail(i, step, e);
            return self.abort_after();
        }
        for &c in &node.children {
            if self.told_to_stop() {
                return self.abort();
            }
            let child = &self.nodes[c];
            match tree.spawn(
                c,
                child.flags,
                &child.set_tid,
                false,
                tree_process,
                (self, c),
            ) {
                Ok(_) => self.report(REC_CREATED, c, Step::Create, 0),
                Err(e) => {
                    self.report(REC_FAILED, c, Step::Create, e.0);
                    return self.abort_after();
                }
            }
        }
        self.report(REC_READY, i, Step::Create, 0);
        if !self.go(self.go_join) {
            return self.abort();
        }
        for &(c, pid, pgid) in &node.joins {
            let r = match (Pid::from_raw(pid), Pid::from_raw(pgid)) {
                (Some(pid), Some(pgid)) => rustix::process::setpgid(Some(pid), Some(pgid)),
                _ => Err(rustix::io::Errno::INVAL),
            };
            if let Err(e) = r {
                self.fail(c, Step::Join, e);
                return self.abort_after();
            }
        }
        self.report(REC_JOINED, i, Step::Join, 0);
        if !self.go(self.go_exec) {
            return self.abort();
        }
        self.exec(i)
    }

    fn exec(&self, i: usize) -> Infallible {
        let node = &self.nodes[i];
        if let Some(dir) = &node.cwd {
            if let Err(e) = rustix::process::chdir(dir.as_c_str()) {
                self.fail(i, Step::Chdir, e);
                exit_group(EXIT_EXEC_FAILED);
            }
        }
        let _ = signal::set_default(libc::SIGPIPE);
        // The program must not die with the restorer's thread (PR_SET_PDEATHSIG survives
        // execve): past this point the tree runs on its own.
        let _ = set_pdeathsig(0);
        // Programs start with no signal blocked, as std's `Command` children do (the
        // restorer's own mask may block what it forwards, as `xclone restore` does).
        let _ = signal::set_mask(&SigSet::empty());
        let e = execve(&node.path, &node.argv, &node.envp);
        self.report(REC_FAILED, i, Step::Exec, e);
        exit_group(EXIT_EXEC_FAILED)
    }
}

pub(super) struct Record {
    pub(super) kind: u32,
    pub(super) index: usize,
    pub(super) step: Step,
    pub(super) errno: i32,
}

pub(super) fn parse_records(buf: &mut Vec<u8>) -> Vec<Record> {
    let whole = buf.len() / RECORD * RECORD;
    let out = buf[..whole]
        .chunks_exact(RECORD)
        .map(|r| {
            let u = |k: usize| u32::from_ne_bytes(r[k..k + 4].try_into().unwrap());
            Record {
                kind: u(0),
                index: u(4) as usize,
                step: Step::from_u32(u(8)),
                errno: u(12) as i32,
            }
        })
        .collect();
    buf.drain(..whole);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_partial_reads() {
        let mut buf = Vec::new();
        let mut rec = [0u8; RECORD];
        rec[0..4].copy_from_slice(&REC_FAILED.to_ne_bytes());
        rec[4..8].copy_from_slice(&3u32.to_ne_bytes());
        rec[8..12].copy_from_slice(&(Step::Join as u32).to_ne_bytes());
        rec[12..16].copy_from_slice(&libc::EPERM.to_ne_bytes());
        buf.extend_from_slice(&rec[..10]);
        assert!(parse_records(&mut buf).is_empty());
        buf.extend_from_slice(&rec[10..]);
        let r = parse_records(&mut buf);
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].kind, r[0].index, r[0].step, r[0].errno),
            (REC_FAILED, 3, Step::Join, libc::EPERM)
        );
        assert!(buf.is_empty());
    }
}
