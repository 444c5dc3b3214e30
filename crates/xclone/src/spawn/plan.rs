//! Everything the child needs, prepared and allocated before the clone: the exec candidates
//! (after the `PATH` search), `argv` and `envp` arrays, the descriptor plan, identity and
//! signal settings, the report slot. The child only reads it (and writes the report and the
//! scratch descriptor numbers).

use super::command::{Command, EnvChanges, Hook, StdioDefault, StdioKind};
use super::report::Report;
use crate::isolate::{ChildSteps, MapPlan};
use crate::sys::cstr_array::{CStrArray, CStrArrayBuilder};
use crate::sys::flags::CloneFlags;
use crate::sys::signal::SigSet;
use crate::sys::vfork::HandshakeSocket;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

/// `/proc/self/fd/N`, the second way to execute descriptor `n` (see [`ExecPlan::fd_path`]),
/// except for a `#!` script: its interpreter could not open that path once the descriptor
/// is closed at exec, and execveat's own `ENOENT` names that case better.
fn proc_fd_path(n: RawFd) -> Option<CString> {
    let path = format!("/proc/self/fd/{n}");
    let mut head = [0u8; 2];
    let script = std::fs::File::open(&path)
        .and_then(|f| std::io::Read::read(&mut &f, &mut head))
        .is_ok_and(|got| got == 2 && &head == b"#!");
    (!script).then(|| CString::new(path).expect("no NUL in a number"))
}

/// The search path `execvp(3)` uses when `PATH` is unset (glibc's `_CS_PATH`).
const DEFAULT_PATH: &[u8] = b"/bin:/usr/bin";

/// One descriptor to put at a number in the child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FdMap {
    pub src: RawFd,
    pub dst: RawFd,
}

/// The descriptor moves. When some source number is another mapping's target, the child
/// first copies every source to a number at or above `shuffle_above` (into `tmp`).
#[derive(Debug, Default)]
pub(crate) struct FdPlan {
    pub maps: Vec<FdMap>,
    pub tmp: Vec<RawFd>,
    pub shuffle_above: Option<RawFd>,
}

impl FdPlan {
    pub fn new(maps: Vec<FdMap>) -> Self {
        let collides = maps.iter().enumerate().any(|(i, a)| {
            maps.iter()
                .enumerate()
                .any(|(j, b)| i != j && a.src == b.dst)
        });
        let shuffle_above = collides.then(|| {
            maps.iter()
                .map(|m| m.dst)
                .max()
                .unwrap_or(0)
                .saturating_add(1)
        });
        let tmp = if collides {
            vec![-1; maps.len()]
        } else {
            Vec::new()
        };
        FdPlan {
            maps,
            tmp,
            shuffle_above,
        }
    }
}

/// Signal state for the child.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SignalPlan {
    /// `CLONE_CLEAR_SIGHAND` is in the clone call being made (set per attempt).
    pub kernel_cleared: bool,
    pub reset_ignored: bool,
    pub sigpipe_default: bool,
    pub mask: SigSet,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct DeathSignal {
    pub signal: i32,
    /// What `getppid()` returns in the child while the spawner lives.
    pub expected_ppid: i32,
}

#[derive(Debug)]
pub(crate) struct ExecPlan {
    /// Paths to try in order (one unless the program is searched in `PATH`).
    pub candidates: CStrArray,
    /// Execute this descriptor instead (`execveat(fd, "", …, AT_EMPTY_PATH)`).
    pub fd: Option<RawFd>,
    /// `/proc/self/fd/N` for that descriptor: tried when `execveat` answers `ENOENT`, as
    /// some stable kernels do for an empty path (Debian's 5.10.223; fixed by 5.10.262).
    pub fd_path: Option<CString>,
    pub argv: CStrArray,
    pub envp: CStrArray,
}

/// The child's descriptors of a handshake spawn (see `sys::vfork::spawn_handshake`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HandshakeFds {
    /// Read the go byte here; kept open until exec.
    pub child_end: RawFd,
    /// The parent's end, closed in the child first thing.
    pub parent_end: RawFd,
}

