//! Creating a process on behalf of a running one: in its namespaces and cgroup, with its
//! root, working directory and environment on request — like nsenter(1), but
//!
//! - the target is pinned by a pidfd before anything is read about it ([`Target`]), so a
//!   target that exits and whose PID is reused is detected, never entered;
//! - all namespaces are joined by one `setns(pidfd, flags)` (setns(2), Linux 5.8), or one
//!   `/proc/PID/ns/*` file at a time where the kernel lacks it;
//! - the payload is *born* in the target's cgroup (`CLONE_INTO_CGROUP`) and pid namespace;
//! - the payload is a child of the caller, returned as a [`Child`] like
//!   [`Command::spawn`]'s, with all of `Command`'s stdio, environment and identity options.
//!
//! # How
//!
//! The caller's thread may share its memory with other threads, and `setns` into a user or
//! mount namespace needs a process of its own (and joining a pid namespace only takes effect
//! for children). So an intermediate does the joining: a `CLONE_VM | CLONE_VFORK` child that
//! shares the caller's descriptor table (`CLONE_FILES`). It joins every requested namespace
//! but the user and cgroup ones, then creates the payload with `CLONE_PARENT` (the payload
//! is the caller's child), `CLONE_INTO_CGROUP` (the target's cgroup directory) and
//! `CLONE_PIDFD` (which lands in the caller's table), and exits once the payload exec'd.
//! The payload joins the user namespace itself — after its creation, so that placing it in
//! the cgroup was checked against the caller's credentials — then the cgroup namespace
//! (whose root need not contain the caller's cgroup), becomes uid/gid 0 there unless asked
//! not to, changes root and directory, and runs the ordinary spawn steps.
//!
//! Joining a time namespace (`timens_install` in kernel/time/namespace.c) wants a joiner
//! whose memory no other task shares (else `EUSERS`): the intermediate is then fork-like
//! instead — its own copy of the caller's memory, still sharing the descriptor table —
//! and sends the payload's pid, pidfd number and any failure through a pipe. `setns`
//! moves the intermediate itself into the time namespace (and its children's), so the
//! payload, which shares the intermediate's copy (`CLONE_VM | CLONE_VFORK`), is born in it
//! and reads the target's clocks from its first instruction.

pub(crate) mod child;
pub(crate) mod target;

pub use target::{ns_name, NsId, Target, ALL_NAMESPACES, NAMESPACE_KINDS};

use crate::pidfd::PidFd;
use crate::probe::Features;
use crate::spawn::command::StdioDefault;
use crate::spawn::{plan, Child, Command, SpawnError, Step};
use crate::sys::flags::CloneFlags;
use crate::sys::stack::{return_spawn_stack, take_spawn_stack, ChildStack};
use child::{IntermediatePlan, Join, Outcome, PayloadPlan, Stage};
use rustix::fs::{Mode, OFlags};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Which namespaces to join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Namespaces {
    /// Every namespace of the target that differs from the caller's (nsenter `--all`).
    AllDiffering,
    /// These types (a set of `CLONE_NEW*` flags). A user or time namespace that is the
    /// caller's own is skipped (the kernel refuses to "join" a user namespace again, and
    /// an unchanged time namespace needs no fork-like intermediate).
    These(CloneFlags),
}

/// Where the payload is created in the cgroup2 hierarchy.
#[derive(Debug)]
#[non_exhaustive]
pub enum Cgroup {
    /// The target's cgroup where the payload can be created there — the system has a
    /// cgroup2 hierarchy, the kernel `CLONE_INTO_CGROUP` (5.7), and the caller write access
    /// to `cgroup.procs` of the target's cgroup and of the nearest one holding both (as
    /// clone3(2) demands: an unprivileged caller usually lacks it for cgroups it was not
    /// delegated); else the caller's, as nsenter(1) leaves it. The default.
    TargetIfAvailable,
    /// The target's cgroup, or fail with the reason (`PermissionDenied` for the access
    /// above). A target in the caller's own cgroup needs no access: the payload is born
    /// there anyway.
    Target,
    /// The caller's cgroup (as nsenter does).
    Caller,
    /// This cgroup2 directory.
    Dir(OwnedFd),
}

