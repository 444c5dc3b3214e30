//! How the child tells the parent which setup step failed (see [`SpawnError`]).

use crate::errno::Errno;
use std::fmt;
use std::io;

/// A step of the child's setup between clone and exec, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Waiting for the parent to write the user-namespace id maps (handshake spawn).
    Handshake,
    /// Writing `/proc/self/timens_offsets` (time-namespace offsets).
    TimeOffsets,
    /// Setting the propagation of every mount (`mount(NULL, "/", NULL, MS_REC|MS_…)`).
    MountPropagation,
    /// Changing root with `chroot(2)`.
    Chroot,
    /// Changing root with `pivot_root(2)`.
    PivotRoot,
    /// Mounting a fresh `proc`.
    MountProc,
    /// `sethostname()`.
    Sethostname,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`.
    NoNewPrivs,
    /// `prctl(PR_SET_PDEATHSIG)`.
    DieWithParent,
    /// The parent was gone by the time the death signal was armed.
    ParentGone,
    /// Resetting signal dispositions (`rt_sigaction`).
    ResetSignals,
    /// `setsid()`.
    Setsid,
    /// `setpgid()`.
    Setpgid,
    /// Moving a descriptor to its number in the child (stdio, `fd_map`).
    MapFd,
    /// `setgroups()`.
    Setgroups,
    /// `setgid()`.
    Setgid,
    /// `setuid()`.
    Setuid,
    /// `chdir()` to the requested working directory.
    Chdir,
    /// Setting the child's signal mask (`rt_sigprocmask`).
    SignalMask,
    /// A `pre_exec` hook returned an error.
    PreExec,
    /// `execve()`.
    Execve,
    /// `setns()` into a target's namespaces (`enter`).
    Setns,
    /// `fchdir()` + `chroot(".")` into a target's root directory (`enter`).
    EnterRoot,
    /// `fchdir()` into a target's working directory (`enter`).
    EnterDir,
    /// Building a sandbox's file tree (binds, tmpfs, devices, links, files, pivot_root).
    Filesystem,
    /// Setting a resource limit (`prlimit64`).
    Rlimit,
    /// Keeping only the sandbox's capabilities (bounding, permitted, effective,
    /// inheritable, ambient).
    Capabilities,
    /// Installing a seccomp filter (after `no_new_privs`).
    Seccomp,
    /// Waiting on a sandbox's blocking descriptor (`--block-fd`, `--userns-block-fd`).
    Block,
    /// Bringing the new network namespace's loopback interface up
    /// ([`Sandbox::loopback_up`](crate::isolate::sandbox::Sandbox::loopback_up)).
    Loopback,
    /// The sandbox's init at PID 1 ([`Sandbox::init`](crate::isolate::sandbox::Sandbox::init)):
    /// its signalfd, or the clone of the program's process.
    Init,
    /// The user namespace the child nests in its own after the file tree
    /// ([`Sandbox::nested_user_ns`](crate::isolate::sandbox::Sandbox::nested_user_ns)):
    /// `unshare(CLONE_NEWUSER)` or one of the maps it writes for itself.
    NestedUserNs,
}

impl Step {
    /// Every step, in declaration order (the position is [`Step::code`]).
    const ALL: [Step; 32] = [
        Step::Handshake,
        Step::TimeOffsets,
        Step::MountPropagation,
        Step::Chroot,
        Step::PivotRoot,
        Step::MountProc,
        Step::Sethostname,
        Step::NoNewPrivs,
        Step::DieWithParent,
        Step::ParentGone,
        Step::ResetSignals,
        Step::Setsid,
        Step::Setpgid,
        Step::MapFd,
        Step::Setgroups,
        Step::Setgid,
        Step::Setuid,
        Step::Chdir,
        Step::SignalMask,
        Step::PreExec,
        Step::Execve,
        Step::Setns,
        Step::EnterRoot,
        Step::EnterDir,
        Step::Filesystem,
        Step::Rlimit,
        Step::Capabilities,
        Step::Seccomp,
        Step::Block,
        Step::Loopback,
        Step::Init,
        Step::NestedUserNs,
    ];

    /// A number for the step, for reports that cross a process boundary (a pipe).
    pub(crate) fn code(self) -> u32 {
        self as u32
    }

    /// The step of a [`Step::code`].
    pub(crate) fn from_code(code: u32) -> Option<Step> {
        Self::ALL.get(code as usize).copied()
    }

    /// The system call or action, as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Handshake => "waiting for the id maps",
            Step::TimeOffsets => "write",
            Step::MountPropagation => "mount propagation",
            Step::Chroot => "chroot",
            Step::PivotRoot => "pivot_root",
            Step::MountProc => "mount proc",
            Step::Sethostname => "sethostname",
            Step::NoNewPrivs => "prctl PR_SET_NO_NEW_PRIVS",
            Step::DieWithParent => "prctl PR_SET_PDEATHSIG",
            Step::ParentGone => "die-with-parent",
            Step::ResetSignals => "rt_sigaction",
            Step::Setsid => "setsid",
            Step::Setpgid => "setpgid",
            Step::MapFd => "dup3",
            Step::Setgroups => "setgroups",
            Step::Setgid => "setgid",
            Step::Setuid => "setuid",
            Step::Chdir => "chdir",
            Step::SignalMask => "rt_sigprocmask",
            Step::PreExec => "pre_exec hook",
            Step::Execve => "execve",
            Step::Setns => "setns",
            Step::EnterRoot => "chroot",
            Step::EnterDir => "fchdir",
            Step::Filesystem => "sandbox",
            Step::Rlimit => "prlimit",
            Step::Capabilities => "capabilities",
            Step::Seccomp => "seccomp",
            Step::Block => "read",
            Step::Loopback => "loopback",
            Step::Init => "init",
            Step::NestedUserNs => "nested user namespace",
        }
    }
}

/// The slot the child writes. `index` says which item of the step failed (the fd mapping,
/// the hook, the exec candidate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    pub failure: Option<(Step, i32)>,
    pub index: usize,
}

impl Report {
    /// Records a failure. Callable in the child: a plain store.
    #[inline(always)]
    pub fn fail(&mut self, step: Step, index: usize, errno: i32) {
        self.failure = Some((step, errno));
        self.index = index;
    }
}

/// A failure of the child between clone and exec: which step, what it was working on, and
/// the errno. [`Command`](super::Command)'s `spawn`/`status`/`output`/`exec` return the bare OS
/// error, as std's, and keep this on the command
/// ([`Command::last_spawn_error`](super::Command::last_spawn_error)); [`Enter::spawn`](crate::enter::Enter::spawn) carries it
/// inside the [`io::Error`] it returns (`err.get_ref()` and downcast, or
/// [`SpawnError::from_io`]).
///
/// A spawn clones with `CLONE_VM | CLONE_VFORK`: the child writes into the parent's memory,
/// and the parent resumes only after the child exec'd or exited. So the report is a slot in
/// the plan — no pipe, no extra system call. The child fills it in just before it exits;
/// after a successful exec it stays empty.
///
/// In the handshake variant (the parent writes user-namespace id maps while the child waits)
/// the parent runs on, and learns that the child exec'd or exited from the end of file on a
/// close-on-exec socket; the slot stays the place where the failure is described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpawnError {
    step: Step,
    detail: String,
    errno: Errno,
    hint: Option<&'static str>,
}

impl SpawnError {
    pub(crate) fn new(step: Step, detail: String, errno: i32) -> Self {
        SpawnError {
            step,
            detail,
            errno: Errno(errno),
            hint: crate::isolate::hint(step, errno),
        }
    }

    pub(crate) fn with_hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// The usual cause of this failure and what to do, where there is one to give (for the
    /// isolation steps).
    pub fn hint(&self) -> Option<&'static str> {
        self.hint
    }

    /// The step of the child's setup that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// What the step was working on (`/nope` for a chdir, `./x` for an execve), possibly
    /// empty.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The errno of the failed system call.
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// The `SpawnError` inside an `io::Error` returned by `spawn`, if it is one.
    pub fn from_io(e: &io::Error) -> Option<&SpawnError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<SpawnError>())
    }

    /// Whether this is the classic "command not found" (execve failed with `ENOENT`).
    pub fn is_not_found(&self) -> bool {
        self.step == Step::Execve && self.errno == Errno::ENOENT
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.step.name())?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        write!(f, ": {}", self.errno.message())?;
        if let Some(h) = self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpawnError {}

impl From<SpawnError> for io::Error {
    fn from(e: SpawnError) -> Self {
        let kind = io::Error::from_raw_os_error(e.errno.0).kind();
        io::Error::new(kind, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (i, s) in Step::ALL.iter().enumerate() {
            assert_eq!(s.code() as usize, i);
            assert_eq!(Step::from_code(s.code()), Some(*s));
        }
        assert_eq!(Step::from_code(Step::ALL.len() as u32), None);
    }

    #[test]
    fn messages_and_kinds() {
        let e = SpawnError::new(Step::Chdir, "/nope".into(), libc::ENOENT);
        assert_eq!(e.to_string(), "chdir /nope: No such file or directory");
        let io: io::Error = e.clone().into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert_eq!(SpawnError::from_io(&io), Some(&e));
        let x = SpawnError::new(Step::Execve, "./x".into(), libc::EACCES);
        assert_eq!(x.to_string(), "execve ./x: Permission denied");
        assert_eq!(io::Error::from(x).kind(), io::ErrorKind::PermissionDenied);
    }
}
