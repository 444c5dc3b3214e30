//! The restorer: creates a checked process tree top-down with `clone3(2)` and `set_tid`, each
//! process creating its own children, then lets every process exec its program at once.
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
//! * `go_join` and `go_exec`: the restorer writes one byte per process when every process is
//!   ready (phase 2: parents move children into their groups) and when every one has joined
//!   (phase 3: exec). Each process reads exactly one byte from each pipe. A byte other than
//!   the expected one, or end-of-file (the restorer gave up or died), means *abort*.
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

use super::check::{check, CheckedTree, Limits, Setup};
use super::manifest::{Manifest, ProcessSpec};
use super::{Failure, ProcessRef, RestoreError, Step};
use crate::caller::{CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN};
use crate::errno::Errno;
use crate::sys::flags::CloneFlags;
use crate::sys::fork::{
    block_all_signals, execve, exit_group, fork_then, set_default_disposition_raw,
    set_signal_mask_raw, set_thread_signal_mask, CStrArray, ForkSpec, SignalMask,
};
use core::convert::Infallible;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{Pid, WaitId, WaitIdOptions};
use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// Exit status of a tree process that gave up because the restore was aborted.
const EXIT_ABORTED: i32 = 125;
/// Exit status of a tree process whose `chdir` or `execve` failed.
const EXIT_EXEC_FAILED: i32 = 127;

const GO_JOIN: u8 = b'J';
const GO_EXEC: u8 = b'X';
const ABORT: u8 = b'A';

const REC_CREATED: u32 = 1;
const REC_READY: u32 = 2;
const REC_JOINED: u32 = 3;
const REC_FAILED: u32 = 4;
const RECORD: usize = 16;

/// A running restored tree.
#[derive(Debug)]
pub struct Restored {
    /// The root's PID in the restorer's namespace.
    pub root_pid: i32,
    /// A pidfd of the root, the restorer's child: wait for it with [`Restored::wait`].
    pub root_pidfd: OwnedFd,
    /// Every process as `(id, pids)` (outermost first), in manifest order.
    pub processes: Vec<(String, Vec<i32>)>,
}

/// How the root process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootExit {
    Exited(i32),
    Signaled(i32),
}

impl RootExit {
    /// The shell convention: the exit code, or 128 + the signal number.
    pub fn code(self) -> i32 {
        match self {
            RootExit::Exited(c) => c,
            RootExit::Signaled(s) => 128 + s,
        }
    }
}

impl Restored {
    /// Waits for the root to end and reaps it (`waitid(P_PIDFD)`, Linux 5.4).
    pub fn wait(&self) -> std::io::Result<RootExit> {
        wait_pidfd(self.root_pidfd.as_fd()).map_err(Into::into)
    }

    /// The PIDs (outermost first) of the process with this id.
    pub fn pids(&self, id: &str) -> Option<&[i32]> {
        self.processes
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, p)| p.as_slice())
    }
}