/// A sandbox's init at PID 1 ([`crate::isolate::sandbox::Sandbox::init`]).
#[derive(Debug)]
pub(crate) struct InitPlan {
    /// The write end of the status pipe (close-on-exec): the program's wait status, 4 bytes.
    pub status_fd: RawFd,
    /// The signals the init reads from its signalfd.
    pub signals: SigSet,
    /// The stack of the program's process until it execs. Taken by the init for the clone
    /// and put back before the parent can see the spawn finished; never dropped in a child.
    pub stack: Option<crate::sys::stack::ChildStack>,
}

/// What the child reads (and the report it writes).
pub(crate) struct ChildPlan<'a> {
    pub init: Option<InitPlan>,
    pub handshake: Option<HandshakeFds>,
    pub isolation: ChildSteps,
    pub signals: SignalPlan,
    pub setsid: bool,
    pub pgroup: Option<i32>,
    pub fds: FdPlan,
    pub groups: Option<&'a [u32]>,
    pub drop_groups: bool,
    pub gid: Option<u32>,
    pub uid: Option<u32>,
    pub death_signal: Option<DeathSignal>,
    pub cwd: Option<CString>,
    pub hooks: &'a mut [Hook],
    pub exec: ExecPlan,
    pub report: Report,
}

/// The parent's ends of piped streams.
#[derive(Debug, Default)]
pub(crate) struct ParentPipes {
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
}

/// A prepared spawn: the child's plan plus what the parent keeps alive across the clone
/// and uses afterwards.
pub(crate) struct Prepared<'a> {
    pub child: ChildPlan<'a>,
    /// Descriptors created for the child (pipe ends, `/dev/null`); closed after the clone.
    pub child_owned: Vec<OwnedFd>,
    pub pipes: ParentPipes,
    /// For messages: the program as given, the working directory, and whether `PATH` was
    /// searched.
    pub program: &'a OsStr,
    pub path_searched: bool,
    pub clone: CloneRequest<'a>,
    pub kill_on_drop: bool,
    /// How the parent writes the id maps during a handshake spawn.
    pub maps: Option<MapPlan>,
    /// The namespaces the parent bind-mounts on files during a handshake spawn.
    pub persist: Vec<(CloneFlags, std::path::PathBuf)>,
    /// The socket of a handshake spawn.
    pub handshake: Option<HandshakeSocket>,
    /// The read end of a sandbox init's status pipe.
    pub init_status: Option<OwnedFd>,
}

impl Prepared<'_> {
    /// The parent's [`Child`](crate::Child) of the process `pid` this plan created: its
    /// pidfd and the parent's ends of the pipes (taken from the plan).
    pub(crate) fn take_child(&mut self, pid: u32, pidfd: crate::PidFd) -> crate::Child {
        let pipes = std::mem::take(&mut self.pipes);
        crate::Child::new(
            pid,
            pidfd,
            pipes.stdin,
            pipes.stdout,
            pipes.stderr,
            self.kill_on_drop,
        )
    }
}

/// The clone3 fields a spawn passes through.
#[derive(Debug)]
pub(crate) struct CloneRequest<'a> {
    /// The recorded flags (plus `CLONE_NNP` where it carries no_new_privs), without what
    /// the spawner adds.
    pub flags: CloneFlags,
    /// A handshake spawn (no `CLONE_VFORK`).
    pub handshake: bool,
    /// A run-to-end spawn (neither `CLONE_VFORK` nor `CLONE_PIDFD`), set by
    /// `spawn::run_to_end`.
    pub to_end: bool,
    pub exit_signal: u64,
    pub set_tid: &'a [i32],
    pub cgroup: Option<std::os::fd::BorrowedFd<'a>>,
    pub fallback: crate::fallback::FallbackPolicy,
}

