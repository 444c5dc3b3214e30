//! Spawning programs: [`Command`] (a drop-in for `std::process::Command`), [`Child`], and how
//! a failure in the child between clone and exec is reported ([`SpawnError`]). Commands with
//! `pre_exec` hooks (std's contract) spawn through `forked` instead.
//!
//! Data flows one way: `command` records → `plan` prepares everything the child needs →
//! `sys::vfork` clones with `CLONE_VM | CLONE_VFORK` (or, for `status`/`output`, with
//! `CLONE_VM` alone and reaps the child before returning) → `child_side` sets up and execs,
//! or fills in the `report` slot → the parent turns the slot into an `io::Error`.

// File boundaries: the public types of these modules have their one path at the crate root.
pub(crate) mod child;
pub(crate) mod child_side;
pub(crate) mod command;
pub(crate) mod emulated;
pub(crate) mod forked;
pub(crate) mod plan;
pub(crate) mod report;

#[cfg(feature = "tokio")]
pub(crate) use child::InitParts;
pub(crate) use child::{Child, Output};
pub(crate) use command::{Command, Stdio};
pub(crate) use report::{SpawnError, Step};

use crate::error::Error;
use crate::fallback;
use crate::pidfd::ExitStatus;
use crate::pidfd::PidFd;
use crate::sys::abi::{CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1, CLONE_ARGS_SIZE_VER2};
use crate::sys::flags::CloneFlags;
use crate::sys::stack::{return_spawn_stack, take_spawn_stack, ChildStack};
use crate::sys::vfork::{
    spawn_and_reap, spawn_handshake, spawn_vfork, CloneCall, HandshakeError, HandshakeSocket,
    ReapError, Reaped, Spawned,
};
use command::StdioDefault;
use plan::Prepared;
use report::Report;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicU8, Ordering};

/// The flags every spawn adds to the request.
pub const SPAWN_FLAGS: CloneFlags = CloneFlags::VM
    .union(CloneFlags::VFORK)
    .union(CloneFlags::PIDFD);

/// Whether this kernel accepts `CLONE_CLEAR_SIGHAND` (5.5+), learnt from the first spawn
/// that tried it: unknown, yes, no.
static CLEAR_SIGHAND: AtomicU8 = AtomicU8::new(UNKNOWN);
const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;

/// The flags the first clone3 attempt adds to a request.
pub(crate) fn first_attempt_flags() -> CloneFlags {
    if CLEAR_SIGHAND.load(Ordering::Relaxed) == NO {
        SPAWN_FLAGS
    } else {
        SPAWN_FLAGS | CloneFlags::CLEAR_SIGHAND
    }
}

/// The flags a run-to-end spawn ([`Command::status`], [`Command::output`]) adds: neither
/// `CLONE_VFORK` (the parent waits for the child's exit, not its exec) nor `CLONE_PIDFD`
/// (it waits by PID, which cannot be reused while the child is unreaped).
pub const TO_END_FLAGS: CloneFlags = CloneFlags::VM;

/// The flag word of the first clone3 attempt for `requested` flags: a handshake spawn (the
/// parent runs while the child waits) has no `CLONE_VFORK`; a run-to-end spawn has neither
/// `CLONE_VFORK` nor `CLONE_PIDFD`.
pub(crate) fn attempt_flags(requested: CloneFlags, handshake: bool, to_end: bool) -> CloneFlags {
    let f = requested | first_attempt_flags();
    if to_end {
        f - (SPAWN_FLAGS - TO_END_FLAGS)
    } else if handshake {
        f - CloneFlags::VFORK
    } else {
        f
    }
}

/// Why a spawn failed: before or at the clone (an `io::Error` as it is), or in the child
/// between clone and exec (step, detail, errno).
pub(crate) enum Failure {
    Io(io::Error),
    Child(SpawnError),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

/// The `io::Error` a spawn returns, as std's: for a failure in the child the bare OS error
/// (`raw_os_error()`, `kind()`), with the step and detail kept on the command
/// ([`Command::last_spawn_error`]).
fn settle<T>(cmd: &mut Command, r: Result<T, Failure>) -> io::Result<T> {
    match r {
        Ok(t) => Ok(t),
        Err(Failure::Io(e)) => Err(e),
        Err(Failure::Child(se)) => {
            let e = io::Error::from_raw_os_error(se.errno().0);
            cmd.last_failure = Some(se);
            Err(e)
        }
    }
}

pub(crate) fn spawn(cmd: &mut Command, defaults: StdioDefault) -> io::Result<Child> {
    cmd.last_failure = None;
    let r = if cmd.fork_hooks && cmd.sandbox.init {
        Err(Failure::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a sandbox's init (Sandbox::init) runs in memory shared with the caller; it \
             cannot be combined with pre_exec hooks (which run in a forked child)",
        )))
    } else if cmd.fork_hooks {
        forked::spawn(cmd, defaults)
    } else {
        spawn_shared(cmd, defaults)
    };
    settle(cmd, r)
}