fn wait_pidfd(fd: BorrowedFd<'_>) -> Result<RootExit, Errno> {
    loop {
        match rustix::process::waitid(WaitId::PidFd(fd), WaitIdOptions::EXITED) {
            Ok(Some(st)) => {
                return Ok(match (st.exit_status(), st.terminating_signal()) {
                    (Some(c), _) => RootExit::Exited(c),
                    (None, Some(s)) => RootExit::Signaled(s),
                    _ => RootExit::Exited(0),
                })
            }
            Ok(None) => continue,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Creates the process tree a manifest describes and returns once every process runs its
/// program, or fails having removed whatever it created.
///
/// The whole manifest is checked first ([`check`]) against this system's `pid_max` and the
/// caller's pid-namespace level, then the environment: `/proc` must be the caller's, the caller
/// needs `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN` (`set_tid`, Linux 5.9 for the former),
/// and `CAP_SYS_ADMIN` if a process starts a pid namespace; PIDs in the caller's namespace must
/// be free, programs and working directories must exist. A refusal there creates nothing.
///
/// May be called from a multithreaded program: nothing is allocated between the clones and
/// the execs. The calling thread's signal mask is what the programs start with; `SIGPIPE` is
/// reset to its default (as `std::process::Command` does); other dispositions and all
/// descriptors not marked close-on-exec are inherited, as with fork(2) and execve(2).
pub fn restore(manifest: &Manifest) -> Result<Restored, RestoreError> {
    let limits = Limits::current().map_err(|e| {
        RestoreError::Refused(Failure::general(
            Step::Precheck,
            e.raw_os_error().map(Errno),
            format!("cannot read /proc: {e}"),
        ))
    })?;
    let tree = check(manifest, &limits).map_err(RestoreError::Manifest)?;
    precheck_system(manifest)?;
    let nodes = prepare(manifest, &tree)?;
    run(manifest, &tree, &nodes)
}

/// What one tree process needs, built before the first clone.
struct NodePlan {
    /// Innermost namespace first, as clone3 wants it.
    set_tid: Vec<i32>,
    flags: CloneFlags,
    children: Vec<usize>,
    setup: Setup,
    /// `(child index, child pid, pgid)` as seen in this process's namespace.
    joins: Vec<(usize, i32, i32)>,
    path: CString,
    argv: CStrArray,
    envp: CStrArray,
    cwd: Option<CString>,
}

/// The part of the restorer's state the tree processes use, borrowed by all of them.
struct ChildSide<'a> {
    nodes: &'a [NodePlan],
    report: BorrowedFd<'a>,
    go_join: BorrowedFd<'a>,
    go_exec: BorrowedFd<'a>,
    mask: SignalMask,
}

fn refused(m: &Manifest, i: usize, step: Step, errno: Errno, msg: String) -> RestoreError {
    RestoreError::Refused(Failure {
        process: Some(ProcessRef::new(m, i)),
        level: None,
        step,
        errno: Some(errno),
        message: msg,
    })
}

fn precheck_system(m: &Manifest) -> Result<(), RestoreError> {
    let general = |errno: Errno, msg: String| {
        RestoreError::Refused(Failure::general(Step::Precheck, Some(errno), msg))
    };
    let me = rustix::process::getpid().as_raw_nonzero().get();
    match std::fs::read_link("/proc/self") {
        Ok(p) if p == Path::new(&me.to_string()) => {}
        _ => {
            return Err(general(
                Errno::EINVAL,
                "/proc is not the procfs of this process's pid namespace; mount one \
                 (mount -t proc proc /proc) in a mount namespace of your own"
                    .into(),
            ))
        }
    }
    let ns = std::fs::read_link("/proc/self/ns/pid").ok();
    let for_children = std::fs::read_link("/proc/self/ns/pid_for_children").ok();
    if ns.is_some() && for_children.is_some() && ns != for_children {
        return Err(general(
            Errno::EINVAL,
            "this process's children would go to another pid namespace (after \
             unshare(CLONE_NEWPID) or setns); the manifest's PIDs count from the restorer's own"
                .into(),
        ));
    }
    let caps = read_cap_eff().unwrap_or(0);
    let has = |c: u32| caps & (1u64 << c) != 0;
    if !has(CAP_SYS_ADMIN) && !has(CAP_CHECKPOINT_RESTORE) {
        return Err(general(
            Errno::EPERM,
            "choosing PIDs (clone3 set_tid) needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; \
             run as root or grant CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+ep)"
                .into(),
        ));
    }
    if let Some(i) = m.processes.iter().position(|p| p.new_pid_ns) {
        if !has(CAP_SYS_ADMIN) {
            return Err(refused(
                m,
                i,
                Step::Precheck,
                Errno::EPERM,
                "starts a pid namespace, which needs CAP_SYS_ADMIN (CLONE_NEWPID); \
                 CAP_CHECKPOINT_RESTORE only covers choosing PIDs"
                    .into(),
            ));
        }
    }
    for (i, p) in m.processes.iter().enumerate() {
        let pid = p.pids[0];
        if let Some(holder) = pid_holder(pid) {
            return Err(RestoreError::Refused(Failure {
                process: Some(ProcessRef::new(m, i)),
                level: Some(0),
                step: Step::Precheck,
                errno: Some(Errno::EEXIST),
                message: format!(
                    "PID {pid} is taken in the restorer's pid namespace (by {holder}); choose \
                     a free PID or end that process"
                ),
            }));
        }
    }
    let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let need = m.processes.len() as u64 + 64;
    if nofile < need {
        return Err(general(
            Errno::EMFILE,
            format!(
                "the restorer keeps a pidfd per process: {} processes need about {need} file \
                 descriptors, but RLIMIT_NOFILE is {nofile}; raise it (ulimit -n)",
                m.processes.len()
            ),
        ));
    }
    Ok(())
}

/// Who holds a PID in our namespace, if anyone visible does (`/proc/PID` also resolves
/// threads). A PID kept only as the id of a process group or session whose leader is gone
/// stays invisible here; the kernel's `EEXIST` reports it later.
fn pid_holder(pid: i32) -> Option<String> {
    let dir = format!("/proc/{pid}");
    if std::fs::symlink_metadata(&dir).is_err() {
        return None;
    }
    let comm = std::fs::read_to_string(format!("{dir}/comm")).unwrap_or_default();
    Some(format!("{:?}", comm.trim_end()))
}

fn read_cap_eff() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

fn prepare(m: &Manifest, tree: &CheckedTree) -> Result<Vec<NodePlan>, RestoreError> {
    let restorer_env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv).ok()
        })
        .collect();
    let cwd_now = std::env::current_dir().ok();
    let mut nodes = Vec::with_capacity(m.processes.len());
    for (i, (p, c)) in m.processes.iter().zip(&tree.processes).enumerate() {
        let cstr = |s: &str, what: &str| {
            CString::new(s).map_err(|_| {
                refused(
                    m,
                    i,
                    Step::Precheck,
                    Errno::EINVAL,
                    format!("{what} contains a NUL byte"),
                )
            })
        };
        if let Some(dir) = &p.cwd {
            if !Path::new(dir).is_dir() {
                return Err(refused(
                    m,
                    i,
                    Step::Chdir,
                    Errno::ENOENT,
                    format!("working directory {dir:?} is not a directory"),
                ));
            }
        }
        let base = p.cwd.as_ref().map(PathBuf::from).or(cwd_now.clone());
        let path = resolve_program(p, base.as_deref())
            .map_err(|(errno, msg)| refused(m, i, Step::Exec, errno, msg))?;
        let argv = p
            .argv
            .iter()
            .map(|a| cstr(a, "an argument"))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = match &p.env {
            Some(env) => env
                .iter()
                .map(|e| cstr(e, "an environment entry"))
                .collect::<Result<Vec<_>, _>>()?,
            None => restorer_env.clone(),
        };
        let mut flags = CloneFlags::CLEAR_SIGHAND;
        if p.new_pid_ns {
            flags |= CloneFlags::NEWPID;
        }
        let joins = c
            .children
            .iter()
            .filter_map(|&k| tree.processes[k].join.map(|j| (k, j.child_pid, j.pgid)))
            .collect();
        nodes.push(NodePlan {
            set_tid: p.pids.iter().rev().copied().collect(),
            flags,
            children: c.children.clone(),
            setup: c.setup,
            joins,
            path: CString::new(path.into_os_string().into_vec()).map_err(|_| {
                refused(
                    m,
                    i,
                    Step::Exec,
                    Errno::EINVAL,
                    "program path has a NUL".into(),
                )
            })?,
            argv: CStrArray::new(argv),
            envp: CStrArray::new(envp),
            cwd: p.cwd.as_deref().map(|d| cstr(d, "cwd")).transpose()?,
        });
    }
    Ok(nodes)
}

