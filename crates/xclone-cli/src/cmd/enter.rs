//! `xclone enter -t PID [NAMESPACE OPTIONS] … [--] PROGRAM [ARGS…]`: run a program inside a
//! running process's namespaces and cgroup as a child of xclone, with nsenter(1)'s option
//! names; wait for it, forward signals, exit with its status (as `xclone run`).

use super::run::{
    enoexec_path, errno_text, forwarded_signals, json_spawn_error, spawn_failed, status_file,
};
use crate::exit;
use crate::options::{parse_persist, parse_signal, Persist};
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::{OwnedFd, RawFd};
use std::path::PathBuf;
use xclone::enter::{Cgroup, Dir, Enter, Namespaces};
use xclone::raw::fdnum::{dup_number, set_cloexec_number};
use xclone::{CloneFlags, Command, PidFd};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "The target is pinned by a pidfd before anything is read about it: a target \
    that exits and whose PID is reused is detected, never entered. The namespaces are joined \
    with one setns(pidfd) where the kernel has it (5.8+). The program is created as a child \
    of xclone in the target's pid and time namespaces and in its cgroup (CLONE_INTO_CGROUP) \
    where xclone may write that cgroup's cgroup.procs, else in xclone's cgroup (as \
    nsenter).\n\nExit \
    status: the program's; 128+N if it was killed by signal N; 125 if xclone failed, 126 if \
    the program could not be executed, 127 if it was not found. Forwards SIGINT, SIGTERM, \
    SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the program."
)]
pub struct EnterArgs {
    /// The target process (not needed when every namespace is given as a FILE).
    #[arg(
        short = 't',
        long = "target",
        value_name = "PID",
        conflicts_with = "target_pidfd"
    )]
    pub target: Option<u32>,
    /// The target as a pidfd xclone inherited at this descriptor number (no PID-reuse race).
    #[arg(long, value_name = "FD")]
    pub target_pidfd: Option<RawFd>,
    /// Every namespace of the target that differs from xclone's.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// The mount namespace: the target's, or the one FILE names (as every option below).
    #[arg(short = 'm', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub mount: Option<Persist>,
    /// The UTS namespace (hostname).
    #[arg(short = 'u', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub uts: Option<Persist>,
    /// The IPC namespace.
    #[arg(short = 'i', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub ipc: Option<Persist>,
    /// The network namespace (e.g. --net=/run/netns/NAME, made by `ip netns add NAME`).
    #[arg(short = 'n', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub net: Option<Persist>,
    /// The pid namespace (the program is born in it).
    #[arg(short = 'p', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub pid: Option<Persist>,
    /// The user namespace (the program becomes uid/gid 0 of it unless --preserve-credentials).
    #[arg(short = 'U', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub user: Option<Persist>,
    /// The cgroup namespace.
    #[arg(short = 'C', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub cgroup: Option<Persist>,
    /// The time namespace: the program reads the target's CLOCK_MONOTONIC and
    /// CLOCK_BOOTTIME (its offsets) from its first instruction.
    #[arg(short = 'T', long, value_name = "FILE", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_persist)]
    pub time: Option<Persist>,
    /// Join the parent of that user namespace instead (implies -U).
    #[arg(long)]
    pub user_parent: bool,
    /// Create the program in the target's cgroup, or fail with the reason (the default does
    /// so where the system and xclone's permissions allow it, else leaves it in xclone's).
    #[arg(short = 'c', long, visible_alias = "join-cgroup",
          conflicts_with_all = ["into_cgroup", "cgroup_of_caller"])]
    pub cgroup_of_target: bool,
    /// Create the program in this cgroup2 directory.
    #[arg(long, value_name = "DIR", conflicts_with = "cgroup_of_caller")]
    pub into_cgroup: Option<PathBuf>,
    /// Leave the program in xclone's cgroup (as nsenter without --join-cgroup).
    #[arg(long)]
    pub cgroup_of_caller: bool,
    /// The program's uid: a number or a user name (after joining a user namespace: in it).
    #[arg(short = 'S', long, value_name = "UID", value_parser = crate::ids::parse_uid)]
    pub setuid: Option<u32>,
    /// The program's gid: a number or a group name.
    #[arg(short = 'G', long, value_name = "GID", value_parser = crate::ids::parse_gid)]
    pub setgid: Option<u32>,
    /// Keep xclone's uid, gid and groups when joining a user namespace.
    #[arg(long)]
    pub preserve_credentials: bool,
    /// Keep the capabilities the program holds in the joined user namespace across exec,
    /// as nsenter --keep-caps (util-linux 2.39): last before exec the inheritable set takes
    /// the permitted set and every effective capability is raised into the ambient set.
    /// Without a user namespace to join it does nothing (as nsenter).
    #[arg(long)]
    pub keep_caps: bool,
    /// The root directory: DIR, or the target's when DIR is omitted (-r, --root).
    #[arg(short = 'r', long, value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_dir)]
    pub root: Option<DirArg>,
    /// The working directory: DIR, or the target's when DIR is omitted (-w, --wd).
    #[arg(short = 'w', long, value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = "", value_parser = parse_dir)]
    pub wd: Option<DirArg>,
    /// The working directory DIR, looked up after joining the namespaces (in the entered
    /// mount namespace and root).
    #[arg(short = 'W', long, value_name = "DIR", conflicts_with = "wd")]
    pub wdns: Option<PathBuf>,
    /// Start from the target's environment instead of xclone's (nsenter -e).
    #[arg(short = 'e', long = "env", visible_alias = "env-of-target")]
    pub env_of_target: bool,
    /// Set an environment variable for the program (repeatable).
    #[arg(long = "env-set", value_name = "KEY=VALUE", value_parser = crate::options::parse_env)]
    pub env_set: Vec<(OsString, OsString)>,
    /// nsenter's "exec without forking": refused, see --help.
    #[arg(short = 'F', long)]
    pub no_fork: bool,
    /// Kill the program with SIG (default SIGKILL) when xclone dies (PR_SET_PDEATHSIG).
    #[arg(long, value_name = "SIG", num_args = 0..=1, require_equals = true,
          default_missing_value = "SIGKILL", value_parser = parse_signal)]
    pub kill_child: Option<i32>,
    /// Write JSON Lines to descriptor FD: {"child-pid": …, "ns-pids": [outermost … innermost]}
    /// once the program exists, {"exit-code": …} or {"signal": …} when it ends, and
    /// {"error": {"step": …, "errno": …}} when it could not be started.
    #[arg(long, value_name = "FD")]
    pub json_status_fd: Option<RawFd>,
    /// The program and its arguments: words before it are xclone's options (an unknown
    /// one is an error), everything from it on is the program's.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    pub command: Vec<OsString>,
}

