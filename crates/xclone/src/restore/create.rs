//! The restorer: creates a checked process tree top-down with `clone3(2)` and `set_tid`, each
//! process creating its own children, then lets every process exec its program at once.
//!
//! How the processes of the tree cooperate: the private module `tree_side`. What is checked and
//! prepared before the first clone: the private module `prepare`.

use super::check::{check, CheckedTree, Limits};
use super::manifest::Manifest;
use super::prepare::{pid_holder, precheck_system, prepare};
use super::sweep;
use super::tree_side::{
    parse_records, tree_process, ChildSide, NodePlan, ABORT, GO_EXEC, GO_JOIN, REC_CREATED,
    REC_FAILED, REC_JOINED, REC_READY,
};
use super::{Failure, ProcessRef, RestoreError, Step};
use crate::caller::{CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN};
use crate::errno::Errno;
use crate::sys::signal::BlockAll;
use crate::sys::vmtree;
use rustix::buffer::spare_capacity;
use rustix::process::{Pid, WaitId, WaitIdOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// A running restored tree. The root is the caller's child: like `std::process::Child`,
/// dropping this without [`Restored::wait`] leaves the root a zombie once it ends, until the
/// caller exits.
#[derive(Debug)]
#[non_exhaustive]
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
    /// It called `exit` with this status (0-255).
    Exited(i32),
    /// A signal of this number killed it.
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
/// the execs. The programs start with an empty signal mask and `SIGPIPE` at its default (as
/// `std::process::Command`'s children do); other dispositions and all descriptors not marked
/// close-on-exec are inherited, as with fork(2) and execve(2).
///
/// Until they exec, the processes of the tree share the caller's memory (`CLONE_VM`, so a
/// process costs the same at any depth) and die with their parent (`PR_SET_PDEATHSIG`, the
/// root with the calling thread): a restorer that is killed leaves nothing half-built. Should
/// an `execve` fail after other programs started, those programs and everything they started
/// are frozen, collected and killed before this returns.
///
/// ```
/// # #[cfg(feature = "serde")] {
/// use xclone::restore::{restore, Manifest, RootExit};
/// // A pid namespace whose init has PID 1 inside and a free PID of ours outside, and a
/// // child with PID 2 inside. Parsing JSON needs the `serde` feature.
/// let outer = (30000..32000)
///     .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
///     .unwrap();
/// let m = Manifest::parse(&format!(r#"{{"version": 1, "processes": [
///     {{"id": "init", "pids": [{outer}, 1], "new_pid_ns": true,
///      "argv": ["sh", "-c", "wait; exit 7"]}},
///     {{"id": "worker", "parent": "init", "pids": [{}, 2], "argv": ["true"]}}
/// ]}}"#, outer + 1)).unwrap();
/// if rustix::process::geteuid().is_root() { // set_tid and CLONE_NEWPID need privileges
///     let tree = restore(&m)?;
///     assert_eq!(tree.pids("worker"), Some(&[outer + 1, 2][..]));
///     assert_eq!(tree.wait()?, RootExit::Exited(7));
/// }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Create,
    Join,
}

