//! `xclone run [OPTIONS] [--] PROGRAM [ARGS…]`: run a program as a child created with the
//! requested clone3 options, forward signals to it, and exit with its status.

use crate::exit;
use crate::isolation::{kernel_accepts, Ids, IsolationOpts, Resolved};
use crate::options::{parse_signal, signal_name, CloneOpts};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{BorrowedFd, RawFd};
use std::path::PathBuf;
use xclone::raw::fdnum::{dup_number, set_cloexec_number};
use xclone::raw::signal::{self, SigSet, SignalFd, SI_KERNEL};
use xclone::{fallback::FallbackPolicy, Child, Command, ExitStatus, SpawnError, Step};

/// The signals xclone passes on to the program.
const FORWARDED: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// What `xclone run` does, in the subcommand list and its help.
pub(crate) const ABOUT: &str = "Run a program as a child made with clone3 and exit with its status";

#[derive(clap::Args, Debug)]
#[command(
    about = ABOUT,
    after_help = "Exit status: the program's; 128+N if it was killed by signal N (xclone \
    then kills itself with the same signal where it can); 125 if xclone failed, 126 if the \
    program could not be executed, 127 if it was not found.\n\nForwards SIGINT, SIGTERM, SIGHUP, \
    SIGQUIT, SIGUSR1 and SIGUSR2 to the program (not those a terminal already sent to the \
    whole process group). Signals ignored when xclone starts (nohup, background jobs) stay \
    ignored in the program and are not forwarded."
)]
pub struct RunArgs {
    #[command(flatten)]
    pub clone: CloneOpts,
    #[command(flatten)]
    pub isolation: IsolationOpts,
    #[command(flatten)]
    pub sandbox: crate::sandbox::SandboxArgs,
    /// Kill the program with SIG (default SIGKILL) when xclone dies (PR_SET_PDEATHSIG).
    #[arg(long, value_name = "SIG", num_args = 0..=1, require_equals = true,
          default_missing_value = "SIGKILL", value_parser = parse_signal)]
    pub kill_child: Option<i32>,
    /// Working directory of the program (inside --root when given).
    #[arg(short = 'w', long, value_name = "DIR")]
    pub wd: Option<PathBuf>,
    /// The program's uid: a number or a user name (in the new user namespace with -U).
    #[arg(short = 'S', long, value_name = "UID", value_parser = crate::ids::parse_uid)]
    pub setuid: Option<u32>,
    /// The program's gid: a number or a group name; drops supplementary groups where
    /// allowed, as unshare.
    #[arg(short = 'G', long, value_name = "GID", value_parser = crate::ids::parse_gid)]
    pub setgid: Option<u32>,
    /// Accepted for unshare's sake: xclone always creates the program as a new child.
    #[arg(short = 'f', long)]
    pub fork: bool,
    /// Set an environment variable for the program (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = crate::options::parse_env)]
    pub env: Vec<(OsString, OsString)>,
    /// Make xclone's descriptor PARENT appear as CHILD in the program (repeatable).
    #[arg(long = "fd-map", value_name = "PARENT:CHILD", value_parser = parse_fd_map)]
    pub fd_map: Vec<(RawFd, RawFd)>,
    /// Write JSON Lines to descriptor FD: {"child-pid": …} once the program exists, and
    /// {"exit-code": …} or {"signal": …} when it ends (under --unshare-pid's init, as bwrap:
    /// {"exit-code": 128+N} for a signal N).
    #[arg(long, value_name = "FD")]
    pub json_status_fd: Option<RawFd>,
    /// Never fall back to clone(2) where clone3 is missing or filtered.
    #[arg(long)]
    pub no_fallback: bool,
    /// Print the clone_args that would be passed and the validator's verdict; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The program and its arguments: words before it are xclone's options (an unknown
    /// one is an error), everything from it on is the program's.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "PROGRAM [ARGS]..."
    )]
    pub command: Vec<OsString>,
}

