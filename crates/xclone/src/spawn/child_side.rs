//! What the child does between clone and exec.
//!
//! This code runs in a `CLONE_VM` child: it shares the parent's memory and the parent
//! thread's TLS, while that thread sleeps in the kernel. Hence the rules, kept by every line
//! below: only the raw system calls of `sys::child`/`sys::signal` on data the parent
//! prepared ([`ChildPlan`]); no allocation, no locks, no formatting, no indexing that could
//! panic, no libc. A failure is written into the plan's report slot and the child exits
//! with [`SETUP_FAILED`].
//!
//! The steps run in a fixed order, each a small function: in a handshake spawn the wait for
//! the parent (which writes the id maps meanwhile), then the isolation steps
//! ([`crate::isolate`]), then the usual setup, then exec.
//!
//! In a handshake spawn the parent runs concurrently: the child still touches nothing but
//! its plan (which the parent leaves alone until the child exec'd or exited) and its stack.

use super::plan::{ChildPlan, FdPlan};
use super::report::Step;
use crate::sys::child as sc;
use crate::sys::isolate as isys;
use crate::sys::pid1 as pid1_sys;
use crate::sys::signal;
use crate::sys::vfork::{spawn_vfork, CloneCall, VforkChild};

/// The child's exit status when setup or exec fails (what `posix_spawn` uses too).
pub const SETUP_FAILED: i32 = 127;

/// A failed step: which, which item of it, errno.
type Fail = (Step, usize, i32);

impl VforkChild for ChildPlan<'_> {
    fn run_child(&mut self) -> i32 {
        if self.init.is_some() {
            return pid1(self);
        }
        let (step, index, errno) = run(self);
        self.report.fail(step, index, errno);
        SETUP_FAILED
    }
}

/// The program's process under a sandbox's init: created by the init with `CLONE_VM |
/// CLONE_VFORK` (the init waits until it has exec'd or exited), it runs the steps that are
/// the program's own and execs.
struct ProgramSide<'p, 'a>(&'p mut ChildPlan<'a>);

impl VforkChild for ProgramSide<'_, '_> {
    fn run_child(&mut self) -> i32 {
        let p = &mut *self.0;
        let (step, index, errno) = match program_setup(p) {
            Err(f) => f,
            Ok(()) => exec(p),
        };
        p.report.fail(step, index, errno);
        SETUP_FAILED
    }
}

/// The steps of the program's process under an init: everything after the init's share
/// (handshake, isolation, death signal, session).
fn program_setup(p: &mut ChildPlan<'_>) -> Result<(), Fail> {
    reset_signal_dispositions(p)?;
    if let Some(pg) = p.pgroup {
        sc::setpgid_self(pg).map_err(|e| (Step::Setpgid, 0, e))?;
    }
    map_fds(&mut p.fds)?;
    p.isolation.sandbox.before_identity()?;
    identity(p)?;
    p.isolation.sandbox.after_identity()?;
    if let Some(dir) = p.cwd.as_deref() {
        sc::chdir(dir).map_err(|e| (Step::Chdir, 0, e))?;
    }
    signal::set_mask(&p.signals.mask).map_err(|e| (Step::SignalMask, 0, e))?;
    run_hooks(p)?;
    p.isolation.sandbox.last()
}

/// PID 1 of a sandbox's pid namespace ([`crate::isolate::sandbox::Sandbox::init`]): sets up
/// what holds for the whole namespace, creates the program's process, and once that has
/// exec'd supervises it. Returns the exit status of the init.
fn pid1(p: &mut ChildPlan<'_>) -> i32 {
    let Some(mut init) = p.init.take() else {
        return SETUP_FAILED;
    };
    let status_fd = init.status_fd;
    let started = pid1_start(p, &mut init);
    // Back where the parent owns it, before the parent can learn that the spawn is over.
    p.init = Some(init);
    let (program, sigfd) = match started {
        Err((step, index, errno)) => {
            p.report.fail(step, index, errno);
            return SETUP_FAILED;
        }
        // The program's process reported its failure in the slot itself.
        Ok(None) => return SETUP_FAILED,
        Ok(Some(s)) => s,
    };
    // From here on nothing of the plan is touched: once the handshake socket is closed the
    // parent returns from the spawn and may free it. (close_range closes it; the explicit
    // close is for kernels without close_range.)
    let child_end = p.handshake.map(|h| h.child_end);
    let _ = pid1_sys::close_all_but([sigfd, status_fd]);
    if let Some(fd) = child_end {
        let _ = isys::close(fd);
    }
    supervise(program, sigfd, status_fd)
}

