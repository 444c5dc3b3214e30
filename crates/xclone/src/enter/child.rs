//! The two children of an `enter`: the intermediate, which joins the target's namespaces
//! and creates the payload, and the payload's own steps before the ordinary spawn steps
//! ([`crate::spawn::child_side::run`]).
//!
//! Both run on the caller's memory and TLS (see `spawn::child_side` for the rules): only
//! raw system calls on data prepared before the first clone, no allocation, no panics.
//! When a time namespace is joined the intermediate is fork-like instead (its own copy of
//! the caller's memory, see [`crate::sys::fork`]) and the payload shares that copy: the same
//! rules hold, because locks held by the caller's other threads stay held in the copy. What
//! they would leave in the caller's memory, the intermediate sends through a pipe
//! ([`encode`]).

use crate::spawn::child_side::{self, SETUP_FAILED};
use crate::spawn::plan::ChildPlan;
use crate::spawn::report::Report;
use crate::spawn::Step;
use crate::sys::child as sc;
use crate::sys::flags::CloneFlags;
use crate::sys::setns::{chroot, fchdir, setns};
use crate::sys::stack::ChildStack;
use crate::sys::vfork::{spawn_vfork, CloneCall, VforkChild};
use std::os::fd::{BorrowedFd, IntoRawFd, RawFd};

/// One `setns` call: a pidfd with a set of types, or a namespace file with its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Join {
    pub fd: RawFd,
    pub nstype: CloneFlags,
}

/// What the payload does before the spawn steps.
pub(crate) struct PayloadPlan<'a, 'b> {
    /// Joined by the payload itself: the user namespace (so that the intermediate creates
    /// the payload in the target's cgroup with the caller's credentials) and the cgroup
    /// namespace (whose root must still contain the caller's cgroup when the payload is
    /// created into the target's).
    pub joins: Vec<Join>,
    /// Set by the intermediate when it had to join the user namespace itself.
    pub user_already_joined: bool,
    /// After joining a user namespace: become uid/gid 0 there, without supplementary groups.
    pub become_root: bool,
    pub root: Option<RawFd>,
    pub wd: Option<RawFd>,
    pub child: &'a mut ChildPlan<'b>,
}

type Fail = (Step, usize, i32);

impl PayloadPlan<'_, '_> {
    fn enter_steps(&mut self) -> Result<(), Fail> {
        let mut joined_user = self.user_already_joined;
        for (i, j) in self.joins.iter().enumerate() {
            if j.nstype == CloneFlags::NEWUSER && self.user_already_joined {
                continue;
            }
            setns(j.fd, j.nstype.bits()).map_err(|e| (Step::Setns, i, e))?;
            joined_user |= j.nstype.contains(CloneFlags::NEWUSER);
        }
        if joined_user && self.become_root {
            // As nsenter: a user namespace whose setgroups is "deny" keeps the groups.
            match sc::setgroups(&[]) {
                Ok(()) | Err(libc::EPERM) => {}
                Err(e) => return Err((Step::Setgroups, 0, e)),
            }
            sc::setgid(0).map_err(|e| (Step::Setgid, 0, e))?;
            sc::setuid(0).map_err(|e| (Step::Setuid, 0, e))?;
        }
        if let Some(root) = self.root {
            fchdir(root).map_err(|e| (Step::EnterRoot, 0, e))?;
            chroot(c".").map_err(|e| (Step::EnterRoot, 0, e))?;
            if self.wd.is_none() {
                sc::chdir(c"/").map_err(|e| (Step::EnterRoot, 0, e))?;
            }
        }
        if let Some(wd) = self.wd {
            fchdir(wd).map_err(|e| (Step::EnterDir, 0, e))?;
        }
        Ok(())
    }
}