fn parse_fd_map(s: &str) -> Result<(RawFd, RawFd), String> {
    let err = || format!("{s:?} is not PARENT:CHILD (two descriptor numbers)");
    let (p, c) = s.split_once(':').ok_or_else(err)?;
    let p: RawFd = p.trim().parse().map_err(|_| err())?;
    let c: RawFd = c.trim().parse().map_err(|_| err())?;
    if p < 0 || c < 0 {
        return Err(err());
    }
    Ok((p, c))
}

pub fn run(a: RunArgs) -> i32 {
    let mut json = match status_file(a.json_status_fd) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let (mut cmd, resolved) = match build(&a) {
        Ok(c) => c,
        Err(msg) => return exit::fail(msg),
    };
    if a.dry_run {
        return dry_run(&cmd, &resolved);
    }

    if let Some(offsets) = &resolved.time_by_xclone {
        if let Err(e) = xclone::isolate::enter_new_time_namespace(offsets) {
            return exit::fail(e.to_string());
        }
    }
    let sigfd = match forwarded_signals() {
        Ok(fd) => fd,
        Err(code) => return code,
    };
    if let Err(msg) = a.sandbox.join_namespaces() {
        return exit::fail(msg);
    }

    // The kernel is the judge: the request is not validated beforehand, since probing the
    // kernel and reading the caller from /proc would cost more than the spawn itself (about
    // a millisecond, see BENCHMARKS.md). When clone3 refuses, nothing was created, and the
    // library's error carries the validator's explanation of the errno.
    let mut spawned = cmd.spawn();
    if let Err(e) = &spawned {
        // execvp(3)'s fallback, as unshare and env have it: a file the kernel cannot
        // execute (no `#!`, no binary format it knows) is run by /bin/sh.
        if let Some(path) = enoexec_path(e, cmd.last_spawn_error()) {
            match build_as(&a, Some(path)) {
                Ok((c, _)) => {
                    cmd = c;
                    spawned = cmd.spawn();
                }
                Err(msg) => return exit::fail(msg),
            }
        }
    }
    let child = match spawned {
        Ok(c) => c,
        Err(e) => return failed(&e, json.as_mut(), &cmd),
    };
    a.sandbox.started(&child);
    follow(child, &sigfd, json)
}

/// Reports the program on the status descriptor, forwards signals until it ends, and turns
/// its status into ours (`run` and `enter` alike).
pub(crate) fn follow(child: Child, sigfd: &SignalFd, mut json: Option<File>) -> i32 {
    if let Some(j) = json.as_mut() {
        json_started(j, &child);
    }
    let under_init = child.has_init();
    let status = match supervise(child, sigfd) {
        Ok(s) => s,
        Err(e) => return exit::fail(format!("waiting for the program: {}", errno_text(&e))),
    };
    if let Some(j) = json.as_mut() {
        if under_init {
            // As bwrap under its init: the init's code (128+N for a signal N).
            let line = serde_json::json!({ "exit-code": status.shell_code() });
            let _ = writeln!(j, "{line}").and_then(|_| j.flush());
        } else {
            json_ended(j, status);
        }
    }
    drop(json);
    if under_init {
        // As bwrap: the program's code, or 128+N for a signal N (the init's own exit).
        return status.shell_code();
    }
    exit_like(status)
}

/// The `--json-status-fd` descriptor as a file, or the exit status of the failure (after
/// its one line on stderr).
pub(crate) fn status_file(fd: Option<RawFd>) -> Result<Option<File>, i32> {
    fd.map(open_status_fd)
        .transpose()
        .map_err(|e| exit::fail(format!("--json-status-fd {}: {e}", fd.unwrap_or(-1))))
}