/// A directory for the payload's root or working directory.
#[derive(Debug)]
#[non_exhaustive]
pub enum Dir {
    /// Unchanged (after joining a mount namespace: that namespace's root).
    Keep,
    /// The target's (`/proc/PID/root`, `/proc/PID/cwd`).
    Target,
    /// This directory, opened by the caller.
    Open(OwnedFd),
}

/// How namespaces are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinMethod {
    /// `setns(pidfd)` where the kernel has it (probed), else namespace files.
    Auto,
    /// One `setns(pidfd, flags)` (Linux 5.8).
    Pidfd,
    /// `setns` on each `/proc/PID/ns/*` file, opened through the pinned `/proc/PID`.
    Files,
}

/// The source of the target.
#[derive(Debug)]
enum TargetSpec {
    Pid(u32),
    PidFd(PidFd),
    /// No target: only namespace files ([`Enter::ns_file`]).
    None,
}

/// Builder for creating a process inside a running one's context. See the module docs.
///
/// ```
/// use xclone::enter::Enter;
/// use xclone::{CloneFlags, Command, Stdio};
/// if rustix::process::geteuid().is_root() { // setns(2) needs CAP_SYS_ADMIN
///     // A target: a process with a UTS namespace of its own, named "box" before its exec.
///     let mut target = Command::new("sleep").arg("60")
///         .flags(CloneFlags::NEWUTS)
///         .hostname("box")
///         .spawn()?;
///     // A child of ours, created in the target's namespaces (those that differ from ours).
///     let out = Enter::new(target.pidfd().try_clone()?)
///         .spawn(Command::new("hostname").stdout(Stdio::piped()))?
///         .wait_with_output()?;
///     assert_eq!(out.stdout, b"box\n");
///     target.kill()?;
///     target.wait()?;
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Entering a container by its PID, with its root and working directory:
///
/// ```no_run
/// use xclone::enter::{Enter, Dir};
/// use xclone::{Command, PidFd};
/// let target = PidFd::open(1234)?;
/// let status = Enter::new(target)
///     .root(Dir::Target)
///     .wd(Dir::Target)
///     .spawn(Command::new("hostname").env_clear())?
///     .wait()?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Enter {
    target: TargetSpec,
    namespaces: Namespaces,
    cgroup: Cgroup,
    root: Dir,
    wd: Dir,
    preserve_credentials: bool,
    keep_caps: bool,
    env_of_target: bool,
    join: JoinMethod,
    /// Namespaces joined from files instead of the target's (nsenter `--net=FILE`).
    ns_files: Vec<(CloneFlags, OwnedFd)>,
}

impl Enter {
    /// Enters the process of `target` (no PID-reuse race: the pidfd names the process).
    pub fn new(target: PidFd) -> Self {
        Self::with(TargetSpec::PidFd(target))
    }

    /// Enters the process with this PID, pinned by `pidfd_open` at each spawn.
    pub fn pid(pid: u32) -> Self {
        Self::with(TargetSpec::Pid(pid))
    }

    /// Enters no process: only the namespaces given by [`ns_file`](Enter::ns_file) (as
    /// `nsenter --net=/run/netns/x` without `-t`). What needs a target (`AllDiffering`,
    /// the target's cgroup, root, directory or environment) then fails with `InvalidInput`.
    pub fn without_target() -> Self {
        let mut e = Self::with(TargetSpec::None);
        e.namespaces = Namespaces::These(CloneFlags::empty());
        e
    }

    /// Joins the namespace of type `kind` (one `CLONE_NEW*` flag) from `file`, an open
    /// namespace file (`/proc/PID/ns/net`, a bind mount of one such as `/run/netns/NAME`, a
    /// file `xclone run --net=FILE` persisted), instead of the target's. Namespaces from
    /// files and from the target may be mixed, as nsenter allows; they are then all joined
    /// file by file.
    pub fn ns_file(&mut self, kind: CloneFlags, file: OwnedFd) -> &mut Self {
        self.ns_files.retain(|(k, _)| *k != kind);
        self.ns_files.push((kind, file));
        self
    }