/// [`Command::exec`]: the child's setup and exec, in this process.
pub(crate) fn exec(cmd: &mut Command) -> io::Error {
    cmd.last_failure = None;
    let r = exec_here(cmd);
    match settle(cmd, r) {
        Err(e) => e,
        Ok(never) => match never {},
    }
}

fn exec_here(cmd: &mut Command) -> Result<std::convert::Infallible, Failure> {
    if !cmd.request_flags().is_empty()
        || !cmd.set_tid.is_empty()
        || cmd.cgroup.is_some()
        || cmd.isolation.id_maps.is_some()
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "exec replaces this process: clone flags, set_tid, a cgroup and id maps apply \
             to a new child only",
        )
        .into());
    }
    let mut p = plan::prepare(cmd, StdioDefault::Inherit)?;
    // execve resets handled signals itself; this process keeps its handlers should it fail.
    p.child.signals.kernel_cleared = true;
    if let Some(d) = p.child.death_signal.as_mut() {
        // The "parent" whose death is watched is this process's parent.
        d.expected_ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    }
    let (step, index, errno) = child_side::run(&mut p.child);
    p.child.report.fail(step, index, errno);
    Err(Failure::Child(spawn_error(&p, step, errno)))
}

/// The spawn in shared memory (`CLONE_VM | CLONE_VFORK`, or the handshake spawn).
fn spawn_shared(cmd: &mut Command, defaults: StdioDefault) -> Result<Child, Failure> {
    let mut p = plan::prepare(cmd, defaults)?;
    let stack = take_spawn_stack()?;
    let launched = launch(&mut p, &stack, None);
    // The child has exec'd or exited (CLONE_VFORK): its stack and plan are free again, and
    // the descriptors made for it can be closed in the parent. A sandbox's init keeps
    // running on its stack: the Child holds it (when the spawn failed, the init is reaped
    // by then and the stack is dropped below).
    let init_stack = if p.init_status.is_some() {
        Some(stack)
    } else {
        return_spawn_stack(stack);
        None
    };
    drop(std::mem::take(&mut p.child_owned));
    let Spawned { pid, pidfd } = match launched? {
        Launched::Spawned(s) => s,
        Launched::Reaped(_) => unreachable!("a spawn without a parent step is never reaped"),
    };
    let pidfd = match pidfd {
        Some(fd) => PidFd::from(fd),
        None => open_pidfd_late(pid)?,
    };
    if let Some((step, errno)) = p.child.report.failure {
        // The child exited without exec'ing; reap it so it does not linger as a zombie.
        let _ = pidfd.wait();
        return Err(Failure::Child(spawn_error(&p, step, errno)));
    }
    let mut child = p.take_child(pid as u32, pidfd);
    if p.clone.flags.contains(CloneFlags::PARENT) {
        child.mark_sibling();
    }
    if let (Some(status), Some(stack)) = (p.init_status.take(), init_stack) {
        child.set_init(status, stack);
    }
    Ok(child)
}

/// The error for a child that reported a failed `step` instead of exec'ing.
pub(crate) fn spawn_error(p: &Prepared<'_>, step: Step, errno: i32) -> SpawnError {
    let mut e = SpawnError::new(step, detail(p, step, p.child.report.index, errno), errno);
    if step == Step::Execve && errno == libc::ENOENT && p.child.exec.fd.is_some() {
        e = e.with_hint(
            "the file itself was open; what is missing is its interpreter under the \
             child's root: the ELF loader and libraries of a dynamically linked program, \
             or the #! program of a script",
        );
    }
    e
}