/// The exit signal a spawn passes to the kernel for the requested one.
///
/// A program's exit signal is `SIGCHLD` whatever the clone asked: exec resets it
/// (`tsk->exit_signal = SIGCHLD` in `de_thread()`, fs/exec.c). The requested signal would only
/// be sent for a child that dies *before* exec — a failed spawn, which the spawn reaps and
/// reports itself — and there it would hit the caller: `SIGTRAP` kills it, `SIGSTOP` (which
/// cannot be blocked) stops it for good. So a spawn clones with `SIGCHLD` for any valid
/// signal, and keeps 0 (no signal), an invalid number (the kernel's `EINVAL` stays the
/// answer) and `CLONE_PARENT` requests (the signal goes to the caller's parent, and with a
/// non-zero one the kernel refuses, as the validator says) as they are.
pub(crate) fn clone_exit_signal(requested: u64, flags: CloneFlags) -> u64 {
    let valid = (1..=crate::sys::signal::NSIG as u64).contains(&requested);
    if valid && !flags.contains(CloneFlags::PARENT) {
        libc::SIGCHLD as u64
    } else {
        requested
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

fn nul_error(what: &str, s: &OsStr) -> io::Error {
    invalid(format!("nul byte found in provided data: {what} {s:?}"))
}

/// Builds the plan for one spawn of `cmd`.
pub(crate) fn prepare(cmd: &mut Command, defaults: StdioDefault) -> io::Result<Prepared<'_>> {
    if let Some((kind, msg)) = &cmd.deferred {
        return Err(io::Error::new(*kind, msg.clone()));
    }
    let forbidden = cmd.flags & crate::sys::vfork::SPAWN_FORBIDDEN;
    if !forbidden.is_empty() {
        return Err(invalid(format!(
            "{} cannot be used with a spawn (the child's setup would change the parent, or \
             the kernel would write through pointers into the shared memory)",
            forbidden.to_names_string()
        )));
    }

    let flags = cmd.request_flags();
    cmd.isolation.check(flags).map_err(invalid)?;
    if !cmd.isolation.time_offsets.is_empty()
        && crate::sys::timens::vm_child_enters_time_ns_at_exec() == Some(false)
    {
        return Err(crate::isolate::IsolationError::new(
            format!(
                "time offsets '{}'",
                cmd.isolation
                    .time_offsets
                    .to_proc_text()
                    .trim_end()
                    .replace('\n', ", ")
            ),
            None,
            "on this kernel a CLONE_VM child created with CLONE_NEWTIME is in the new time \
             namespace from its first instruction, its offsets frozen before it could write \
             them (Linux before 6.2, asked of the kernel)",
            "enter a new time namespace with these offsets first \
             (xclone::isolate::enter_new_time_namespace) and spawn without CLONE_NEWTIME, or \
             run Linux 6.2+",
        )
        .into());
    }
    cmd.sandbox.check(flags).map_err(invalid)?;
    // CLONE_NNP (added by request_flags where the kernel has it, or asked for directly)
    // makes the child's prctl unnecessary.
    let isolation = ChildSteps::prepare(&cmd.isolation, &cmd.sandbox, flags).map_err(invalid)?;
    let handshake = cmd.uses_handshake();
    let id_map_plan = match (&cmd.isolation.id_maps, handshake) {
        (Some(m), true) => Some(MapPlan::prepare(m).map_err(io::Error::from)?),
        _ => None,
    };

    // Exec: argv, envp, candidates.
    let mut argv =
        CStrArrayBuilder::with_capacity(cmd.args.len(), cmd.args.iter().map(|a| a.len() + 1).sum());
    for a in &cmd.args {
        argv.push(a.as_bytes())
            .map_err(|_| nul_error("argument", a))?;
    }
    let (envp, child_path) = build_env(&cmd.env)?;
    let (candidates, path_searched) = candidates(&cmd.program, child_path.as_deref())?;

    let cwd = match &cmd.cwd {
        Some(d) => Some(
            CString::new(d.as_os_str().as_bytes())
                .map_err(|_| nul_error("current_dir", d.as_os_str()))?,
        ),
        None => None,
    };

    // Descriptors.
    let mut maps = Vec::with_capacity(3 + cmd.fd_maps.len());
    let mut child_owned = Vec::new();
    let mut pipes = ParentPipes::default();
    let mut null: Option<RawFd> = None;
    let streams = [
        (0, cmd.stdin.as_ref().map(|s| &s.0)),
        (1, cmd.stdout.as_ref().map(|s| &s.0)),
        (2, cmd.stderr.as_ref().map(|s| &s.0)),
    ];
    for (fd, kind) in streams {
        let default = match (defaults, fd) {
            (StdioDefault::Inherit, _) => &StdioKind::Inherit,
            (StdioDefault::Output, 0) => &StdioKind::Null,
            (StdioDefault::Output, _) => &StdioKind::Piped,
        };
        match kind.unwrap_or(default) {
            StdioKind::Inherit => {}
            StdioKind::Null => {
                let src = match null {
                    Some(n) => n,
                    None => {
                        let f = rustix::fs::open(
                            c"/dev/null",
                            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
                            rustix::fs::Mode::empty(),
                        )?;
                        let n = f.as_raw_fd();
                        child_owned.push(f);
                        null = Some(n);
                        n
                    }
                };
                maps.push(FdMap { src, dst: fd });
            }
            StdioKind::Piped => {
                let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
                let (child_end, parent_end) = if fd == 0 { (r, w) } else { (w, r) };
                maps.push(FdMap {
                    src: child_end.as_raw_fd(),
                    dst: fd,
                });
                child_owned.push(child_end);
                match fd {
                    0 => pipes.stdin = Some(parent_end),
                    1 => pipes.stdout = Some(parent_end),
                    _ => pipes.stderr = Some(parent_end),
                }
            }
            StdioKind::Fd(f) => maps.push(FdMap {
                src: f.as_raw_fd(),
                dst: fd,
            }),
        }
    }
    for (src, dst) in &cmd.fd_maps {
        if maps.iter().any(|m| m.dst == *dst) {
            return Err(invalid(format!(
                "child descriptor {dst} is the target of two mappings (fd_map or stdio)"
            )));
        }
        maps.push(FdMap {
            src: src.as_raw_fd(),
            dst: *dst,
        });
    }

    // Descriptors the child must still hold at exec (the handshake socket, the program
    // file) are moved above every mapping target, so no mapping closes them early.
    let above = maps
        .iter()
        .map(|m| m.dst)
        .max()
        .unwrap_or(2)
        .saturating_add(1);
    let clear_of_targets = |fd: OwnedFd| -> io::Result<OwnedFd> {
        if maps.iter().any(|m| m.dst == fd.as_raw_fd()) {
            Ok(rustix::io::fcntl_dupfd_cloexec(&fd, above)?)
        } else {
            Ok(fd)
        }
    };
    let mut sock = if handshake {
        Some(HandshakeSocket::new()?)
    } else {
        None
    };
    let mut handshake_fds = None;
    if let Some(s) = sock.as_mut() {
        if let Some(c) = s.child.take() {
            s.child = Some(clear_of_targets(c)?);
        }
        handshake_fds = s.child.as_ref().map(|c| HandshakeFds {
            child_end: c.as_raw_fd(),
            parent_end: s.parent.as_raw_fd(),
        });
    }
    let exec_fd = match &cmd.program_fd {
        Some(fd) => {
            let fd = clear_of_targets(fd.try_clone()?)?;
            let n = fd.as_raw_fd();
            child_owned.push(fd);
            Some(n)
        }
        None => None,
    };

    let (init, init_status) = if cmd.sandbox.init {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        let plan = InitPlan {
            status_fd: w.as_raw_fd(),
            signals: crate::isolate::init::handled_signals(),
            stack: Some(crate::sys::stack::ChildStack::new(
                crate::sys::stack::SPAWN_STACK_SIZE,
            )?),
        };
        child_owned.push(w);
        (Some(plan), Some(r))
    } else {
        (None, None)
    };

    let death_signal = cmd.death_signal.map(|signal| DeathSignal {
        signal,
        expected_ppid: if cmd.flags.contains(CloneFlags::NEWPID) {
            0
        } else if cmd.flags.contains(CloneFlags::PARENT) {
            rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get())
        } else {
            rustix::process::getpid().as_raw_nonzero().get()
        },
    });

    let drop_groups =
        cmd.uid.is_some() && cmd.groups.is_none() && rustix::process::getuid().is_root();

    let child = ChildPlan {
        init,
        handshake: handshake_fds,
        isolation,
        signals: SignalPlan {
            kernel_cleared: false,
            reset_ignored: cmd.reset_ignored_signals,
            sigpipe_default: true,
            mask: match cmd.signal_mask {
                Some(m) => m,
                // Read now, by the thread that clones: the child inherits what it had before
                // the clone blocked everything.
                None => crate::sys::signal::current_mask().map_err(io::Error::from_raw_os_error)?,
            },
        },
        setsid: cmd.setsid,
        pgroup: cmd.pgroup,
        fds: FdPlan::new(maps),
        groups: cmd.groups.as_deref(),
        drop_groups,
        gid: cmd.gid,
        uid: cmd.uid,
        death_signal,
        cwd,
        hooks: &mut cmd.hooks,
        exec: ExecPlan {
            candidates,
            fd: exec_fd,
            fd_path: exec_fd.and_then(proc_fd_path),
            argv: argv.finish(),
            envp,
        },
        report: Report::default(),
    };
    Ok(Prepared {
        child,
        child_owned,
        pipes,
        program: &cmd.program,
        path_searched,
        clone: CloneRequest {
            flags,
            handshake,
            to_end: false,
            exit_signal: clone_exit_signal(cmd.exit_signal, flags),
            set_tid: &cmd.set_tid,
            cgroup: cmd.cgroup.as_ref().map(std::os::fd::AsFd::as_fd),
            fallback: cmd.fallback,
        },
        kill_on_drop: cmd.kill_on_drop,
        maps: id_map_plan,
        persist: cmd.isolation.persist.clone(),
        handshake: sock,
        init_status,
    })
}