/// The executable for a process: `program`, else `argv[0]`; a name without `/` is looked up
/// in `PATH` (the manifest's environment's, else the restorer's), relative paths start at
/// the process's working directory.
fn resolve_program(p: &ProcessSpec, base: Option<&Path>) -> Result<PathBuf, (Errno, String)> {
    let name = p.program.as_deref().unwrap_or(&p.argv[0]);
    let absolute = |c: &Path| match base {
        Some(b) if c.is_relative() => b.join(c),
        _ => c.to_path_buf(),
    };
    let usable = |c: &Path| -> Result<(), (Errno, String)> {
        let meta = std::fs::metadata(c).map_err(|e| {
            (
                e.raw_os_error().map(Errno).unwrap_or(Errno::ENOENT),
                format!("program {} cannot be found: {e}", c.display()),
            )
        })?;
        if !meta.is_file() {
            return Err((
                Errno::EACCES,
                format!("program {} is not a regular file", c.display()),
            ));
        }
        rustix::fs::access(c, rustix::fs::Access::EXEC_OK).map_err(|e| {
            (
                e.into(),
                format!("program {} is not executable", c.display()),
            )
        })
    };
    if name.contains('/') {
        let c = absolute(Path::new(name));
        usable(&c)?;
        return Ok(c);
    }
    let path_var: OsString = match &p.env {
        Some(env) => env
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .map(OsString::from)
            .unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        None => std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
    };
    let mut last = None;
    for dir in std::env::split_paths(&path_var) {
        let c = absolute(&dir.join(name));
        match usable(&c) {
            Ok(()) => return Ok(c),
            Err(e) if e.0 != Errno::ENOENT => last = Some(e),
            Err(_) => {}
        }
    }
    Err(last.unwrap_or_else(|| {
        (
            Errno::ENOENT,
            format!(
                "program {name:?} is not in PATH ({})",
                path_var.to_string_lossy()
            ),
        )
    }))
}

