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
use core::sync::atomic::{AtomicBool, Ordering};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// What runs in the child. Implementations execute in a `CLONE_VM` child between clone and
/// exec, on the parent thread's TLS and heap: they may only make raw system calls (see
/// [`super::child`]) on data prepared beforehand, and must not allocate, lock, panic or
/// unwind. The return value is the child's exit status when it does not exec.
///
/// Crate-private on purpose: the soundness of [`spawn_vfork`] rests on every implementation
/// keeping this contract, which the crate audits (there are three: the spawn plan, the
/// program's process under a sandbox's init (`spawn::child_side::ProgramSide`, the same
/// steps on the same plan) and [`clone_shares_memory`]'s probe, which stores one flag).
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
    // SAFETY: with CLONE_VFORK the calling thread sleeps until the child has exec'd or
    // exited, so `child` and `stack` are the child's alone for its whole life before exec,
    // and both outlive this call.
    unsafe { clone_child(call, child, stack, true) }
}

/// Clones a `CLONE_VM` child running `child.run_child()` on `stack`, with `CLONE_VFORK` when
/// `vfork`.
///
/// # Safety
/// Without `vfork` the child runs concurrently with the caller: the caller must neither
/// touch `*child` nor reuse or free `stack` until the child has exec'd or exited.
unsafe fn clone_child<C: VforkChild>(
    call: CloneCall<'_>,
    child: &mut C,
    stack: &ChildStack,
    vfork: bool,
) -> Result<Spawned, RawErrno> {
    let vm_vfork = if vfork {
        CloneFlags::VM | CloneFlags::VFORK
    } else {
        CloneFlags::VM
    };
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
            let flags = (flags - CloneFlags::VFORK) | vm_vfork;
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
            // until the child exec'd or exited, by CLONE_VFORK or by this function's
            // contract); `entry` never unwinds and runs a `VforkChild`, whose contract is raw
            // calls only; every signal is blocked so no handler runs on the child's stack;
            // the forbidden flags are refused above, so the kernel writes through no pointer
            // but `pidfd` (a live local) and reads `set_tid` (a live slice).
            unsafe { clone3_on_stack(&args, size, f, arg) }
        }
        CloneCall::Legacy { flags } => {
            let cf = CloneFlags::from_bits_retain(flags & !super::flags::CSIGNAL);
            if cf.intersects(SPAWN_FORBIDDEN) {
                return Err(libc::EINVAL);
            }
            let flags = (flags & !CloneFlags::VFORK.bits()) | vm_vfork.bits();
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

/// The child of [`clone_shares_memory`]: it stores one flag, in memory the parent shares
/// when the clone really was `CLONE_VM`, and exits.
struct SharedMemoryProbe {
    ran: AtomicBool,
}

impl VforkChild for SharedMemoryProbe {
    fn run_child(&mut self) -> i32 {
        self.ran.store(true, Ordering::Release);
        0
    }
}

/// Whether a `clone(2)` child made with `flags` (`CLONE_VM | CLONE_VFORK` to ask the real
/// question; anything else without `CLONE_VM` in the tests) shares this process's memory: the
/// child sets a flag and exits at once, and the flag is read once the child is reaped. No
/// program runs, so the question costs nothing but the clone and the wait.
///
/// Where the answer is no although `CLONE_VM` was asked for, something between this process
/// and the kernel runs the child as a fork: qemu's user-mode emulation (10.0) takes
/// `CLONE_VM | CLONE_VFORK` for a plain fork, so whatever a spawn's child writes into the
/// parent's memory (its failure report) is lost. Refuses ([`libc::EINVAL`]) `CLONE_VM`
/// without `CLONE_VFORK` and the flags in [`SPAWN_FORBIDDEN`]; a refused clone is the
/// kernel's (or the emulator's) errno.
pub(crate) fn clone_shares_memory(flags: CloneFlags, stack: &ChildStack) -> Result<bool, RawErrno> {
    if flags.intersects(SPAWN_FORBIDDEN | CloneFlags::PIDFD)
        || (flags.contains(CloneFlags::VM) && !flags.contains(CloneFlags::VFORK))
    {
        return Err(libc::EINVAL);
    }
    let mut probe = SharedMemoryProbe {
        ran: AtomicBool::new(false),
    };
    let arg = &mut probe as *mut SharedMemoryProbe as *mut c_void;
    let word = flags.bits() | libc::SIGCHLD as u64;
    let pid = {
        let _blocked = BlockAll::new()?;
        // SAFETY: with CLONE_VM the call has CLONE_VFORK (checked above), so this thread
        // sleeps until the child has exited and `probe` and `stack` are the child's alone
        // meanwhile; without CLONE_VM the child runs on its own copy of both. The child only
        // stores into `probe.ran` and returns (no allocation, lock or unwinding); every
        // signal is blocked so no handler runs on its stack; no pointer is passed for the
        // kernel to write (no *_SETTID, no pidfd).
        unsafe {
            clone_on_stack(
                word,
                stack.top(),
                core::ptr::null_mut(),
                entry::<SharedMemoryProbe>,
                arg,
            )
        }
    }?;
    // Reaped by us, or (ECHILD) by a SIGCHLD handler or an ignored SIGCHLD: either way the
    // child no longer runs once this returns, and has made its one store if it ever will.
    let _ = crate::pidfd::wait_child_pid(pid);
    Ok(probe.ran.load(Ordering::Acquire))
}

/// The socket pair of a handshake spawn (`AF_UNIX`, `SOCK_SEQPACKET`, both ends
/// close-on-exec). The child closes its copy of `parent` first, then reads one byte from
/// `child` before going on (end of file: the parent is gone); it keeps `child` open until
/// exec closes it, so the parent's end reads end-of-file exactly when the child no longer
/// runs in the shared memory.
#[derive(Debug)]
pub(crate) struct HandshakeSocket {
    pub parent: OwnedFd,
    /// Taken (and closed in the parent) once a child holds its copy.
    pub child: Option<OwnedFd>,
}

impl HandshakeSocket {
    pub(crate) fn new() -> std::io::Result<Self> {
        let mut fds = [-1i32; 2];
        // SAFETY: `fds` has room for the two descriptors socketpair(2) writes.
        let r = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: socketpair succeeded and returned two new descriptors owned by nobody else.
        Ok(unsafe {
            HandshakeSocket {
                parent: OwnedFd::from_raw_fd(fds[0]),
                child: Some(OwnedFd::from_raw_fd(fds[1])),
            }
        })
    }
}

/// Why a handshake spawn failed.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The clone call itself (nothing was created).
    Clone(RawErrno),
    /// The parent's work between clone and release failed; the child was killed and no
    /// longer runs in the shared memory, but still has to be reaped.
    Parent {
        spawned: Spawned,
        error: std::io::Error,
    },
}

