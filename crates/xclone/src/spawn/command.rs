//! [`Command`]: a `std::process::Command` look-alike that spawns through clone3.
//!
//! The builder only records what is asked; `spawn::plan` turns it into what the child
//! needs, and nothing is checked or allocated for the child before `spawn`.

use super::child::{Child, Output};
use crate::args::CloneArgs;
use crate::fallback::FallbackPolicy;
use crate::isolate::sandbox::Sandbox;
use crate::isolate::{IdMaps, Isolation, Propagation, RootMode, TimeOffsets};
use crate::pidfd::ExitStatus;
use crate::sys::flags::CloneFlags;
use crate::sys::signal::SigSet;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

pub(crate) type Hook = Box<dyn FnMut() -> io::Result<()> + Send + Sync>;

/// Where a child's standard stream comes from or goes to. Also made from any descriptor:
/// `From<OwnedFd>`, `From<File>`, `From<std::io::PipeReader>`/`PipeWriter` (the `io-pipe`
/// feature: Rust 1.87), std's
/// `ChildStdin`/`ChildStdout`/`ChildStderr`, and `FromRawFd`, as std's.
pub struct Stdio(pub(crate) StdioKind);

impl fmt::Debug for Stdio {
    /// As std prints its `Stdio`: `Stdio { .. }`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdio").finish_non_exhaustive()
    }
}

impl StdioKind {
    /// The stream as std's `{:#?}` of a `Command` names it.
    fn std_debug(&self) -> String {
        match self {
            StdioKind::Inherit => "Inherit".into(),
            StdioKind::Null => "Null".into(),
            StdioKind::Piped => "MakePipe".into(),
            StdioKind::Fd(fd) => format!("Fd(FileDesc({fd:?}))"),
        }
    }
}

#[derive(Debug)]
pub(crate) enum StdioKind {
    Inherit,
    Null,
    Piped,
    Fd(OwnedFd),
}

impl Stdio {
    /// The child uses the parent's stream.
    pub fn inherit() -> Self {
        Stdio(StdioKind::Inherit)
    }

    /// `/dev/null`.
    pub fn null() -> Self {
        Stdio(StdioKind::Null)
    }