    fn with(target: TargetSpec) -> Self {
        Enter {
            target,
            namespaces: Namespaces::AllDiffering,
            cgroup: Cgroup::TargetIfAvailable,
            root: Dir::Keep,
            wd: Dir::Keep,
            preserve_credentials: false,
            keep_caps: false,
            env_of_target: false,
            join: JoinMethod::Auto,
            ns_files: Vec::new(),
        }
    }

    /// Which namespaces to join (default: all that differ from ours).
    pub fn namespaces(&mut self, ns: Namespaces) -> &mut Self {
        self.namespaces = ns;
        self
    }

    /// Where in the cgroup2 hierarchy the payload is born (default: the target's cgroup).
    pub fn cgroup(&mut self, c: Cgroup) -> &mut Self {
        self.cgroup = c;
        self
    }

    /// The payload's root directory (default: unchanged).
    pub fn root(&mut self, d: Dir) -> &mut Self {
        self.root = d;
        self
    }

    /// The payload's working directory (default: unchanged; `/` of the new root after
    /// [`root`](Enter::root)). A `Command::current_dir` applies after it.
    pub fn wd(&mut self, d: Dir) -> &mut Self {
        self.wd = d;
        self
    }

    /// Keeps the caller's uid, gid and groups after joining a user namespace (default: become
    /// uid and gid 0 of it, without supplementary groups, as nsenter).
    pub fn preserve_credentials(&mut self, on: bool) -> &mut Self {
        self.preserve_credentials = on;
        self
    }

    /// nsenter's `--keep-caps` (util-linux 2.39): when a user namespace is joined, the
    /// capabilities the program holds there (all of them, unless the command changes its uid
    /// to another than 0) survive its exec — the payload, last before exec, makes its
    /// inheritable set its permitted set and raises every effective capability into the
    /// ambient set (the command's [`Sandbox::keep_caps`](crate::isolate::sandbox::Sandbox)).
    /// When no user namespace is joined (none asked, or the target's is ours) it does
    /// nothing, as nsenter.
    pub fn keep_caps(&mut self, on: bool) -> &mut Self {
        self.keep_caps = on;
        self
    }

    /// Starts from the target's environment (`/proc/PID/environ`) instead of the caller's;
    /// the command's own `env`/`env_remove` calls apply on top (`env_clear` keeps only those).
    pub fn env_of_target(&mut self, on: bool) -> &mut Self {
        self.env_of_target = on;
        self
    }

    /// How to join (default: [`JoinMethod::Auto`]).
    pub fn join_method(&mut self, m: JoinMethod) -> &mut Self {
        self.join = m;
        self
    }

    /// Pins the target (see [`Target`]); `InvalidInput` for [`Enter::without_target`].
    pub fn pin(&self) -> io::Result<Target> {
        match &self.target {
            TargetSpec::Pid(p) => Target::from_pid(*p),
            TargetSpec::PidFd(fd) => Target::from_pidfd(fd.try_clone()?),
            TargetSpec::None => Err(no_target("a target process")),
        }
    }