impl VforkChild for PayloadPlan<'_, '_> {
    fn run_child(&mut self) -> i32 {
        let (step, index, errno) = match self.enter_steps() {
            Err(f) => f,
            Ok(()) => child_side::run(self.child),
        };
        self.child.report.fail(step, index, errno);
        SETUP_FAILED
    }
}

/// Which part of the intermediate's work failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// `setns` number `index` of the intermediate's joins.
    Setns,
    /// The same after joining the user namespace first (the retry).
    SetnsWithUser,
    /// The clone3 that creates the payload.
    Clone,
}

impl Stage {
    fn code(self) -> i32 {
        match self {
            Stage::Setns => 0,
            Stage::SetnsWithUser => 1,
            Stage::Clone => 2,
        }
    }

    fn from_code(code: i32) -> Option<Stage> {
        match code {
            0 => Some(Stage::Setns),
            1 => Some(Stage::SetnsWithUser),
            2 => Some(Stage::Clone),
            _ => None,
        }
    }
}

/// What the intermediate leaves for the caller.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Outcome {
    pub pid: i32,
    /// The payload's pidfd: a number in the caller's descriptor table (`CLONE_FILES`).
    pub pidfd: RawFd,
    pub failure: Option<(Stage, usize, i32)>,
}

/// The intermediate's plan.
pub(crate) struct IntermediatePlan<'a, 'b, 'c> {
    /// The namespaces the intermediate joins (all requested but user and cgroup).
    pub joins: Vec<Join>,
    /// When `joins` is refused with `EPERM` and a user namespace is to be joined: joining it
    /// first instead (a caller whose privilege over the target's namespaces comes from that
    /// user namespace, as an unprivileged owner of a container).
    pub retry_with_user: Vec<Join>,
    pub payload: PayloadPlan<'a, 'b>,
    pub payload_flags: CloneFlags,
    pub cgroup: Option<BorrowedFd<'c>>,
    pub payload_stack: &'c ChildStack,
    /// Create the payload with `clone(2)` (clone3 is missing or filtered; no cgroup then).
    pub legacy: bool,
    pub out: Outcome,
}

impl IntermediatePlan<'_, '_, '_> {
    fn run(&mut self) -> Result<(), (Stage, usize, i32)> {
        let mut failed = None;
        for (i, j) in self.joins.iter().enumerate() {
            if let Err(e) = setns(j.fd, j.nstype.bits()) {
                failed = Some((i, e));
                break;
            }
        }
        if let Some((i, e)) = failed {
            if e != libc::EPERM || self.retry_with_user.is_empty() {
                return Err((Stage::Setns, i, e));
            }
            for (i, j) in self.retry_with_user.iter().enumerate() {
                setns(j.fd, j.nstype.bits()).map_err(|e| (Stage::SetnsWithUser, i, e))?;
            }
            self.payload.user_already_joined = true;
        }
        let size = if self.cgroup.is_some() {
            crate::sys::abi::CLONE_ARGS_SIZE_VER2
        } else {
            crate::sys::abi::CLONE_ARGS_SIZE_VER0
        };
        // CLONE_PARENT: the payload becomes the caller's child; clone3 then wants exit
        // signal 0, and the kernel gives the payload ours (the caller's choice).
        let call = if self.legacy {
            // Exit signal 0 in the low byte, as for clone3.
            CloneCall::Legacy {
                flags: self.payload_flags.bits(),
            }
        } else {
            CloneCall::Clone3 {
                flags: self.payload_flags,
                exit_signal: 0,
                set_tid: &[],
                cgroup: self.cgroup,
                size,
            }
        };
        let s = spawn_vfork(call, &mut self.payload, self.payload_stack)
            .map_err(|e| (Stage::Clone, 0, e))?;
        self.out.pid = s.pid;
        // The number stays open in the shared table; the caller adopts it.
        self.out.pidfd = s.pidfd.map_or(-1, IntoRawFd::into_raw_fd);
        Ok(())
    }
}