// ---------------------------------------------------------------------------------------------
// The tree side. Everything below until the restorer side runs in the created processes:
// raw system calls (rustix, sys::fork) on pre-built data, no allocation, no locks, no panics.

impl ChildSide<'_> {
    fn report(&self, kind: u32, index: usize, step: Step, errno: i32) {
        let mut rec = [0u8; RECORD];
        rec[0..4].copy_from_slice(&kind.to_ne_bytes());
        rec[4..8].copy_from_slice(&(index as u32).to_ne_bytes());
        rec[8..12].copy_from_slice(&(step as u32).to_ne_bytes());
        rec[12..16].copy_from_slice(&errno.to_ne_bytes());
        // A failed report means the restorer is gone; the go pipes then say abort.
        let _ = rustix::io::retry_on_intr(|| rustix::io::write(self.report, &rec));
    }

    fn fail(&self, index: usize, step: Step, e: rustix::io::Errno) {
        self.report(REC_FAILED, index, step, e.raw_os_error());
    }

    /// Reads this process's one byte from a go pipe: true only for the expected go byte.
    fn go(&self, pipe: BorrowedFd<'_>, expected: u8) -> bool {
        let mut b = [0u8; 1];
        matches!(rustix::io::retry_on_intr(|| rustix::io::read(pipe, &mut b)), Ok(1) if b[0] == expected)
    }

    /// After reporting a failure: wait for the restorer's abort on the pipe of the phase the
    /// process would have read next (no go byte can come, as it never reports the phase done).
    fn abort_after(&self, next: BorrowedFd<'_>) -> Infallible {
        let mut b = [0u8; 1];
        let _ = rustix::io::retry_on_intr(|| rustix::io::read(next, &mut b));
        self.abort()
    }

    /// Reaps every child (they abort too), then exits: nothing is left for another reaper.
    fn abort(&self) -> Infallible {
        while let Ok(Some(_)) | Err(rustix::io::Errno::INTR) =
            rustix::process::wait(rustix::process::WaitOptions::empty())
        {}
        exit_group(EXIT_ABORTED)
    }

    fn main(&self, i: usize) -> Infallible {
        let node = &self.nodes[i];
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
            return self.abort_after(self.go_join);
        }
        for &c in &node.children {
            let child = &self.nodes[c];
            let spec = ForkSpec {
                flags: child.flags,
                set_tid: &child.set_tid,
                pidfd: false,
                close_in_child: &[],
            };
            match fork_then(&spec, || self.main(c)) {
                Ok(_) => self.report(REC_CREATED, c, Step::Create, 0),
                Err(e) => {
                    self.report(REC_FAILED, c, Step::Create, e.0);
                    return self.abort_after(self.go_join);
                }
            }
        }
        self.report(REC_READY, i, Step::Create, 0);
        if !self.go(self.go_join, GO_JOIN) {
            return self.abort();
        }
        for &(c, pid, pgid) in &node.joins {
            let r = match (Pid::from_raw(pid), Pid::from_raw(pgid)) {
                (Some(pid), Some(pgid)) => rustix::process::setpgid(Some(pid), Some(pgid)),
                _ => Err(rustix::io::Errno::INVAL),
            };
            if let Err(e) = r {
                self.fail(c, Step::Join, e);
                return self.abort_after(self.go_exec);
            }
        }
        self.report(REC_JOINED, i, Step::Join, 0);
        if !self.go(self.go_exec, GO_EXEC) {
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
        let _ = set_default_disposition_raw(libc::SIGPIPE);
        let _ = set_signal_mask_raw(&self.mask);
        let e = execve(&node.path, &node.argv, &node.envp);
        self.report(REC_FAILED, i, Step::Exec, e.0);
        exit_group(EXIT_EXEC_FAILED)
    }
}