    /// Starts `cmd` inside the target. The command's clone options (flags, `set_tid`,
    /// cgroup) cannot be combined with entering and make this fail with `InvalidInput`; its
    /// exit signal is kept. When a time namespace is joined, the command's `pre_exec` hooks
    /// run on the intermediate's copy of this process's memory (see the module docs): what
    /// they write there is not seen here.
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<Child> {
        if !cmd.flags.is_empty() || !cmd.set_tid.is_empty() || cmd.cgroup.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "enter: the command's clone flags, set_tid and cgroup cannot be used (the \
                 payload is created by enter's own clone)",
            ));
        }
        let target = match self.target {
            TargetSpec::None => None,
            _ => Some(self.pin()?),
        };
        let prep = self.prepare(target.as_ref())?;
        let saved_env = if self.env_of_target {
            let base = target
                .as_ref()
                .ok_or_else(|| no_target("the target's environment"))?
                .environ()?;
            let saved = cmd.env.clone();
            let mut merged = crate::spawn::command::EnvChanges {
                clear: true,
                vars: Default::default(),
            };
            if !saved.clear {
                for (k, v) in base {
                    merged.vars.insert(k, Some(v));
                }
            }
            for (k, v) in &saved.vars {
                match v {
                    Some(v) => merged.vars.insert(k.clone(), Some(v.clone())),
                    None => merged.vars.remove(k),
                };
            }
            Some(std::mem::replace(&mut cmd.env, merged))
        } else {
            None
        };
        // Everything is read and opened: a last look that the target still lives (its
        // pidfd and the pinned /proc directory would fail the joins otherwise, but an
        // error here is clearer than a setns ESRCH).
        let alive = target.as_ref().map_or(Ok(()), Target::check_alive);
        let r = alive.and_then(|()| launch(&prep, cmd));
        if let Some(env) = saved_env {
            cmd.env = env;
        }
        r
    }

    fn prepare(&self, target: Option<&Target>) -> io::Result<Prepared> {
        let file_kinds = self
            .ns_files
            .iter()
            .fold(CloneFlags::empty(), |a, (k, _)| a | *k);
        let bad = file_kinds - ALL_NAMESPACES;
        if !bad.is_empty()
            || self
                .ns_files
                .iter()
                .any(|(k, _)| k.bits().count_ones() != 1)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a namespace file needs one namespace type, not {}",
                    file_kinds.to_names_string()
                ),
            ));
        }
        let need_target = |what: &str| target.ok_or_else(|| no_target(what));
        let mut ns = match self.namespaces {
            Namespaces::AllDiffering => need_target("--all")?.differing_namespaces()? | file_kinds,
            Namespaces::These(f) => {
                let bad = f - ALL_NAMESPACES;
                if !bad.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("not namespace types: {}", bad.to_names_string()),
                    ));
                }
                let from_target = f - file_kinds;
                let differing = if from_target.is_empty() {
                    CloneFlags::empty()
                } else {
                    need_target("joining a namespace without a file")?.differing_namespaces()?
                };
                (from_target - ((CloneFlags::NEWUSER | CloneFlags::NEWTIME) - differing))
                    | file_kinds
            }
        };
        // A user or time namespace file naming our own namespace: nothing to join (the
        // kernel refuses to join our own user namespace again).
        for (kind, fd) in &self.ns_files {
            if kind.intersects(CloneFlags::NEWUSER | CloneFlags::NEWTIME)
                && target::same_as_ours(*kind, fd.as_fd())?
            {
                ns -= *kind;
            }
        }
        let by_pidfd = match self.join {
            _ if !self.ns_files.is_empty() => false,
            JoinMethod::Pidfd => true,
            JoinMethod::Files => false,
            // Not the whole probe: a command line entering a target pays for what it uses.
            JoinMethod::Auto => Features::setns_pidfd_supported(),
        };
        let payload_kinds = CloneFlags::NEWUSER | CloneFlags::NEWCGROUP;
        let mut files = Vec::new();
        let mut joins = Vec::new();
        let mut retry = Vec::new();
        let mut payload_joins = Vec::new();
        if by_pidfd {
            let pidfd = need_target("joining by pidfd")?.pidfd().as_fd().as_raw_fd();
            let own = ns - payload_kinds;
            if !own.is_empty() {
                joins.push(Join {
                    fd: pidfd,
                    nstype: own,
                });
            }
            if ns.contains(CloneFlags::NEWUSER) && !own.is_empty() {
                retry.push(Join {
                    fd: pidfd,
                    nstype: own | CloneFlags::NEWUSER,
                });
            }
            for k in [CloneFlags::NEWUSER, CloneFlags::NEWCGROUP] {
                if ns.contains(k) {
                    payload_joins.push(Join {
                        fd: pidfd,
                        nstype: k,
                    });
                }
            }
        } else {
            let mut user = None;
            for (kind, _, _) in NAMESPACE_KINDS {
                if !ns.contains(kind) {
                    continue;
                }
                let f = match self.ns_files.iter().find(|(k, _)| *k == kind) {
                    Some((_, fd)) => fd.try_clone()?,
                    None => need_target("a namespace without a file")?.open_ns(kind)?,
                };
                let j = Join {
                    fd: f.as_raw_fd(),
                    nstype: kind,
                };
                files.push(f);
                if payload_kinds.contains(kind) {
                    payload_joins.push(j);
                    if kind == CloneFlags::NEWUSER {
                        user = Some(j);
                    }
                } else {
                    joins.push(j);
                }
            }
            if let (Some(u), false) = (user, joins.is_empty()) {
                retry.push(u);
                retry.extend(joins.iter().copied());
            }
        }
        // A pid namespace that is ours already changes nothing; keeping the flag would only
        // confuse the die-with-parent check below.
        ns &= ALL_NAMESPACES;
        let cgroup = match &self.cgroup {
            Cgroup::Caller => None,
            Cgroup::Dir(fd) => Some(fd.try_clone()?),
            Cgroup::TargetIfAvailable if target.is_none() => None,
            Cgroup::Target | Cgroup::TargetIfAvailable => {
                match (
                    target_cgroup(need_target("the target's cgroup")?)?,
                    &self.cgroup,
                ) {
                    (TargetCgroup::Ours, _) => None,
                    (TargetCgroup::Dir(fd), _) => Some(fd),
                    (TargetCgroup::Unavailable(e), Cgroup::Target) => return Err(e),
                    (TargetCgroup::Unavailable(_), _) => None,
                }
            }
        };
        let dir = |d: &Dir, which: &str| -> io::Result<Option<OwnedFd>> {
            match d {
                Dir::Keep => Ok(None),
                Dir::Target => need_target(&format!("the target's {which}"))?
                    .open_dir(which)
                    .map(Some),
                Dir::Open(fd) => fd.try_clone().map(Some),
            }
        };
        Ok(Prepared {
            root: dir(&self.root, "root")?,
            wd: dir(&self.wd, "cwd")?,
            joins,
            retry,
            payload_joins,
            _files: files,
            cgroup,
            become_root: ns.contains(CloneFlags::NEWUSER) && !self.preserve_credentials,
            keep_caps: ns.contains(CloneFlags::NEWUSER) && self.keep_caps,
            new_pid_ns: ns.contains(CloneFlags::NEWPID),
            fork_like: ns.contains(CloneFlags::NEWTIME),
        })
    }
}