    /// A new pipe; the parent's end is in [`Child::stdin`]/`stdout`/`stderr`.
    pub fn piped() -> Self {
        Stdio(StdioKind::Piped)
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Self {
        Stdio(StdioKind::Fd(fd))
    }
}

impl From<File> for Stdio {
    fn from(f: File) -> Self {
        Stdio(StdioKind::Fd(f.into()))
    }
}

impl From<std::process::ChildStdin> for Stdio {
    fn from(s: std::process::ChildStdin) -> Self {
        Stdio(StdioKind::Fd(s.into()))
    }
}

impl From<std::process::ChildStdout> for Stdio {
    fn from(s: std::process::ChildStdout) -> Self {
        Stdio(StdioKind::Fd(s.into()))
    }
}

impl From<std::process::ChildStderr> for Stdio {
    fn from(s: std::process::ChildStderr) -> Self {
        Stdio(StdioKind::Fd(s.into()))
    }
}

/// As std's (Rust 1.87's `std::io::pipe`; the `io-pipe` feature).
#[cfg(feature = "io-pipe")]
#[clippy::msrv = "1.87"]
impl From<io::PipeReader> for Stdio {
    fn from(p: io::PipeReader) -> Self {
        Stdio(StdioKind::Fd(p.into()))
    }
}

/// As std's (Rust 1.87's `std::io::pipe`; the `io-pipe` feature).
#[cfg(feature = "io-pipe")]
#[clippy::msrv = "1.87"]
impl From<io::PipeWriter> for Stdio {
    fn from(p: io::PipeWriter) -> Self {
        Stdio(StdioKind::Fd(p.into()))
    }
}

impl From<io::Stdout> for Stdio {
    /// Like std: a copy of the parent's stdout descriptor (made at conversion time).
    fn from(s: io::Stdout) -> Self {
        match s.as_fd().try_clone_to_owned() {
            Ok(fd) => Stdio(StdioKind::Fd(fd)),
            Err(_) => Stdio::inherit(),
        }
    }
}

impl From<io::Stderr> for Stdio {
    fn from(s: io::Stderr) -> Self {
        match s.as_fd().try_clone_to_owned() {
            Ok(fd) => Stdio(StdioKind::Fd(fd)),
            Err(_) => Stdio::inherit(),
        }
    }
}

/// Environment changes, applied to a copy of the parent's environment (or to an empty one
/// after `env_clear`).
#[derive(Debug, Default, Clone)]
pub(crate) struct EnvChanges {
    pub clear: bool,
    pub vars: BTreeMap<OsString, Option<OsString>>,
}

/// A process builder with the interface of [`std::process::Command`] on Linux, plus the whole
/// of clone3 and the extras a process supervisor needs (pidfds, descriptors at chosen numbers,
/// die-with-parent, signal state).
///
/// # How it spawns
///
/// One `clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD)` onto a stack the parent mapped (with a
/// guard page), every signal blocked around it. The child shares the parent's memory until
/// it execs and runs only raw system calls on data prepared before the clone, so spawning is
/// safe in a multithreaded parent and costs the same for a 10 MiB and a 10 GiB parent —
/// with or without [`pre_exec_shared_memory`](Command::pre_exec_shared_memory) hooks.
/// [`pre_exec`](Command::pre_exec) keeps std's contract, and with it std's cost: its hooks
/// run in a fork-like child. A setup or exec failure in the child comes back from
/// [`spawn`](Command::spawn) as the bare OS error, as std's (`raw_os_error()`, `kind()`);
/// the step and what it worked on, e.g. `chdir /nope: No such file or directory`, are in
/// [`last_spawn_error`](Command::last_spawn_error) (a [`SpawnError`](super::SpawnError)).
///
/// Behaviour is std's wherever the names are std's, checked side by side by std's own process
/// tests (`docs/std-compat.md`).
///
/// [`status`](Command::status) and [`output`](Command::output), which wait for the child's
/// exit anyway, clone without `CLONE_VFORK` and `CLONE_PIDFD` (a *run-to-end spawn*): the
/// parent does not sleep until the exec but waits once, by PID, for the exit, and keeps the
/// stack and the plan the child's until then. That saves a wake-up and a pidfd per spawn.
///
/// Where clone3 is missing or filtered, the `clone(2)` fallback applies (see
/// [`FallbackPolicy`]).
///
/// As with std, `output` captures stdout and stderr, `status` lets the child use the caller's,
/// and `spawn` returns a [`Child`](crate::Child) at once:
///
/// ```
/// use xclone::Command;
/// let out = Command::new("echo").arg("hello").output()?;
/// assert_eq!(out.stdout, b"hello\n");
///
/// let status = Command::new("sh").args(["-c", "exit 3"]).env("LC_ALL", "C").status()?;
/// assert_eq!(status.code(), Some(3));
///
/// // A program that cannot be started is an error of the spawn, with the kernel's errno
/// // (the child's execve failed), not an exit status.
/// let err = Command::new("/nonexistent/program").status().unwrap_err();
/// assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Command {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: EnvChanges,
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) stdin: Option<Stdio>,
    pub(crate) stdout: Option<Stdio>,
    pub(crate) stderr: Option<Stdio>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) groups: Option<Vec<u32>>,
    pub(crate) pgroup: Option<i32>,
    pub(crate) setsid: bool,
    pub(crate) hooks: Vec<Hook>,
    /// A hook was added with [`pre_exec`](Command::pre_exec) (std's contract): spawns are
    /// fork-like.
    pub(crate) fork_hooks: bool,
    /// The child's failure in the last spawn, see [`Command::last_spawn_error`].
    pub(crate) last_failure: Option<super::SpawnError>,
    pub(crate) flags: CloneFlags,
    pub(crate) exit_signal: u64,
    pub(crate) set_tid: Vec<i32>,
    pub(crate) cgroup: Option<OwnedFd>,
    pub(crate) fd_maps: Vec<(OwnedFd, RawFd)>,
    pub(crate) signal_mask: Option<SigSet>,
    pub(crate) reset_ignored_signals: bool,
    pub(crate) death_signal: Option<i32>,
    pub(crate) kill_on_drop: bool,
    pub(crate) fallback: FallbackPolicy,
    pub(crate) isolation: Isolation,
    pub(crate) sandbox: Sandbox,
    pub(crate) program_fd: Option<OwnedFd>,
    /// A builder error reported by every `spawn` (as std does for NUL bytes).
    pub(crate) deferred: Option<(io::ErrorKind, String)>,
}

/// `"…"` with the bytes escaped as std prints a `CStr` (program, arguments and working
/// directory are C strings in std's `Command`).
fn c_debug(s: &OsStr) -> String {
    use std::fmt::Write;
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::from("\"");
    // Valid UTF-8 escaped as chars are (quotes of both kinds included), other bytes as \xNN.
    for chunk in s.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            let _ = write!(out, "{}", c.escape_debug());
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// A value whose `Debug` is the given text.
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// std's `CommandEnv` as its `Debug` shows it.
struct EnvDebug<'a>(&'a EnvChanges);

impl fmt::Debug for EnvDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandEnv")
            .field("clear", &self.0.clear)
            .field("vars", &self.0.vars)
            .finish()
    }
}