/// Blocks the forwarded signals before the child exists, so that none is lost or kills
/// xclone (the child is given an empty mask, see `build`), and returns the descriptor they
/// arrive on; or the exit status of the failure.
pub(crate) fn forwarded_signals() -> Result<SignalFd, i32> {
    let set = SigSet::from_signals(FORWARDED);
    if let Err(e) = signal::block(&set) {
        return Err(exit::fail(format!("rt_sigprocmask: {}", xclone::Errno(e))));
    }
    SignalFd::new(&set).map_err(|e| exit::fail(format!("signalfd: {}", errno_text(&e))))
}

/// The status descriptor, made close-on-exec so the program does not hold it open.
fn open_status_fd(fd: RawFd) -> io::Result<File> {
    let owned = dup_number(fd)?;
    set_cloexec_number(fd)?;
    Ok(File::from(owned))
}

fn build(a: &RunArgs) -> Result<(Command, Resolved), String> {
    build_as(a, None)
}

/// The command, or with `script` the same run through `/bin/sh SCRIPT ARGS…`.
fn build_as(a: &RunArgs, script: Option<OsString>) -> Result<(Command, Resolved), String> {
    let (program, args) = a.command.split_first().ok_or("no program given")?;
    let o = &a.clone;
    let ids = Ids::current();
    let mut flags = o.clone_flags() | a.sandbox.clone_flags();
    // As bwrap run by anyone but root: bwrap's options get a user namespace of their own.
    let implicit_user_ns = a
        .sandbox
        .implicit_user_ns(flags, rustix::process::getuid().as_raw());
    if implicit_user_ns {
        flags |= xclone::CloneFlags::NEWUSER;
    }
    let mut resolved = a.isolation.resolve(flags, ids, kernel_accepts)?;
    time_offsets_by_kernel(&mut resolved);
    resolved.isolation.persist = o.persist();
    if resolved.flags.contains(xclone::CloneFlags::PARENT) {
        return Err(
            "CLONE_PARENT cannot be used with run: the program would be a child of \
                    xclone's parent, which xclone can neither wait for nor take the exit \
                    status of (`xclone explain` judges the flag itself)"
                .into(),
        );
    }
    let mut cmd = match script {
        Some(path) => {
            let mut c = Command::new("/bin/sh");
            c.arg0(program).arg(path).args(args);
            c
        }
        None if resolved.init => init_command(program, args)?,
        None => {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    };
    for (k, v) in &a.env {
        cmd.env(k, v);
    }
    if let Some(d) = &a.wd {
        cmd.current_dir(d);
    }
    // xclone blocks the signals it forwards; the program starts with none blocked.
    cmd.signal_mask([]);
    cmd.flags(resolved.flags);
    cmd.isolation(resolved.isolation.clone());
    // One default for `run` and `explain` (0 where clone3 demands it).
    let exit_signal = o
        .exit_signal
        .or(resolved.exit_signal)
        .unwrap_or_else(|| crate::options::default_exit_signal(resolved.flags));
    cmd.exit_signal(exit_signal);
    if let Some(g) = a.setgid {
        cmd.gid(g);
        if !resolved.flags.contains(xclone::CloneFlags::NEWUSER) || a.isolation.allows_setgroups() {
            cmd.groups(&[]);
        }
    }
    if let Some(u) = a.setuid {
        cmd.uid(u);
    }
    if let Some(t) = &o.set_tid {
        cmd.set_tid(&t.0);
    }
    if let Some(dir) = &o.into_cgroup {
        let fd = xclone::isolate::open_cgroup2_dir(dir).map_err(|e| e.to_string())?;
        cmd.into_cgroup(fd);
    }
    if let Some(sig) = a.kill_child {
        cmd.die_with_parent(Some(sig));
    }
    if a.no_fallback {
        cmd.clone3_fallback(FallbackPolicy::Never);
    }
    a.sandbox
        .apply(&mut cmd, ids.euid, ids.egid, implicit_user_ns)?;
    if resolved.init && cmd.get_sandbox().init {
        // --init's `xclone __init` is the init already.
        let mut s = cmd.get_sandbox().clone();
        s.init = false;
        cmd.sandbox(s);
    }
    if a.isolation.keep_caps {
        // As unshare: only a new user namespace grants capabilities worth keeping.
        if resolved.flags.contains(xclone::CloneFlags::NEWUSER) {
            let mut s = cmd.get_sandbox().clone();
            s.keep_caps = true;
            if a.sandbox.caps.is_empty() {
                // Not bwrap's empty set for its user namespace: -U's capabilities are kept.
                s.capabilities = None;
            }
            cmd.sandbox(s);
        } else {
            resolved.notes.push(
                "--keep-caps: ignored without a new user namespace (-U), as unshare does"
                    .to_string(),
            );
        }
    }
    for &(parent, child) in &a.fd_map {
        let fd = dup_number(parent)
            .map_err(|e| format!("--fd-map {parent}:{child}: {}", errno_text(&e)))?;
        // Only the mapping should reach the program, not the original number too.
        if !a.fd_map.iter().any(|&(_, c)| c == parent) && parent > 2 {
            set_cloexec_number(parent)
                .map_err(|e| format!("--fd-map {parent}:{child}: {}", errno_text(&e)))?;
        }
        cmd.fd_map(fd, child);
    }
    Ok((cmd, resolved))
}

/// Where the time offsets are written, as the kernel decides (asked, not looked up by
/// version): from 6.2 the spawned `CLONE_VM` child enters its new time namespace only at
/// execve and writes its own offsets first; before 6.2 it is in the namespace from its first
/// instruction, offsets frozen, so xclone makes the namespace, writes the offsets and enters
/// it before the spawn ([`xclone::isolate::enter_new_time_namespace`]), and the program is
/// born there without `CLONE_NEWTIME`. When the kernel's answer is unknown (no privilege to
/// ask: then the caller could not do it either), the child writes them.
fn time_offsets_by_kernel(r: &mut Resolved) {
    if r.isolation.time_offsets.is_empty() {
        return;
    }
    if xclone::isolate::vm_child_enters_time_ns_at_exec() != Some(false) {
        return;
    }
    let offsets = std::mem::take(&mut r.isolation.time_offsets);
    r.flags -= xclone::CloneFlags::NEWTIME;
    r.notes.push(
        "time: on this kernel a CLONE_VM child created with CLONE_NEWTIME is in the new time \
         namespace from its first instruction, its offsets frozen (Linux before 6.2; asked of \
         the kernel), so xclone makes the namespace and enters it itself; the program is born \
         in it without CLONE_NEWTIME"
            .to_string(),
    );
    r.time_by_xclone = Some(offsets);
}

/// `xclone __init -- PROGRAM ARGS…`, executed from this very binary through a descriptor
/// opened now (so neither a new root nor new mounts can hide it).
fn init_command(program: &OsString, args: &[OsString]) -> Result<Command, String> {
    let exe = rustix::fs::open(
        "/proc/self/exe",
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| {
        format!(
            "--init: open /proc/self/exe: {}",
            xclone::Errno(e.raw_os_error())
        )
    })?;
    let mut c = Command::new("xclone");
    c.program_fd(exe)
        .arg("__init")
        .arg("--")
        .arg(program)
        .args(args);
    Ok(c)
}

/// `EBADF (Bad file descriptor)` for an OS error, else the error's text.
pub(crate) fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => xclone::Errno(n).to_string(),
        None => e.to_string(),
    }
}