/// The init's share of the setup, then the program's process: `Some((its pid, the
/// signalfd))`, or `None` when it failed (and filled in the report).
fn pid1_start(
    p: &mut ChildPlan<'_>,
    init: &mut super::plan::InitPlan,
) -> Result<Option<(i32, i32)>, Fail> {
    handshake(p)?;
    p.isolation.run()?;
    die_with_parent(p)?;
    if p.setsid {
        sc::setsid().map_err(|e| (Step::Setsid, 0, e))?;
    }
    let sigfd = pid1_sys::block_into_signalfd(&init.signals).map_err(|e| (Step::Init, 0, e))?;
    let Some(stack) = init.stack.as_ref() else {
        return Err((Step::Init, 1, libc::EINVAL));
    };
    let call = CloneCall::Legacy {
        flags: libc::SIGCHLD as u64,
    };
    let spawned = spawn_vfork(call, &mut ProgramSide(p), stack).map_err(|e| (Step::Init, 1, e))?;
    if p.report.failure.is_some() {
        return Ok(None);
    }
    Ok(Some((spawned.pid, sigfd)))
}

/// The init's loop: pass signals on to the program, reap every child, and when the program
/// has ended write its wait status to the parent's pipe and end with its code (128+N for a
/// signal N, as a shell reports it).
fn supervise(program: i32, sigfd: i32, status_fd: i32) -> i32 {
    loop {
        let Ok((signo, code)) = pid1_sys::read_signal(sigfd) else {
            return SETUP_FAILED;
        };
        if signo == libc::SIGCHLD {
            while let Ok(Some((pid, status))) = pid1_sys::reap_any() {
                if pid == program {
                    let _ = sc::write(status_fd, &status.to_ne_bytes());
                    return if status & 0x7f == 0 {
                        (status >> 8) & 0xff
                    } else {
                        128 + (status & 0x7f)
                    };
                }
            }
        } else if code != signal::SI_KERNEL {
            // The program may be gone already (ESRCH): its SIGCHLD is queued then.
            let _ = pid1_sys::kill(program, signo);
        }
    }
}

/// Runs every step and execs. Returns only on failure. (`enter`'s payload runs its own
/// steps first, then this.)
pub(crate) fn run(p: &mut ChildPlan<'_>) -> Fail {
    if let Err(f) = setup(p) {
        return f;
    }
    exec(p)
}

fn setup(p: &mut ChildPlan<'_>) -> Result<(), Fail> {
    handshake(p)?;
    p.isolation.run()?;
    reset_signal_dispositions(p)?;
    sessions(p)?;
    map_fds(&mut p.fds)?;
    p.isolation.sandbox.before_identity()?;
    identity(p)?;
    p.isolation.sandbox.after_identity()?;
    die_with_parent(p)?;
    if let Some(dir) = p.cwd.as_deref() {
        sc::chdir(dir).map_err(|e| (Step::Chdir, 0, e))?;
    }
    signal::set_mask(&p.signals.mask).map_err(|e| (Step::SignalMask, 0, e))?;
    run_hooks(p)?;
    // Last: a filter may forbid what the steps above need.
    p.isolation.sandbox.last()
}

/// In a handshake spawn: wait until the parent has written the id maps. The parent's end is
/// closed first, so that a parent that dies makes the read end with end of file instead of
/// blocking for ever.
fn handshake(p: &ChildPlan<'_>) -> Result<(), Fail> {
    if let Some(h) = p.handshake {
        let _ = isys::close(h.parent_end);
        match isys::read_byte(h.child_end) {
            Ok(true) => {}
            Ok(false) => return Err((Step::Handshake, 0, libc::EPIPE)),
            Err(e) => return Err((Step::Handshake, 0, e)),
        }
    }
    Ok(())
}

fn reset_signal_dispositions(p: &ChildPlan<'_>) -> Result<(), Fail> {
    let s = &p.signals;
    let err = |e| (Step::ResetSignals, 0, e);
    if s.reset_ignored {
        signal::reset_dispositions(true).map_err(err)?;
    } else {
        if !s.kernel_cleared {
            signal::reset_dispositions(false).map_err(err)?;
        }
        // Like std: Rust programs ignore SIGPIPE, their children should not.
        if s.sigpipe_default {
            signal::set_default(libc::SIGPIPE).map_err(err)?;
        }
    }
    Ok(())
}

fn sessions(p: &ChildPlan<'_>) -> Result<(), Fail> {
    if p.setsid {
        sc::setsid().map_err(|e| (Step::Setsid, 0, e))?;
    }
    if let Some(pg) = p.pgroup {
        sc::setpgid_self(pg).map_err(|e| (Step::Setpgid, 0, e))?;
    }
    Ok(())
}