/// The child's `envp`, and the `PATH` to search the program in (the child's own when the
/// environment was changed, like std; else the parent's).
fn build_env(changes: &EnvChanges) -> io::Result<(CStrArray, Option<OsString>)> {
    if !changes.clear && changes.vars.is_empty() {
        let envp = crate::sys::environ::snapshot();
        let path = envp
            .iter()
            .find_map(|s| s.to_bytes().strip_prefix(b"PATH="))
            .map(|p| OsStr::from_bytes(p).to_os_string());
        return Ok((envp, path));
    }
    let mut env: BTreeMap<OsString, OsString> = if changes.clear {
        BTreeMap::new()
    } else {
        std::env::vars_os().collect()
    };
    for (k, v) in &changes.vars {
        match v {
            Some(v) => {
                env.insert(k.clone(), v.clone());
            }
            None => {
                env.remove(k);
            }
        }
    }
    let path = env.get(OsStr::new("PATH")).cloned();
    let mut b = CStrArrayBuilder::with_capacity(
        env.len(),
        env.iter().map(|(k, v)| k.len() + v.len() + 2).sum(),
    );
    for (k, v) in &env {
        b.push_parts(&[k.as_bytes(), b"=", v.as_bytes()])
            .map_err(|_| nul_error("environment variable", k))?;
    }
    Ok((b.finish(), path))
}