/// Kills a handshake child whose parent side did not finish (an error or an unwinding
/// panic) and waits until it no longer runs in the shared memory.
struct Running<'a> {
    pid: i32,
    sock: &'a OwnedFd,
    finished: bool,
}

impl Running<'_> {
    fn kill_and_wait(&mut self) {
        if let Some(p) = rustix::process::Pid::from_raw(self.pid) {
            // Our unreaped child: the PID cannot have been reused.
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
        wait_done(self.pid, self.sock);
        self.finished = true;
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.kill_and_wait();
        }
    }
}

/// Returns once the child has exec'd or exited: end of file on the parent's end of the
/// socket. Should reading fail for another reason, the child is killed and its exit awaited
/// (without reaping it), which is as certain.
fn wait_done(pid: i32, sock: &OwnedFd) {
    let mut buf = [0u8; 8];
    loop {
        match rustix::io::read(sock, &mut buf) {
            Ok(0) => break,
            Ok(_) | Err(rustix::io::Errno::INTR) => continue,
            Err(_) => {
                if let Some(p) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                    loop {
                        let r = rustix::process::waitid(
                            rustix::process::WaitId::Pid(p),
                            rustix::process::WaitIdOptions::EXITED
                                | rustix::process::WaitIdOptions::NOWAIT,
                        );
                        if !matches!(r, Err(rustix::io::Errno::INTR)) {
                            break;
                        }
                    }
                }
                break;
            }
        }
    }
    // The child's last writes into the shared memory (its report) come before its exec or
    // exit, which come before the end of file we just read.
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