/// [`Command::status`] and [`Command::output`]: runs the child to its end and reaps it.
///
/// The common case is a *run-to-end spawn*: `CLONE_VM` without `CLONE_VFORK` and without
/// `CLONE_PIDFD` (see [`spawn_and_reap`]). The parent does not sleep until the child's exec
/// — it goes straight to reading the output pipes or to `waitid(P_PID)` — which saves a
/// wake-up per spawn (a cross-CPU one when the child runs on another CPU), and no pidfd is
/// created and released. The child's side is the same as a vfork spawn's; a failure before
/// exec is in the report slot once the child is reaped, and comes back as the same error.
///
/// Commands with hooks spawn and wait: [`Command::pre_exec`] hooks in the fork-like spawn,
/// [`Command::pre_exec_shared_memory`] hooks in the vfork spawn (their contract promises that
/// the spawning thread waits while they run: a hook may share the thread's TLS, `errno`
/// included). Handshake spawns (id maps) keep theirs, and so do requests whose child this
/// process cannot wait for by PID (`CLONE_PARENT`, refused above; the 7.1
/// `CLONE_AUTOREAP`) or that need the pidfd (`CLONE_PIDFD_AUTOKILL`), see
/// [`TO_END_FORBIDDEN`](crate::sys::vfork::TO_END_FORBIDDEN).
pub(crate) fn run_to_end(
    cmd: &mut Command,
    defaults: StdioDefault,
    collect: bool,
) -> io::Result<Output> {
    if cmd.request_flags().contains(CloneFlags::PARENT) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "CLONE_PARENT makes the child a child of this process's parent, which alone can \
             wait for it (waitid here fails with ECHILD): spawn() it and watch its pidfd \
             (Child::pidfd) instead of status()/output()",
        ));
    }
    if !cmd.hooks.is_empty()
        || cmd.uses_handshake()
        || cmd
            .request_flags()
            .intersects(crate::sys::vfork::TO_END_FORBIDDEN)
    {
        let mut child = spawn(cmd, defaults)?;
        return if collect {
            child.wait_with_output()
        } else {
            child.wait().map(|status| Output {
                status,
                stdout: Vec::new(),
                stderr: Vec::new(),
            })
        };
    }
    cmd.last_failure = None;
    let r = run_to_end_shared(cmd, defaults, collect);
    settle(cmd, r)
}

/// The run-to-end spawn itself (see [`run_to_end`]).
fn run_to_end_shared(
    cmd: &mut Command,
    defaults: StdioDefault,
    collect: bool,
) -> Result<Output, Failure> {
    let mut p = plan::prepare(cmd, defaults)?;
    p.clone.to_end = true;
    let stack = take_spawn_stack()?;
    let mut owned = std::mem::take(&mut p.child_owned);
    let mut pipes = std::mem::take(&mut p.pipes);
    let mut out = (Vec::new(), Vec::new());
    // Runs in the parent while the child sets up and execs: the child has its own copy of
    // the descriptor table by now, so the parent closes its copies of the child's ends
    // (the pipes then reach end of file when the child's side closes) and stdin, as std's
    // wait does.
    let mut parent = |_pid: i32| -> io::Result<()> {
        drop(std::mem::take(&mut owned));
        drop(pipes.stdin.take());
        if collect {
            out = child::read2(pipes.stdout.take(), pipes.stderr.take())?;
        }
        Ok(())
    };
    let launched = launch(&mut p, &stack, Some(&mut parent));
    let reaped = match launched {
        Ok(Launched::Reaped(r)) => r,
        Ok(Launched::Spawned(s)) => Reaped {
            // Not reached (the handshake spawn is left out above); still our unreaped
            // child, so waiting by PID is right.
            status: crate::pidfd::wait_child_pid(s.pid),
        },
        Err(e) => {
            // No child runs on the stack any more (none was made, or it was reaped).
            return_spawn_stack(stack);
            return Err(e.into());
        }
    };
    // The child was reaped: its stack and plan are free again.
    return_spawn_stack(stack);
    drop(pipes);
    if let Some((step, errno)) = p.child.report.failure {
        return Err(Failure::Child(spawn_error(&p, step, errno)));
    }
    let status: ExitStatus = reaped.status?;
    Ok(Output {
        status,
        stdout: out.0,
        stderr: out.1,
    })
}

/// What [`launch`] made: a child that exec'd (or exited), or one already reaped.
pub(crate) enum Launched {
    Spawned(Spawned),
    Reaped(Reaped),
}