/// The path execve refused with `ENOEXEC` (a file of no format the kernel knows), which
/// execvp(3) runs with `/bin/sh` instead.
pub(crate) fn enoexec_path(e: &io::Error, se: Option<&SpawnError>) -> Option<OsString> {
    let se = se.or_else(|| SpawnError::from_io(e))?;
    (se.step() == Step::Execve
        && se.errno().0 == libc::ENOEXEC
        && !se.detail().is_empty()
        && !se.detail().ends_with("(from a descriptor)"))
    .then(|| se.detail().into())
}

/// Why nothing runs: the spawn's error on one line (see [`spawn_failed`]), and for a step
/// of the child (the exec included) a JSON line on the status descriptor first.
fn failed(e: &io::Error, json: Option<&mut File>, cmd: &Command) -> i32 {
    if let Some(se) = cmd.last_spawn_error().or_else(|| SpawnError::from_io(e)) {
        if let Some(j) = json {
            json_spawn_error(j, se);
        }
        return spawn_failed(e, Some(cmd));
    }
    // Refused before the call (a request a spawn cannot make), or by clone3 itself: then
    // nothing was created, and the library's error carries the validator's account of the
    // errno. (Where the spawn fell back to clone(2), the error is clone(2)'s and says so.)
    let text = e.to_string();
    match text.strip_prefix("clone3: ") {
        Some(rest) => exit::fail(format!("clone3 failed with {rest}")),
        None => exit::fail(text),
    }
}