/// Sends the go byte without raising `SIGPIPE` (the child may already be dead).
pub(crate) fn send_go(sock: &OwnedFd) {
    let b = [b'g'];
    // SAFETY: one readable byte; MSG_NOSIGNAL turns a closed peer into EPIPE, not a signal.
    unsafe {
        libc::send(
            sock.as_raw_fd(),
            b.as_ptr() as *const c_void,
            1,
            libc::MSG_NOSIGNAL,
        )
    };
}

/// The handshake variant of a spawn: `CLONE_VM` *without* `CLONE_VFORK`, so the parent runs
/// while the child waits. After the clone, `between` runs in the parent (say, writing the
/// child's user-namespace id maps); then the child is released and this returns once it
/// has exec'd or exited. The cost does not depend on the parent's memory (nothing is copied).
///
/// `child.run_child()` must first close its copy of `sock.parent` and read the go byte from
/// `sock.child` (stopping at end of file), and must keep `sock.child` open until exec.
///
/// If `between` fails the child is killed, and the error comes back with the [`Spawned`]
/// child, to be reaped by the caller.
pub(crate) fn spawn_handshake<C: VforkChild>(
    call: CloneCall<'_>,
    child: &mut C,
    stack: &ChildStack,
    sock: &mut HandshakeSocket,
    between: impl FnOnce(&Spawned) -> std::io::Result<()>,
) -> Result<Spawned, HandshakeError> {
    if sock.child.is_none() {
        // Used already: a child waiting on it would never see end of file from us.
        return Err(HandshakeError::Clone(libc::EINVAL));
    }
    // SAFETY: `child` and `stack` stay borrowed for this whole function, and it returns
    // (or unwinds, through `Running::drop`) only after `wait_done` saw the child exec or
    // exit; `between` cannot reach `child` (it is mutably borrowed here).
    let spawned =
        unsafe { clone_child(call, child, stack, false) }.map_err(HandshakeError::Clone)?;
    // Only the child may hold its end, or the end of file would never come. (On a failed
    // clone it stays, for another attempt.)
    drop(sock.child.take());
    let parent = &sock.parent;
    let mut running = Running {
        pid: spawned.pid,
        sock: parent,
        finished: false,
    };
    if let Err(error) = between(&spawned) {
        running.kill_and_wait();
        return Err(HandshakeError::Parent { spawned, error });
    }
    send_go(parent);
    wait_done(spawned.pid, parent);
    running.finished = true;
    Ok(spawned)
}

/// Flags [`spawn_and_reap`] refuses: they make the child something this process cannot wait
/// for — a sibling (`PARENT`) or a child the kernel reaps itself (`AUTOREAP`) — so that
/// `waitid` could return before the child stopped running on the shared stack; and
/// `PIDFD_AUTOKILL`, which needs the pidfd a run-to-end spawn does not ask for.
pub const TO_END_FORBIDDEN: CloneFlags = CloneFlags::PARENT
    .union(CloneFlags::AUTOREAP)
    .union(CloneFlags::PIDFD_AUTOKILL);

/// A child that ran to its end under [`spawn_and_reap`].
#[derive(Debug)]
pub(crate) struct Reaped {
    /// What waiting for it gave: its status, or why there is none (`ECHILD` when someone
    /// else reaped it, e.g. the kernel because `SIGCHLD` is ignored). Either way it no
    /// longer runs.
    pub status: std::io::Result<crate::pidfd::ExitStatus>,
}

/// Why [`spawn_and_reap`] has no status to give.
#[derive(Debug)]
pub(crate) enum ReapError {
    /// The clone call itself (nothing was created).
    Clone(RawErrno),
    /// The parent's work while the child ran failed; the child was killed and reaped.
    Parent(std::io::Error),
}

/// Kills and reaps a child of [`spawn_and_reap`] that is still unreaped when the parent's
/// side fails or unwinds, so its stack and plan are never freed under it.
struct Unreaped {
    pid: i32,
    armed: bool,
}