/// Writes the one byte of a go or abort pipe (nobody reads it: its presence is the message).
fn signal_byte(fd: BorrowedFd<'_>, byte: u8) -> rustix::io::Result<()> {
    rustix::io::retry_on_intr(|| rustix::io::write(fd, &[byte])).map(|_| ())
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
    let (abort_r, abort_w) = rustix::pipe::pipe_with(cloexec).map_err(|e| os("pipe2", e))?;
    // Room for every report the tree writes in a run (three records a process: created,
    // ready, joined), so that no tree process waits for the restorer to read: best effort,
    // up to what the system allows (`/proc/sys/fs/pipe-max-size`, 1 MiB by default, unless
    // privileged); a smaller pipe only makes writers wait their turn.
    let want = 3 * super::tree_side::RECORD * n;
    if rustix::pipe::fcntl_getpipe_size(&report_w).is_ok_and(|size| size < want) {
        let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if rustix::pipe::fcntl_setpipe_size(&report_w, want).is_err() && max > 0 {
            let _ = rustix::pipe::fcntl_setpipe_size(&report_w, want.min(max));
        }
    }
    let epoll = rustix::event::epoll::create(rustix::event::epoll::CreateFlags::CLOEXEC)
        .map_err(|e| os("epoll_create1", e))?;
    rustix::event::epoll::add(
        &epoll,
        &report_r,
        rustix::event::epoll::EventData::new_u64(REPORT_KEY),
        rustix::event::epoll::EventFlags::IN,
    )
    .map_err(|e| os("epoll_ctl", e))?;

    let root = tree.root;
    // Every tree process shares this process's memory until it execs (CLONE_VM: creating
    // one costs the same at any depth); the scope returns only once none of them is left in
    // it, so `nodes`, `side` and the stacks outlive them all.
    // No handler may run in a tree process before it resets them (CLEAR_SIGHAND) and execs;
    // the mask comes back in the restorer when the guard drops.
    let blocked = BlockAll::new()
        .map_err(|e| os("rt_sigprocmask", rustix::io::Errno::from_raw_os_error(e)))?;
    let side = ChildSide {
        nodes,
        report: report_w.as_raw_fd(),
        go_join: join_r.as_raw_fd(),
        go_exec: exec_r.as_raw_fd(),
        abort: abort_r.as_raw_fd(),
        restorer_ends: [
            report_r.as_raw_fd(),
            join_w.as_raw_fd(),
            exec_w.as_raw_fd(),
            abort_w.as_raw_fd(),
        ],
        root,
    };
    let scoped = vmtree::scope(n, |vm| {
        let forked = vm.spawn(
            root,
            nodes[root].flags,
            &nodes[root].set_tid,
            true,
            tree_process,
            (&side, root),
        );
        drop(blocked);
        // The tree processes hold their own copies: end-of-file on the report pipe must
        // mean that all of them exec'd or ended.
        drop(report_w);
        drop(join_r);
        drop(exec_r);
        drop(abort_r);
        let forked = match forked {
            Ok(f) => f,
            Err(e) => return Err(RestoreError::Refused(clone_failure(m, tree, root, e))),
        };
        let mut pidfds: Vec<Option<OwnedFd>> = (0..n).map(|_| None).collect();
        pidfds[root] = forked.pidfd;
        let mut restorer = Restorer {
            m,
            tree,
            n,
            report_r: Some(report_r),
            epoll: &epoll,
            join_w: Some(join_w),
            exec_w: Some(exec_w),
            abort_w: Some(abort_w),
            pidfds,
            buf: Vec::new(),
        };
        if let Some(fd) = &restorer.pidfds[root] {
            restorer
                .watch(root, fd)
                .map_err(|e| RestoreError::Failed(restorer.restorer_failure("epoll_ctl", e)))?;
        }
        if let Err(f) = restorer.build() {
            restorer.abort();
            return Err(RestoreError::Failed(f));
        }
        // Exec phase: every process closes its report end when it execs (or exits after a
        // failed exec, having reported it).
        if let Some(f) = restorer.collect_exec_failures() {
            let procs = std::mem::take(&mut restorer.pidfds)
                .into_iter()
                .enumerate()
                .filter_map(|(i, fd)| fd.map(|fd| (m.processes[i].pids[0], fd)))
                .collect();
            sweep::kill_tree(procs, m.processes[root].pids[0]);
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
    });
    match scoped {
        Ok(r) => r,
        Err(e) => Err(os(
            "mmap of the tree's stacks",
            rustix::io::Errno::from_raw_os_error(e.0),
        )),
    }
}

/// The epoll key of the report pipe; process `i`'s pidfd has key `i + 1`.
const REPORT_KEY: u64 = 0;

struct Restorer<'a> {
    m: &'a Manifest,
    tree: &'a CheckedTree,
    n: usize,
    /// The report pipe's read end; closed on abort (see [`Restorer::abort`]).
    report_r: Option<OwnedFd>,
    epoll: &'a OwnedFd,
    join_w: Option<OwnedFd>,
    exec_w: Option<OwnedFd>,
    /// Kept open until every process has passed the exec gate: its end-of-file means abort.
    abort_w: Option<OwnedFd>,
    pidfds: Vec<Option<OwnedFd>>,
    buf: Vec<u8>,
}

