//! The restorer: creates a checked process tree top-down with `clone3(2)` and `set_tid`, each
//! process creating its own children, then lets every process exec its program at once.
//!
//! How the processes of the tree cooperate: the private module `tree_side`. What is checked and
//! prepared before the first clone: the private module `prepare`.

use super::check::{check, CheckedTree, Limits};
use super::manifest::Manifest;
use super::prepare::{pid_holder, precheck_system, prepare};
use super::tree_side::{
    parse_records, ChildSide, NodePlan, ABORT, GO_EXEC, GO_JOIN, REC_CREATED, REC_FAILED,
    REC_JOINED, REC_READY,
};
use super::{Failure, ProcessRef, RestoreError, Step};
use crate::errno::Errno;
use crate::sys::fork::{fork_then, ForkSpec};
use crate::sys::signal::BlockAll;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{Pid, WaitId, WaitIdOptions};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// A running restored tree. The root is the caller's child: like `std::process::Child`,
/// dropping this without [`Restored::wait`] leaves the root a zombie once it ends, until the
/// caller exits.
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Create,
    Join,
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
        // No handler may run in a tree process before it resets them (CLEAR_SIGHAND) and
        // execs; the mask comes back in the restorer when the guard drops.
        let blocked = BlockAll::new()
            .map_err(|e| os("rt_sigprocmask", rustix::io::Errno::from_raw_os_error(e)))?;
        let mask = blocked.previous();
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
            ..Default::default()
        };
        let r = fork_then(&spec, || side.main(root));
        drop(blocked);
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