impl fmt::Debug for Command {
    /// As std's on Unix. `{:?}` is shell-like: `cd "/dir" && env -u GONE A="1"
    /// "program" "arg"` (with `[program] ` first when `argv[0]` differs from it). `{:#?}`
    /// lists std's fields as std does (only those that are set; `create_pidfd` is std's own
    /// unstable option and always `false` here), followed by the clone3, isolation and
    /// supervision settings of this `Command` that differ from their defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            let mut d = f.debug_struct("Command");
            d.field("program", &Shown(c_debug(&self.program)));
            let args: Vec<Shown> = self.args.iter().map(|a| Shown(c_debug(a))).collect();
            d.field("args", &args);
            if self.env.clear || !self.env.vars.is_empty() {
                d.field("env", &EnvDebug(&self.env));
            }
            if let Some(cwd) = &self.cwd {
                d.field("cwd", &Some(Shown(c_debug(cwd.as_os_str()))));
            }
            if self.uid.is_some() {
                d.field("uid", &self.uid);
            }
            if self.gid.is_some() {
                d.field("gid", &self.gid);
            }
            if self.groups.is_some() {
                d.field("groups", &self.groups);
            }
            for (name, s) in [
                ("stdin", &self.stdin),
                ("stdout", &self.stdout),
                ("stderr", &self.stderr),
            ] {
                if let Some(s) = s {
                    d.field(name, &Some(Shown(s.0.std_debug())));
                }
            }
            if self.pgroup.is_some() {
                d.field("pgroup", &self.pgroup);
            }
            d.field("create_pidfd", &false);
            // xclone's own settings, where they are not the defaults.
            if self.setsid {
                d.field("setsid", &self.setsid);
            }
            if !self.flags.is_empty() {
                d.field("flags", &self.flags);
            }
            if self.exit_signal != libc::SIGCHLD as u64 {
                d.field("exit_signal", &self.exit_signal);
            }
            if !self.set_tid.is_empty() {
                d.field("set_tid", &self.set_tid);
            }
            if self.cgroup.is_some() {
                d.field("cgroup", &self.cgroup);
            }
            if !self.fd_maps.is_empty() {
                d.field("fd_maps", &self.fd_maps);
            }
            if self.signal_mask.is_some() {
                d.field("signal_mask", &self.signal_mask);
            }
            if !self.hooks.is_empty() {
                d.field("pre_exec_hooks", &self.hooks.len());
            }
            if self.isolation != Isolation::default() {
                d.field("isolation", &self.isolation);
            }
            if self.program_fd.is_some() {
                d.field("program_fd", &self.program_fd);
            }
            if !self.sandbox.is_empty() {
                d.field("sandbox", &self.sandbox);
            }
            d.finish()
        } else {
            if let Some(cwd) = &self.cwd {
                write!(f, "cd {} && ", c_debug(cwd.as_os_str()))?;
            }
            if self.env.clear {
                f.write_str("env -i ")?;
            } else {
                let mut removed = self.env.vars.iter().filter(|(_, v)| v.is_none());
                if let Some((first, _)) = removed.next() {
                    write!(f, "env -u {} ", first.to_string_lossy())?;
                    for (k, _) in removed {
                        write!(f, "-u {} ", k.to_string_lossy())?;
                    }
                }
            }
            for (k, v) in &self.env.vars {
                if let Some(v) = v {
                    write!(f, "{}={v:?} ", k.to_string_lossy())?;
                }
            }
            if self.program != self.args[0] {
                write!(f, "[{}] ", c_debug(&self.program))?;
            }
            f.write_str(&c_debug(&self.args[0]))?;
            // As std: the arguments after `argv[0]` as `OsStr`s (`get_args`), not C strings.
            for a in &self.args[1..] {
                write!(f, " {a:?}")?;
            }
            Ok(())
        }
    }
}

/// The environment changes of a [`Command`], as [`Command::get_envs`] returns them (std's
/// `CommandEnvs`): sorted by name, `None` for a removal; an exact length.
#[derive(Debug)]
pub struct CommandEnvs<'a> {
    iter: std::collections::btree_map::Iter<'a, OsString, Option<OsString>>,
}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);

    fn next(&mut self) -> Option<Self::Item> {
        self.iter.next().map(|(k, v)| (k.as_os_str(), v.as_deref()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl ExactSizeIterator for CommandEnvs<'_> {
    fn len(&self) -> usize {
        self.iter.len()
    }
}

impl From<std::process::Command> for Command {
    /// Carries over what std lets one read back: the program, the arguments, the
    /// environment changes (set and removed variables) and the working directory.
    ///
    /// std offers no way to read the rest, which is therefore *not* carried: `env_clear`
    /// (a cleared environment comes over as the variables set after it, on top of the
    /// parent's environment), `stdin`/`stdout`/`stderr`, and the Unix extensions (`arg0`,
    /// `uid`, `gid`, `groups`, `process_group`, `pre_exec` hooks). Set those again on the
    /// result.
    fn from(c: std::process::Command) -> Self {
        let mut x = Command::new(c.get_program());
        x.args(c.get_args());
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => x.env(k, v),
                None => x.env_remove(k),
            };
        }
        if let Some(d) = c.get_current_dir() {
            x.current_dir(d);
        }
        x
    }
}

