//! Whole trees of `CLONE_VM` processes, for [`crate::restore`]: every process of the tree
//! shares the creator's memory until it execs, so creating one costs the same whatever its
//! depth. (A fork-like child copies its parent's page tables, and on a chain every level adds
//! one more anonymous-memory link to copy — `anon_vma_clone` in `mm/rmap.c` — which made a
//! chain of N processes cost O(N²).)
//!
//! [`scope`] reserves one stack per process before anything is created and hands out a
//! [`VmTree`]; any process of the tree (the creator or a tree process) may create a child on
//! a stack slot nobody used yet. The scope returns only once no tree process runs in the
//! shared memory any more: every tree process holds the write end of a close-on-exec pipe,
//! which the kernel closes after the process has left the memory (`exit_mm` comes before
//! `exit_files` in `do_exit`, and `begin_new_exec` swaps the memory before
//! `do_close_on_exec`), so end-of-file on it proves that every process has exec'd or ended.
//! Only then are the stacks unmapped and the borrowed data released.
//!
//! Tree processes run on the creating thread's TLS and heap: their code may only make raw
//! system calls (rustix's raw backend, [`super::child`]) on data prepared before the scope —
//! no allocation, no locks, no panics — as for [`super::vfork`]'s children.

use super::abi::{clone_args, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, MAX_PID_NS_LEVEL};
use super::flags::CloneFlags;
use super::fork::Forked;
use super::raw::clone3_on_stack;
use super::stack::ChildStack;
use crate::errno::Errno;
use core::convert::Infallible;
use core::ffi::c_void;
use core::marker::PhantomData;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// The usable stack of one tree process: what the restore's tree side needs between clone and
/// exec, with a wide margin (pages are only touched on use; a guard page sits below each).
pub const TREE_STACK_SIZE: usize = 64 * 1024;

/// The stacks of a tree being built and the pipe that tells when its processes are gone.
pub(crate) struct VmTree<'env> {
    stacks: Vec<ChildStack>,
    taken: Vec<AtomicBool>,
    _env: PhantomData<&'env ()>,
}

/// What a child finds at the top of its stack.
struct Packet<'t, 'env, A> {
    tree: &'t VmTree<'env>,
    f: fn(&VmTree<'env>, A) -> Infallible,
    arg: A,
}

// The lint sees the match on a call of uninhabited type; nothing follows it by design.
#[allow(unreachable_code)]
unsafe extern "C" fn entry<A: Copy>(p: *mut c_void) -> i32 {
    // SAFETY: `p` points at the `Packet<A>` that `VmTree::spawn` wrote at the top of this
    // child's own stack before the clone; nobody else writes there, and the tree it refers to
    // outlives every tree process (`scope` waits for all of them).
    let packet = unsafe { &*(p as *const Packet<'_, '_, A>) };
    let (f, tree, arg) = (packet.f, packet.tree, packet.arg);
    match f(tree, arg) {}
}

/// Runs `body` with a [`VmTree`] of `n` stack slots, then waits until every process created
/// in it has exec'd or ended, and only then releases the stacks (and returns, ending the
/// borrows of `'env` the tree processes used).
///
/// Errors: mapping the stacks or creating the pipe failed (`ENOMEM` past
/// `vm.max_map_count`: each stack is two mappings).
pub(crate) fn scope<'env, R>(n: usize, body: impl FnOnce(&VmTree<'env>) -> R) -> Result<R, Errno> {
    let io = |e: std::io::Error| Errno(e.raw_os_error().unwrap_or(libc::ENOMEM));
    let stacks = (0..n)
        .map(|_| ChildStack::new(TREE_STACK_SIZE))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    let (alive_r, alive_w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| Errno(e.raw_os_error()))?;
    let tree = VmTree {
        stacks,
        taken: (0..n).map(|_| AtomicBool::new(false)).collect(),
        _env: PhantomData,
    };
    // Waits even when `body` unwinds: the stacks (in `tree`) must outlive the processes.
    struct WaitGone {
        r: OwnedFd,
        w: Option<OwnedFd>,
    }
    impl Drop for WaitGone {
        fn drop(&mut self) {
            self.w = None;
            let mut b = [0u8; 64];
            loop {
                match rustix::io::read(self.r.as_fd(), &mut b) {
                    Ok(0) => break,
                    Ok(_) | Err(rustix::io::Errno::INTR) => continue,
                    // EBADF/EIO cannot happen on our own pipe; give up rather than spin.
                    Err(_) => break,
                }
            }
        }
    }
    let wait = WaitGone {
        r: alive_r,
        w: Some(alive_w),
    };
    let r = body(&tree);
    drop(wait);
    drop(tree);
    Ok(r)
}