impl IntermediatePlan<'_, '_, '_> {
    /// The fork-like intermediate's whole life: the same work as the `CLONE_VM` one, then
    /// its outcome and the payload's report (written into this copy of memory by the
    /// payload, which shares it) go to the caller as one record on `report_fd`, a pipe (one
    /// write of less than `PIPE_BUF` bytes: whole or not at all).
    pub(crate) fn run_forked(&mut self, report_fd: RawFd) -> core::convert::Infallible {
        let status = self.run_child();
        let rec = encode(&self.out, &self.payload.child.report);
        let sent = matches!(sc::write(report_fd, &rec), Ok(n) if n == rec.len());
        crate::sys::raw::exit_group(if sent { status } else { 2 })
    }
}

/// The size of a fork-like intermediate's record.
pub(crate) const RECORD_LEN: usize = 32;

/// The record of a fork-like intermediate: eight native-endian `i32`s — payload pid and
/// pidfd number, the intermediate's failure (stage, index, errno; stage -1 for none) and the
/// payload's (step code, index, errno; step -1 for none). No allocation, no panic.
pub(crate) fn encode(out: &Outcome, report: &Report) -> [u8; RECORD_LEN] {
    let (stage, s_index, s_errno) = match out.failure {
        Some((stage, index, errno)) => (stage.code(), index as i32, errno),
        None => (-1, 0, 0),
    };
    let (step, p_errno) = match report.failure {
        Some((step, errno)) => (step.code() as i32, errno),
        None => (-1, 0),
    };
    let words = [
        out.pid,
        out.pidfd,
        stage,
        s_index,
        s_errno,
        step,
        report.index as i32,
        p_errno,
    ];
    let mut rec = [0u8; RECORD_LEN];
    for (chunk, w) in rec.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_ne_bytes());
    }
    rec
}

/// Reads back an [`encode`]d record; `None` for codes that name no stage or step.
pub(crate) fn decode(rec: &[u8; RECORD_LEN]) -> Option<(Outcome, Report)> {
    let mut w = [0i32; RECORD_LEN / 4];
    for (x, chunk) in w.iter_mut().zip(rec.chunks_exact(4)) {
        *x = i32::from_ne_bytes(chunk.try_into().ok()?);
    }
    let failure = match w[2] {
        -1 => None,
        c => Some((Stage::from_code(c)?, w[3] as usize, w[4])),
    };
    let report_failure = match w[5] {
        -1 => None,
        c => Some((Step::from_code(c as u32)?, w[7])),
    };
    Some((
        Outcome {
            pid: w[0],
            pidfd: w[1],
            failure,
        },
        Report {
            failure: report_failure,
            index: w[6] as usize,
        },
    ))
}

impl VforkChild for IntermediatePlan<'_, '_, '_> {
    fn run_child(&mut self) -> i32 {
        match self.run() {
            Ok(()) => 0,
            Err(f) => {
                self.out.failure = Some(f);
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let out = Outcome {
            pid: 4242,
            pidfd: 17,
            failure: Some((Stage::SetnsWithUser, 2, libc::EPERM)),
        };
        let mut report = Report::default();
        report.fail(Step::EnterDir, 3, libc::ENOENT);
        let (o, r) = decode(&encode(&out, &report)).unwrap();
        assert_eq!(
            (o.pid, o.pidfd, o.failure),
            (out.pid, out.pidfd, out.failure)
        );
        assert_eq!(r, report);
        let clean = Outcome {
            pid: 7,
            pidfd: 5,
            failure: None,
        };
        let (o, r) = decode(&encode(&clean, &Report::default())).unwrap();
        assert_eq!((o.pid, o.pidfd, o.failure), (7, 5, None));
        assert_eq!(r, Report::default());
        let mut bad = encode(&clean, &Report::default());
        bad[8..12].copy_from_slice(&9i32.to_ne_bytes());
        assert!(decode(&bad).is_none());
    }
}
