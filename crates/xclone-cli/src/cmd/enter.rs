//! `xclone enter -t PID [NAMESPACE OPTIONS] … [--] PROGRAM [ARGS…]`: run a program inside a
//! running process's namespaces and cgroup as a child of xclone, with nsenter(1)'s option
//! names; wait for it, forward signals, exit with its status (as `xclone run`).

use super::run::{errno_text, forwarded_signals, spawn_failed, status_file};
use crate::exit;
use crate::options::parse_signal;
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
    /// The target process.
    #[arg(
        short = 't',
        long = "target",
        value_name = "PID",
        required_unless_present = "target_pidfd",
        conflicts_with = "target_pidfd"
    )]
    pub target: Option<u32>,
    /// The target as a pidfd xclone inherited at this descriptor number (no PID-reuse race).
    #[arg(long, value_name = "FD")]
    pub target_pidfd: Option<RawFd>,
    /// Every namespace of the target that differs from xclone's.
    #[arg(short = 'a', long)]
    pub all: bool,
    /// The mount namespace.
    #[arg(short = 'm', long)]
    pub mount: bool,
    /// The UTS namespace (hostname).
    #[arg(short = 'u', long)]
    pub uts: bool,
    /// The IPC namespace.
    #[arg(short = 'i', long)]
    pub ipc: bool,
    /// The network namespace.
    #[arg(short = 'n', long)]
    pub net: bool,
    /// The pid namespace (the program is born in it).
    #[arg(short = 'p', long)]
    pub pid: bool,
    /// The user namespace (the program becomes uid/gid 0 of it unless --preserve-credentials).
    #[arg(short = 'U', long)]
    pub user: bool,
    /// The cgroup namespace.
    #[arg(short = 'C', long)]
    pub cgroup: bool,
    /// The time namespace: the program reads the target's CLOCK_MONOTONIC and
    /// CLOCK_BOOTTIME (its offsets) from its first instruction.
    #[arg(short = 'T', long)]
    pub time: bool,
    /// Create the program in the target's cgroup, or fail with the reason (the default does
    /// so where the system and xclone's permissions allow it, else leaves it in xclone's).
    #[arg(long, conflicts_with_all = ["into_cgroup", "cgroup_of_caller"])]
    pub cgroup_of_target: bool,
    /// Create the program in this cgroup2 directory.
    #[arg(long, value_name = "DIR", conflicts_with = "cgroup_of_caller")]
    pub into_cgroup: Option<PathBuf>,
    /// Leave the program in xclone's cgroup (as nsenter).
    #[arg(long)]
    pub cgroup_of_caller: bool,
    /// The program's uid (after joining a user namespace: in it).
    #[arg(short = 'S', long, value_name = "UID")]
    pub setuid: Option<u32>,
    /// The program's gid.
    #[arg(short = 'G', long, value_name = "GID")]
    pub setgid: Option<u32>,
    /// Keep xclone's uid, gid and groups when joining a user namespace.
    #[arg(long)]
    pub preserve_credentials: bool,
    /// The root directory: DIR, or the target's when DIR is omitted.
    #[arg(short = 'r', long, value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = "")]
    pub root: Option<PathBuf>,
    /// The working directory: DIR, or the target's when DIR is omitted.
    #[arg(short = 'w', long, value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = "")]
    pub wd: Option<PathBuf>,
    /// Start from the target's environment instead of xclone's.
    #[arg(long)]
    pub env_of_target: bool,
    /// Set an environment variable for the program (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::options::parse_env)]
    pub env: Vec<(OsString, OsString)>,
    /// Kill the program with SIG (default SIGKILL) when xclone dies (PR_SET_PDEATHSIG).
    #[arg(long, value_name = "SIG", num_args = 0..=1, require_equals = true,
          default_missing_value = "SIGKILL", value_parser = parse_signal)]
    pub kill_child: Option<i32>,
    /// Write JSON Lines to descriptor FD: {"child-pid": …, "ns-pids": [outermost … innermost]}
    /// once the program exists, and {"exit-code": …} or {"signal": …} when it ends.
    #[arg(long, value_name = "FD")]
    pub json_status_fd: Option<RawFd>,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    pub command: Vec<OsString>,
}

impl EnterArgs {
    fn namespaces(&self) -> Namespaces {
        if self.all {
            return Namespaces::AllDiffering;
        }
        let mut f = CloneFlags::empty();
        for (on, flag) in [
            (self.mount, CloneFlags::NEWNS),
            (self.uts, CloneFlags::NEWUTS),
            (self.ipc, CloneFlags::NEWIPC),
            (self.net, CloneFlags::NEWNET),
            (self.pid, CloneFlags::NEWPID),
            (self.user, CloneFlags::NEWUSER),
            (self.cgroup, CloneFlags::NEWCGROUP),
            (self.time, CloneFlags::NEWTIME),
        ] {
            f.set(flag, on);
        }
        Namespaces::These(f)
    }
}

fn open_dir(d: &PathBuf, what: &str) -> Result<Dir, String> {
    if d.as_os_str().is_empty() {
        return Ok(Dir::Target);
    }
    let f = File::open(d).map_err(|e| format!("{what} {}: {}", d.display(), errno_text(&e)))?;
    Ok(Dir::Open(OwnedFd::from(f)))
}

fn build(a: &EnterArgs) -> Result<(Enter, Command), String> {
    let mut enter = match (a.target, a.target_pidfd) {
        (_, Some(fd)) => {
            let owned =
                dup_number(fd).map_err(|e| format!("--target-pidfd {fd}: {}", errno_text(&e)))?;
            // The program must not inherit the caller's pidfd.
            set_cloexec_number(fd)
                .map_err(|e| format!("--target-pidfd {fd}: {}", errno_text(&e)))?;
            Enter::new(PidFd::from(owned))
        }
        (Some(pid), None) => Enter::pid(pid),
        (None, None) => return Err("no target: give -t PID or --target-pidfd FD".into()),
    };
    enter
        .namespaces(a.namespaces())
        .preserve_credentials(a.preserve_credentials)
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
    let (program, args) = a.command.split_first().ok_or("no program given")?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in &a.env {
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
    Ok((enter, cmd))
}

pub fn run(a: EnterArgs) -> i32 {
    let json = match status_file(a.json_status_fd) {
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
    let child = match enter.spawn(&mut cmd) {
        Ok(c) => c,
        Err(e) if xclone::SpawnError::from_io(&e).is_some() => return spawn_failed(&e),
        Err(e) => return exit::fail(format!("enter: {e}")),
    };
    super::run::follow(child, &sigfd, json)
}