/// The error for what needs a target when there is none.
fn no_target(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what} needs a target process (-t PID or --target-pidfd FD)"),
    )
}

/// What a spawn prepared about the target before the clones.
struct Prepared {
    joins: Vec<Join>,
    retry: Vec<Join>,
    payload_joins: Vec<Join>,
    /// Keeps the namespace files that `joins` name open.
    _files: Vec<OwnedFd>,
    cgroup: Option<OwnedFd>,
    root: Option<OwnedFd>,
    wd: Option<OwnedFd>,
    become_root: bool,
    /// A user namespace is joined and `keep_caps` was asked.
    keep_caps: bool,
    new_pid_ns: bool,
    /// A time namespace is joined: the intermediate must have a memory of its own.
    fork_like: bool,
}

/// Where the target's cgroup stands for us.
enum TargetCgroup {
    /// It is the calling thread's: the payload is born there without `CLONE_INTO_CGROUP`
    /// (which would needlessly want write access to a cgroup we are in already — the root
    /// cgroup's `cgroup.procs`, say, for an unprivileged caller).
    Ours,
    /// Its directory, opened for `CLONE_INTO_CGROUP`.
    Dir(OwnedFd),
    /// Why the payload cannot be created there.
    Unavailable(io::Error),
}

/// The target's cgroup2 directory (`CLONE_INTO_CGROUP` takes a directory fd), checked the
/// way clone3(2) will check it: write access to `cgroup.procs` of the target's cgroup and of
/// the nearest cgroup that holds both ours and the target's (cgroups(7), "Delegation
/// containment"; `cgroup_css_set_fork` in kernel/cgroup/cgroup.c).
fn target_cgroup(target: &Target) -> io::Result<TargetCgroup> {
    use TargetCgroup::Unavailable;
    let unavailable = |why: String| Unavailable(io::Error::new(io::ErrorKind::Unsupported, why));
    let Some(path) = target.cgroup2_path()? else {
        return Ok(unavailable(format!(
            "the target's cgroup: /proc/{}/cgroup has no cgroup2 (0::) line",
            target.pid()
        )));
    };
    let ours = std::fs::read_to_string("/proc/thread-self/cgroup")
        .ok()
        .and_then(|t| target::parse_cgroup2_line(&t));
    if ours.as_deref() == Some(path.as_path()) {
        return Ok(TargetCgroup::Ours);
    }
    // Only now the probe (about 0.3 ms): most targets share our cgroup.
    let features = Features::probe();
    let Some(mount) = features.cgroup2_mount.as_deref() else {
        return Ok(unavailable(
            "the target's cgroup: no cgroup2 hierarchy is mounted (/proc/self/mountinfo)".into(),
        ));
    };
    if !features.clone3.usable() {
        return Ok(unavailable(format!(
            "the target's cgroup: CLONE_INTO_CGROUP needs clone3, and {}",
            crate::fallback::describe(features.clone3)
        )));
    }
    if !features.into_cgroup {
        return Ok(unavailable(
            "the target's cgroup: this kernel has no CLONE_INTO_CGROUP (Linux 5.7)".into(),
        ));
    }
    let mount_root = mount_root(mount).unwrap_or_else(|| PathBuf::from("/"));
    let Some(dir) = target::cgroup_dir(mount, &mount_root, &path) else {
        return Ok(unavailable(format!(
            "the target's cgroup {} is outside the cgroup2 tree we can see (cgroup \
             namespace or mount of {} at {})",
            path.display(),
            mount_root.display(),
            mount.display()
        )));
    };
    let mut must_write = vec![(path.clone(), dir.clone())];
    if let Some(ours) = &ours {
        let common = common_ancestor(ours, &path);
        if common != path {
            let common_dir = target::cgroup_dir(mount, &mount_root, &common);
            must_write.push((common, common_dir.unwrap_or_else(|| mount.to_path_buf())));
        }
    }
    for (cg, d) in &must_write {
        // With the effective ids, as the kernel checks the cloning process.
        if let Err(e) = rustix::fs::accessat(
            rustix::fs::CWD,
            d.join("cgroup.procs"),
            rustix::fs::Access::WRITE_OK,
            rustix::fs::AtFlags::EACCESS,
        ) {
            let which = if cg == &path {
                String::new()
            } else {
                format!(
                    " nor to that of {}, the nearest cgroup holding ours too",
                    cg.display()
                )
            };
            return Ok(Unavailable(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the target's cgroup {}: no write access to its cgroup.procs{which} \
                     ({}), which creating a process there needs; leave the program in our \
                     cgroup instead (Cgroup::Caller, --cgroup-of-caller), as nsenter does",
                    path.display(),
                    crate::Errno(e.raw_os_error()).name()
                ),
            )));
        }
    }
    let fd = rustix::fs::open(
        &dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("the target's cgroup {}: {e}", dir.display()),
        )
    })?;
    Ok(TargetCgroup::Dir(fd))
}