/// `-r`/`-w`: the target's directory (no value) or DIR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirArg {
    Target,
    Path(PathBuf),
}

fn parse_dir(s: &str) -> Result<DirArg, String> {
    Ok(if s.is_empty() {
        DirArg::Target
    } else {
        DirArg::Path(s.into())
    })
}

impl EnterArgs {
    fn ns_options(&self) -> [(&Option<Persist>, CloneFlags, &'static str); 8] {
        [
            (&self.mount, CloneFlags::NEWNS, "--mount"),
            (&self.uts, CloneFlags::NEWUTS, "--uts"),
            (&self.ipc, CloneFlags::NEWIPC, "--ipc"),
            (&self.net, CloneFlags::NEWNET, "--net"),
            (&self.pid, CloneFlags::NEWPID, "--pid"),
            (&self.user, CloneFlags::NEWUSER, "--user"),
            (&self.cgroup, CloneFlags::NEWCGROUP, "--cgroup"),
            (&self.time, CloneFlags::NEWTIME, "--time"),
        ]
    }

    fn namespaces(&self) -> Namespaces {
        if self.all {
            return Namespaces::AllDiffering;
        }
        let mut f = CloneFlags::empty();
        for (opt, flag, _) in self.ns_options() {
            f.set(flag, opt.is_some());
        }
        if self.user_parent {
            f |= CloneFlags::NEWUSER;
        }
        Namespaces::These(f)
    }
}

fn open_dir(d: &DirArg, what: &str) -> Result<Dir, String> {
    let DirArg::Path(d) = d else {
        return Ok(Dir::Target);
    };
    let f = File::open(d).map_err(|e| format!("{what} {}: {}", d.display(), errno_text(&e)))?;
    Ok(Dir::Open(OwnedFd::from(f)))
}

fn build(a: &EnterArgs) -> Result<(Enter, Command), String> {
    if a.no_fork {
        return Err(
            "-F/--no-fork cannot be honoured: xclone creates the program as its child \
                    (pinned by a pidfd, in the target's pid namespace and cgroup) and waits \
                    for it; it never execs in place"
                .into(),
        );
    }
    let mut enter = match (a.target, a.target_pidfd) {
        (_, Some(fd)) => {
            let owned =
                dup_number(fd).map_err(|e| format!("--target-pidfd {fd}: {}", errno_text(&e)))?;
            // The program must not inherit the caller's pidfd.
            set_cloexec_number(fd)
                .map_err(|e| format!("--target-pidfd {fd}: {}", errno_text(&e)))?;
            if !is_pidfd(&owned) {
                return Err(format!(
                    "--target-pidfd {fd}: descriptor {fd} is not a pidfd (pidfd_open(2) or \
                     clone3's CLONE_PIDFD makes one)"
                ));
            }
            Enter::new(PidFd::from(owned))
        }
        (Some(pid), None) => Enter::pid(pid),
        (None, None) => {
            let all_files = a
                .ns_options()
                .iter()
                .all(|(o, _, _)| o.as_ref().is_none_or(|p| p.0.is_some()));
            if a.all || !all_files || a.namespaces() == Namespaces::These(CloneFlags::empty()) {
                return Err(
                    "no target: give -t PID or --target-pidfd FD, or every namespace \
                            as a file (--net=FILE…)"
                        .into(),
                );
            }
            Enter::without_target()
        }
    };
    for (opt, kind, name) in a.ns_options() {
        if let Some(Persist(Some(path))) = opt {
            let f = File::open(path)
                .map_err(|e| format!("{name}={}: open: {}", path.display(), errno_text(&e)))?;
            enter.ns_file(kind, OwnedFd::from(f));
        }
    }
    if a.user_parent {
        let user = match &a.user {
            Some(Persist(Some(path))) => File::open(path)
                .map(OwnedFd::from)
                .map_err(|e| format!("--user={}: open: {}", path.display(), errno_text(&e)))?,
            _ => enter
                .pin()
                .and_then(|t| t.open_ns(CloneFlags::NEWUSER))
                .map_err(|e| format!("--user-parent: {e}"))?,
        };
        let parent = xclone::raw::ns::parent_ns(&user).map_err(|e| {
            format!(
                "--user-parent: ioctl NS_GET_PARENT: {} (the user namespace has no parent \
                 we may see)",
                xclone::Errno(e.raw_os_error())
            )
        })?;
        enter.ns_file(CloneFlags::NEWUSER, parent);
    }
    enter
        .namespaces(a.namespaces())
        .preserve_credentials(a.preserve_credentials)
        .keep_caps(a.keep_caps)
        .env_of_target(a.env_of_target);
    if a.cgroup_of_target {
        enter.cgroup(Cgroup::Target);
    } else if a.cgroup_of_caller {
        enter.cgroup(Cgroup::Caller);
    } else if let Some(d) = &a.into_cgroup {
        let f = File::open(d)
            .map_err(|e| format!("--into-cgroup {}: {}", d.display(), errno_text(&e)))?;
        enter.cgroup(Cgroup::Dir(OwnedFd::from(f)));
    }
    if let Some(r) = &a.root {
        enter.root(open_dir(r, "--root")?);
    }
    if let Some(w) = &a.wd {
        enter.wd(open_dir(w, "--wd")?);
    }
    Ok((enter, command(a, None)?))
}

/// The program's command, or with `script` the same run through `/bin/sh SCRIPT ARGS…`.
fn command(a: &EnterArgs, script: Option<OsString>) -> Result<Command, String> {
    let (program, args) = a.command.split_first().ok_or("no program given")?;
    let mut cmd = match script {
        Some(path) => {
            let mut c = Command::new("/bin/sh");
            c.arg0(program).arg(path);
            c
        }
        None => Command::new(program),
    };
    // xclone blocks the signals it forwards; the program starts with none blocked.
    cmd.args(args).signal_mask([]);
    if let Some(d) = &a.wdns {
        cmd.current_dir(d);
    }
    for (k, v) in &a.env_set {
        cmd.env(k, v);
    }
    if let Some(u) = a.setuid {
        cmd.uid(u);
    }
    if let Some(g) = a.setgid {
        cmd.gid(g);
    }
    if let Some(sig) = a.kill_child {
        cmd.die_with_parent(Some(sig));
    }
    Ok(cmd)
}

/// Whether `fd` is a pidfd: its fdinfo has a `Pid:` line (as pidfds' have, Linux 5.3).
fn is_pidfd(fd: &OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
        .is_ok_and(|t| t.lines().any(|l| l.starts_with("Pid:")))
}

pub fn run(a: EnterArgs) -> i32 {
    let mut json = match status_file(a.json_status_fd) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let (enter, mut cmd) = match build(&a) {
        Ok(x) => x,
        Err(msg) => return exit::fail(msg),
    };
    let sigfd = match forwarded_signals() {
        Ok(fd) => fd,
        Err(code) => return code,
    };
    let spawned = enter
        .spawn(&mut cmd)
        .or_else(|e| match enoexec_path(&e, None) {
            // execvp(3)'s fallback, as in `run`.
            Some(path) => command(&a, Some(path))
                .map_err(std::io::Error::other)
                .and_then(|mut c| enter.spawn(&mut c)),
            None => Err(e),
        });
    let child = match spawned {
        Ok(c) => c,
        Err(e) if xclone::SpawnError::from_io(&e).is_some() => {
            if let (Some(j), Some(se)) = (json.as_mut(), xclone::SpawnError::from_io(&e)) {
                json_spawn_error(j, se);
            }
            return spawn_failed(&e, None);
        }
        Err(e) => {
            // A join that failed on a namespace file names the file the user gave.
            let mut msg = e.to_string();
            for (opt, kind, name) in a.ns_options() {
                if let Some(Persist(Some(path))) = opt {
                    if msg.starts_with(&format!("setns {}:", kind.to_names_string())) {
                        msg.push_str(&format!(" ({name}={})", path.display()));
                    }
                }
            }
            return exit::fail(format!("enter: {msg}"));
        }
    };
    super::run::follow(child, &sigfd, json)
}