impl<'env> VmTree<'env> {
    /// Creates a `CLONE_VM` child on stack `slot` that runs `f(tree, arg)`; `f` must end the
    /// process (`execve` or `exit_group`) and keep to raw system calls (module docs).
    ///
    /// `flags` may hold namespace flags and `CLEAR_SIGHAND` only; `set_tid` gives the PIDs,
    /// innermost first. Errors: `EINVAL` for other flags or more than 32 PIDs, `EBUSY` for a
    /// slot already used (or out of range), else the kernel's errno.
    pub(crate) fn spawn<A: Copy + 'env>(
        &self,
        slot: usize,
        flags: CloneFlags,
        set_tid: &[i32],
        want_pidfd: bool,
        f: fn(&VmTree<'env>, A) -> Infallible,
        arg: A,
    ) -> Result<Forked, Errno> {
        let allowed = CloneFlags::NAMESPACES | CloneFlags::CLEAR_SIGHAND;
        if !allowed.contains(flags) || set_tid.len() > MAX_PID_NS_LEVEL {
            return Err(Errno::EINVAL);
        }
        let Some(stack) = self.stacks.get(slot) else {
            return Err(Errno::EBUSY);
        };
        if self.taken[slot].swap(true, Ordering::SeqCst) {
            return Err(Errno::EBUSY);
        }
        // The packet goes at the top of the child's stack; the stack proper ends below it.
        let size = core::mem::size_of::<Packet<'_, 'env, A>>();
        let align = core::mem::align_of::<Packet<'_, 'env, A>>().max(16);
        let top = stack.top() as usize;
        let at = (top - size) & !(align - 1);
        let stack_size = (at - stack.lowest() as usize) & !15;
        let packet = Packet { tree: self, f, arg };
        // SAFETY: `at` lies inside this slot's usable mapping (the packet is far smaller than
        // the stack) and is aligned for `Packet`; the slot was unused until the swap above,
        // so no process runs on it.
        unsafe { (at as *mut Packet<'_, 'env, A>).write(packet) };
        let mut flags = flags | CloneFlags::VM;
        flags.set(CloneFlags::PIDFD, want_pidfd);
        let mut pidfd: i32 = -1;
        let args = clone_args {
            flags: flags.bits(),
            pidfd: if want_pidfd {
                &mut pidfd as *mut i32 as usize as u64
            } else {
                0
            },
            exit_signal: libc::SIGCHLD as u64,
            stack: stack.lowest() as u64,
            stack_size: stack_size as u64,
            set_tid: if set_tid.is_empty() {
                0
            } else {
                set_tid.as_ptr() as usize as u64
            },
            set_tid_size: set_tid.len() as u64,
            ..Default::default()
        };
        let call_size = if set_tid.is_empty() {
            CLONE_ARGS_SIZE_VER0
        } else {
            CLONE_ARGS_SIZE_VER1
        };
        // SAFETY: the child runs `entry::<A>` on the slot's own stack below its packet; the
        // stack stays mapped until `scope` has seen every tree process leave the memory (each
        // inherits `alive_w`); `entry` never returns into Rust frames of the parent and `f`
        // keeps to raw calls (this function's contract). No SETTLS/SETTID/CLEARTID/SIGHAND/
        // THREAD/FILES can be in `flags` (checked above), so the kernel writes only the
        // `pidfd` local and reads `set_tid`, a live slice.
        let pid = unsafe {
            clone3_on_stack(
                &args,
                call_size,
                entry::<A>,
                at as *mut Packet<'_, 'env, A> as *mut c_void,
            )
        };
        let pid = match pid {
            Ok(p) => p,
            Err(e) => {
                // No child ran on the slot.
                self.taken[slot].store(false, Ordering::SeqCst);
                return Err(Errno(e));
            }
        };
        let pidfd = if want_pidfd {
            // SAFETY: clone3 succeeded with CLONE_PIDFD: a new descriptor nobody else owns.
            Some(unsafe { OwnedFd::from_raw_fd(pidfd) })
        } else {
            None
        };
        Ok(Forked { pid, pidfd })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::fork::tests::wait_status;
    use crate::sys::raw::exit_group;
    use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

    const CHAIN: usize = 20;

    /// A chain: each process creates the next slot's process, waits for it and exits with
    /// its status + 1; the creator sees the chain's length.
    fn link(tree: &VmTree<'_>, (slot, fd): (usize, RawFd)) -> Infallible {
        if slot + 1 == CHAIN {
            // Proves the shared memory: the number written is read by the creator.
            // SAFETY: test helper: the descriptor is the test's pipe, inherited.
            let w = unsafe { BorrowedFd::borrow_raw(fd) };
            let _ = rustix::io::write(w, &(slot as u32).to_ne_bytes());
            exit_group(1);
        }
        match tree.spawn(
            slot + 1,
            CloneFlags::empty(),
            &[],
            false,
            link,
            (slot + 1, fd),
        ) {
            Ok(f) => {
                let st = rustix::process::waitpid(
                    rustix::process::Pid::from_raw(f.pid),
                    rustix::process::WaitOptions::empty(),
                );
                match st {
                    Ok(Some((_, s))) => exit_group(s.exit_status().unwrap_or(0) + 1),
                    _ => exit_group(100),
                }
            }
            Err(_) => exit_group(101),
        }
    }

    #[test]
    fn a_chain_shares_memory_and_every_process_is_gone_at_the_end() {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).unwrap();
        let n = CHAIN;
        let status = scope(n, |tree| {
            let f = tree
                .spawn(
                    0,
                    CloneFlags::empty(),
                    &[],
                    true,
                    link,
                    (0usize, w.as_raw_fd()),
                )
                .unwrap();
            assert!(f.pidfd.is_some());
            assert_eq!(
                tree.spawn(0, CloneFlags::empty(), &[], false, link, (0, 0))
                    .unwrap_err(),
                Errno::EBUSY
            );
            wait_status(f.pid)
        })
        .unwrap();
        assert_eq!(status, n as i32);
        let mut b = [0u8; 4];
        assert_eq!(rustix::io::read(&r, &mut b).unwrap(), 4);
        assert_eq!(u32::from_ne_bytes(b), (n - 1) as u32);
    }

    #[test]
    fn refuses_flags_that_share_more_than_memory() {
        let got = scope(1, |tree| {
            tree.spawn(0, CloneFlags::FILES, &[], false, link, (0usize, 0))
                .unwrap_err()
        })
        .unwrap();
        assert_eq!(got, Errno::EINVAL);
    }
}