impl Restorer<'_> {
    fn watch(&self, i: usize, fd: &OwnedFd) -> rustix::io::Result<()> {
        rustix::event::epoll::add(
            self.epoll,
            fd,
            rustix::event::epoll::EventData::new_u64(i as u64 + 1),
            rustix::event::epoll::EventFlags::IN,
        )
    }

    /// Phases 1 and 2: until every process has joined its group and the exec bytes are sent.
    fn build(&mut self) -> Result<(), Failure> {
        let (mut ready, mut joined) = (0usize, 0usize);
        let mut phase = Phase::Create;
        let mut events = Vec::with_capacity(64);
        loop {
            events.clear();
            match rustix::event::epoll::wait(self.epoll, spare_capacity(&mut events), None) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(self.restorer_failure("epoll_wait", e)),
            }
            let report_ready = events.iter().any(|e| e.data.u64() == REPORT_KEY);
            let died: Option<usize> = events
                .iter()
                .map(|e| e.data.u64())
                .find(|&k| k != REPORT_KEY)
                .map(|k| k as usize - 1);
            // Reports first: a failure report explains a death that follows it.
            if report_ready {
                let mut chunk = [0u8; 4096];
                let got = match self.read_reports(&mut chunk) {
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
                            self.watch(rec.index, &fd)
                                .map_err(|e| self.restorer_failure("epoll_ctl", e))?;
                            self.pidfds[rec.index] = Some(fd);
                        }
                        REC_READY => {
                            ready += 1;
                            if ready == self.n {
                                self.join_root()?;
                                signal_byte(self.join_w.as_ref().unwrap().as_fd(), GO_JOIN)
                                    .map_err(|e| self.restorer_failure("write", e))?;
                                phase = Phase::Join;
                            }
                        }
                        REC_JOINED => {
                            joined += 1;
                            if joined == self.n {
                                signal_byte(self.exec_w.as_ref().unwrap().as_fd(), GO_EXEC)
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
            if let Some(i) = died {
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

    fn read_reports(&self, chunk: &mut [u8]) -> rustix::io::Result<usize> {
        let Some(r) = &self.report_r else {
            return Ok(0);
        };
        rustix::io::retry_on_intr(|| rustix::io::read(r, &mut *chunk))
    }

    /// Phases 1–2 failed: tell every process to abort and wait until the root, which reaps
    /// its children after they reaped theirs, is gone.
    ///
    /// The report pipe is closed first: from now on nobody reads it, and a tree process
    /// blocked writing a report into a full pipe (many processes report at once, the restorer
    /// lags behind) would never get to read its abort byte, nor its parent to reap it. Closed,
    /// every pending and later write fails at once (`EPIPE`; `SIGPIPE` is blocked in the tree
    /// until exec) and the process goes on to abort.
    fn abort(&mut self) {
        self.report_r = None;
        if let Some(w) = self.abort_w.take() {
            let _ = signal_byte(w.as_fd(), ABORT);
        }
        self.join_w = None;
        self.exec_w = None;
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
            match self.read_reports(&mut chunk) {
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
        // Every process has exec'd or ended: none waits on the abort pipe any more.
        self.abort_w = None;
        first
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
        Errno::EPERM => (Some(0), eperm_cause(p.new_pid_ns)),
        Errno::ENOSYS => (
            None,
            "clone3 failed with ENOSYS: choosing PIDs needs clone3 (Linux 5.5 for set_tid), \
             which this kernel or a seccomp filter refuses; clone(2) cannot choose PIDs"
                .to_string(),
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

/// Why clone3 said EPERM. Without the capabilities that is the cause; with them (root has
/// both), it is not: a seccomp filter answering EPERM (container runtimes, systemd's
/// `SystemCallFilter=`), an LSM, or capabilities held in a user namespace that does not own
/// the restorer's pid namespace.
fn eperm_cause(new_pid_ns: bool) -> String {
    // The calling thread's: seccomp filters and capabilities are per thread.
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let caps = field("CapEff:")
        .and_then(|h| u64::from_str_radix(&h, 16).ok())
        .unwrap_or(0);
    let has = |c: u32| caps & (1u64 << c) != 0;
    let enough =
        (has(CAP_SYS_ADMIN) || has(CAP_CHECKPOINT_RESTORE)) && (!new_pid_ns || has(CAP_SYS_ADMIN));
    if !enough {
        return format!(
            "clone3 failed with EPERM: choosing the PID at level 0 needs CAP_CHECKPOINT_RESTORE \
             or CAP_SYS_ADMIN in the user namespace that owns the restorer's pid namespace{}",
            if new_pid_ns {
                ", and starting a pid namespace needs CAP_SYS_ADMIN"
            } else {
                ""
            }
        );
    }
    let seccomp = field("Seccomp:").unwrap_or_default();
    if seccomp != "0" && !seccomp.is_empty() {
        format!(
            "clone3 failed with EPERM although the restorer has the capabilities it needs: a \
             seccomp filter is in force (Seccomp: {seccomp} in /proc/thread-self/status) and refuses \
             clone3 or its flags; run the restore outside that filter"
        )
    } else {
        "clone3 failed with EPERM although the restorer has the capabilities it needs in its \
         own user namespace: they count only in the user namespace that owns the restorer's \
         pid namespace, or a security module (LSM) refused"
            .to_string()
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