/// The `--json-status-fd` line when the program could not be started: the failing step
/// and its errno (`{"error": {"step": "execve", "errno": "ENOENT", …}}`).
pub(crate) fn json_spawn_error(j: &mut File, se: &SpawnError) {
    let line = serde_json::json!({ "error": {
        "step": se.step().name(),
        "errno": se.errno().name(),
        "errno-number": se.errno().0,
        "detail": se.detail(),
    }});
    let _ = writeln!(j, "{line}").and_then(|_| j.flush());
}

/// One line naming the step and errno (the child's failure as `cmd` recorded it, or as
/// `enter` returns it); 127 when the program was not found, 126 when it could not be
/// executed, 125 for everything else.
pub(crate) fn spawn_failed(e: &io::Error, cmd: Option<&Command>) -> i32 {
    match cmd
        .and_then(Command::last_spawn_error)
        .or_else(|| SpawnError::from_io(e))
    {
        Some(se) => {
            let what = if se.detail().is_empty() {
                se.step().name().to_string()
            } else {
                format!("{} {}", se.step().name(), exit::clip(se.detail()))
            };
            match se.hint() {
                Some(h) => exit::line(format!("{what}: {} ({h})", se.errno())),
                None => exit::line(format!("{what}: {}", se.errno())),
            }
            match se.step() {
                Step::Execve if se.is_not_found() => exit::NOT_FOUND,
                Step::Execve => exit::CANNOT_EXECUTE,
                _ => exit::FAILURE,
            }
        }
        None => exit::fail(e),
    }
}

/// Waits for the child on its pidfd while passing the forwarded signals on to it.
pub(crate) fn supervise(mut child: Child, sigfd: &SignalFd) -> io::Result<ExitStatus> {
    loop {
        let (child_ready, signo) = ready_or_signal(child.ready_fd(), sigfd)?;
        if let Some(signo) = signo {
            match child.signal(signo) {
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
                r => r?,
            }
        }
        if child_ready {
            if let Some(s) = child.try_wait()? {
                return Ok(s);
            }
        }
    }
}

/// Waits until `target` is readable or a forwarded signal is pending on `sigfd` (retrying
/// `EINTR`), and reads that signal: whether `target` is readable, and the signal to pass
/// on. Not one a terminal sent (`SI_KERNEL`): ^C and friends go to the whole foreground
/// process group, the program included, and passing them on would deliver them twice.
pub(crate) fn ready_or_signal(
    target: BorrowedFd<'_>,
    sigfd: &SignalFd,
) -> io::Result<(bool, Option<i32>)> {
    use rustix::event::{poll, PollFd, PollFlags};
    let (target_ready, sig_ready) = loop {
        let mut fds = [
            PollFd::new(&target, PollFlags::IN),
            PollFd::new(sigfd, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            r => r?,
        };
        break (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());
    };
    let mut signo = None;
    if sig_ready {
        let info = sigfd.read()?;
        if info.code != SI_KERNEL {
            signo = Some(info.signo);
        }
    }
    Ok((target_ready, signo))
}

/// Exits the way the program did: with its code, or killed by its signal (re-raised on
/// xclone itself, as util-linux unshare does), else 128+N.
pub(crate) fn exit_like(status: ExitStatus) -> i32 {
    if let Some(c) = status.code() {
        return c;
    }
    let Some(sig) = status.signal() else {
        return status.shell_code();
    };
    // Dying of a core-dumping signal must not leave a core file of xclone itself.
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: None,
        },
    );
    let _ = io::stdout().flush();
    let _ = signal::raise_default(sig);
    128 + sig
}