// ---------------------------------------------------------------------------------------------
// The restorer side.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Create,
    Join,
}

struct Record {
    kind: u32,
    index: usize,
    step: Step,
    errno: i32,
}

fn parse_records(buf: &mut Vec<u8>) -> Vec<Record> {
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

fn write_n(fd: BorrowedFd<'_>, byte: u8, n: usize) -> rustix::io::Result<()> {
    let chunk = [byte; 4096];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        let w = rustix::io::retry_on_intr(|| rustix::io::write(fd, &chunk[..k]))?;
        left -= w;
    }
    Ok(())
}

fn run(m: &Manifest, tree: &CheckedTree, nodes: &[NodePlan]) -> Result<Restored, RestoreError> {
    let n = nodes.len();
    let os = |op: &str, e: rustix::io::Errno| {
        RestoreError::Refused(Failure::general(
            Step::Restorer,
            Some(e.into()),
            format!("{op} failed: {}", Errno::from(e)),
        ))
    };
    let cloexec = rustix::pipe::PipeFlags::CLOEXEC;
    let (report_r, report_w) = rustix::pipe::pipe_with(cloexec).map_err(|e| os("pipe2", e))?;
    let (join_r, join_w) = rustix::pipe::pipe_with(cloexec).map_err(|e| os("pipe2", e))?;
    let (exec_r, exec_w) = rustix::pipe::pipe_with(cloexec).map_err(|e| os("pipe2", e))?;
    // The restorer must never block on a go pipe: abort bytes have to get through even when
    // nobody reads any more. So the pipes are non-blocking and hold two bytes per process (a
    // go and an abort byte each).
    for w in [&join_w, &exec_w] {
        rustix::io::ioctl_fionbio(w, true).map_err(|e| os("ioctl(FIONBIO)", e))?;
        let need = 2 * n;
        let size = rustix::pipe::fcntl_getpipe_size(w).map_err(|e| os("fcntl(F_GETPIPE_SZ)", e))?;
        if size < need {
            match rustix::pipe::fcntl_setpipe_size(w, need) {
                Ok(got) if got >= need => {}
                Ok(_) => return Err(os("fcntl(F_SETPIPE_SZ)", rustix::io::Errno::NOMEM)),
                Err(e) => return Err(os("fcntl(F_SETPIPE_SZ)", e)),
            }
        }
    }

    let root = tree.root;
    let forked = {
        let mask = block_all_signals();
        let side = ChildSide {
            nodes,
            report: report_w.as_fd(),
            go_join: join_r.as_fd(),
            go_exec: exec_r.as_fd(),
            mask,
        };
        let close = [report_r.as_raw_fd(), join_w.as_raw_fd(), exec_w.as_raw_fd()];
        let spec = ForkSpec {
            flags: nodes[root].flags,
            set_tid: &nodes[root].set_tid,
            pidfd: true,
            close_in_child: &close,
        };
        let r = fork_then(&spec, || side.main(root));
        set_thread_signal_mask(&mask);
        r
    };
    drop(report_w);
    drop(join_r);
    drop(exec_r);
    let forked = match forked {
        Ok(f) => f,
        Err(e) => {
            return Err(RestoreError::Refused(clone_failure(m, tree, root, e)));
        }
    };
    let mut pidfds: Vec<Option<OwnedFd>> = (0..n).map(|_| None).collect();
    pidfds[root] = forked.pidfd;

    let mut restorer = Restorer {
        m,
        tree,
        n,
        report_r: &report_r,
        join_w: Some(join_w),
        exec_w: Some(exec_w),
        pidfds,
        buf: Vec::new(),
    };
    let outcome = restorer.build();
    match outcome {
        Ok(()) => {}
        Err(f) => {
            restorer.abort();
            return Err(RestoreError::Failed(f));
        }
    }
    // Exec phase: every process closes its report end when it execs (or exits after a
    // failed exec, having reported it).
    let failures = restorer.collect_exec_failures();
    if let Some(f) = failures {
        restorer.kill_all();
        return Err(RestoreError::Failed(f));
    }
    let root_pidfd = restorer.pidfds[root].take().expect("root pidfd");
    Ok(Restored {
        root_pid: forked.pid,
        root_pidfd,
        processes: m
            .processes
            .iter()
            .map(|p| (p.id.clone(), p.pids.clone()))
            .collect(),
    })
}

