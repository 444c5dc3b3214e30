//! The vfork-style clone at the heart of a spawn: `CLONE_VM | CLONE_VFORK` onto a stack the
//! parent mapped, with every signal blocked around the call.
//!
//! The child shares the parent's memory and runs [`VforkChild::run_child`] on the new stack
//! while the calling thread sleeps in the kernel until the child execs or exits. Only then
//! does [`spawn_vfork`] return, so the child has the plan (and the stack) to itself for its
//! whole life before exec: no other code of the calling thread can observe it half-way.

use super::abi::clone_args;
use super::flags::CloneFlags;
use super::raw::{clone3_on_stack, clone_on_stack};
use super::signal::BlockAll;
use super::stack::ChildStack;
use super::syscall::RawErrno;
use core::ffi::c_void;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// What runs in the child. Implementations execute in a `CLONE_VM` child between clone and
/// exec, on the parent thread's TLS and heap: they may only make raw system calls (see
/// [`super::child`]) on data prepared beforehand, and must not allocate, lock, panic or
/// unwind. The return value is the child's exit status when it does not exec.
///
/// Crate-private on purpose: the soundness of [`spawn_vfork`] rests on every implementation
/// keeping this contract, which the crate audits (there is one: the spawn plan).
pub(crate) trait VforkChild {
    fn run_child(&mut self) -> i32;
}

/// Flags a vfork-style spawn cannot allow: they would make the child write through
/// pointers into the shared memory (`*_SETTID`, `CHILD_CLEARTID`), replace the TLS the
/// child runs on (`SETTLS`), or let the child's setup change the parent (`THREAD`,
/// `SIGHAND`: shared signal handlers; `FILES`: shared descriptor table; `FS`: shared cwd).
pub const SPAWN_FORBIDDEN: CloneFlags = CloneFlags::THREAD
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::FILES)
    .union(CloneFlags::FS)
    .union(CloneFlags::SETTLS)
    .union(CloneFlags::PARENT_SETTID)
    .union(CloneFlags::CHILD_SETTID)
    .union(CloneFlags::CHILD_CLEARTID);

/// Which system call to make.
#[derive(Debug)]
pub(crate) enum CloneCall<'a> {
    /// `clone3` with these fields; the stack and the pidfd pointer are filled in here and
    /// `CLONE_VM | CLONE_VFORK` added.
    Clone3 {
        flags: CloneFlags,
        exit_signal: u64,
        set_tid: &'a [i32],
        cgroup: Option<BorrowedFd<'a>>,
        size: usize,
    },
    /// `clone(2)` with this legacy flag word (exit signal in the low byte); `CLONE_VM |
    /// CLONE_VFORK` are added and the pidfd, if `CLONE_PIDFD` is set, arrives through the
    /// `parent_tid` argument.
    Legacy { flags: u64 },
}

/// The child that was created.
#[derive(Debug)]
pub(crate) struct Spawned {
    pub pid: i32,
    /// `None` when no pidfd was asked for, or when the kernel ignored `CLONE_PIDFD` on
    /// `clone(2)` (before Linux 5.2).
    pub pidfd: Option<OwnedFd>,
}

pub(crate) unsafe extern "C" fn entry<C: VforkChild>(arg: *mut c_void) -> i32 {
    // SAFETY: `arg` is the `&mut C` that `spawn_vfork` passed; the only other user of it
    // is the calling thread, which sleeps in the kernel (CLONE_VFORK) until this child
    // has exec'd or exited, so this is the only live reference.
    let child = unsafe { &mut *(arg as *mut C) };
    child.run_child()
}

/// Creates a child that runs `child.run_child()` on `stack` and returns once it has exec'd
/// or exited. Refuses ([`libc::EINVAL`]) the flags in [`SPAWN_FORBIDDEN`].
pub(crate) fn spawn_vfork<C: VforkChild>(
    call: CloneCall<'_>,
    child: &mut C,
    stack: &ChildStack,
) -> Result<Spawned, RawErrno> {
    let vm_vfork = CloneFlags::VM | CloneFlags::VFORK;
    let mut pidfd: i32 = -1;
    let arg = child as *mut C as *mut c_void;
    let f = entry::<C>;
    let ret = match call {
        CloneCall::Clone3 {
            flags,
            exit_signal,
            set_tid,
            cgroup,
            size,
        } => {
            if flags.intersects(SPAWN_FORBIDDEN) {
                return Err(libc::EINVAL);
            }
            let flags = flags | vm_vfork;
            let args = clone_args {
                flags: flags.bits(),
                pidfd: if flags.contains(CloneFlags::PIDFD) {
                    &mut pidfd as *mut i32 as u64
                } else {
                    0
                },
                exit_signal,
                stack: stack.lowest() as u64,
                stack_size: stack.size() as u64,
                set_tid: if set_tid.is_empty() {
                    0
                } else {
                    set_tid.as_ptr() as u64
                },
                set_tid_size: set_tid.len() as u64,
                cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
                ..Default::default()
            };
            let size = size.min(core::mem::size_of::<clone_args>());
            let _blocked = BlockAll::new()?;
            // SAFETY: the stack is a mapping reserved for this child (the caller holds it
            // until we return, which is after the child exec'd or exited: CLONE_VFORK);
            // `entry` never unwinds and runs a `VforkChild`, whose contract is raw calls
            // only; every signal is blocked so no handler runs on the child's stack; the
            // forbidden flags are refused above, so the kernel writes through no pointer but
            // `pidfd` (a live local) and reads `set_tid` (a live slice).
            unsafe { clone3_on_stack(&args, size, f, arg) }
        }
        CloneCall::Legacy { flags } => {
            let cf = CloneFlags::from_bits_retain(flags & !super::flags::CSIGNAL);
            if cf.intersects(SPAWN_FORBIDDEN) {
                return Err(libc::EINVAL);
            }
            let flags = flags | vm_vfork.bits();
            let ptid = if cf.contains(CloneFlags::PIDFD) {
                &mut pidfd as *mut i32
            } else {
                core::ptr::null_mut()
            };
            let _blocked = BlockAll::new()?;
            // SAFETY: as for clone3 above; `parent_tid` receives the pidfd (CLONE_PIDFD on
            // clone(2)) and CLONE_PARENT_SETTID is refused, so nothing else is written.
            unsafe { clone_on_stack(flags, stack.top(), ptid, f, arg) }
        }
    }?;
    let pidfd = if pidfd >= 0 {
        // SAFETY: the kernel installed this descriptor for us on success; nobody else owns it.
        Some(unsafe { OwnedFd::from_raw_fd(pidfd) })
    } else {
        None
    };
    Ok(Spawned { pid: ret, pidfd })
}

/// What `clone3` answers to a call the kernel must refuse before looking at anything (size
/// 0 → `EINVAL`). Any other answer comes from a filter (seccomp) or a kernel without clone3
/// (`ENOSYS`). Creates nothing.
pub(crate) fn clone3_answer_to_invalid_call() -> RawErrno {
    let args = clone_args::default();
    // SAFETY: size 0 is refused in copy_clone_args_from_user before anything is read or
    // created; a filter refuses it even earlier. No child can result.
    match unsafe { super::raw::clone3(&args, 0) } {
        Err(e) => e,
        Ok(_) => 0,
    }
}