impl Unreaped {
    fn kill_and_reap(&mut self) {
        self.armed = false;
        if let Some(p) = rustix::process::Pid::from_raw(self.pid) {
            // Our unreaped child: the PID cannot have been reused.
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
        // Returns once the child is gone, reaped by us or (ECHILD) by someone else.
        let _ = crate::pidfd::wait_child_pid(self.pid);
    }
}

impl Drop for Unreaped {
    fn drop(&mut self) {
        if self.armed {
            self.kill_and_reap();
        }
    }
}

/// A spawn that runs to the child's end: `CLONE_VM` *without* `CLONE_VFORK`, so the calling
/// thread does not sleep until the child's exec but runs `parent(pid)` at once (say,
/// reading the child's output pipes), then reaps the child by PID. Returns only once the
/// child is gone — whatever `parent` does, a panic included — so `child` and `stack`
/// are the child's alone for its whole life, and the child's last writes into them (a
/// failure report) are visible to the caller afterwards.
///
/// Compared with [`spawn_vfork`] followed by a wait, this saves the parent's wake-up at the
/// child's exec, and as no pidfd is asked for, its allocation and release.
///
/// `parent` must not reap the child (it may signal it by PID). If it fails the child is
/// killed and reaped, and the error returned. Refuses ([`libc::EINVAL`]) the flags in
/// [`TO_END_FORBIDDEN`] (and, as every spawn, those in [`SPAWN_FORBIDDEN`]).
pub(crate) fn spawn_and_reap<C: VforkChild>(
    call: CloneCall<'_>,
    child: &mut C,
    stack: &ChildStack,
    parent: &mut dyn FnMut(i32) -> std::io::Result<()>,
) -> Result<Reaped, ReapError> {
    let flags = match &call {
        CloneCall::Clone3 { flags, .. } => *flags,
        CloneCall::Legacy { flags } => CloneFlags::from_bits_retain(flags & !super::flags::CSIGNAL),
    };
    if flags.intersects(TO_END_FORBIDDEN) {
        return Err(ReapError::Clone(libc::EINVAL));
    }
    // SAFETY: `child` and `stack` stay borrowed for this whole function, which returns (or
    // unwinds, through `Unreaped::drop`) only after the child was reaped, i.e. no longer
    // runs; `parent` cannot reach `child` (it is mutably borrowed here).
    let spawned = unsafe { clone_child(call, child, stack, false) }.map_err(ReapError::Clone)?;
    // No pidfd is asked for; should a caller's flags have produced one, it is not needed.
    drop(spawned.pidfd);
    let mut guard = Unreaped {
        pid: spawned.pid,
        armed: true,
    };
    if let Err(e) = parent(spawned.pid) {
        guard.kill_and_reap();
        return Err(ReapError::Parent(e));
    }
    let status = crate::pidfd::wait_child_pid(spawned.pid);
    match &status {
        // Reaped by us, or (ECHILD) by someone else: either way the child no longer runs.
        Ok(_) => guard.armed = false,
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => guard.armed = false,
        // waitid has no other failure for a valid call; should one happen, make sure.
        Err(_) => guard.kill_and_reap(),
    }
    // The child's last writes into the shared memory (its report) come before its exit,
    // which comes before the wait's return.
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    Ok(Reaped { status })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_tells_shared_memory_from_a_copy() {
        let stack = ChildStack::new(64 * 1024).unwrap();
        // The real question, on a kernel: the child's store is seen.
        assert_eq!(
            clone_shares_memory(CloneFlags::VM | CloneFlags::VFORK, &stack),
            Ok(true)
        );
        // A child with its own copy of memory (what qemu-user 10 makes of CLONE_VM |
        // CLONE_VFORK): its store is not.
        assert_eq!(clone_shares_memory(CloneFlags::VFORK, &stack), Ok(false));
        assert_eq!(clone_shares_memory(CloneFlags::empty(), &stack), Ok(false));
        // CLONE_VM without CLONE_VFORK would let the child run on the stack concurrently.
        assert_eq!(
            clone_shares_memory(CloneFlags::VM, &stack),
            Err(libc::EINVAL)
        );
    }
}