/// The deepest cgroup path that contains both.
fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.components()
        .zip(b.components())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x)
        .collect()
}

/// The root of the cgroup2 hierarchy mounted at `mount` (field 4 of mountinfo).
fn mount_root(mount: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    crate::probe::system::parse_mountinfo(&text)
        .into_iter()
        .rev()
        .find(|e| e.fs_type == "cgroup2" && e.mount_point == mount)
        .map(|e| e.root)
}

fn launch(prep: &Prepared, cmd: &mut Command) -> io::Result<Child> {
    if cmd.fork_hooks && !prep.fork_like {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "enter runs the command's hooks in shared memory unless it joins a time \
             namespace: add them with pre_exec_shared_memory, not pre_exec",
        ));
    }
    // The intermediate always exits (it never execs) and the payload inherits its exit
    // signal (CLONE_PARENT): a requested signal would hit the caller on every enter.
    let exit_signal = plan::clone_exit_signal(cmd.exit_signal, CloneFlags::empty());
    let legacy = crate::fallback::clone3_unusable(cmd.fallback);
    if legacy && prep.cgroup.is_some() {
        return Err(crate::Error::NeedsClone3 {
            feature: "creating the program in the target's cgroup (CLONE_INTO_CGROUP)".into(),
            probe: crate::fallback::describe(crate::fallback::clone3_availability()),
        }
        .into());
    }
    let mut p = plan::prepare(cmd, StdioDefault::Inherit)?;
    if prep.keep_caps {
        p.child.isolation.sandbox.set_keep_caps();
    }
    // The payload resets its handlers itself (no CLONE_CLEAR_SIGHAND on its clone).
    p.child.signals.kernel_cleared = false;
    if let Some(d) = p.child.death_signal.as_mut() {
        // The payload's parent is the caller; seen from another pid namespace it is 0.
        d.expected_ppid = if prep.new_pid_ns {
            0
        } else {
            rustix::process::getpid().as_raw_nonzero().get()
        };
    }
    // A fork-like intermediate runs on a copy of this thread's stack and reports through a
    // pipe; a CLONE_VM one needs a stack of its own and reports in memory.
    let mode = if prep.fork_like {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        Intermediate::Forked { r, w }
    } else {
        Intermediate::SharedMemory(take_spawn_stack()?)
    };
    let stack_p = match take_spawn_stack() {
        Ok(s) => s,
        Err(e) => {
            mode.give_back();
            return Err(e);
        }
    };
    let mut flags = CloneFlags::PARENT | CloneFlags::PIDFD;
    if prep.cgroup.is_some() {
        flags |= CloneFlags::INTO_CGROUP;
    }
    let mut plan_i = IntermediatePlan {
        joins: prep.joins.clone(),
        retry_with_user: prep.retry.clone(),
        payload: PayloadPlan {
            joins: prep.payload_joins.clone(),
            user_already_joined: false,
            become_root: prep.become_root,
            root: prep.root.as_ref().map(AsRawFd::as_raw_fd),
            wd: prep.wd.as_ref().map(AsRawFd::as_raw_fd),
            child: &mut p.child,
        },
        payload_flags: flags,
        cgroup: prep.cgroup.as_ref().map(AsFd::as_fd),
        payload_stack: &stack_p,
        legacy,
        out: Outcome {
            pid: 0,
            pidfd: -1,
            failure: None,
        },
    };
    let launched = match &mode {
        Intermediate::Forked { w, .. } => {
            let fd = w.as_raw_fd();
            let plan = &mut plan_i;
            crate::sys::setns::fork_intermediate(exit_signal, move || plan.run_forked(fd), legacy)
        }
        Intermediate::SharedMemory(stack) => {
            crate::sys::setns::spawn_intermediate(exit_signal, &mut plan_i, stack, legacy)
        }
    };
    let mut out = plan_i.out;
    drop(plan_i);
    return_spawn_stack(stack_p);
    drop(std::mem::take(&mut p.child_owned));
    let report_r = mode.give_back();
    let call = if legacy { "clone" } else { "clone3" };
    let inter = launched.map_err(|e| {
        io::Error::new(
            io::Error::from_raw_os_error(e).kind(),
            format!(
                "{call} of enter's intermediate: {} ({})",
                crate::Errno(e).message(),
                crate::Errno(e).name()
            ),
        )
    })?;
    // The intermediate has exited (CLONE_VFORK): reap it.
    let inter_status = inter.pidfd.map(|fd| PidFd::from(fd).wait());
    if let Some(r) = report_r {
        let (o, report) = read_record(&r).map_err(|e| {
            io::Error::other(format!(
                "enter: the intermediate ended without a report ({e}; its status: \
                 {inter_status:?})"
            ))
        })?;
        out = o;
        p.child.report = report;
    }
    let payload_pidfd = crate::sys::setns::adopt_payload_pidfd(out.pidfd).map(PidFd::from);
    if let Some((stage, index, errno)) = out.failure {
        return Err(intermediate_error(prep, stage, index, errno));
    }
    let pidfd = payload_pidfd.ok_or_else(|| io::Error::other("enter: the payload has no pidfd"))?;
    if let Some((step, errno)) = p.child.report.failure {
        let _ = pidfd.wait();
        let index = p.child.report.index;
        let detail = match step {
            Step::Setns => prep
                .payload_joins
                .get(index)
                .map(|j| j.nstype.to_names_string())
                .unwrap_or_default(),
            _ => crate::spawn::detail(&p, step, index, errno),
        };
        return Err(SpawnError::new(step, detail, errno).into());
    }
    Ok(p.take_child(out.pid as u32, pidfd))
}