struct Restorer<'a> {
    m: &'a Manifest,
    tree: &'a CheckedTree,
    n: usize,
    report_r: &'a OwnedFd,
    join_w: Option<OwnedFd>,
    exec_w: Option<OwnedFd>,
    pidfds: Vec<Option<OwnedFd>>,
    buf: Vec<u8>,
}

impl Restorer<'_> {
    /// Phases 1 and 2: until every process has joined its group and the exec bytes are sent.
    fn build(&mut self) -> Result<(), Failure> {
        let (mut ready, mut joined) = (0usize, 0usize);
        let mut phase = Phase::Create;
        loop {
            let watched: Vec<usize> = (0..self.n).filter(|&i| self.pidfds[i].is_some()).collect();
            let mut fds = Vec::with_capacity(watched.len() + 1);
            fds.push(PollFd::new(self.report_r, PollFlags::IN));
            for &i in &watched {
                fds.push(PollFd::new(self.pidfds[i].as_ref().unwrap(), PollFlags::IN));
            }
            match poll(&mut fds, None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(self.restorer_failure("poll", e)),
            }
            let report_ready = !fds[0].revents().is_empty();
            let died: Vec<usize> = fds[1..]
                .iter()
                .zip(&watched)
                .filter(|(f, _)| !f.revents().is_empty())
                .map(|(_, &i)| i)
                .collect();
            drop(fds);
            // Reports first: a failure report explains a death that follows it.
            if report_ready {
                let mut chunk = [0u8; 4096];
                let got =
                    match rustix::io::retry_on_intr(|| rustix::io::read(self.report_r, &mut chunk))
                    {
                        Ok(k) => k,
                        Err(e) => return Err(self.restorer_failure("read", e)),
                    };
                if got == 0 {
                    return Err(Failure::general(
                        Step::Died,
                        None,
                        "every process of the tree ended before the tree was complete".into(),
                    ));
                }
                self.buf.extend_from_slice(&chunk[..got]);
                for rec in parse_records(&mut self.buf) {
                    if rec.index >= self.n {
                        continue;
                    }
                    match rec.kind {
                        REC_CREATED => {
                            let pid = self.m.processes[rec.index].pids[0];
                            let fd = Pid::from_raw(pid)
                                .ok_or(rustix::io::Errno::INVAL)
                                .and_then(|p| {
                                    rustix::process::pidfd_open(
                                        p,
                                        rustix::process::PidfdFlags::empty(),
                                    )
                                })
                                .map_err(|e| self.restorer_failure("pidfd_open", e))?;
                            self.pidfds[rec.index] = Some(fd);
                        }
                        REC_READY => {
                            ready += 1;
                            if ready == self.n {
                                self.join_root()?;
                                write_n(self.join_w.as_ref().unwrap().as_fd(), GO_JOIN, self.n)
                                    .map_err(|e| self.restorer_failure("write", e))?;
                                phase = Phase::Join;
                            }
                        }
                        REC_JOINED => {
                            joined += 1;
                            if joined == self.n {
                                write_n(self.exec_w.as_ref().unwrap().as_fd(), GO_EXEC, self.n)
                                    .map_err(|e| self.restorer_failure("write", e))?;
                                return Ok(());
                            }
                        }
                        REC_FAILED => {
                            return Err(step_failure(
                                self.m,
                                self.tree,
                                rec.index,
                                rec.step,
                                Errno(rec.errno),
                            ))
                        }
                        _ => {}
                    }
                }
                continue;
            }
            if let Some(&i) = died.first() {
                return Err(Failure {
                    process: Some(ProcessRef::new(self.m, i)),
                    level: None,
                    step: Step::Died,
                    errno: None,
                    message: format!(
                        "ended during phase {} of the restore, before any program started \
                         (killed from outside?)",
                        if phase == Phase::Create {
                            "1 (creation)"
                        } else {
                            "2 (process groups)"
                        }
                    ),
                });
            }
        }
    }

    /// The root's `setpgid` is the restorer's job: it is the root's parent.
    fn join_root(&self) -> Result<(), Failure> {
        let root = self.tree.root;
        if let Some(j) = self.tree.processes[root].join {
            let r = match (Pid::from_raw(j.child_pid), Pid::from_raw(j.pgid)) {
                (Some(p), Some(g)) => rustix::process::setpgid(Some(p), Some(g)),
                _ => Err(rustix::io::Errno::INVAL),
            };
            if let Err(e) = r {
                return Err(step_failure(self.m, self.tree, root, Step::Join, e.into()));
            }
        }
        Ok(())
    }

    fn restorer_failure(&self, op: &str, e: rustix::io::Errno) -> Failure {
        Failure::general(
            Step::Restorer,
            Some(e.into()),
            format!("the restorer's {op} failed: {}", Errno::from(e)),
        )
    }

    /// Phases 1–2 failed: tell every process to abort and wait until the root, which reaps
    /// its children after they reaped theirs, is gone.
    fn abort(&mut self) {
        for w in [self.join_w.take(), self.exec_w.take()]
            .into_iter()
            .flatten()
        {
            let _ = write_n(w.as_fd(), ABORT, self.n);
            drop(w);
        }
        if let Some(root) = &self.pidfds[self.tree.root] {
            let _ = wait_pidfd(root.as_fd());
        }
        self.pidfds.clear();
    }

    /// Phase 3: reads until end-of-file; the first reported chdir/exec failure, if any.
    fn collect_exec_failures(&mut self) -> Option<Failure> {
        self.join_w = None;
        self.exec_w = None;
        let mut first = None;
        let mut chunk = [0u8; 4096];
        loop {
            match rustix::io::retry_on_intr(|| rustix::io::read(self.report_r, &mut chunk)) {
                Ok(0) | Err(_) => break,
                Ok(k) => {
                    self.buf.extend_from_slice(&chunk[..k]);
                    for rec in parse_records(&mut self.buf) {
                        if rec.kind == REC_FAILED && rec.index < self.n && first.is_none() {
                            first = Some(step_failure(
                                self.m,
                                self.tree,
                                rec.index,
                                rec.step,
                                Errno(rec.errno),
                            ));
                        }
                    }
                }
            }
        }
        first
    }

    /// After a failed exec: kill every process (programs already run, so they cannot abort
    /// cooperatively) and wait until each has ended; the root is reaped here.
    fn kill_all(&mut self) {
        for fd in self.pidfds.iter().flatten() {
            let _ = rustix::process::pidfd_send_signal(fd, rustix::process::Signal::KILL);
        }
        for (i, fd) in self.pidfds.iter().enumerate() {
            let Some(fd) = fd else { continue };
            if i == self.tree.root {
                let _ = wait_pidfd(fd.as_fd());
            } else {
                let mut p = [PollFd::new(fd, PollFlags::IN)];
                while matches!(poll(&mut p, None), Err(rustix::io::Errno::INTR)) {}
            }
        }
        self.pidfds.clear();
    }
}