/// Moves every planned descriptor to its number. When a source number is also another
/// mapping's target, all sources are first copied above every target, so no mapping
/// overwrites a descriptor that a later one still reads.
fn map_fds(fds: &mut FdPlan) -> Result<(), Fail> {
    let FdPlan {
        maps,
        tmp,
        shuffle_above,
    } = fds;
    match *shuffle_above {
        None => {
            for (i, m) in maps.iter().enumerate() {
                let r = if m.src == m.dst {
                    sc::clear_cloexec(m.dst)
                } else {
                    sc::dup3(m.src, m.dst)
                };
                r.map_err(|e| (Step::MapFd, i, e))?;
            }
        }
        Some(min) => {
            for ((i, m), t) in maps.iter().enumerate().zip(tmp.iter_mut()) {
                *t = sc::dup_cloexec_above(m.src, min).map_err(|e| (Step::MapFd, i, e))?;
            }
            for ((i, m), t) in maps.iter().enumerate().zip(tmp.iter()) {
                sc::dup3(*t, m.dst).map_err(|e| (Step::MapFd, i, e))?;
            }
        }
    }
    Ok(())
}

fn identity(p: &ChildPlan<'_>) -> Result<(), Fail> {
    if let Some(groups) = p.groups {
        sc::setgroups(groups).map_err(|e| (Step::Setgroups, 0, e))?;
    }
    if let Some(gid) = p.gid {
        sc::setgid(gid).map_err(|e| (Step::Setgid, 0, e))?;
    }
    if let Some(uid) = p.uid {
        if p.drop_groups {
            // As std: a root parent dropping to a uid without naming groups loses its
            // supplementary groups; failure to do so is not fatal there either.
            let _ = sc::setgroups(&[]);
        }
        sc::setuid(uid).map_err(|e| (Step::Setuid, 0, e))?;
    }
    Ok(())
}

/// Arms the parent-death signal after the identity changes (which clear it), then closes
/// the race with a parent that died before it was armed: if our parent is no longer the
/// process that spawned us, exit as the signal would have made us.
fn die_with_parent(p: &ChildPlan<'_>) -> Result<(), Fail> {
    if let Some(d) = p.death_signal {
        sc::set_pdeathsig(d.signal).map_err(|e| (Step::DieWithParent, 0, e))?;
        if sc::getppid() != d.expected_ppid {
            return Err((Step::ParentGone, 0, libc::ESRCH));
        }
    }
    Ok(())
}

fn run_hooks(p: &mut ChildPlan<'_>) -> Result<(), Fail> {
    for (i, hook) in p.hooks.iter_mut().enumerate() {
        if let Err(e) = hook() {
            let errno = e.raw_os_error().unwrap_or(libc::EINVAL);
            // Dropping a custom io::Error would free memory (a lock in the allocator);
            // leaking it is the safe choice in this child.
            core::mem::forget(e);
            return Err((Step::PreExec, i, errno));
        }
    }
    Ok(())
}

/// Tries every candidate path in order with `execvp(3)`'s rules: a missing file or
/// directory moves on to the next candidate, `EACCES` is remembered and reported if nothing
/// else works, any other error stops the search.
fn exec(p: &ChildPlan<'_>) -> Fail {
    let e = &p.exec;
    if let Some(fd) = e.fd {
        let errno = isys::execveat_fd(fd, &e.argv, &e.envp);
        if errno != libc::ENOENT {
            return (Step::Execve, 0, errno);
        }
        // The same file through proc's link to the descriptor. ENOENT again (no /proc under
        // a new root, or a missing ELF interpreter) leaves the first answer; another answer
        // is the file's own.
        let again = e
            .fd_path
            .as_deref()
            .map_or(libc::ENOENT, |path| sc::execve(path, &e.argv, &e.envp));
        return (Step::Execve, 0, again);
    }
    let mut eacces: Option<usize> = None;
    let mut last = (0usize, libc::ENOENT);
    for (i, path) in e.candidates.iter().enumerate() {
        let errno = sc::execve(path, &e.argv, &e.envp);
        match errno {
            libc::EACCES => {
                if eacces.is_none() {
                    eacces = Some(i);
                }
            }
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {
                last = (i, errno);
            }
            _ => return (Step::Execve, i, errno),
        }
    }
    match eacces {
        Some(i) => (Step::Execve, i, libc::EACCES),
        None => (Step::Execve, last.0, last.1),
    }
}
