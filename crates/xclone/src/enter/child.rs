//! The two `CLONE_VM` children of an `enter`: the intermediate, which joins the target's
//! namespaces and creates the payload, and the payload's own steps before the ordinary
//! spawn steps ([`crate::spawn::child_side::run`]).
//!
//! Both run on the caller's memory and TLS (see `spawn::child_side` for the rules): only
//! raw system calls on data prepared before the first clone, no allocation, no panics.

use crate::spawn::child_side::{self, SETUP_FAILED};
use crate::spawn::plan::ChildPlan;
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
        let call = CloneCall::Clone3 {
            flags: self.payload_flags,
            exit_signal: 0,
            set_tid: &[],
            cgroup: self.cgroup,
            size,
        };
        let s = spawn_vfork(call, &mut self.payload, self.payload_stack)
            .map_err(|e| (Stage::Clone, 0, e))?;
        self.out.pid = s.pid;
        // The number stays open in the shared table; the caller adopts it.
        self.out.pidfd = s.pidfd.map_or(-1, IntoRawFd::into_raw_fd);
        Ok(())
    }
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