/// Explains why creating process `i` failed, naming the level where the kernel can tell.
fn clone_failure(m: &Manifest, tree: &CheckedTree, i: usize, errno: Errno) -> Failure {
    let p = &m.processes[i];
    let depth = tree.processes[i].depth;
    let (level, message) = match errno {
        Errno::EEXIST => {
            // Levels below the restorer's belong to namespaces the tree itself created, whose
            // PIDs the checks made unique; so a taken PID is one of the restorer's namespace.
            let taken = pid_holder(p.pids[0]);
            let by = taken.map(|h| format!(" (by {h})")).unwrap_or_default();
            (
                Some(0),
                format!(
                    "clone3 failed with EEXIST: PID {} is already in use in the restorer's pid \
                     namespace{by} — perhaps as the id of a process group or session whose \
                     leader has exited; choose a free PID",
                    p.pids[0]
                ),
            )
        }
        Errno::EPERM => (
            Some(0),
            format!(
                "clone3 failed with EPERM: choosing the PID at level 0 needs CAP_CHECKPOINT_RESTORE \
                 or CAP_SYS_ADMIN in the user namespace that owns the restorer's pid namespace{}",
                if p.new_pid_ns {
                    ", and starting a pid namespace needs CAP_SYS_ADMIN"
                } else {
                    ""
                }
            ),
        ),
        Errno::EINVAL => (
            None,
            format!(
                "clone3 failed with EINVAL: the kernel refused PIDs {:?} (a PID not below the \
                 namespace's pid_max, or more PIDs than levels)",
                p.pids
            ),
        ),
        Errno::ENOSPC => (
            Some(depth),
            "clone3 failed with ENOSPC: too many nested pid namespaces or the user's \
             max_pid_namespaces is reached"
                .to_string(),
        ),
        other => (None, format!("clone3 failed with {other}")),
    };
    Failure {
        process: Some(ProcessRef::new(m, i)),
        level,
        step: Step::Create,
        errno: Some(errno),
        message,
    }
}