/// How the intermediate is made.
enum Intermediate {
    /// Fork-like, reporting on the pipe `w` (read at `r`).
    Forked { r: OwnedFd, w: OwnedFd },
    /// `CLONE_VM`, on this stack.
    SharedMemory(ChildStack),
}

impl Intermediate {
    /// Returns the stack to the cache, or closes the pipe's write end and keeps the read end.
    /// The intermediate, sharing our descriptor table, wrote its record before it exited;
    /// afterwards only the payload's copy of the write end may remain, which its exec closes.
    fn give_back(self) -> Option<OwnedFd> {
        match self {
            Intermediate::Forked { r, w } => {
                drop(w);
                Some(r)
            }
            Intermediate::SharedMemory(stack) => {
                return_spawn_stack(stack);
                None
            }
        }
    }
}

/// The fork-like intermediate's record (see [`child::encode`]).
fn read_record(r: &OwnedFd) -> io::Result<(Outcome, crate::spawn::report::Report)> {
    let mut rec = [0u8; child::RECORD_LEN];
    let n = rustix::io::retry_on_intr(|| rustix::io::read(r, &mut rec))?;
    if n != rec.len() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{n} of {} bytes", rec.len()),
        ));
    }
    child::decode(&rec).ok_or_else(|| io::Error::other("a record that names no step"))
}