/// The `--json-status-fd` line once the program exists: its PID and its PID at every
/// pid-namespace level from ours inwards.
pub(crate) fn json_started(j: &mut File, child: &Child) {
    let pids = child.pidfd().ns_pids().unwrap_or_default();
    let line = serde_json::json!({ "child-pid": child.id(), "ns-pids": pids });
    let _ = writeln!(j, "{line}").and_then(|_| j.flush());
}

/// The `--json-status-fd` line when the program has ended.
pub(crate) fn json_ended(j: &mut File, status: ExitStatus) {
    let line = match (status.code(), status.signal()) {
        (Some(c), _) => serde_json::json!({ "exit-code": c }),
        (None, Some(s)) => serde_json::json!({
            "signal": s,
            "signal-name": signal_name(s),
            "core-dumped": status.core_dumped(),
        }),
        _ => serde_json::json!({ "exit-code": status.shell_code() }),
    };
    let _ = writeln!(j, "{line}").and_then(|_| j.flush());
}

/// `--dry-run`: the clone_args, the isolation steps and the validator's verdict on stdout;
/// when the kernel would refuse, also the one error line on stderr and exit status 125.
fn dry_run(cmd: &Command, resolved: &Resolved) -> i32 {
    let mut out = String::new();
    clone_args_text(cmd, &mut out);
    isolation_text(cmd, resolved, &mut out);
    let (verdict, features) = match judge(cmd) {
        Ok(j) => j,
        Err(e) => {
            if let Err(code) = crate::out::print(&out) {
                return code;
            }
            return exit::fail(format!("cannot judge the request: {e}"));
        }
    };
    let _ = writeln!(out);
    out.push_str(&crate::cmd::explain::human(&verdict, features, &[]));
    if let Err(code) = crate::out::print(&out) {
        return code;
    }
    match verdict.problems.first() {
        None => 0,
        Some(p) => exit::fail(format!(
            "refused: clone3 would fail with {}: {}; fix: {}",
            p.errno.name(),
            p.cause,
            p.fix
        )),
    }
}

fn clone_args_text(cmd: &Command, out: &mut String) {
    let args = cmd.get_clone_args();
    let mut pidfd_slot = -1;
    let enc = args.encode(Some(&mut pidfd_slot));
    let raw = enc.raw;
    let _ = writeln!(
        out,
        "clone3(args, {}): clone_args for {}",
        enc.size,
        cmd.get_program().to_string_lossy()
    );
    for (name, value) in raw.fields() {
        let shown = match name {
            "flags" => format!(
                "{value:#x} {}",
                xclone::CloneFlags::from_bits_retain(value).to_names_string()
            ),
            "pidfd" => "<address of the pidfd slot, filled in at spawn>".to_string(),
            "exit_signal" => match value {
                0 => "0 (none)".to_string(),
                1..=64 => format!("{value} ({})", signal_name(value as i32)),
                _ => format!("{value:#x}"),
            },
            "stack" => "<lowest address of the child stack, mapped at spawn above a guard page>"
                .to_string(),
            "stack_size" => format!("{} (the spawn stack)", xclone::raw::stack::SPAWN_STACK_SIZE),
            "set_tid" if value != 0 => format!("{:?}", args.get_set_tid()),
            "cgroup" if args.get_cgroup().is_some() => {
                format!("{value} (descriptor of the cgroup directory)")
            }
            _ => value.to_string(),
        };
        let _ = writeln!(out, "  {name:<13}{shown}");
    }
    if raw.flags & xclone::CloneFlags::CLEAR_SIGHAND.bits() != 0 && !cmd_asked_clear_sighand(cmd) {
        let _ = writeln!(out, "  (CLONE_CLEAR_SIGHAND is added by the spawner; without it the child resets handlers itself)");
    }
}