fn step_failure(m: &Manifest, tree: &CheckedTree, i: usize, step: Step, errno: Errno) -> Failure {
    if step == Step::Create {
        return clone_failure(m, tree, i, errno);
    }
    let p = &m.processes[i];
    let message = match step {
        Step::Setsid => format!("setsid() failed with {errno}"),
        Step::Setpgid => format!("setpgid(0, 0) (leading a process group) failed with {errno}"),
        Step::Join => {
            let j = tree.processes[i].join;
            let leader = j
                .map(|j| m.processes[j.leader].id.clone())
                .unwrap_or_default();
            format!(
                "moving it into the process group of {leader:?} (setpgid({}, {}) by its \
                 parent) failed with {errno}",
                j.map_or(0, |j| j.child_pid),
                j.map_or(0, |j| j.pgid)
            )
        }
        Step::Chdir => format!(
            "chdir({:?}) failed with {errno}",
            p.cwd.as_deref().unwrap_or("")
        ),
        Step::Exec => format!(
            "execve of {:?} failed with {errno}",
            p.program.as_deref().unwrap_or(&p.argv[0])
        ),
        _ => format!("failed with {errno}"),
    };
    Failure {
        process: Some(ProcessRef::new(m, i)),
        level: None,
        step,
        errno: Some(errno),
        message,
    }
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

    fn spec(program: Option<&str>, argv0: &str, env: Option<Vec<&str>>) -> ProcessSpec {
        ProcessSpec {
            id: "p".into(),
            parent: None,
            pids: vec![5],
            new_pid_ns: false,
            sid: None,
            pgid: None,
            program: program.map(Into::into),
            argv: vec![argv0.into()],
            env: env.map(|e| e.into_iter().map(Into::into).collect()),
            cwd: None,
        }
    }

    #[test]
    fn programs_are_resolved_before_anything_runs() {
        let sh = resolve_program(
            &spec(None, "sh", Some(vec!["PATH=/nonexistent:/bin"])),
            None,
        )
        .unwrap();
        assert_eq!(sh, PathBuf::from("/bin/sh"));
        let e =
            resolve_program(&spec(None, "sh", Some(vec!["PATH=/nonexistent"])), None).unwrap_err();
        assert_eq!(e.0, Errno::ENOENT);
        assert!(e.1.contains("not in PATH"), "{}", e.1);
        let e = resolve_program(&spec(Some("/proc/version"), "x", None), None).unwrap_err();
        assert_eq!(e.0, Errno::EACCES);
        let e = resolve_program(&spec(Some("/"), "x", None), None).unwrap_err();
        assert!(e.1.contains("not a regular file"));
        let rel = resolve_program(&spec(Some("./sh"), "x", None), Some(Path::new("/bin"))).unwrap();
        assert_eq!(rel, PathBuf::from("/bin/./sh"));
    }
}