fn intermediate_error(prep: &Prepared, stage: Stage, index: usize, errno: i32) -> io::Error {
    let e = crate::Errno(errno);
    let kind = io::Error::from_raw_os_error(errno).kind();
    let msg = match stage {
        Stage::Setns | Stage::SetnsWithUser => {
            let list = if stage == Stage::Setns {
                &prep.joins
            } else {
                &prep.retry
            };
            let what = list
                .get(index)
                .map(|j| j.nstype.to_names_string())
                .unwrap_or_default();
            let hint = match errno {
                libc::ESRCH => " (the target has exited)",
                libc::EPERM => " (needs CAP_SYS_ADMIN over the target's namespaces)",
                _ => "",
            };
            format!("setns {what}: {} ({}){hint}", e.message(), e.name())
        }
        Stage::Clone => {
            let hint = match errno {
                libc::EACCES | libc::EPERM if prep.cgroup.is_some() => {
                    " (creating it in the target's cgroup: no write access to cgroup.procs)"
                }
                libc::EBUSY if prep.cgroup.is_some() => {
                    " (the target's cgroup has controllers enabled for its children)"
                }
                libc::ENOMEM => " (the target's pid namespace may have no init any more)",
                _ => "",
            };
            format!(
                "clone3 of the payload: {} ({}){hint}",
                e.message(),
                e.name()
            )
        }
    };
    io::Error::new(kind, msg)
}