/// What happens around the clone besides the clone_args: the maps handshake, the child's
/// isolation steps, the init.
fn isolation_text(cmd: &Command, resolved: &Resolved, out: &mut String) {
    let iso = cmd.get_isolation();
    let mut lines = Vec::new();
    if let Some(o) = &resolved.time_by_xclone {
        lines.push(format!(
            "xclone, before the clone: unshare(CLONE_NEWTIME), write '{}' to \
             /proc/self/timens_offsets, setns(/proc/self/ns/time_for_children)",
            o.to_proc_text().trim_end().replace('\n', ", ")
        ));
    }
    if cmd.uses_handshake() {
        lines.push(
            "handshake spawn: CLONE_VM without CLONE_VFORK; the child waits on a socket until \
             the parent has written its id maps and persisted any namespaces asked for"
                .to_string(),
        );
        if let Some(m) = &iso.id_maps {
            match xclone::isolate::MapPlan::prepare(m) {
                Ok(plan) => {
                    lines.extend(plan.describe().into_iter().map(|l| format!("parent: {l}")))
                }
                Err(e) => lines.push(format!("parent: cannot write the maps: {e}")),
            }
        }
        for (kind, file) in &iso.persist {
            lines.push(format!(
                "parent: persist the new {} namespace: bind-mount /proc/PID/ns/{} on {}",
                kind.to_names_string(),
                xclone::isolate::ns_file_name(*kind).unwrap_or("?"),
                file.display()
            ));
        }
    }
    lines.extend(
        iso.describe_child_steps(cmd.no_new_privs_by_flag())
            .into_iter()
            .map(|l| format!("child: {l}")),
    );
    lines.extend(
        cmd.get_sandbox()
            .describe_steps()
            .into_iter()
            .map(|l| format!("child (sandbox): {l}")),
    );
    if resolved.init {
        lines.push(
            "exec: xclone __init (PID 1 of the new pid namespace: forwards signals to the \
             program, reaps orphans), which runs the program as PID 2"
                .into(),
        );
    }
    lines.extend(resolved.notes.iter().cloned());
    if !lines.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "isolation, in this order:");
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    }
}

fn cmd_asked_clear_sighand(cmd: &Command) -> bool {
    // get_clone_args() adds CLEAR_SIGHAND itself; the request's own flags are what was asked.
    cmd.get_requested_flags()
        .contains(xclone::CloneFlags::CLEAR_SIGHAND)
}

/// The validator's verdict on the exact clone_args the spawner will pass, for this kernel
/// and this caller.
fn judge(
    cmd: &Command,
) -> Result<(xclone::validate::Verdict, &'static xclone::probe::Features), xclone::Error> {
    let caller = xclone::caller::Caller::current()?;
    let features = xclone::probe::Features::probe();
    Ok((cmd.validate(features, &caller), features))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert_eq!(parse_fd_map("5:3"), Ok((5, 3)));
        assert!(parse_fd_map("5").is_err());
        assert!(parse_fd_map("-1:3").is_err());
        assert_eq!(
            crate::options::parse_env("A=b=c"),
            Ok(("A".into(), "b=c".into()))
        );
        assert!(crate::options::parse_env("=x").is_err());
        assert!(crate::options::parse_env("novalue").is_err());
    }
}