/// The parent's step of a run-to-end spawn, see [`spawn_and_reap`].
pub(crate) type ParentStep<'a, 'f> = &'a mut (dyn FnMut(i32) -> io::Result<()> + 'f);

/// The pidfd of a child made by clone(2) on a kernel that ignored `CLONE_PIDFD` (see the
/// race documented in [`crate::fallback`]). Without any pidfd support the child cannot be
/// handed out: it is killed and reaped.
fn open_pidfd_late(pid: i32) -> io::Result<PidFd> {
    match PidFd::open(pid as u32) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            if let Some(p) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                let _ = rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty());
            }
            Err(io::Error::new(
                e.kind(),
                format!("pidfd_open after clone(2): {e} (a spawn needs pidfds, Linux 5.2+)"),
            ))
        }
    }
}

/// What the failing step was working on, for the message.
pub(crate) fn detail(p: &Prepared<'_>, step: Step, index: usize, errno: i32) -> String {
    let c = &p.child;
    match step {
        Step::MapFd => c
            .fds
            .maps
            .get(index)
            .map(|m| format!("fd {} onto {}", m.src, m.dst))
            .unwrap_or_default(),
        Step::Chdir => c
            .cwd
            .as_deref()
            .map(|d| String::from_utf8_lossy(d.to_bytes()).into_owned())
            .unwrap_or_default(),
        Step::PreExec => format!("#{index}"),
        Step::Init => match index {
            0 => "PID 1: blocking its signals into a signalfd".into(),
            _ => "PID 1: creating the program's process (clone)".into(),
        },
        Step::TimeOffsets
        | Step::MountPropagation
        | Step::Chroot
        | Step::PivotRoot
        | Step::MountProc
        | Step::Sethostname
        | Step::Filesystem
        | Step::Rlimit
        | Step::Capabilities
        | Step::Seccomp
        | Step::Block
        | Step::Loopback
        | Step::NestedUserNs
        | Step::Setns => c.isolation.describe(step, index),
        Step::Execve if c.exec.fd.is_some() => format!(
            "{} (from a descriptor)",
            String::from_utf8_lossy(p.program.as_bytes())
        ),
        Step::Execve if p.path_searched && errno == libc::ENOENT => format!(
            "{} (searched PATH)",
            String::from_utf8_lossy(p.program.as_bytes())
        ),
        Step::Execve => c
            .exec
            .candidates
            .get(index)
            .map(|s| String::from_utf8_lossy(s.to_bytes()).into_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// Why one clone attempt failed.
enum Failed {
    /// The clone call (nothing was created).
    Clone(i32),
    /// The parent's side of a handshake spawn (the child was killed and reaped).
    Parent(io::Error),
}

/// The clone call itself: clone3 (with `CLONE_CLEAR_SIGHAND` where the kernel has it), or the
/// clone(2) fallback where clone3 is unusable and the policy allows it.
fn launch(
    p: &mut Prepared<'_>,
    stack: &ChildStack,
    mut to_end: Option<ParentStep<'_, '_>>,
) -> io::Result<Launched> {
    let policy = p.clone.fallback;
    let skip_clone3 = fallback::clone3_known_unusable().is_some_and(|errno| {
        fallback::should_fall_back(errno, policy, fallback::clone3_availability)
    });
    if skip_clone3 && emulated::vm_known_refused() && emulated::possible(p) {
        return emulated::launch(p, to_end);
    }
    if !skip_clone3 {
        match launch_clone3(p, stack, to_end.as_deref_mut()) {
            Ok(s) => return Ok(s),
            Err(Failed::Parent(e)) => return Err(e),
            Err(Failed::Clone(errno))
                if fallback::should_fall_back(errno, policy, fallback::clone3_availability) =>
            {
                fallback::mark_clone3_unusable(errno);
            }
            Err(Failed::Clone(errno)) => return Err(explained_clone3_error(&p.clone, errno).into()),
        }
    }
    launch_clone(p, stack, to_end)
}

/// One clone: the vfork spawn, the run-to-end spawn (with a parent step), or the handshake
/// spawn in which the parent writes the id maps and persists namespaces while the child
/// waits.
fn clone_once(
    child: &mut plan::ChildPlan<'_>,
    handshake: Option<&mut HandshakeSocket>,
    maps: Option<&crate::isolate::MapPlan>,
    persist: &[(CloneFlags, std::path::PathBuf)],
    call: CloneCall<'_>,
    stack: &ChildStack,
    to_end: Option<ParentStep<'_, '_>>,
) -> Result<Launched, Failed> {
    let Some(sock) = handshake else {
        return match to_end {
            None => spawn_vfork(call, child, stack)
                .map(Launched::Spawned)
                .map_err(Failed::Clone),
            Some(parent) => match spawn_and_reap(call, child, stack, parent) {
                Ok(r) => Ok(Launched::Reaped(r)),
                Err(ReapError::Clone(e)) => Err(Failed::Clone(e)),
                Err(ReapError::Parent(e)) => Err(Failed::Parent(e)),
            },
        };
    };
    let between = |s: &Spawned| -> io::Result<()> {
        if let Some(m) = maps {
            m.apply(s.pid as u32).map_err(io::Error::from)?;
        }
        crate::isolate::persist::apply(s.pid as u32, persist)
    };
    match spawn_handshake(call, child, stack, sock, between) {
        Ok(s) => Ok(Launched::Spawned(s)),
        Err(HandshakeError::Clone(e)) => Err(Failed::Clone(e)),
        Err(HandshakeError::Parent { spawned, error }) => {
            // The child was killed; reap it so it does not linger as a zombie.
            if let Some(pid) = rustix::process::Pid::from_raw(spawned.pid) {
                let wall = rustix::process::WaitOptions::from_bits_retain(0x4000_0000);
                let _ = rustix::process::waitpid(Some(pid), wall);
            }
            Err(Failed::Parent(error))
        }
    }
}

/// The kernel's refusal with the validator's account of it (cause and fix), computed only
/// on this failure path so that a successful spawn never reads `/proc`.
fn explained_clone3_error(req: &plan::CloneRequest<'_>, errno: i32) -> Error {
    let mut args = crate::CloneArgs::new()
        .flags(attempt_flags(req.flags, req.handshake, req.to_end))
        .exit_signal(req.exit_signal)
        .set_tid(req.set_tid.to_vec());
    if let Some(fd) = req.cgroup {
        args = args.cgroup(fd);
    }
    crate::validate::clone3_error(&args, crate::Errno(errno))
}

fn launch_clone3(
    p: &mut Prepared<'_>,
    stack: &ChildStack,
    mut to_end: Option<ParentStep<'_, '_>>,
) -> Result<Launched, Failed> {
    let req = &p.clone;
    let user_clear = req.flags.contains(CloneFlags::CLEAR_SIGHAND);
    let mut implicit_clear = !user_clear && CLEAR_SIGHAND.load(Ordering::Relaxed) != NO;
    let base = if to_end.is_some() {
        TO_END_FLAGS
    } else {
        SPAWN_FLAGS
    };
    let size = if req.cgroup.is_some() || req.flags.contains(CloneFlags::INTO_CGROUP) {
        CLONE_ARGS_SIZE_VER2
    } else if !req.set_tid.is_empty() {
        CLONE_ARGS_SIZE_VER1
    } else {
        CLONE_ARGS_SIZE_VER0
    };
    loop {
        let mut flags = req.flags | base;
        if implicit_clear {
            flags |= CloneFlags::CLEAR_SIGHAND;
        }
        p.child.signals.kernel_cleared = flags.contains(CloneFlags::CLEAR_SIGHAND);
        p.child.report = Report::default();
        let call = CloneCall::Clone3 {
            flags,
            exit_signal: req.exit_signal,
            set_tid: req.set_tid,
            cgroup: req.cgroup,
            size,
        };
        match clone_once(
            &mut p.child,
            p.handshake.as_mut(),
            p.maps.as_ref(),
            &p.persist,
            call,
            stack,
            to_end.as_deref_mut(),
        ) {
            Ok(s) => {
                if implicit_clear {
                    CLEAR_SIGHAND.store(YES, Ordering::Relaxed);
                } else if !user_clear && CLEAR_SIGHAND.load(Ordering::Relaxed) == UNKNOWN {
                    // Refused with CLEAR_SIGHAND, accepted without: a 5.3/5.4 kernel.
                    CLEAR_SIGHAND.store(NO, Ordering::Relaxed);
                }
                return Ok(s);
            }
            Err(Failed::Clone(libc::EINVAL))
                if implicit_clear && CLEAR_SIGHAND.load(Ordering::Relaxed) == UNKNOWN =>
            {
                implicit_clear = false;
            }
            Err(e) => return Err(e),
        }
    }
}

fn launch_clone(
    p: &mut Prepared<'_>,
    stack: &ChildStack,
    to_end: Option<ParentStep<'_, '_>>,
) -> io::Result<Launched> {
    let req = &p.clone;
    let pidfd = if to_end.is_some() {
        CloneFlags::empty()
    } else {
        CloneFlags::PIDFD
    };
    let word = fallback::legacy_flags(
        req.flags | pidfd,
        req.exit_signal,
        req.set_tid,
        fallback::clone3_availability(),
    )
    .map_err(io::Error::from)?;
    if !clone_vm_shares_memory(stack) {
        // The clone would be taken, but its child would write its report into a copy of
        // this process's memory: go fork-like, with the report on a pipe.
        if emulated::possible(p) {
            return emulated::launch(p, to_end);
        }
        return Err(Error::os(
            "clone (a CLONE_VM child gets its own copy of memory here, as under qemu \
             user-mode emulation; only a request of namespace flags without id maps can \
             be spawned fork-like instead)",
            crate::Errno(libc::EINVAL),
        )
        .into());
    }
    p.child.signals.kernel_cleared = false;
    p.child.report = Report::default();
    let mut to_end = to_end;
    match clone_once(
        &mut p.child,
        p.handshake.as_mut(),
        p.maps.as_ref(),
        &p.persist,
        CloneCall::Legacy { flags: word },
        stack,
        to_end.as_deref_mut(),
    ) {
        Ok(s) => Ok(s),
        // A CLONE_VM child refused where clone3 is missing too: qemu's user-mode emulation.
        // A fork-like child can do the same work (see `forked`); if it fails as well, the
        // request itself is what clone(2) refuses, and that error is reported.
        Err(Failed::Clone(libc::EINVAL)) if emulated::possible(p) => emulated::launch(p, to_end),
        Err(Failed::Clone(e)) => Err(Error::os("clone", crate::Errno(e)).into()),
        Err(Failed::Parent(e)) => Err(e),
    }
}

/// Whether a `CLONE_VM` child of clone(2) shares this process's memory, asked once per
/// process (the first spawn that takes clone(2)) with a child that stores one flag and exits
/// (see [`crate::sys::vfork::clone_shares_memory`]): unknown, yes, no.
static CLONE_VM_SHARED: AtomicU8 = AtomicU8::new(UNKNOWN);

/// See [`CLONE_VM_SHARED`]. A probe that the kernel (or emulator) refuses leaves the answer
/// to the spawn's own clone, which is refused the same way and handled as before.
fn clone_vm_shares_memory(stack: &ChildStack) -> bool {
    match CLONE_VM_SHARED.load(Ordering::Relaxed) {
        YES => true,
        NO => false,
        _ => {
            match crate::sys::vfork::clone_shares_memory(CloneFlags::VM | CloneFlags::VFORK, stack)
            {
                Ok(shared) => {
                    CLONE_VM_SHARED.store(if shared { YES } else { NO }, Ordering::Relaxed);
                    shared
                }
                Err(_) => true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Command>();
        send_sync::<Child>();
        send_sync::<PidFd>();
        send_sync::<SpawnError>();
    }

    #[test]
    fn run_to_end_spawn_has_neither_vfork_nor_pidfd() {
        let asked = CloneFlags::NEWUTS | CloneFlags::PIDFD;
        let f = attempt_flags(asked, false, true);
        assert!(f.contains(CloneFlags::VM | CloneFlags::NEWUTS));
        assert!(!f.intersects(CloneFlags::VFORK | CloneFlags::PIDFD));
        let h = attempt_flags(CloneFlags::NEWUSER, true, false);
        assert!(h.contains(CloneFlags::VM | CloneFlags::PIDFD) && !h.contains(CloneFlags::VFORK));
        assert!(attempt_flags(CloneFlags::empty(), false, false).contains(SPAWN_FLAGS));
    }

    #[test]
    fn first_attempt_adds_spawn_flags() {
        let f = Command::new("x").get_clone_args().get_flags();
        assert!(f.contains(SPAWN_FLAGS));
        assert_eq!(Command::new("x").get_requested_flags(), CloneFlags::empty());
    }
}