impl Command {
    /// A command running `program`: found through `PATH` when it contains no `/` (the child's
    /// `PATH` when the environment was changed, else the parent's; `/bin:/usr/bin` when
    /// unset), else taken as a path (relative to the child's working directory).
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        let program = program.as_ref().to_os_string();
        Command {
            args: vec![program.clone()],
            program,
            env: EnvChanges::default(),
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            uid: None,
            gid: None,
            groups: None,
            pgroup: None,
            setsid: false,
            hooks: Vec::new(),
            fork_hooks: false,
            last_failure: None,
            flags: CloneFlags::empty(),
            exit_signal: libc::SIGCHLD as u64,
            set_tid: Vec::new(),
            cgroup: None,
            fd_maps: Vec::new(),
            signal_mask: None,
            reset_ignored_signals: false,
            death_signal: None,
            kill_on_drop: false,
            fallback: FallbackPolicy::Auto,
            isolation: Isolation::default(),
            sandbox: Sandbox::default(),
            program_fd: None,
            deferred: None,
        }
    }

    fn defer(&mut self, kind: io::ErrorKind, msg: String) {
        if self.deferred.is_none() {
            self.deferred = Some((kind, msg));
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self.arg(a);
        }
        self
    }

    /// The child's `argv[0]` (default: the program as given). As
    /// `std::os::unix::process::CommandExt::arg0`.
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Self {
        self.args[0] = arg0.as_ref().to_os_string();
        self
    }

    /// Sets a variable in the child's environment.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Self {
        self.env.vars.insert(
            key.as_ref().to_os_string(),
            Some(val.as_ref().to_os_string()),
        );
        self
    }

    /// Sets several variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes a variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref().to_os_string();
        if self.env.clear {
            self.env.vars.remove(&key);
        } else {
            self.env.vars.insert(key, None);
        }
        self
    }

    /// Starts the child's environment empty (variables set afterwards are kept).
    pub fn env_clear(&mut self) -> &mut Self {
        self.env.clear = true;
        self.env.vars.clear();
        self
    }

    /// The child's working directory (`chdir` in the child before exec).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The child's standard input (default: inherit; `output()`: `/dev/null`).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.stdin = Some(cfg.into());
        self
    }

    /// The child's standard output (default: inherit; `output()`: piped).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.stdout = Some(cfg.into());
        self
    }

    /// The child's standard error (default: inherit; `output()`: piped).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Self {
        self.stderr = Some(cfg.into());
        self
    }

    /// The child's user ID (`setuid` in the child). As std, a root parent that sets a uid
    /// without [`groups`](Command::groups) also drops its supplementary groups.
    pub fn uid(&mut self, uid: u32) -> &mut Self {
        self.uid = Some(uid);
        self
    }

    /// The child's group ID (`setgid` in the child).
    pub fn gid(&mut self, gid: u32) -> &mut Self {
        self.gid = Some(gid);
        self
    }

    /// The child's supplementary groups (`setgroups` in the child).
    pub fn groups(&mut self, groups: &[u32]) -> &mut Self {
        self.groups = Some(groups.to_vec());
        self
    }

    /// Puts the child in process group `pgroup` (0: a new group led by the child), as
    /// `CommandExt::process_group`.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Self {
        self.pgroup = Some(pgroup);
        self
    }

    /// Makes the child the leader of a new session (`setsid` in the child).
    pub fn setsid(&mut self, on: bool) -> &mut Self {
        self.setsid = on;
        self
    }

    /// Runs `f` in the child after its setup (descriptors, identity, working directory,
    /// signal state) and just before exec, with std's contract
    /// (`std::os::unix::process::CommandExt::pre_exec`, whose trait is sealed). Hooks run in
    /// the order they were added.
    ///
    /// As with std, once a hook is set the child is *fork-like*: it runs in its own copy of
    /// the parent's memory (the C library's `fork()`, or clone3 without `CLONE_VM` when
    /// namespace flags, another exit signal or `set_tid` are asked for), so what `f` writes
    /// is not seen by the parent, and a panic in `f` aborts the child only (`SIGABRT`, seen
    /// in its status; `spawn` itself succeeds, as with std). An error `f` returns fails the
    /// spawn with its OS error (`EINVAL` when it has none). The spawn then costs what a fork
    /// costs, growing with the parent's memory; [`pre_exec_shared_memory`] keeps the O(1)
    /// spawn for hooks that keep its stricter rules. Requests a fork-like child cannot carry
    /// (`CLONE_PARENT`, `CLONE_INTO_CGROUP`, …) make `spawn` fail with `InvalidInput`.
    ///
    /// # Safety
    /// As std's: the child of a multithreaded parent is a copy of the spawning thread only,
    /// so `f` should be async-signal-safe. The C library's fork handlers make allocation work
    /// in practice (glibc), but locks held by other threads (a `Mutex`, the environment
    /// lock) stay held in the child, and `f` must not use them. When the fork is made with
    /// clone3 (namespace flags, `set_tid`, another exit signal) those handlers do not run:
    /// `f` must not allocate then either.
    ///
    /// [`pre_exec_shared_memory`]: Command::pre_exec_shared_memory
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        self.hooks.push(Box::new(f));
        self.fork_hooks = true;
        self
    }

    /// Runs `f` in the child just before exec, like [`pre_exec`](Command::pre_exec) but in
    /// the parent's memory: the spawn stays the O(1) `CLONE_VM | CLONE_VFORK` clone, whatever
    /// the parent's size. Hooks of both kinds run in the order they were added; with any
    /// [`pre_exec`](Command::pre_exec) hook among them the spawn is fork-like and these run
    /// there too (where their rules are more than enough).
    ///
    /// # Safety
    /// Stricter than `pre_exec`'s. The child shares the parent's memory (`CLONE_VM`) while
    /// the spawning thread waits, and runs on that thread's TLS. `f` must:
    /// - not allocate or free memory, take locks (those inside `println!`, `malloc`,
    ///   `std::env`, a `Mutex`), or format;
    /// - not panic (an unwinding panic in the child would run the parent's destructors in
    ///   its memory) — `spawn` cannot catch it;
    /// - make only raw or async-signal-safe system calls; `errno` it sets is the spawning
    ///   thread's;
    /// - expect what it writes to memory to be seen by the parent.
    ///
    /// In a handshake spawn ([`id_maps`](Command::id_maps)) the spawning thread does not
    /// sleep but writes the maps meanwhile: `f` must then also leave alone any memory that
    /// thread may use, and must not close descriptors it did not open (the spawner learns
    /// that the child exec'd from one of them closing). An error returned with an OS error
    /// code fails the spawn with it (step "pre_exec hook"); other errors as `EINVAL` —
    /// leaked, not dropped, since dropping a custom error frees memory.
    pub unsafe fn pre_exec_shared_memory<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        self.hooks.push(Box::new(f));
        self
    }

    /// The child's failure between clone and exec in the last `spawn`, `status`, `output` or
    /// `exec` of this command: which step, on what, with which errno, and a hint where there
    /// is one. The `io::Error` those return carries only the OS error, as std's does (its
    /// `raw_os_error()` and `kind()`); this keeps the rest. `None` after a success or a
    /// failure before the child existed.
    pub fn last_spawn_error(&self) -> Option<&super::SpawnError> {
        self.last_failure.as_ref()
    }

    // --- clone3 ---

    /// Takes the flags, exit signal, `set_tid` and cgroup of a [`CloneArgs`]. Pointer-valued
    /// fields (stack, TLS, TID pointers) cannot be used with a spawn: a request that sets
    /// them makes `spawn` fail.
    pub fn clone_args(&mut self, args: &CloneArgs<'_>) -> &mut Self {
        self.flags = args.get_flags();
        self.exit_signal = args.get_exit_signal();
        self.set_tid = args.get_set_tid().to_vec();
        if let Some(fd) = args.get_cgroup() {
            match fd.try_clone_to_owned() {
                Ok(fd) => self.cgroup = Some(fd),
                Err(e) => self.defer(e.kind(), format!("copying the cgroup descriptor: {e}")),
            }
        }
        let (stack, stack_size) = args.get_stack();
        if stack != 0 || stack_size != 0 || args.get_parent_tid() != 0 || args.get_child_tid() != 0
        {
            self.defer(
                io::ErrorKind::InvalidInput,
                "a spawn maps the child's stack itself and cannot use stack, TLS or TID pointers"
                    .into(),
            );
        }
        self
    }

    /// Sets the clone flag word. `CLONE_VM`, `CLONE_VFORK` and `CLONE_PIDFD` are always added;
    /// flags that would let the child's setup change the parent (`CLONE_FILES`, `CLONE_FS`,
    /// `CLONE_SIGHAND`, `CLONE_THREAD`) or write through pointers (`CLONE_SETTLS`,
    /// `CLONE_*_SETTID`, `CLONE_CHILD_CLEARTID`) make `spawn` fail with `InvalidInput`.
    pub fn flags(&mut self, flags: CloneFlags) -> &mut Self {
        self.flags = flags;
        self
    }

    /// Adds clone flags.
    pub fn add_flags(&mut self, flags: CloneFlags) -> &mut Self {
        self.flags |= flags;
        self
    }

    /// The signal the parent receives when the child exits (default `SIGCHLD`; 0 for none).
    /// Waiting works whatever it is (`__WALL`).
    ///
    /// Exec resets a process's exit signal to `SIGCHLD` (`de_thread()`, fs/exec.c), so for a
    /// spawned program this is the clone request (what [`Command::get_clone_args`] and the
    /// validator see) rather than what its end sends. A child that fails before exec is
    /// reaped by the spawn, which reports the error: the spawn therefore clones with
    /// `SIGCHLD` for any valid signal, so that a failed spawn never signals the caller
    /// (`SIGTRAP` would kill it, `SIGSTOP` stop it for good).
    pub fn exit_signal(&mut self, signal: u64) -> &mut Self {
        self.exit_signal = signal;
        self
    }

    /// The child's PIDs, innermost pid namespace first (`set_tid`, Linux 5.5).
    pub fn set_tid(&mut self, pids: &[i32]) -> &mut Self {
        self.set_tid = pids.to_vec();
        self
    }

    /// Creates the child directly in this cgroup2 directory (`CLONE_INTO_CGROUP`, Linux 5.7).
    pub fn into_cgroup(&mut self, dir: OwnedFd) -> &mut Self {
        self.cgroup = Some(dir);
        self.flags |= CloneFlags::INTO_CGROUP;
        self
    }

    /// Resets handled signals to their defaults with `CLONE_CLEAR_SIGHAND` — explicitly, so
    /// the clone(2) fallback refuses the request. (Without it the reset is done anyway, by
    /// the kernel where it can, else by the child.)
    pub fn clear_sighand(&mut self, on: bool) -> &mut Self {
        self.flags.set(CloneFlags::CLEAR_SIGHAND, on);
        self
    }

    /// Makes parent descriptor `parent` appear as `child_fd` in the child (like the
    /// command-fds crate). The descriptor is kept by the command and copied at every spawn.
    /// Mappings onto 0, 1 or 2 conflict with an explicit `stdin`/`stdout`/`stderr`.
    pub fn fd_map(&mut self, parent: impl Into<OwnedFd>, child_fd: RawFd) -> &mut Self {
        if child_fd < 0 {
            self.defer(
                io::ErrorKind::InvalidInput,
                format!("fd_map: child descriptor {child_fd} is negative"),
            );
        }
        self.fd_maps.push((parent.into(), child_fd));
        self
    }

    /// The signals blocked in the child when it execs. Default: the mask of the thread that
    /// spawns, inherited as std does (and as `fork`/`posix_spawn` do); an empty list unblocks
    /// everything.
    pub fn signal_mask(&mut self, blocked: impl IntoIterator<Item = i32>) -> &mut Self {
        self.signal_mask = Some(SigSet::from_signals(blocked));
        self
    }

    /// Also resets *ignored* signals to their defaults in the child. Without it, handled
    /// signals are reset, `SIGPIPE` is reset (as std does), and other ignored signals stay
    /// ignored (as `execve` keeps them).
    pub fn reset_ignored_signals(&mut self, on: bool) -> &mut Self {
        self.reset_ignored_signals = on;
        self
    }

    /// Sends `signal` to the child when its parent dies (`PR_SET_PDEATHSIG`), armed race-free:
    /// after arming it the child checks that its parent is still the process that spawned it
    /// and exits with status 127 if not.
    ///
    /// The kernel sends the signal when the *thread* that spawned the child exits, not the
    /// process: spawn from a thread that lives as long as the child should. It is also cleared
    /// when the child execs a set-user-ID/set-group-ID program. In a new pid namespace
    /// (`CLONE_NEWPID`) the parent is invisible to the child (`getppid()` is 0), so the check
    /// cannot see a parent that died between clone and arming.
    pub fn die_with_parent(&mut self, signal: Option<i32>) -> &mut Self {
        self.death_signal = signal;
        self
    }

    /// Kill (`SIGKILL`) and reap the child when its [`Child`] is dropped without having been
    /// waited for. Off by default: as with std, dropping a `Child` does nothing to the process.
    pub fn kill_on_drop(&mut self, on: bool) -> &mut Self {
        self.kill_on_drop = on;
        self
    }

    /// What to do where clone3 is missing or filtered (default [`FallbackPolicy::Auto`]).
    pub fn clone3_fallback(&mut self, policy: FallbackPolicy) -> &mut Self {
        self.fallback = policy;
        self
    }

    // --- isolation (see crate::isolate) ---

    /// Everything beyond the clone flags at once (replaces what the single setters below
    /// recorded).
    pub fn isolation(&mut self, iso: Isolation) -> &mut Self {
        self.isolation = iso;
        self
    }

    /// The uid and gid maps (and `setgroups`) of the child's new user namespace
    /// (user_namespaces(7); needs `CLONE_NEWUSER`).
    ///
    /// The parent writes them while the child waits, so the program starts with its ids
    /// mapped: the spawn becomes a *handshake spawn* — `CLONE_VM` without `CLONE_VFORK`, the
    /// child blocked on a socket until the parent has written `/proc/PID/setgroups`,
    /// `gid_map` and `uid_map` (or run `newuidmap`/`newgidmap` for ranges an unprivileged
    /// caller may not write itself; see [`MapPlan`](crate::isolate::MapPlan)) — and `spawn` returns
    /// once the child has exec'd. Like the vfork spawn it copies no memory.
    pub fn id_maps(&mut self, maps: IdMaps) -> &mut Self {
        self.isolation.id_maps = Some(maps);
        self
    }

    /// Offsets of `CLOCK_MONOTONIC` and `CLOCK_BOOTTIME` in the child's new time namespace
    /// (time_namespaces(7); needs `CLONE_NEWTIME`). The child writes them to
    /// `/proc/self/timens_offsets` before exec — a `CLONE_VM` child enters its new time
    /// namespace only at `execve` — so the program's first instruction sees them.
    pub fn time_offsets(&mut self, offsets: TimeOffsets) -> &mut Self {
        self.isolation.time_offsets = offsets;
        self
    }

    /// Propagation of every mount in the child's new mount namespace, set recursively on
    /// `/` (mount_namespaces(7); needs `CLONE_NEWNS`). Unset, mounts keep what they had
    /// (util-linux `unshare -m` makes them private; so does `xclone run -m`).
    pub fn mount_propagation(&mut self, p: Propagation) -> &mut Self {
        self.isolation.mounts.propagation = Some(p);
        self
    }

    /// Mounts a fresh `proc` on `dir` in the child (`nosuid,nodev,noexec`; needs
    /// `CLONE_NEWNS`). It shows the child's pid namespace: with `CLONE_NEWPID`, only the
    /// child's own tree. With [`root`](Self::root), `dir` is inside the new root.
    pub fn mount_proc(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.isolation.mounts.proc_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Changes the child's root directory to `dir` before exec, with `chroot(2)` or
    /// `pivot_root(2)` (the latter needs `CLONE_NEWNS`); the working directory becomes the
    /// new `/` (then [`current_dir`](Self::current_dir), if set, inside it). `PATH` search
    /// results are looked up inside the new root.
    pub fn root(&mut self, dir: impl AsRef<Path>, mode: RootMode) -> &mut Self {
        self.isolation.mounts.root = Some((dir.as_ref().to_path_buf(), mode));
        self
    }

    /// The host name in the child's new UTS namespace (`sethostname(2)`; needs
    /// `CLONE_NEWUTS`).
    pub fn hostname(&mut self, name: impl AsRef<OsStr>) -> &mut Self {
        self.isolation.hostname = Some(name.as_ref().to_os_string());
        self
    }

    /// Sets `no_new_privs` on the child (prctl(2)): with `CLONE_NNP` where the kernel has it
    /// (Linux 7.1, decided by [`Features::probe`](crate::Features::probe)), else by
    /// `prctl(PR_SET_NO_NEW_PRIVS)` in the child just before exec — the same for the program.
    pub fn no_new_privs(&mut self, on: bool) -> &mut Self {
        self.isolation.no_new_privs = on;
        self
    }

    /// Executes this open file (`execveat(fd, "", …, AT_EMPTY_PATH)`; an `O_PATH` descriptor
    /// will do) instead of looking the program up; `argv[0]` stays the program name. The
    /// file is then found even when the child's root or mounts changed.
    pub fn program_fd(&mut self, fd: OwnedFd) -> &mut Self {
        self.program_fd = Some(fd);
        self
    }

    /// The isolation recorded so far.
    pub fn get_isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// A bubblewrap-style sandbox: a new root built from mount operations, resource
    /// limits, the capabilities kept and seccomp filters, all carried out by the child
    /// before exec (see [`crate::isolate::sandbox`]). Replaces an earlier one.
    pub fn sandbox(&mut self, sandbox: Sandbox) -> &mut Self {
        self.sandbox = sandbox;
        self
    }

    /// The sandbox recorded so far.
    pub fn get_sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Whether `no_new_privs` goes through `CLONE_NNP` (else through `prctl` in the child).
    pub fn no_new_privs_by_flag(&self) -> bool {
        self.isolation.no_new_privs && crate::Features::probe().clone3_accepts(CloneFlags::NNP)
    }

    /// The flags of the clone request: the recorded ones, plus `CLONE_NNP` when it carries
    /// [`no_new_privs`](Self::no_new_privs).
    pub(crate) fn request_flags(&self) -> CloneFlags {
        if self.no_new_privs_by_flag() {
            self.flags | CloneFlags::NNP
        } else {
            self.flags
        }
    }

    /// Whether the spawn is a handshake spawn (`CLONE_VM` without `CLONE_VFORK`: the parent
    /// writes id maps while the child waits), see [`id_maps`](Self::id_maps).
    pub fn uses_handshake(&self) -> bool {
        self.isolation.needs_handshake() || self.sandbox.init
    }

    // --- getters ---

    /// The program as given to [`Command::new`] (looked up in `PATH` at spawn when it has
    /// no `/`).
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments after `argv[0]`.
    pub fn get_args(&self) -> impl ExactSizeIterator<Item = &OsStr> {
        self.args[1..].iter().map(OsString::as_os_str)
    }

    /// The explicit environment changes, sorted by name: `None` values are removals (as
    /// std's `get_envs`, with an exact `len()`).
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        CommandEnvs {
            iter: self.env.vars.iter(),
        }
    }

    /// The clone flags as recorded (without what the spawner adds).
    pub fn get_requested_flags(&self) -> CloneFlags {
        self.flags
    }

    /// The working directory set by [`current_dir`](Command::current_dir); `None`: the
    /// caller's.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// The clone3 request a spawn makes first (without the stack and pidfd pointers, which
    /// are filled in at the call): the recorded flags plus `CLONE_VM | CLONE_VFORK |
    /// CLONE_PIDFD` (without `CLONE_VFORK` for a [handshake spawn](Self::uses_handshake)),
    /// `CLONE_NNP` for [`no_new_privs`](Self::no_new_privs) where the kernel has it, and `CLONE_CLEAR_SIGHAND` unless this kernel is known to refuse it (then
    /// the child resets its handlers itself).
    pub fn get_clone_args(&self) -> CloneArgs<'_> {
        let mut a = CloneArgs::new()
            .flags(super::attempt_flags(
                self.request_flags(),
                self.uses_handshake(),
                false,
            ))
            .exit_signal(self.exit_signal)
            .set_tid(self.set_tid.clone());
        if let Some(fd) = &self.cgroup {
            a = a.cgroup(fd.as_fd());
        }
        a
    }

    /// Judges the clone this command would make, as the spawner makes it (with its own
    /// stack and pidfd slot), against `features` and `caller`: the same verdict
    /// `xclone explain` gives for these clone_args. Nothing is created.
    pub fn validate(
        &self,
        features: &crate::Features,
        caller: &crate::Caller,
    ) -> crate::validate::Verdict {
        let args = self.get_clone_args();
        let mut slot = -1;
        let enc = args.encode(Some(&mut slot));
        let mut raw = enc.raw;
        // The spawner maps the stack at spawn time; its address only has to be non-zero
        // and in user space for the kernel's checks, which is what the validator looks at.
        raw.stack = crate::sys::stack::SPAWN_STACK_SIZE as u64;
        raw.stack_size = crate::sys::stack::SPAWN_STACK_SIZE as u64;
        let req = crate::validate::RawRequest::new(raw, enc.size, Some(args.get_set_tid()), caller);
        crate::validate::validate_raw(&req, features, caller)
    }

    // --- running ---

    /// Replaces this process with the program, after the same setup a child gets (as std's
    /// `CommandExt::exec`, whose trait is sealed): descriptors, identity, working directory,
    /// signal mask, hooks. Returns only on failure, with the OS error as std's does (the
    /// step and detail in [`last_spawn_error`](Self::last_spawn_error)); what the setup had
    /// changed in this process by then stays changed, as with std.
    ///
    /// Nothing is cloned, so clone flags, `set_tid`, a cgroup and id maps cannot apply and
    /// make this fail with `InvalidInput`. Handlers are reset by `execve` itself; `SIGPIPE`
    /// is set to its default before it, as std does.
    pub fn exec(&mut self) -> io::Error {
        super::exec(self)
    }

    /// Starts the child. Standard streams default to inherit.
    pub fn spawn(&mut self) -> io::Result<Child> {
        super::spawn(self, StdioDefault::Inherit)
    }

    /// Runs the child to completion and collects its output (stdin defaults to `/dev/null`,
    /// stdout and stderr to pipes).
    ///
    /// Without `pre_exec` hooks or id maps this is a *run-to-end spawn*: `CLONE_VM` without
    /// `CLONE_VFORK` or `CLONE_PIDFD`, the parent reading the pipes while the child sets up
    /// and execs, then reaping it by PID (see [`status`](Self::status)).
    pub fn output(&mut self) -> io::Result<Output> {
        super::run_to_end(self, StdioDefault::Output, true)
    }

    /// Runs the child to completion (streams default to inherit).
    ///
    /// Without `pre_exec` hooks or id maps this is a *run-to-end spawn*: `CLONE_VM` without
    /// `CLONE_VFORK` or `CLONE_PIDFD`. The calling thread does not sleep until the child's
    /// exec but goes straight to `waitid(P_PID, pid, WEXITED | __WALL)` (waitid(2)) — safe
    /// because a child's PID is not reused before it is reaped; as with
    /// `std::process::Command::status`, another thread of the process must not reap it
    /// (`waitpid(-1)`). A setup or exec failure is reported as by [`spawn`](Self::spawn).
    /// With `SIGCHLD` ignored the kernel reaps the child itself and this returns `ECHILD`
    /// once it is gone, as std does.
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        super::run_to_end(self, StdioDefault::Inherit, false).map(|o| o.status)
    }
}

/// Which defaults apply to streams the caller did not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StdioDefault {
    Inherit,
    Output,
}