/// The paths the child tries, and whether `PATH` was searched.
fn candidates(program: &OsStr, path: Option<&OsStr>) -> io::Result<(CStrArray, bool)> {
    let prog = program.as_bytes();
    if prog.contains(&0) {
        return Err(nul_error("program", program));
    }
    let mut b = CStrArrayBuilder::default();
    if prog.contains(&b'/') || prog.is_empty() {
        b.push(prog).map_err(|_| nul_error("program", program))?;
        return Ok((b.finish(), false));
    }
    let path = path.map_or(DEFAULT_PATH, |p| p.as_bytes());
    for dir in path.split(|&c| c == b':') {
        // An empty entry means the current directory, as for execvp(3).
        let r = if dir.is_empty() {
            b.push(prog)
        } else if dir.ends_with(b"/") {
            b.push_parts(&[dir, prog])
        } else {
            b.push_parts(&[dir, b"/", prog])
        };
        if r.is_err() {
            return Err(nul_error("PATH entry", OsStr::from_bytes(dir)));
        }
    }
    Ok((b.finish(), true))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_descriptor_has_a_proc_path_unless_it_is_a_script() {
        use std::os::fd::AsRawFd;
        let exe = std::fs::File::open("/proc/self/exe").unwrap();
        let n = exe.as_raw_fd();
        assert_eq!(
            proc_fd_path(n).unwrap().to_str().unwrap(),
            format!("/proc/self/fd/{n}")
        );
        let dir = std::env::temp_dir().join(format!("xclone-plan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s");
        std::fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
        let f = std::fs::File::open(&script).unwrap();
        assert_eq!(proc_fd_path(f.as_raw_fd()), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    use super::*;

    #[test]
    fn a_spawn_never_clones_with_a_signal_for_the_caller() {
        let none = CloneFlags::empty();
        assert_eq!(
            clone_exit_signal(libc::SIGTRAP as u64, none),
            libc::SIGCHLD as u64
        );
        assert_eq!(
            clone_exit_signal(libc::SIGSTOP as u64, none),
            libc::SIGCHLD as u64
        );
        assert_eq!(clone_exit_signal(64, none), libc::SIGCHLD as u64);
        // None stays none; what the kernel refuses stays refused.
        assert_eq!(clone_exit_signal(0, none), 0);
        assert_eq!(clone_exit_signal(65, none), 65);
        assert_eq!(clone_exit_signal(5, CloneFlags::PARENT), 5);
    }

    fn strs(a: &CStrArray) -> Vec<String> {
        a.iter().map(|c| c.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn path_candidates() {
        let (c, searched) = candidates(OsStr::new("ls"), Some(OsStr::new("/a:/b/::/c"))).unwrap();
        assert!(searched);
        assert_eq!(strs(&c), ["/a/ls", "/b/ls", "ls", "/c/ls"]);
        let (c, searched) = candidates(OsStr::new("./x"), Some(OsStr::new("/a"))).unwrap();
        assert!(!searched);
        assert_eq!(strs(&c), ["./x"]);
        let (c, _) = candidates(OsStr::new("sh"), None).unwrap();
        assert_eq!(strs(&c), ["/bin/sh", "/usr/bin/sh"]);
        assert!(candidates(OsStr::new("a\0b"), None).is_err());
    }

    #[test]
    fn env_changes() {
        let mut ch = EnvChanges {
            clear: true,
            ..Default::default()
        };
        ch.vars.insert("A".into(), Some("1".into()));
        ch.vars.insert("PATH".into(), Some("/x".into()));
        ch.vars.insert("B".into(), None);
        let (envp, path) = build_env(&ch).unwrap();
        assert_eq!(strs(&envp), ["A=1", "PATH=/x"]);
        assert_eq!(path.as_deref(), Some(OsStr::new("/x")));
        let (_, path) = build_env(&EnvChanges::default()).unwrap();
        assert_eq!(path, std::env::var_os("PATH"));
    }

    #[test]
    fn fd_plan_shuffles_only_on_collision() {
        let p = FdPlan::new(vec![FdMap { src: 5, dst: 1 }, FdMap { src: 6, dst: 3 }]);
        assert_eq!(p.shuffle_above, None);
        let p = FdPlan::new(vec![FdMap { src: 3, dst: 4 }, FdMap { src: 4, dst: 3 }]);
        assert_eq!(p.shuffle_above, Some(5));
        assert_eq!(p.tmp.len(), 2);
        let p = FdPlan::new(vec![FdMap { src: 7, dst: 7 }]);
        assert_eq!(p.shuffle_above, None);
    }
}
